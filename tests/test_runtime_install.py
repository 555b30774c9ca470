"""install(): every openai and orq SDK client in the process, including those LangChain and LiteLLM
build, checked without passing a client through guard(); and `orq-thread-lint run`."""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
import warnings
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, AzureOpenAI, OpenAI

import orq_thread_lint
from orq_thread_lint import OrqThreadWarning, Policy, ThreadPolicyError, guard
from orq_thread_lint.runtime import install as install_module
from orq_thread_lint.runtime.stores import MemoryStore
from router import Router

GOOD = {"orq": {"thread": {"id": "user-42-9f1c"}}}
BAD = {"orq": {"thread": {"id": "conversation1"}}}
MSG = [{"role": "user", "content": "hi"}]
os.environ.setdefault("LITELLM_LOCAL_MODEL_COST_MAP", "True")  # else litellm downloads a cost map at import
# LiteLLM's TypedDicts make pydantic warn at import; not ours to see.
pytestmark = pytest.mark.filterwarnings("ignore:.*ReadOnly.*:UserWarning")


@pytest.fixture(autouse=True)
def clean() -> Iterator[None]:
    yield
    orq_thread_lint.uninstall()


def test_clients_built_before_and_after_install_are_checked_and_uninstall_restores(router: Router) -> None:
    originals = {cls: cls.__dict__["_prepare_options"] for cls in (OpenAI, AsyncOpenAI)}
    before = OpenAI(base_url=router.url, api_key="k", max_retries=0)
    orq_thread_lint.install(Policy.preset(), store=MemoryStore())
    after = OpenAI(base_url=router.url, api_key="k", max_retries=0)
    azure = AzureOpenAI(azure_endpoint=router.url.rsplit("/v3", 1)[0], api_key="k", api_version="2024-06-01",
                        max_retries=0)
    for client in (before, after, after.with_options(timeout=3), azure):
        with pytest.raises(ThreadPolicyError):
            client.chat.completions.create(model="m", messages=MSG, extra_body=BAD)
    assert router.received == []
    after.chat.completions.create(model="m", messages=MSG, extra_body=GOOD)

    async def main() -> None:
        client = AsyncOpenAI(base_url=router.url, api_key="k", max_retries=0)
        with pytest.raises(ThreadPolicyError):
            await client.chat.completions.create(model="m", messages=MSG, extra_body=BAD)

    asyncio.run(main())
    orq_thread_lint.uninstall()
    assert {cls: cls.__dict__["_prepare_options"] for cls in (OpenAI, AsyncOpenAI)} == originals
    before.chat.completions.create(model="m", messages=MSG, extra_body=BAD)
    assert len(router.received) == 2


def test_installing_twice_checks_once_and_installed_scopes(router: Router) -> None:
    client = OpenAI(base_url=router.url, api_key="k", max_retries=0)
    orq_thread_lint.install(Policy.preset(), mode="warn", store=MemoryStore())
    orq_thread_lint.install(Policy.preset(), mode="warn", store=MemoryStore())
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        client.chat.completions.create(model="m", messages=MSG, extra_body=BAD)
        with orq_thread_lint.installed(Policy.preset(), mode="enforce", store=MemoryStore()), \
                pytest.raises(ThreadPolicyError):
            client.chat.completions.create(model="m", messages=MSG, extra_body=BAD)
        client.chat.completions.create(model="m", messages=MSG, extra_body=BAD)  # warn again
    assert len([w for w in seen if w.category is OrqThreadWarning]) == 2
    assert len(router.received) == 2
    orq_thread_lint.uninstall()
    with orq_thread_lint.installed(Policy.preset(), store=MemoryStore()), pytest.raises(ThreadPolicyError):
        client.chat.completions.create(model="m", messages=MSG, extra_body=BAD)
    assert not install_module.is_installed() and "_prepare_options" in OpenAI.__dict__
    client.chat.completions.create(model="m", messages=MSG, extra_body=BAD)  # unhooked after the block
    assert len(router.received) == 3


