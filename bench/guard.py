"""Benchmark the runtime guard.

    python bench/guard.py

1. Guarded vs unguarded ``chat.completions.create`` against the same in-process transport
   (no network), alternating, median per call and the ratio (target <= 1.05).
2. The guard's whole check with the memory store (policy, scope, uniqueness bind), median per
   request (target <= 15 us).

Both for conversations of 10 turns (the turns share a thread) and for a new thread id on every
call (the worst case for the guard's memo). Ids are never reused across rounds.
3. The continuity check (OTL008) with the memory store for a 20-message conversation: the time it
   adds to the guard's check, median per request (target <= 20 us).
4. orq's SDK: guarded vs unguarded ``deployments.invoke`` against an in-process transport, the
   same way (target <= 1.05), if orq-ai-sdk is installed.
5. ``install()``: building an ``OpenAI`` and an ``Orq`` client with and without it (target: <= 5 us
   more; the hooks sit on the SDKs' classes, so building a client does nothing new).
6. The Redis bind round trip on loopback, if a server answers at 127.0.0.1:6379.

    python bench/guard.py --only orq,install   # some sections only
"""

from __future__ import annotations

import argparse
import itertools
import json
import statistics
import time
from collections.abc import Iterator
from typing import Any

import openai

import orq_thread_lint
from orq_thread_lint import Policy, guard, thread_scope
from orq_thread_lint.runtime.continuity import Continuity
from orq_thread_lint.runtime.guard import Guard
from orq_thread_lint.runtime.stores import MemoryStore, StoreError, open_store

try:
    import httpx2 as httpx  # openai 3.x
except ImportError:  # openai 1.x and 2.x
    import httpx  # type: ignore[no-redef]

