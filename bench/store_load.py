"""The uniqueness stores under load, with the default settings: latency of the guard's whole check.

    python bench/store_load.py [redis://127.0.0.1:6379/14]

1. SQLite: 16 threads x 2,000 requests on one file (a temporary folder).
2. Redis (if a server answers): 500 asyncio tasks x 20 requests on one event loop.

Each request asks for one of 125 ids every worker shares. Printed: total time, p50, p99 and the
maximum per request, and the store errors (there should be none). The database is flushed.
"""

from __future__ import annotations

import asyncio
import contextlib
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

from openai import AsyncOpenAI, OpenAI
from openai._models import FinalRequestOptions

from orq_thread_lint import Policy, ThreadPolicyError, guard, thread_scope
from orq_thread_lint.runtime.guard import Guard


def _options(thread_id: str) -> FinalRequestOptions:
    return FinalRequestOptions.construct(method="post", url="/chat/completions",
                                         json_data={"model": "m", "messages": [], "orq": {"thread": {"id": thread_id}}})


def _guard(client: Any, errors: list[BaseException]) -> Guard:
    g: Guard = type(client)._orq_thread_guard
    g._uniqueness_failed = errors.append  # type: ignore[method-assign]
    return g


def _report(label: str, started: float, latencies: list[float], errors: list[BaseException]) -> None:
    latencies.sort()
    p = lambda q: latencies[min(len(latencies) - 1, int(len(latencies) * q))] * 1000  # noqa: E731
    print(f"{label}: {len(latencies):,} requests in {time.perf_counter() - started:.2f} s; per request "
          f"p50 {p(0.5):.2f} ms, p99 {p(0.99):.1f} ms, max {latencies[-1] * 1000:.1f} ms; store errors {len(errors)}")


def _timed(latencies: list[float], g: Guard, options: FinalRequestOptions) -> None:
    started = time.perf_counter()
    with contextlib.suppress(ThreadPolicyError):  # OTL007: another worker has the id
        g.check_options(options)
    latencies.append(time.perf_counter() - started)


def sqlite() -> None:
    with tempfile.TemporaryDirectory() as folder:
        errors: list[BaseException] = []
        client = guard(OpenAI(base_url="http://127.0.0.1:9/v1", api_key="k"), Policy.preset(),
                       store=f"sqlite:///{Path(folder) / 'threads.db'}")
        g = _guard(client, errors)
        latencies: list[float] = []

        def worker(n: int) -> None:
            with thread_scope(f"scope-{n}"):
                for i in range(2000):
                    _timed(latencies, g, _options(f"user-{(i + n) % 125}-load"))

        threads = [threading.Thread(target=worker, args=(n,)) for n in range(16)]
        started = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        client.close()
        _report("sqlite, 16 threads x 2,000", started, latencies, errors)


def redis(url: str) -> None:
    import redis as redis_py

    try:
        redis_py.Redis.from_url(url).flushdb()
    except redis_py.RedisError as exc:
        print(f"redis: not measured ({exc})")
        return
    errors: list[BaseException] = []
    client = guard(AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="k"), Policy.preset(), store=url)
    g = _guard(client, errors)
    latencies: list[float] = []

    async def task(n: int) -> None:
        with thread_scope(f"task-{n}"):
            for i in range(20):
                started = time.perf_counter()
                with contextlib.suppress(ThreadPolicyError):
                    await g.acheck_options(_options(f"user-{(i + n) % 125}-load"))
                latencies.append(time.perf_counter() - started)

    async def main() -> None:
        async with client:
            await asyncio.gather(*(task(n) for n in range(500)))

    started = time.perf_counter()
    asyncio.run(main())
    _report("redis, 500 asyncio tasks x 20", started, latencies, errors)
    redis_py.Redis.from_url(url).flushdb()


if __name__ == "__main__":
    sqlite()
    redis(sys.argv[1] if len(sys.argv) > 1 else "redis://127.0.0.1:6379/14")
