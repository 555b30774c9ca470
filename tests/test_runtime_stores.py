"""Uniqueness stores: memory, SQLite across processes, Redis across processes, under concurrency and faults."""

from __future__ import annotations

import asyncio
import gc
import os
import socket
import subprocess
import sys
import threading
import time
import warnings
from collections import Counter
from collections.abc import Iterator
from pathlib import Path

import pytest
from openai import OpenAI

from orq_thread_lint import OrqThreadWarning, Policy, ThreadPolicyError, ThreadStoreError, guard, thread_scope
from orq_thread_lint.runtime.stores import (
    MemoryStore,
    RedisStore,
    SqliteStore,
    Store,
    StoreError,
    open_store,
    store_key,
)
from router import Router

GOOD = {"orq": {"thread": {"id": "user-42-9f1c"}}}
MSG = [{"role": "user", "content": "hi"}]


@pytest.fixture(params=["memory", "sqlite", "redis"])
def store(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Store]:
    if request.param == "memory":
        yield MemoryStore()
    elif request.param == "sqlite":
        s = SqliteStore(str(tmp_path / "threads.db"), timeout_ms=10_000)  # roomy, as for Redis below
        yield s
        s.close()
    else:
        # Roomy: a busy machine can take seconds to accept 200 connections; the tests assert who
        # wins, never how fast.
        s = open_store(request.getfixturevalue("redis_url"), timeout_ms=5000)
        yield s
        s.close()


def test_bind_returns_the_first_owner(store: Store) -> None:
    key = store.key("user-1-a")
    assert store.bind(key, "alice", 60_000) == "alice"
    assert store.bind(key, "bob", 60_000) == "alice"
    assert store.bind(key, "alice", 60_000) == "alice"


def test_bindings_expire(store: Store) -> None:
    key = store.key("user-2-a")
    assert store.bind(key, "alice", 50) == "alice"
    time.sleep(0.12)
    assert store.bind(key, "bob", 60_000) == "bob"


def test_keys_are_namespaced_and_hide_the_id() -> None:
    key = store_key("jane@example.com", b"a secret of sixteen+")
    assert key.startswith("orq-thread-lint:thread:") and "jane" not in key
    assert key != store_key("jane@example.com", b"another secret, 16+")


def test_memory_store_is_bounded() -> None:
    s = MemoryStore(capacity=100)
    for i in range(1000):
        s.bind(f"k{i}", "x", 60_000)
    assert len(s) == 100
    assert s.bind("k999", "y", 60_000) == "x" and s.bind("k0", "y", 60_000) == "y"


def test_threads_contend_and_exactly_one_scope_wins(store: Store) -> None:
    winners: Counter[str] = Counter()
    errors: list[BaseException] = []
    barrier = threading.Barrier(8)

    def worker(n: int) -> None:
        try:
            barrier.wait()
            for i in range(1000):
                owner = store.bind(store.key(f"contested-{i % 50}"), f"scope-{n}", 60_000)
                if i < 50:
                    winners[f"{i}:{owner}"] += 1
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    # every thread saw the same single owner for each contested key
    per_key: dict[str, set[str]] = {}
    for entry in winners:
        k, owner = entry.split(":", 1)
        per_key.setdefault(k, set()).add(owner)
    assert len(per_key) == 50 and all(len(owners) == 1 for owners in per_key.values())


def test_asyncio_tasks_contend_and_exactly_one_wins(store: Store) -> None:
    async def main() -> set[str]:
        owners = await asyncio.gather(*(store.abind(store.key("async-contested"), f"task-{n}", 60_000)
                                        for n in range(200)))
        await store.aclose()
        return set(owners)

    owners = asyncio.run(main())
    assert len(owners) == 1


def _fd_targets() -> list[str]:
    """What this process's file descriptors point at (paths, ``socket:[inode]``), read from /proc."""
    targets = []
    for fd in os.listdir("/proc/self/fd"):
        try:
            targets.append(os.readlink(f"/proc/self/fd/{fd}"))
        except OSError:  # the descriptor listdir itself used, closed by now
            continue
    return targets


def _fds_to(path: Path) -> int:
    """How many of this process's file descriptors are open on ``path`` (or its -wal/-shm files)."""
    names = {str(path), f"{path}-wal", f"{path}-shm"}
    return sum(target in names for target in _fd_targets())


