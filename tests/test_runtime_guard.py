"""The guard inside real openai clients talking HTTP to a loopback router."""

from __future__ import annotations

import asyncio
import sys
import warnings
from typing import Any

import openai
import pytest
from openai import AsyncOpenAI, OpenAI
from pydantic import BaseModel

from orq_thread_lint import OrqThreadWarning, Policy, ThreadPolicyError, guard, thread_scope
from orq_thread_lint.runtime.stores import MemoryStore
from router import Router

MAJOR = int(openai.__version__.split(".")[0])
GOOD = {"orq": {"thread": {"id": "user-42-9f1c", "tags": ["support"]}}}
BAD = {"orq": {"thread": {"id": "conversation1"}}}
MSG = [{"role": "user", "content": "hi"}]


def client(router: Router, cls: type = OpenAI, **kw: Any) -> Any:
    return cls(base_url=router.url, api_key="k", max_retries=kw.pop("max_retries", 0), **kw)


def guarded(router: Router, mode: str = "enforce", policy: Policy | None = None, cls: type = OpenAI, **kw: Any) -> Any:
    return guard(client(router, cls), policy or Policy.preset(), mode=mode, store=kw.pop("store", MemoryStore()), **kw)


def test_guarded_client_is_still_the_clients_class_and_original_is_untouched(router: Router) -> None:
    original = client(router)
    g = guard(original, Policy.preset(), store=MemoryStore())
    assert isinstance(g, OpenAI) and type(g).__name__ == "OpenAI"
    original.chat.completions.create(model="m", messages=MSG, extra_body=BAD)  # the original is unguarded
    assert router.received[-1]["orq"] == BAD["orq"]
    with pytest.raises(ThreadPolicyError):
        g.chat.completions.create(model="m", messages=MSG, extra_body=BAD)
    assert len(router.received) == 1


def test_enforce_raises_before_any_byte_is_sent(router: Router) -> None:
    g = guarded(router)
    with pytest.raises(ThreadPolicyError) as info:
        g.chat.completions.create(model="m", messages=MSG, extra_body={"orq": {"thread": {"id": "demo", "tags": ["a", "a"]}}})
    assert [v.code for v in info.value.violations] == ["OTL003", "OTL012"]
    assert "OTL003" in str(info.value) and "OTL012" in str(info.value)
    assert router.received == []


@pytest.mark.parametrize("cls", [OpenAI, AsyncOpenAI])
def test_a_refusal_is_neither_retried_nor_wrapped(router: Router, cls: type) -> None:
    g = guard(client(router, cls, max_retries=3), Policy.preset(), store=MemoryStore())
    checks = []
    check = type(g)._orq_thread_guard._inspect

    def counted(options: Any) -> Any:
        checks.append(1)
        return check(options)

    type(g)._orq_thread_guard._inspect = counted
    with pytest.raises(ThreadPolicyError) as info:
        call = g.chat.completions.create(model="m", messages=MSG, extra_body=BAD)
        if cls is AsyncOpenAI:
            asyncio.run(call)
    assert type(info.value) is ThreadPolicyError and len(checks) == 1
    assert router.received == []


def test_good_request_is_sent_unchanged(router: Router) -> None:
    g = guarded(router)
    g.chat.completions.create(model="m", messages=MSG, extra_body=GOOD)
    assert router.received == [{"model": "m", "messages": MSG, **GOOD}]


@pytest.mark.parametrize("how", ["create", "parse", "stream", "with_options", "raw", "streaming_response",
                                 "responses_create", "responses_parse", "responses_stream", "completions", "create_stream"])
def test_every_way_of_sending_is_checked(router: Router, how: str) -> None:
    g = guarded(router)

    class Answer(BaseModel):
        answer: int

    def send(extra: dict[str, Any]) -> None:
        chat = g.chat.completions
        if how == "create":
            chat.create(model="m", messages=MSG, extra_body=extra)
        elif how == "create_stream":
            for _ in chat.create(model="m", messages=MSG, stream=True, extra_body=extra):
                pass
        elif how == "parse":
            (g.chat.completions if MAJOR >= 2 else g.beta.chat.completions).parse(
                model="m", messages=MSG, response_format=Answer, extra_body=extra)
        elif how == "stream":
            with (g.chat.completions if MAJOR >= 2 else g.beta.chat.completions).stream(
                    model="m", messages=MSG, extra_body=extra) as stream:
                for _ in stream:
                    pass
        elif how == "with_options":
            g.with_options(timeout=5).chat.completions.create(model="m", messages=MSG, extra_body=extra)
        elif how == "raw":
            g.chat.completions.with_raw_response.create(model="m", messages=MSG, extra_body=extra).parse()
        elif how == "streaming_response":
            with g.chat.completions.with_streaming_response.create(model="m", messages=MSG, extra_body=extra) as r:
                r.read()
        elif how == "responses_create":
            g.responses.create(model="m", input="hi", extra_body=extra)
        elif how == "responses_parse":
            g.responses.parse(model="m", input="hi", text_format=Answer, extra_body=extra)
        elif how == "responses_stream":
            try:
                with g.responses.stream(model="m", input="hi", extra_body=extra) as stream:
                    for _ in stream:
                        pass
            except openai.APIError:
                pass  # the fake router doesn't speak the responses event stream; only the request matters
        elif how == "completions":
            g.completions.create(model="m", prompt="hi", extra_body=extra)

    with pytest.raises(ThreadPolicyError):
        send(BAD)
    assert router.received == []
    send(GOOD)
    assert router.received and router.received[-1]["orq"] == GOOD["orq"]