REPLY = json.dumps({"id": "c", "object": "chat.completion", "created": 1, "model": "m",
                    "choices": [{"index": 0, "finish_reason": "stop",
                                 "message": {"role": "assistant", "content": "hi"}}],
                    "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2}}).encode()
POLICY = Policy.from_dict({"thread-id": {"patterns": ["user-{user_id}-{session_id}"]},
                           "tags": {"vocabulary": ["support", "billing"]}})
MSG = [{"role": "user", "content": "Summarise my last three invoices, please."}]


def _client() -> Any:
    transport = httpx.MockTransport(lambda request: httpx.Response(200, content=REPLY,
                                                                   headers={"content-type": "application/json"}))
    return openai.OpenAI(base_url="http://router.invalid/v3/router", api_key="k", max_retries=0,
                         http_client=httpx.Client(transport=transport))


def per_call(fn: Any, n: int) -> float:
    start = time.perf_counter()
    for i in range(n):
        fn(i)
    return (time.perf_counter() - start) / n * 1e6


def alternate(label: str, plain: Any, guarded: Any, rounds: int = 15, n: int = 300) -> None:
    """Median per call of ``plain(i)`` and ``guarded(i)``, alternating rounds, and their ratio."""
    for _ in range(2):  # warm up both
        per_call(plain, n // 2)
        per_call(guarded, n // 2)
    a, b = [], []
    for _ in range(rounds):
        a.append(per_call(plain, n))
        b.append(per_call(guarded, n))
    ratios = [g / p for g, p in zip(b, a, strict=True)]
    print(f"{label}: unguarded median {statistics.median(a):.1f} us, guarded {statistics.median(b):.1f} us, "
          f"ratio median {statistics.median(ratios):.3f} ({rounds} alternating rounds of {n} calls)")


DEPLOYMENT = json.dumps({"id": "d", "created": "2026-01-01T00:00:00Z", "object": "chat", "model": "m",
                         "provider": "openai", "is_final": True, "telemetry": {"trace_id": "t", "span_id": "s"},
                         "choices": [{"index": 0, "finish_reason": "stop",
                                      "message": {"type": "content", "role": "assistant", "content": "hi"}}]}).encode()


def orq_section(calls: Iterator[int]) -> None:
    try:
        import httpx as orq_httpx  # orq's SDK uses httpx whatever openai uses
        from orq_ai_sdk import Orq
    except ImportError:
        print("orq-ai-sdk: not measured (not installed)")
        return

    def client() -> Any:
        transport = orq_httpx.MockTransport(lambda request: orq_httpx.Response(
            200, content=DEPLOYMENT, headers={"content-type": "application/json"}))
        return Orq(api_key="k", server_url="http://router.invalid", client=orq_httpx.Client(transport=transport))

    plain, guarded = client(), guard(client(), POLICY, store=MemoryStore(), mode="enforce")

    def call(orq: Any, turns: int) -> Any:
        def send(_: int) -> None:
            n = next(calls) // turns
            with thread_scope(f"u{n}"):
                orq.deployments.invoke(key="support", messages=MSG,
                                       thread={"id": f"user-{n}-9f1c", "tags": ["support"]})
        return send

    import orq_ai_sdk
    # orq-ai-sdk 4.17 builds pydantic models on every call (hundreds of ms here): few calls suffice.
    for label, turns in (("conversations of 10 turns", 10), ("a new thread id on every call", 1)):
        alternate(f"orq-ai-sdk {orq_ai_sdk.__version__} deployments.invoke, {label}",
                  call(plain, turns), call(guarded, turns), rounds=7, n=5)

    # What the guard adds to each attempt, in isolation: the check on the request the SDK built.
    checks = type(guarded)._orq_thread_guard
    ctx = type("Ctx", (), {"operation_id": "DeploymentInvoke"})()

    def check(turns: int, count: int) -> Any:
        requests = []  # built beforehand: only the check is timed
        for _ in range(count):
            n = next(calls) // turns
            body = {"key": "support", "stream": False, "messages": MSG,
                    "thread": {"id": f"user-{n}-9f1c", "tags": ["support"]}}
            requests.append((f"u{n}", orq_httpx.Request("POST", "http://router.invalid/v2/deployments/invoke",
                                                        json=body)))

        def run(i: int) -> None:
            scope, request = requests[i]
            with thread_scope(scope):
                checks.check(ctx, request, request)
        return run

    for label, turns in (("conversations of 10 turns", 10), ("a new thread id on every call", 1)):
        runs = [per_call(check(turns, 3000), 3000) for _ in range(9)]
        print(f"orq guard check (JSON body read, policy, scope, memory-store bind), {label}: "
              f"median {statistics.median(runs):.2f} us per request")


def install_section() -> None:
    try:
        import httpx as orq_httpx
        from orq_ai_sdk import Orq
    except ImportError:
        Orq = None
    shared = httpx.Client()
    builders: dict[str, Any] = {"OpenAI": lambda: openai.OpenAI(base_url="http://router.invalid/v3/router",
                                                                 api_key="k", http_client=shared)}
    if Orq is not None:
        orq_shared = orq_httpx.Client()
        builders["Orq"] = lambda: Orq(api_key="k", server_url="http://router.invalid", client=orq_shared)
    for name, build in builders.items():
        without, with_ = [], []
        for _ in range(9):
            orq_thread_lint.uninstall()
            without.append(per_call(lambda _: build(), 300))  # noqa: B023 - used at once
            orq_thread_lint.install(POLICY, store=MemoryStore())
            with_.append(per_call(lambda _: build(), 300))  # noqa: B023 - used at once
        orq_thread_lint.uninstall()
        plain, hooked = statistics.median(without), statistics.median(with_)
        print(f"building {name}: without install() median {plain:.1f} us, with {hooked:.1f} us, "
              f"difference {hooked - plain:+.1f} us (9 alternating rounds of 300)")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--only", default="openai,check,continuity,orq,install,redis",
                        help="comma-separated sections")
    only = set(parser.parse_args().only.split(","))
    calls = itertools.count()  # one counter for every round: an id is never seen again later
    if "openai" in only:
        openai_section(calls)
    if "check" in only:
        check_section(calls)
    if "continuity" in only:
        continuity()
    if "orq" in only:
        orq_section(calls)
    if "install" in only:
        install_section()
    if "redis" in only:
        redis_section()


def openai_section(calls: Iterator[int]) -> None:
    plain = _client()
    guarded = guard(_client(), POLICY, store=MemoryStore(), mode="enforce")

    def call(client: Any, turns: int) -> Any:
        def send(_: int) -> None:
            n = next(calls) // turns  # `turns` requests in a row share a conversation's thread id
            with thread_scope(f"u{n}"):
                client.chat.completions.create(model="m", messages=MSG, extra_body={
                    "orq": {"thread": {"id": f"user-{n}-9f1c", "tags": ["support"]}}})
        return send

    for label, turns in (("conversations of 10 turns", 10), ("a new thread id on every call", 1)):
        alternate(f"openai {openai.__version__} chat.completions.create, {label}", call(plain, turns),
                  call(guarded, turns))


def check_section(calls: Iterator[int]) -> None:
    g = Guard(POLICY, "enforce", MemoryStore())
    options = openai._models.FinalRequestOptions.construct(
        method="post", url="/chat/completions", json_data={"model": "m", "messages": MSG}, extra_json=None)

    def check(turns: int) -> Any:
        def run(_: int) -> None:
            n = next(calls) // turns
            options.extra_json = {"orq": {"thread": {"id": f"user-{n}-9f1c", "tags": ["support"]}}}
            with thread_scope(f"u{n}"):
                g.check_options(options)
        return run

    for label, turns in (("conversations of 10 turns", 10), ("a new thread id on every call", 1)):
        runs = [per_call(check(turns), 5000) for _ in range(9)]
        print(f"guard check with the memory store, {label}: median {statistics.median(runs):.2f} us per request")



def redis_section() -> None:
    try:
        store = open_store("redis://127.0.0.1:6379/14", timeout_ms=200)
        store.bind(store.key("warm"), "x", 1000)
    except StoreError as exc:
        print(f"redis: not measured ({exc})")
        return
    runs = [per_call(lambda i: store.bind(store.key(f"bench-{i}"), "alice", 5000), 2000) for _ in range(7)]
    print(f"redis bind round trip on loopback: median {statistics.median(runs):.1f} us")


def _conversation(n: int, length: int) -> list[dict[str, str]]:
    """A system prompt, then user and assistant turns of about 100 characters each."""
    out = [{"role": "system", "content": "You are the billing assistant of Example Ltd. Answer briefly."}]
    for i in range(length - 1):
        role = "user" if i % 2 == 0 else "assistant"
        out.append({"role": role, "content": f"{role} turn {i} of conversation {n}: " + "invoice details " * 5})
    return out


def continuity() -> None:
    """Each conversation sends its turns in order (3, 5, ... 19 messages, untimed), then its
    20-message request is checked: once by a guard with continuity, once by one without. The
    difference is what continuity adds; the continuity step alone is timed too."""
    on = Guard(POLICY, "enforce", MemoryStore())
    off = Guard(POLICY.with_selection(ignore=["OTL008"]), "enforce", MemoryStore())
    step = on.continuity
    assert isinstance(step, Continuity) and off.continuity is None
    conversations = itertools.count()

    def prepared(k: int) -> list[Any]:
        batch = []
        for _ in range(k):
            n = next(conversations)
            messages = _conversation(n, 20)
            extra = {"orq": {"thread": {"id": f"user-{n}-9f1c", "tags": ["support"]}}}
            for length in range(3, 20, 2):  # the earlier turns: they bind the prefixes looked up
                on.check_options(openai._models.FinalRequestOptions.construct(
                    method="post", url="/chat/completions", json_data={"model": "m", "messages": messages[:length]},
                    extra_json=extra))
            batch.append(openai._models.FinalRequestOptions.construct(
                method="post", url="/chat/completions", json_data={"model": "m", "messages": messages},
                extra_json=extra))
        return batch

    def alone_step(options: Any) -> None:
        """The step as the guard takes it for an unscoped request: fingerprints, the store's one
        step (look-up and bind, no ids to claim), the verdict."""
        plan = step.prepare(options, ((options.extra_json["orq"]["thread"]["id"], "orq.thread.id"),))
        assert plan is not None
        step.verdict(plan, on.store.admit([], "", on.ttl_ms, plan.follow, True)[1])

    def timed(fn: Any, batch: list[Any]) -> float:
        start = time.perf_counter()
        for options in batch:
            fn(options)
        return (time.perf_counter() - start) / len(batch) * 1e6

    with_c, without, alone, peer = [], [], [], []
    for _ in range(15):
        batch = prepared(300)
        # a peer in the same run: the SDK serialises every body it sends
        peer.append(timed(lambda o: json.dumps(o.json_data), batch))
        # each request is checked once per guard, in alternating order; `off` never binds continuity
        without.append(timed(off.check_options, batch))
        with_c.append(timed(on.check_options, batch))
        alone.append(timed(alone_step, batch))
    added = [w - o for w, o in zip(with_c, without, strict=True)]
    print(f"continuity, 20-message conversation, memory store: guard check {statistics.median(without):.1f} us "
          f"without, {statistics.median(with_c):.1f} us with; added median {statistics.median(added):.1f} us "
          f"per request; the continuity step alone {statistics.median(alone):.1f} us (target 20 us), "
          f"{statistics.median(alone) / statistics.median(peer):.2f}x json.dumps of the same body "
          f"({statistics.median(peer):.1f} us)")


if __name__ == "__main__":
    main()
