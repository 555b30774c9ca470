"""The guard inside orq's own SDK (orq-ai-sdk) talking HTTP to the loopback router."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import json
import os
import subprocess
import sys
import warnings
from typing import Any

import pytest

orq_ai_sdk = pytest.importorskip("orq_ai_sdk")
from orq_ai_sdk import Orq, models  # noqa: E402
from orq_ai_sdk.utils import BackoffStrategy, RetryConfig  # noqa: E402

from orq_thread_lint import OrqThreadWarning, Policy, ThreadPolicyError, guard, thread_scope  # noqa: E402
from orq_thread_lint.runtime.stores import MemoryStore  # noqa: E402
from router import Router  # noqa: E402

GOOD = {"id": "user-42-9f1c", "tags": ["support"]}
BAD = {"id": "conversation1"}
MSG = [{"role": "user", "content": "hi"}]
pytestmark = pytest.mark.filterwarnings("ignore:.*DEPRECATED:DeprecationWarning")
RETRY = RetryConfig("backoff", BackoffStrategy(1, 5, 1.1, 5000, jitter_ms=0), retry_connection_errors=False)


def orq(router: Router, **kw: Any) -> Any:
    return Orq(api_key="k", server_url=router.server_url, **kw)


def guarded(router: Router, mode: str = "enforce", policy: Policy | None = None, **kw: Any) -> Any:
    store = kw.pop("store", None) or MemoryStore()
    return guard(orq(router, **kw), policy or Policy.preset(), mode=mode, store=store)


def hooks_of(client: Any) -> Any:
    return client.sdk_configuration.__dict__["_hooks"]


def test_guarded_copy_is_an_orq_client_and_the_original_is_untouched(router: Router) -> None:
    original = orq(router)
    before = list(hooks_of(original).before_request_hooks)
    g = guard(original, Policy.preset(), store=MemoryStore())
    assert isinstance(g, Orq) and type(g).__name__ == "Orq"
    assert g.sdk_configuration is not original.sdk_configuration
    assert hooks_of(original).before_request_hooks == before and type(hooks_of(original)).__name__ == "SDKHooks"
    original.deployments.invoke(key="k", messages=MSG, thread=BAD)  # the original stays unguarded
    assert router.received[-1]["thread"] == BAD
    with pytest.raises(ThreadPolicyError):
        g.deployments.invoke(key="k", messages=MSG, thread=BAD)
    assert len(router.received) == 1
    # The copy's hook lists are its own: a hook added to either side later stays on that side.
    hooks_of(original).register_before_request_hook(object())
    assert len(hooks_of(g).before_request_hooks) == len(before)


def test_the_copy_outlives_the_original(router: Router) -> None:
    g = guard(orq(router), Policy.preset(), store=MemoryStore())  # the original is dropped at once
    gc.collect()  # the SDK closes an Orq's HTTP clients when it is collected; the copy still holds it
    assert g.deployments.invoke(key="k", messages=MSG, thread=GOOD).choices[0].message.content == "hi"


@pytest.mark.parametrize("how", ["invoke", "stream", "router_chat", "router_chat_stream", "router_completions",
                                 "responses", "agents_responses", "invoke_async", "stream_async", "router_chat_async"])
def test_every_threaded_operation_is_checked_before_anything_is_sent(router: Router, how: str) -> None:
    g = guarded(router)

    def send(thread: dict[str, Any]) -> None:
        if how == "invoke":
            g.deployments.invoke(key="k", messages=MSG, thread=thread)
        elif how == "stream":
            for _ in g.deployments.stream(key="k", messages=MSG, thread=thread):
                pass
        elif how == "router_chat":
            g.router.chat.completions.create(model="m", messages=MSG, orq={"thread": thread})
        elif how == "router_chat_stream":
            for _ in g.router.chat.completions.create(model="m", messages=MSG, orq={"thread": thread}, stream=True):
                pass
        elif how == "router_completions":
            # The loopback router's reply isn't orq's completions shape; only the request matters.
            with contextlib.suppress(orq_ai_sdk.models.OrqError):
                g.router.completions.create(model="m", prompt="hi", orq={"thread": thread})
        elif how == "responses":
            with contextlib.suppress(orq_ai_sdk.models.OrqError):
                g.responses.create(model="m", input="hi", thread=thread)
        elif how == "agents_responses":
            with warnings.catch_warnings(), contextlib.suppress(orq_ai_sdk.models.OrqError):
                warnings.simplefilter("ignore", DeprecationWarning)
                g.agents.responses.create(agent_key="a", thread=thread,
                                          message={"role": "user", "parts": [{"kind": "text", "text": "hi"}]})
        else:
            async def main() -> None:
                if how == "invoke_async":
                    await g.deployments.invoke_async(key="k", messages=MSG, thread=thread)
                elif how == "stream_async":
                    async for _ in await g.deployments.stream_async(key="k", messages=MSG, thread=thread):
                        pass
                else:
                    await g.router.chat.completions.create_async(model="m", messages=MSG, orq={"thread": thread})

            asyncio.run(main())

    with pytest.raises(ThreadPolicyError) as info:
        send(BAD)
    assert [v.code for v in info.value.violations] == ["OTL003"]
    assert router.received == []
    send(GOOD)
    body = router.received[-1]
    assert (body["orq"]["thread"] if how.startswith("router") else body["thread"]) == GOOD


def test_a_thread_model_and_a_plain_dict_are_checked_alike(router: Router) -> None:
    g = guarded(router)
    found = []
    for thread in ({"id": "demo", "tags": ["a", "a"]}, models.InvokeDeploymentRequestThread(id="demo", tags=["a", "a"])):
        with pytest.raises(ThreadPolicyError) as info:
            g.deployments.invoke(key="k", messages=MSG, thread=thread)
        found.append([(v.code, v.path) for v in info.value.violations])
    assert found[0] == found[1] == [("OTL003", "thread.id"), ("OTL012", "thread.tags[1]")]
    g.deployments.invoke(key="k", messages=MSG, thread=models.InvokeDeploymentRequestThread(**GOOD))
    g.router.chat.completions.create(model="m", messages=MSG, orq={"thread": models.CreateChatCompletionThread(**GOOD)})
    assert [b.get("thread") or b["orq"]["thread"] for b in router.received] == [GOOD, GOOD]


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_refusal_is_neither_retried_nor_wrapped(router: Router, asynchronous: bool) -> None:
    g = guarded(router, retry_config=RETRY)
    checks = []
    guards = type(g)._orq_thread_guard.guards
    check = guards["top-level"]._inspect

    def counted(options: Any) -> Any:
        checks.append(1)
        return check(options)

    guards["top-level"]._inspect = counted
    with pytest.raises(ThreadPolicyError) as info:
        if asynchronous:
            asyncio.run(g.deployments.invoke_async(key="k", messages=MSG, thread=BAD))
        else:
            g.deployments.invoke(key="k", messages=MSG, thread=BAD)
    assert type(info.value) is ThreadPolicyError and info.value.__cause__ is None and len(checks) == 1
    assert router.received == []


def test_missing_thread_is_reported_and_operations_without_threads_pass(router: Router) -> None:
    g = guarded(router)
    with pytest.raises(ThreadPolicyError) as info:
        g.deployments.invoke(key="k", messages=MSG)
    assert [v.code for v in info.value.violations] == ["OTL101"]
    g.router.embeddings.create(model="m", input="x")  # no thread on embeddings: untouched
    assert router.paths == ["/v2/router/embeddings"]


def test_advice_is_in_the_sdks_terms(router: Router) -> None:
    g = guarded(router)
    with pytest.raises(ThreadPolicyError) as info:
        g.deployments.invoke(key="k", messages=MSG, metadata={"thread_id": "user-42-9f1c"})
    assert [v.code for v in info.value.violations] == ["OTL103"]
    assert "send it as thread={'id': ..., 'tags': [...]}" in str(info.value)
    assert "orq.thread" not in str(info.value)
    with pytest.raises(ThreadPolicyError) as info:
        g.deployments.invoke(key="k", messages=MSG)
    assert info.value.violations[0].suggestion == "thread={'id': ..., 'tags': [...]}"
    assert router.paths == []


def test_warn_mode_sends_unchanged_and_warns_at_the_callers_line(router: Router) -> None:
    g = guarded(router, mode="warn")
    with warnings.catch_warnings(record=True) as seen:
        warnings.simplefilter("always")
        line = sys._getframe().f_lineno + 1
        g.deployments.invoke(key="k", messages=MSG, thread=BAD)
    assert router.received[-1]["thread"] == BAD
    ours = [w for w in seen if w.category is OrqThreadWarning]
    assert len(ours) == 1 and "OTL003" in str(ours[0].message)
    assert (ours[0].filename, ours[0].lineno) == (__file__, line)


def test_repair_mode_rewrites_the_body_and_its_length(router: Router) -> None:
    policy = Policy.from_dict({"thread-placement": "orq"})  # a deployment's thread can only be top-level
    g = guarded(router, mode="repair", policy=policy)
    thread = {"id": "  user-42-9f1c ", "tags": ["support", "billing", "support"]}
    g.deployments.invoke(key="k", messages=MSG, thread=thread)
    body = router.received[-1]
    assert body["thread"] == {"id": "user-42-9f1c", "tags": ["support", "billing"]} and "orq" not in body
    assert body["key"] == "k" and body["messages"] == MSG and body["stream"] is False  # the SDK's own hook ran
    sent = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
    assert int(router.headers[-1]["content-length"]) == len(sent)
    assert thread == {"id": "  user-42-9f1c ", "tags": ["support", "billing", "support"]}  # caller's dict untouched
    g.router.chat.completions.create(model="m", messages=MSG, orq={"thread": {"id": "user-42-9f1c", "tags": ["a", "a"]}})
    assert router.received[-1]["orq"]["thread"] == {"id": "user-42-9f1c", "tags": ["a"]}
    with pytest.raises(ThreadPolicyError):
        g.deployments.invoke(key="k", messages=MSG, thread=BAD)
    assert len(router.received) == 2


def test_a_retry_after_a_500_is_not_a_second_use(router: Router) -> None:
    policy = Policy.from_dict({"runtime": {"uniqueness": "single-use"}})
    g = guarded(router, policy=policy, retry_config=RETRY)
    router.fail_next = 1
    g.router.chat.completions.create(model="m", messages=MSG, orq={"thread": GOOD})
    assert len(router.received) == 2  # the 500, then the retry, both checked
    with pytest.raises(ThreadPolicyError) as info:
        g.router.chat.completions.create(model="m", messages=MSG, orq={"thread": GOOD})
    assert [v.code for v in info.value.violations] == ["OTL007"]
    assert len(router.received) == 2


def test_a_deployment_retry_behaves_as_without_the_guard(router: Router) -> None:
    """orq-ai-sdk's own deployments hook fails on a retry in some versions; guarded or not, the
    outcome is the same."""
    outcomes = []
    for client in (orq(router, retry_config=RETRY), guarded(router, retry_config=RETRY)):
        router.fail_next = 1
        try:
            outcomes.append(client.deployments.invoke(key="k", messages=MSG, thread=GOOD).id)
        except Exception as exc:
            outcomes.append(type(exc).__name__)
    assert outcomes[0] == outcomes[1]


def test_scope_uniqueness_and_async_tasks(router: Router) -> None:
    g = guarded(router)
    with thread_scope("alice"):
        g.deployments.invoke(key="k", messages=MSG, thread=GOOD)
    with thread_scope("bob"), pytest.raises(ThreadPolicyError) as info:
        g.deployments.invoke(key="k", messages=MSG, thread=GOOD)
    assert info.value.violations[0].code == "OTL007" and info.value.violations[0].path == "thread.id"

    async def main() -> None:
        async def user(name: str) -> None:
            with thread_scope(name):  # the SDK runs hooks in a worker thread; the scope goes along
                await g.deployments.invoke_async(key="k", messages=MSG, thread={"id": f"user-{name}-9f1c"})

        await asyncio.gather(*(user(f"u{i}") for i in range(4)))
        with thread_scope("mallory"), pytest.raises(ThreadPolicyError):
            await g.deployments.invoke_async(key="k", messages=MSG, thread={"id": "user-u1-9f1c"})

    asyncio.run(main())


def test_reguarding_replaces_the_guard(router: Router) -> None:
    once = guarded(router, mode="warn")
    twice = guard(once, Policy.preset(), mode="enforce", store=MemoryStore())
    assert type(twice).__mro__[1] is Orq and type(hooks_of(twice)).__mro__[1].__name__ == "SDKHooks"
    with pytest.raises(ThreadPolicyError):
        twice.deployments.invoke(key="k", messages=MSG, thread=BAD)
    assert router.received == []


SCRIPT = """
import sys
from orq_ai_sdk import Orq
from orq_thread_lint import Policy, ThreadPolicyError, guard, thread_scope
g = guard(Orq(api_key="k", server_url=sys.argv[1]), Policy.preset(), store=sys.argv[2])
with thread_scope(sys.argv[3]):
    try:
        g.deployments.invoke(key="k", thread={"id": "user-42-9f1c"})
        print("sent")
    except ThreadPolicyError as exc:
        print(",".join(v.code for v in exc.violations))
