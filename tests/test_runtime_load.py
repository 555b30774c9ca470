"""The guard's uniqueness under load, with the default settings, against the real SQLite file and the
real Redis: no store errors, and exactly one owner for every shared id.

Each request goes through the guard's whole check (``check_options`` / ``acheck_options``, what
the client's ``_prepare_options`` runs) with the SDK's own request options; only the HTTP round
trip to a router is left out, which would measure the router instead of the store."""

from __future__ import annotations

import asyncio
import threading
from collections import defaultdict
from pathlib import Path
from typing import Any

from openai import AsyncOpenAI, OpenAI
from openai._models import FinalRequestOptions

from orq_thread_lint import Policy, ThreadPolicyError, guard, thread_scope
from orq_thread_lint.runtime.guard import Guard

SHARED = 125  # ids every worker asks for


def _options(thread_id: str) -> FinalRequestOptions:
    return FinalRequestOptions.construct(method="post", url="/chat/completions",
                                         json_data={"model": "m", "messages": [], "orq": {"thread": {"id": thread_id}}})


def _guard_of(client: Any) -> tuple[Guard, list[BaseException]]:
    """The guard inside a guarded client, and the store failures it meets (``on-store-error`` is
    ``open`` by default, so a failure would otherwise only be a warning)."""
    g: Guard = type(client)._orq_thread_guard
    failures: list[BaseException] = []
    g._uniqueness_failed = failures.append  # type: ignore[method-assign]
    return g, failures


def _one_owner_each(accepted: dict[str, set[str]]) -> None:
    assert len(accepted) == SHARED
    assert {tid: owners for tid, owners in accepted.items() if len(owners) != 1} == {}


def test_sqlite_16_threads_x_2000_requests(tmp_path: Path) -> None:
    client = guard(OpenAI(base_url="http://127.0.0.1:9/v1", api_key="k"), Policy.preset(),
                   store=f"sqlite:///{tmp_path / 'threads.db'}")
    g, failures = _guard_of(client)
    accepted: dict[str, set[str]] = defaultdict(set)
    crashed: list[BaseException] = []
    barrier = threading.Barrier(16)

    def worker(n: int) -> None:
        scope = f"scope-{n}"
        try:
            barrier.wait()
            with thread_scope(scope):
                for i in range(2000):
                    tid = f"user-{(i + n) % SHARED}-load"
                    try:
                        g.check_options(_options(tid))
                    except ThreadPolicyError as exc:
                        assert [v.code for v in exc.violations] == ["OTL007"]
                    else:
                        accepted[tid].add(scope)
        except BaseException as exc:
            crashed.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    client.close()
    assert crashed == [] and failures == []
    _one_owner_each(accepted)


def test_redis_500_asyncio_tasks_x_20_requests(redis_url: str) -> None:
    client = guard(AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="k"), Policy.preset(), store=redis_url)
    g, failures = _guard_of(client)
    accepted: dict[str, set[str]] = defaultdict(set)

    async def task(n: int) -> None:
        scope = f"task-{n}"
        with thread_scope(scope):
            for i in range(20):
                tid = f"user-{(i + n) % SHARED}-load"
                try:
                    await g.acheck_options(_options(tid))
                except ThreadPolicyError as exc:
                    assert [v.code for v in exc.violations] == ["OTL007"]
                else:
                    accepted[tid].add(scope)

    async def main() -> None:
        async with client:
            await asyncio.gather(*(task(n) for n in range(500)))

    asyncio.run(main())
    assert failures == []
    _one_owner_each(accepted)