def test_endpoints_without_threads_pass_untouched(router: Router) -> None:
    g = guarded(router)
    g.embeddings.create(model="m", input="x", extra_body=BAD)
    assert router.received[-1]["orq"] == BAD["orq"]


def test_missing_thread_is_reported(router: Router) -> None:
    with pytest.raises(ThreadPolicyError) as info:
        guarded(router).chat.completions.create(model="m", messages=MSG)
    assert [v.code for v in info.value.violations] == ["OTL101"]


def test_header_counts_as_a_thread(router: Router) -> None:
    g = guarded(router)
    g.chat.completions.create(model="m", messages=MSG, extra_headers={"X-ORQ-THREAD-ID": "user-42-9f1c"})
    assert router.headers[-1]["x-orq-thread-id"] == "user-42-9f1c"
    with pytest.raises(ThreadPolicyError):
        g.chat.completions.create(model="m", messages=MSG, extra_headers={"X-ORQ-THREAD-ID": "chat1"})


def test_warn_mode_sends_unchanged_and_warns(router: Router, caplog: pytest.LogCaptureFixture) -> None:
    g = guarded(router, mode="warn")
    with pytest.warns(OrqThreadWarning, match="OTL003"):
        g.chat.completions.create(model="m", messages=MSG, extra_body=BAD)
    assert router.received[-1]["orq"] == BAD["orq"]
    assert any("OTL003 generic-thread-id" in r.getMessage() for r in caplog.records)
    assert not any("conversation1" in r.getMessage() for r in caplog.records if r.levelname in ("INFO", "WARNING"))
    assert issubclass(OrqThreadWarning, UserWarning)


@pytest.mark.parametrize("how", ["create", "raw", "async"])
def test_warnings_point_at_the_line_that_sent_the_request(router: Router, how: str) -> None:
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        if how == "async":
            g = guarded(router, mode="warn", cls=AsyncOpenAI)

            async def main() -> int:
                line = sys._getframe().f_lineno + 1
                await g.with_options(timeout=3).chat.completions.create(model="m", messages=MSG, extra_body=BAD)
                return line

            line = asyncio.run(main())
        else:
            g = guarded(router, mode="warn")
            send = g.chat.completions.with_raw_response.create if how == "raw" else g.chat.completions.create
            line = sys._getframe().f_lineno + 1
            send(model="m", messages=MSG, extra_body=BAD)
    assert [(w.filename, w.lineno) for w in seen if w.category is OrqThreadWarning] == [(__file__, line)]


def test_repair_mode(router: Router) -> None:
    policy = Policy.from_dict({"thread-placement": "orq"})
    g = guarded(router, mode="repair", policy=policy)
    extra = {"thread": {"id": "  user-42-9f1c ", "tags": ["support", "billing", "support"]}}
    g.chat.completions.create(model="m", messages=MSG, extra_body=extra)
    assert router.received[-1]["orq"] == {"thread": {"id": "user-42-9f1c", "tags": ["support", "billing"]}}
    assert "thread" not in router.received[-1]
    assert extra == {"thread": {"id": "  user-42-9f1c ", "tags": ["support", "billing", "support"]}}  # caller's dict untouched
    with pytest.raises(ThreadPolicyError):  # what can't be repaired is handled as in enforce
        g.chat.completions.create(model="m", messages=MSG, extra_body=BAD)
    assert len(router.received) == 1


def test_off_mode(router: Router) -> None:
    guarded(router, mode="off").chat.completions.create(model="m", messages=MSG, extra_body=BAD)
    assert len(router.received) == 1