def test_a_client_with_its_own_guard_keeps_it(router: Router) -> None:
    orq_thread_lint.install(Policy.preset(), store=MemoryStore())
    own = guard(OpenAI(base_url=router.url, api_key="k", max_retries=0),
                Policy.from_dict({"thread-id": {"generic": ["chat"]}}), mode="warn", store=MemoryStore())
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        own.chat.completions.create(model="m", messages=MSG, extra_body={"orq": {"thread": {"id": "chat"}}})
    assert len([w for w in seen if w.category is OrqThreadWarning]) == 1  # its own guard, once; not refused
    assert len(router.received) == 1


def test_orq_clients_are_checked(router: Router) -> None:
    orq_ai_sdk = pytest.importorskip("orq_ai_sdk")
    before = orq_ai_sdk.Orq(api_key="k", server_url=router.server_url)
    orq_thread_lint.install(Policy.preset(), store=MemoryStore())
    after = orq_ai_sdk.Orq(api_key="k", server_url=router.server_url)
    for client in (before, after):
        with pytest.raises(ThreadPolicyError):
            client.deployments.invoke(key="k", messages=MSG, thread={"id": "conversation1"})
    assert router.received == []
    after.deployments.invoke(key="k", messages=MSG, thread={"id": "user-42-9f1c"})
    own = guard(after, Policy.preset(), mode="warn", store=MemoryStore())
    with pytest.warns(OrqThreadWarning):
        own.deployments.invoke(key="k", messages=MSG, thread={"id": "conversation1"})  # its own guard: warn
    assert len(router.received) == 2


HOOK_ON_IMPORT = """
import sys
import orq_thread_lint
orq_thread_lint.install()
assert "openai" not in sys.modules and "orq_ai_sdk" not in sys.modules  # installing imports neither
import openai
from orq_ai_sdk._hooks import SDKHooks
print(openai.OpenAI._prepare_options.__qualname__, SDKHooks.before_request.__qualname__)
"""


def test_sdks_imported_after_install_are_hooked_when_imported(tmp_path: Path) -> None:
    out = subprocess.run([sys.executable, "-c", HOOK_ON_IMPORT], capture_output=True, text=True, cwd=tmp_path,
                         timeout=120)
    assert out.returncode == 0, out.stderr
    assert out.stdout.split() == ["_hook_openai.<locals>.hooked", "_hook_orq.<locals>.before_request"]


def test_langchain_chat_openai_invoke_and_stream(router: Router) -> None:
    langchain_openai = pytest.importorskip("langchain_openai")
    orq_thread_lint.install(Policy.preset(), store=MemoryStore())

    def chat(extra: dict[str, Any]) -> Any:
        return langchain_openai.ChatOpenAI(model="m", base_url=router.url, api_key="k", max_retries=2, extra_body=extra)

    with pytest.raises(ThreadPolicyError):
        chat(BAD).invoke("hi")
    with pytest.raises(ThreadPolicyError):
        list(chat(BAD).stream("hi"))
    assert router.received == []
    assert chat(GOOD).invoke("hi").content == '{"answer": 42}'
    assert "".join(str(c.content) for c in chat(GOOD).stream("hi")) == "Hello"
    assert [b["orq"] for b in router.received] == [GOOD["orq"]] * 2


def test_litellm_completion(router: Router) -> None:
    litellm = pytest.importorskip("litellm")
    orq_thread_lint.install(Policy.preset(), store=MemoryStore())

    def complete(extra: dict[str, Any]) -> Any:
        return litellm.completion(model="openai/m", api_base=router.url, api_key="k", messages=MSG, extra_body=extra)

    with pytest.raises(openai.OpenAIError) as info:  # LiteLLM wraps every error in its own types
        complete(BAD)
    assert isinstance(_root(info.value), ThreadPolicyError)
    assert router.received == []
    assert complete(GOOD).choices[0].message.content == '{"answer": 42}'
    assert router.received[-1]["orq"] == GOOD["orq"]


def _root(exc: BaseException) -> BaseException:
    seen = []
    while exc is not None and exc not in seen:
        seen.append(exc)
        if isinstance(exc, ThreadPolicyError):
            return exc
        exc = exc.__cause__ or exc.__context__  # type: ignore[assignment]
    return seen[-1]