def _sockets_to_redis() -> int:
    """How many of this process's sockets are connected to 127.0.0.1:6379."""
    with warnings.catch_warnings():  # what earlier tests dropped goes first
        warnings.simplefilter("ignore", ResourceWarning)
        gc.collect()
    inodes = {t[len("socket:["):-1] for t in _fd_targets() if t.startswith("socket:[")}
    remote = "0100007F:18EB"  # 127.0.0.1:6379, as /proc/net/tcp spells it
    with open("/proc/net/tcp") as table:
        rows = [line.split() for line in table.readlines()[1:]]
    return sum(1 for row in rows if row[2] == remote and row[3] == "01" and row[9] in inodes)


def test_sqlite_close_closes_every_threads_connection(tmp_path: Path) -> None:
    db = tmp_path / "threads.db"
    s = SqliteStore(str(db), timeout_ms=2000)

    async def main() -> list[str]:  # abind runs in the loop's worker threads: one connection each
        return list(await asyncio.gather(*(s.abind(s.key(f"t{n}"), "o", 60_000) for n in range(16))))

    workers = [threading.Thread(target=s.bind, args=(s.key(f"w{n}"), "o", 60_000)) for n in range(4)]
    for w in workers:
        w.start()
    for w in workers:
        w.join()
    assert asyncio.run(main()) == ["o"] * 16
    assert _fds_to(db) > 0
    s.close()
    assert _fds_to(db) == 0
    assert s.bind(s.key("w0"), "someone else", 60_000) == "o"  # usable again, and nothing lost
    s.close()
    assert _fds_to(db) == 0


def test_closing_a_guarded_client_closes_the_store_it_opened_and_only_that(router: Router, tmp_path: Path) -> None:
    db = tmp_path / "threads.db"
    opened = guard(OpenAI(base_url=router.url, api_key="k", max_retries=0), Policy.preset(), store=f"sqlite:///{db}")
    with opened, thread_scope("alice"):
        opened.chat.completions.create(model="m", messages=MSG, extra_body=GOOD)
    assert _fds_to(db) == 0
    shared = SqliteStore(str(db))
    lent = guard(OpenAI(base_url=router.url, api_key="k", max_retries=0), Policy.preset(), store=shared)
    with lent, thread_scope("alice"):
        lent.chat.completions.create(model="m", messages=MSG, extra_body=GOOD)
    assert _fds_to(db) > 0  # a store passed in is the caller's to close
    shared.close()
    assert _fds_to(db) == 0
    assert len(router.received) == 2


def test_redis_async_clients_are_closed_and_do_not_pile_up_across_loops(redis_url: str) -> None:
    before = _sockets_to_redis()
    s = RedisStore(redis_url, timeout_ms=2000)

    async def bind(n: int, close: bool) -> str:
        owner = await s.abind(s.key(f"loop-{n}"), "o", 60_000)
        if close:
            await s.aclose()
        return owner

    assert asyncio.run(bind(0, close=True)) == "o"
    assert _sockets_to_redis() == before
    with warnings.catch_warnings():  # connections left to a loop that ended warn when collected
        warnings.simplefilter("ignore", ResourceWarning)
        for n in range(1, 6):  # each asyncio.run is a new loop; unclosed, the store keeps only the last one's
            assert asyncio.run(bind(n, close=False)) == "o"
            assert _sockets_to_redis() <= before + 1
        s.close()
        assert _sockets_to_redis() == before


_PROCESS = """
import sys
from orq_thread_lint.runtime.stores import open_store
s = open_store(sys.argv[1], timeout_ms=10_000)  # roomy: a busy machine may be slow to answer
print(s.bind(s.key("shared-id"), sys.argv[2], 60000))
"""


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
def test_two_processes_see_the_overlap(kind: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}" if kind == "sqlite" else request.getfixturevalue("redis_url")
    first = subprocess.run([sys.executable, "-c", _PROCESS, url, "alice"], capture_output=True, text=True, check=True)
    second = subprocess.run([sys.executable, "-c", _PROCESS, url, "bob"], capture_output=True, text=True, check=True)
    assert first.stdout.strip() == "alice" and second.stdout.strip() == "alice"