def test_retry_is_not_a_second_use(router: Router) -> None:
    policy = Policy.from_dict({"runtime": {"uniqueness": "single-use"}})
    g = guard(client(router, max_retries=2), policy, store=MemoryStore())
    router.fail_next = 1
    g.chat.completions.create(model="m", messages=MSG, extra_body=GOOD)
    assert len(router.received) == 2  # the 500, then the retry
    with pytest.raises(ThreadPolicyError) as info:
        g.chat.completions.create(model="m", messages=MSG, extra_body=GOOD)
    assert [v.code for v in info.value.violations] == ["OTL007"]
    assert len(router.received) == 2


def test_scope_uniqueness_with_thread_scope_callable_and_identity(router: Router) -> None:
    g = guarded(router)
    with thread_scope("alice"):
        g.chat.completions.create(model="m", messages=MSG, extra_body=GOOD)
        g.chat.completions.create(model="m", messages=MSG, extra_body=GOOD)  # same scope, same id: fine
    with thread_scope("bob"), pytest.raises(ThreadPolicyError) as info:
        g.chat.completions.create(model="m", messages=MSG, extra_body=GOOD)
    assert info.value.violations[0].code == "OTL007" and info.value.violations[0].path == "orq.thread.id"
    g.chat.completions.create(model="m", messages=MSG, extra_body=GOOD)  # no scope: not checked
    who = {"name": "carol"}
    g2 = guarded(router, scope=lambda: who["name"])
    g2.chat.completions.create(model="m", messages=MSG, extra_body=GOOD)
    who["name"] = "dave"
    with pytest.raises(ThreadPolicyError):
        g2.chat.completions.create(model="m", messages=MSG, extra_body=GOOD)
    g3 = guarded(router)
    g3.chat.completions.create(model="m", messages=MSG, extra_body={"orq": {"identity": {"id": "u1"}, **GOOD["orq"]}})
    with pytest.raises(ThreadPolicyError):
        g3.chat.completions.create(model="m", messages=MSG, extra_body={"orq": {"identity": {"id": "u2"}, **GOOD["orq"]}})


def test_async_client(router: Router) -> None:
    async def main() -> None:
        g = guarded(router, cls=AsyncOpenAI)
        assert isinstance(g, AsyncOpenAI)
        with pytest.raises(ThreadPolicyError):
            await g.chat.completions.create(model="m", messages=MSG, extra_body=BAD)
        await g.chat.completions.create(model="m", messages=MSG, extra_body=GOOD)
        stream = await g.chat.completions.create(model="m", messages=MSG, stream=True, extra_body=GOOD)
        async for _ in stream:
            pass
        await g.with_options(timeout=3).chat.completions.with_raw_response.create(model="m", messages=MSG, extra_body=GOOD)

    asyncio.run(main())
    assert len(router.received) == 3


def test_async_tasks_keep_their_own_scope(router: Router) -> None:
    async def main() -> list[str]:
        g = guarded(router, cls=AsyncOpenAI)

        async def user(name: str, tid: str) -> str:
            with thread_scope(name):
                await asyncio.sleep(0)
                await g.chat.completions.create(model="m", messages=MSG, extra_body={"orq": {"thread": {"id": tid}}})
                return name

        return list(await asyncio.gather(*(user(f"u{i}", f"user-{i}-abc") for i in range(5))))

    assert asyncio.run(main()) == [f"u{i}" for i in range(5)]


def test_azure_clients(router: Router) -> None:
    g = guard(openai.AzureOpenAI(azure_endpoint=router.url.rsplit("/v3", 1)[0], api_key="k", api_version="2024-06-01",
                                 azure_deployment="dep", max_retries=0), Policy.preset(), store=MemoryStore())
    assert isinstance(g, openai.AzureOpenAI)
    with pytest.raises(ThreadPolicyError):
        g.chat.completions.create(model="m", messages=MSG, extra_body=BAD)
    g.chat.completions.create(model="m", messages=MSG, extra_body=GOOD)
    assert router.received[-1]["orq"] == GOOD["orq"]
    ga = guard(openai.AsyncAzureOpenAI(azure_endpoint="http://127.0.0.1:9", api_key="k", api_version="2024-06-01"),
               Policy.preset(), store=MemoryStore())
    assert isinstance(ga, openai.AsyncAzureOpenAI)

    async def main() -> None:
        with pytest.raises(ThreadPolicyError):
            await ga.chat.completions.create(model="m", messages=MSG, extra_body=BAD)

    asyncio.run(main())


def test_policy_defaults_come_from_the_runtime_table(router: Router) -> None:
    policy = Policy.from_dict({"runtime": {"mode": "warn"}})
    g = guard(client(router), policy)
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        g.chat.completions.create(model="m", messages=MSG, extra_body=BAD)
    assert any(issubclass(w.category, OrqThreadWarning) for w in seen)