PROGRAM = """
import os, sys
url, server, names = sys.argv[1], sys.argv[2], sys.argv[3].split(",")


def openai_send(tid):
    from openai import OpenAI
    OpenAI(base_url=url, api_key="k", max_retries=0).chat.completions.create(
        model="m", messages=[], extra_body={"orq": {"thread": {"id": tid}}})


def langchain_send(tid):
    from langchain_openai import ChatOpenAI
    ChatOpenAI(model="m", base_url=url, api_key="k", max_retries=0, extra_body={"orq": {"thread": {"id": tid}}}).invoke("hi")


def litellm_send(tid):
    import litellm
    litellm.completion(model="openai/m", api_base=url, api_key="k", messages=[{"role": "user", "content": "hi"}],
                       extra_body={"orq": {"thread": {"id": tid}}})


def orq_send(tid):
    from orq_ai_sdk import Orq
    Orq(api_key="k", server_url=server).deployments.invoke(key="k", thread={"id": tid})


for name in names:
    for tid in ("conversation1", "user-42-9f1c", "user-7-abcd"):
        try:
            globals()[name + "_send"](tid)
            print(name, "sent")
        except Exception as exc:
            while exc.__cause__ is not None or exc.__context__ is not None:
                if type(exc).__name__ == "ThreadPolicyError":
                    break
                exc = exc.__cause__ or exc.__context__
            print(name, type(exc).__name__)
print("imported", "orq_thread_lint" in sys.modules)
"""


@pytest.mark.parametrize("how", ["run", "run-warn", "env"])
def test_run_guards_a_program_that_never_imports_orq_thread_lint(router: Router, tmp_path: Path,
                                                                cli_env: dict[str, str], how: str) -> None:
    # The libraries are slow to import on a loaded machine: all of them once, then openai's alone.
    names = ["openai", "langchain", "litellm", "orq"] if how == "run" else ["openai"]
    for module in ("langchain_openai", "litellm", "orq_ai_sdk") if how == "run" else ():
        pytest.importorskip(module)
    script = tmp_path / "app.py"
    script.write_text(PROGRAM)
    (tmp_path / "pyproject.toml").write_text('[tool.orq-thread-lint]\nthread-id = {generic = ["user-42-9f1c"]}\n')
    program = [sys.executable, str(script), router.url, router.server_url, ",".join(names)]
    env = {**cli_env, "LITELLM_LOCAL_MODEL_COST_MAP": "True"}
    if how == "env":
        command, env["ORQ_THREAD_LINT_MODE"] = program, "enforce"
    else:
        command = ["orq-thread-lint", "run", *(["--mode", "warn"] if how == "run-warn" else []), "--", *program]
    out = subprocess.run(command, capture_output=True, text=True, cwd=tmp_path, env=env, timeout=300)
    assert out.returncode == 0, out.stderr
    lines = [line for line in out.stdout.splitlines() if line.startswith((*names, "imported"))]  # LiteLLM prints help
    # The policy comes from the program's working directory: there "user-42-9f1c" is generic too.
    expected = ["sent"] * 3 if how == "run-warn" else ["ThreadPolicyError", "ThreadPolicyError", "sent"]
    assert lines == [f"{name} {e}" for name in names for e in expected] + [
        "imported True"]
    if how == "run-warn":
        assert out.stderr.count("OrqThreadWarning: orq thread policy violated (OTL003)") == 2
        assert len(router.received) == 3


def test_run_reports_a_bad_policy_before_starting(tmp_path: Path, cli_env: dict[str, str]) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.orq-thread-lint]\nthread-placment = "orq"\n')
    out = subprocess.run(["orq-thread-lint", "run", "--", sys.executable, "-c", "print('started')"],
                         capture_output=True, text=True, cwd=tmp_path, env=cli_env, timeout=60)
    assert out.returncode == 2 and "started" not in out.stdout
    assert "thread-placment" in out.stderr and "Traceback" not in out.stderr