"""


def test_uniqueness_across_two_processes_on_redis(router: Router, redis_url: str) -> None:
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    out = [subprocess.run([sys.executable, "-c", SCRIPT, router.server_url, redis_url, who], env=env,
                          capture_output=True, text=True, timeout=60).stdout.strip() for who in ("alice", "bob", "alice")]
    assert out == ["sent", "OTL007", "sent"]
    assert len(router.received) == 2


def test_leaving_with_closes_the_store_the_guard_opened(router: Router, tmp_path: Any) -> None:
    with guard(orq(router), Policy.preset(), store=f"sqlite:///{tmp_path / 'threads.db'}") as g:
        with thread_scope("alice"):
            g.deployments.invoke(key="k", messages=MSG, thread=GOOD)
        store = type(g)._orq_thread_guard.store
        assert len(store._open) == 1
    assert len(store._open) == 0


def test_continuity_follows_a_conversation_through_the_sdk(router: Router, caplog: pytest.LogCaptureFixture) -> None:
    g = guarded(router)
    first = [{"role": "system", "content": "You answer questions about invoices."},
             {"role": "user", "content": "Where is invoice 7?"}]
    g.deployments.invoke(key="k", messages=first, thread={"id": "user-42-9f1c"})
    follow_up = [*first, {"role": "assistant", "content": "hi"}, {"role": "user", "content": "And invoice 8?"}]
    with pytest.raises(ThreadPolicyError) as info:  # the follow-up under a new id splits the conversation
        g.deployments.invoke(key="k", messages=follow_up, thread={"id": "user-42-77aa"})
    assert [v.code for v in info.value.violations] == ["OTL008"]
    g.deployments.invoke(key="k", messages=follow_up, thread={"id": "user-42-9f1c"})
    assert len(router.received) == 2
    assert not any(r.levelname == "ERROR" for r in caplog.records)