def test_guard_across_processes_with_redis(redis_url: str) -> None:
    code = f"""
import sys
from openai import OpenAI
from orq_thread_lint import Policy, guard, thread_scope, ThreadPolicyError
# A roomy store timeout: on a busy machine a 50 ms bind can time out, and the request is then sent unchecked.
policy = Policy.from_dict({{"runtime": {{"store-timeout-ms": 5000}}}})
g = guard(OpenAI(base_url="http://127.0.0.1:9/v1", api_key="k", max_retries=0), policy, store="{redis_url}")
with thread_scope(sys.argv[1]):
    try:
        g.chat.completions.create(model="m", messages=[], extra_body={{"orq": {{"thread": {{"id": "user-7-cross"}}}}}})
    except ThreadPolicyError as exc:
        print([v.code for v in exc.violations])
    except Exception as exc:
        print(type(exc).__name__)
"""
    a = subprocess.run([sys.executable, "-c", code, "alice"], capture_output=True, text=True, check=True)
    b = subprocess.run([sys.executable, "-c", code, "bob"], capture_output=True, text=True, check=True)
    assert a.stdout.strip() == "APIConnectionError"  # checked and allowed; nothing listens on port 9
    assert b.stdout.strip() == "['OTL007']"


class _Silent:
    """A TCP server that accepts and never answers (a hung Redis)."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(16)
        self.port = self.sock.getsockname()[1]
        self.conns: list[socket.socket] = []
        self._t = threading.Thread(target=self._accept, daemon=True)
        self._t.start()

    def _accept(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.conns.append(conn)

    def close(self) -> None:
        self.sock.close()
        for c in self.conns:
            c.close()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@pytest.mark.parametrize("fault", ["refused", "hung"])
def test_store_faults_open_and_closed(router: Router, fault: str) -> None:
    silent = _Silent() if fault == "hung" else None
    port = silent.port if silent else _free_port()
    try:
        url = f"redis://127.0.0.1:{port}/0"
        with pytest.raises(StoreError):
            RedisStore(url, timeout_ms=50).bind("k", "v", 1000)
        # A hung store costs a request the store timeout, no more (redis-py's own retries are off).
        opened = guard(OpenAI(base_url=router.url, api_key="k", max_retries=0),
                       Policy.from_dict({"runtime": {"on-store-error": "open", "store-timeout-ms": 300}}), store=url)
        started = time.monotonic()
        with thread_scope("alice"), pytest.warns(OrqThreadWarning, match="uniqueness store failed"):
            opened.chat.completions.create(model="m", messages=MSG, extra_body=GOOD)
        assert time.monotonic() - started < 2.0
        assert len(router.received) == 1
        closed = guard(OpenAI(base_url=router.url, api_key="k", max_retries=0),
                       Policy.from_dict({"runtime": {"on-store-error": "closed"}}), store=url)
        with thread_scope("alice"), pytest.raises(ThreadStoreError) as info:
            closed.chat.completions.create(model="m", messages=MSG, extra_body=GOOD)
        assert isinstance(info.value, ThreadPolicyError)
        assert len(router.received) == 1
    finally:
        if silent:
            silent.close()


def test_async_guard_with_redis(router: Router, redis_url: str) -> None:
    from openai import AsyncOpenAI

    # A roomy store timeout: this test is about one winner among concurrent tasks, and 20 tasks
    # connecting at once on a loaded 2-core machine can take longer than the 50 ms default.
    policy = Policy.from_dict({"runtime": {"store-timeout-ms": 2000, "on-store-error": "closed"}})
    g = guard(AsyncOpenAI(base_url=router.url, api_key="k", max_retries=0), policy, store=redis_url)

    async def user(name: str) -> str:
        with thread_scope(name):
            try:
                await g.chat.completions.create(model="m", messages=MSG, extra_body=GOOD)
                return "sent"
            except ThreadStoreError as exc:
                return f"store failed: {exc}"
            except ThreadPolicyError:
                return "refused"

    async def main() -> list[str]:
        async with g:  # the guard opened the store, so closing the client closes it too
            return list(await asyncio.gather(*(user(f"u{i}") for i in range(20))))

    before = _sockets_to_redis()
    outcome = Counter(asyncio.run(main()))
    assert outcome == {"sent": 1, "refused": 19}
    assert _sockets_to_redis() == before  # the client is still alive, but its connections are closed
