"""The guard under hostile input and faults: what it can't check is refused, a refused request claims
nothing, repair's reach, a dead store reported once, store keys that give nothing away."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import sqlite3
import stat
import subprocess
import sys
import time
import warnings
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI, OpenAI

from orq_thread_lint import (
    ConfigError,
    OrqThreadWarning,
    Policy,
    ThreadCheckError,
    ThreadPolicyError,
    guard,
    thread_scope,
)
from orq_thread_lint.runtime import checkable
from orq_thread_lint.runtime.checkable import uncheckable
from orq_thread_lint.runtime.stores import (
    SECRET_ENV,
    MemoryStore,
    RedisStore,
    SqliteStore,
    Store,
    StoreError,
    open_store,
    store_key,
)
from router import Router

MSG = [{"role": "user", "content": "hi"}]


def _client(router: Router, cls: type = OpenAI) -> Any:
    return cls(base_url=router.url, api_key="k", max_retries=0)


def _nested(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth):
        value = [value]
    return value


# 11: what the guard can't check is a violation, never an internal error ------------------------------
def _looping() -> list[Any]:
    tags: list[Any] = ["support"]
    tags.append(tags)
    return tags


@pytest.mark.parametrize("thread", [
    {"id": "user-42-9f1c", "tags": _nested(600)},                 # RecursionError on main: sent unchecked
    {"id": "user-42-9f1c", "tags": _nested(100_000)},
    {"id": "user-42-9f1c", "tags": _looping()},                   # holds itself
    {"id": "user-42-9f1c", "tags": ["support"], "x": {"y": [{"z": _nested(80)}]}},
], ids=["600-deep", "100k-deep", "self-holding", "deep-unknown-field"])
@pytest.mark.parametrize("mode", ["enforce", "repair"])
def test_enforce_refuses_what_it_cannot_check(router: Router, thread: dict[str, Any], mode: str) -> None:
    g = guard(_client(router), Policy.preset(), mode=mode, store=MemoryStore())
    with pytest.raises(ThreadPolicyError) as info:
        g.chat.completions.create(model="m", messages=MSG, extra_body={"orq": {"thread": thread}})
    assert type(info.value) is ThreadPolicyError  # a verdict on the request, not an internal error
    assert [v.code for v in info.value.violations] == ["OTL000"]
    assert "can't be checked" in str(info.value) and info.value.violations[0].path.startswith("orq.thread")
    assert router.received == []


def test_too_much_to_check_is_refused_before_the_rules_see_it(router: Router) -> None:
    g = guard(_client(router), Policy.preset(), store=MemoryStore())
    for extra in ({"orq": {"thread": {"id": "user-42-9f1c", "tags": ["t"] * (checkable.MAX_VALUES + 1)}}},
                  {"orq": {"thread": {"id": "user-42-" + "a" * checkable.MAX_CHARS}}},
                  {"metadata": {"note": _nested(checkable.MAX_DEPTH + 5)}, "orq": {"thread": {"id": "user-42-9f1c"}}}):
        with pytest.raises(ThreadPolicyError) as info:
            g.chat.completions.create(model="m", messages=MSG, extra_body=extra)
        assert [v.code for v in info.value.violations] == ["OTL000"]
    assert router.received == []


def test_what_can_be_checked_is_not_refused_as_uncheckable() -> None:
    body = {"orq": {"thread": {"id": "user-42-9f1c", "tags": ["a"] * 50}}, "metadata": {"k": "v" * 1000},
            "messages": [{"content": _nested(5000)}]}  # the rules don't read messages: no bound there
    assert uncheckable(body, "user-42-9f1c") is None


def test_the_bounds_are_met_in_steps_bounded_by_the_bounds() -> None:
    calls = 0
    real = isinstance

    def counting(value: object, kinds: Any) -> bool:
        nonlocal calls
        calls += 1
        return real(value, kinds)

    checkable.isinstance = counting  # type: ignore[attr-defined]
    try:
        costs = []
        for depth in (1_000, 4_000):
            calls = 0
            assert uncheckable({"orq": {"thread": {"tags": _nested(depth)}}}) is not None
            costs.append(calls)
        assert costs[0] == costs[1]  # it stops at the depth bound, however deep the value goes
    finally:
        del checkable.isinstance  # type: ignore[attr-defined]


def test_warn_mode_warns_about_what_it_cannot_check_and_sends(router: Router) -> None:
    g = guard(_client(router), Policy.preset(), mode="warn", store=MemoryStore())
    with pytest.warns(OrqThreadWarning, match="OTL000"):
        g.chat.completions.create(model="m", messages=MSG,
                                  extra_body={"orq": {"thread": {"id": "user-42-9f1c", "tags": _nested(600)}}})
    assert len(router.received) == 1


def test_async_enforce_refuses_what_it_cannot_check(router: Router) -> None:
    g = guard(_client(router, AsyncOpenAI), Policy.preset(), store=MemoryStore())

    async def main() -> None:
        with pytest.raises(ThreadPolicyError) as info:
            await g.chat.completions.create(model="m", messages=MSG,
                                            extra_body={"orq": {"thread": {"id": "user-42-9f1c", "tags": _nested(600)}}})
        assert [v.code for v in info.value.violations] == ["OTL000"]

    asyncio.run(main())
    assert router.received == []


def _break(monkeypatch: pytest.MonkeyPatch, where: str) -> None:
    from orq_thread_lint.runtime import guard as guard_module

    def broken(*args: object, **kwargs: object) -> Any:
        raise RuntimeError("bug quoting user-42-9f1c")

    if where == "rules":
        monkeypatch.setattr(guard_module, "check_json_request", broken)
    else:
        monkeypatch.setattr(MemoryStore, "claim", broken)


@pytest.mark.parametrize("where", ["rules", "store"])
def test_an_internal_error_in_enforce_refuses_by_default(router: Router, monkeypatch: pytest.MonkeyPatch,
                                                         caplog: pytest.LogCaptureFixture, where: str) -> None:
    _break(monkeypatch, where)
    g = guard(_client(router), Policy.preset(), store=MemoryStore())
    with thread_scope("alice"), pytest.raises(ThreadCheckError) as info:
        g.chat.completions.create(model="m", messages=MSG, extra_body={"orq": {"thread": {"id": "user-42-9f1c"}}})
    assert isinstance(info.value, ThreadPolicyError) and [v.code for v in info.value.violations] == ["OTL000"]
    assert "internal error" in str(info.value) and "on-internal-error" in str(info.value)
    assert "user-42" not in str(info.value)  # the exception's text may quote the request: only its type is named
    assert isinstance(info.value.__cause__, RuntimeError)
    assert router.received == []
    assert not [r for r in caplog.records if r.levelno >= logging.WARNING]  # reported once: by the exception


@pytest.mark.parametrize(("settings", "mode"), [({"on-internal-error": "open"}, "enforce"), ({}, "warn")])
def test_an_internal_error_sends_unchecked_when_open(router: Router, monkeypatch: pytest.MonkeyPatch,
                                                     caplog: pytest.LogCaptureFixture, settings: dict[str, str],
                                                     mode: str) -> None:
    _break(monkeypatch, "rules")
    g = guard(_client(router), Policy.from_dict({"runtime": settings}), mode=mode, store=MemoryStore())
    with warnings.catch_warnings():
        warnings.simplefilter("error")  # and no warning on top of the log line
        g.chat.completions.create(model="m", messages=MSG, extra_body={"orq": {"thread": {"id": "conversation1"}}})
    assert len(router.received) == 1
    errors = [r for r in caplog.records if r.levelno >= logging.WARNING]
    assert len(errors) == 1 and "internal error" in errors[0].getMessage() and errors[0].exc_info


def test_on_internal_error_closed_applies_in_warn_mode_too(router: Router, monkeypatch: pytest.MonkeyPatch) -> None:
    _break(monkeypatch, "rules")
    g = guard(_client(router), Policy.from_dict({"runtime": {"on-internal-error": "closed"}}), mode="warn",
              store=MemoryStore())
    with pytest.raises(ThreadCheckError):
        g.chat.completions.create(model="m", messages=MSG, extra_body={"orq": {"thread": {"id": "user-42-9f1c"}}})
    assert router.received == []


def test_on_internal_error_is_validated() -> None:
    with pytest.raises(ConfigError, match="on-internal-error"):
        Policy.from_dict({"runtime": {"on-internal-error": "sometimes"}})


# 12: a refused request claims nothing ---------------------------------------------------------------
@pytest.fixture(params=["memory", "sqlite", "redis"])
def any_store(request: pytest.FixtureRequest, tmp_path: Path) -> Any:
    if request.param == "memory":
        yield MemoryStore()
        return
    url = f"sqlite:///{tmp_path / 'threads.db'}" if request.param == "sqlite" else request.getfixturevalue("redis_url")
    s = open_store(url)
    yield s
    s.close()


@pytest.mark.parametrize("taken", ["body", "header"])
def test_a_request_refused_for_one_id_claims_no_other(router: Router, any_store: Store, taken: str) -> None:
    g = guard(_client(router), Policy.preset(), store=any_store)
    body_id, header_id = "user-1-aaaa", "user-2-bbbb"
    held = body_id if taken == "body" else header_id
    free = header_id if taken == "body" else body_id
    with thread_scope("bob"):
        g.chat.completions.create(model="m", messages=MSG, extra_body={"orq": {"thread": {"id": held}}})
    with thread_scope("alice"), pytest.raises(ThreadPolicyError) as info:
        g.chat.completions.create(model="m", messages=MSG, extra_body={"orq": {"thread": {"id": body_id}}},
                                  extra_headers={"X-ORQ-THREAD-ID": header_id})
    assert [v.code for v in info.value.violations] == ["OTL007"]
    assert info.value.violations[0].path == ("orq.thread.id" if taken == "body" else "headers.X-ORQ-THREAD-ID")
    with thread_scope("carol"):  # alice's refused request left the free id free
        g.chat.completions.create(model="m", messages=MSG, extra_body={"orq": {"thread": {"id": free}}})
    assert len(router.received) == 2


def test_a_request_refused_for_its_policy_claims_nothing(router: Router, any_store: Store) -> None:
    g = guard(_client(router), Policy.preset(), store=any_store)
    with thread_scope("alice"), pytest.raises(ThreadPolicyError):
        g.chat.completions.create(model="m", messages=MSG,
                                  extra_body={"orq": {"thread": {"id": "user-3-cccc", "tags": ["a b"]}}})
    with thread_scope("bob"):
        g.chat.completions.create(model="m", messages=MSG, extra_body={"orq": {"thread": {"id": "user-3-cccc"}}})
    assert len(router.received) == 1


def test_async_a_refused_request_claims_nothing(router: Router, redis_url: str) -> None:
    store = open_store(redis_url)
    g = guard(_client(router, AsyncOpenAI), Policy.preset(), store=store)

    async def send(scope: str, body_id: str, header: str | None = None) -> str:
        with thread_scope(scope):
            try:
                await g.chat.completions.create(model="m", messages=MSG, extra_body={"orq": {"thread": {"id": body_id}}},
                                                extra_headers={"X-ORQ-THREAD-ID": header} if header else None)
                return "sent"
            except ThreadPolicyError as exc:
                return ",".join(v.code for v in exc.violations)

    async def main() -> list[str]:
        try:
            return [await send("bob", "user-2-bbbb"), await send("alice", "user-1-aaaa", "user-2-bbbb"),
                    await send("carol", "user-1-aaaa")]
        finally:
            await store.aclose()

    assert asyncio.run(main()) == ["sent", "OTL007", "sent"]


def test_bind_all_is_all_or_none(any_store: Store) -> None:
    keys = [any_store.key(f"user-{n}-kkkk") for n in range(3)]
    bob, alice = any_store.owner("bob"), any_store.owner("alice")
    assert any_store.bind(keys[2], bob, 60_000) == bob
    assert any_store.bind_all(keys, alice, 60_000) == [None, None, bob]
    assert any_store.bind_all(keys[:2], bob, 60_000) == [None, None]  # alice got neither
    assert any_store.bind_all(keys, bob, 60_000) == [None, None, None]
    assert any_store.claim(["user-0-kkkk"], "alice", 60_000) == [True]


# 13: repair and sequences of tags that aren't lists -------------------------------------------------
def test_repair_mends_a_tuple_of_tags_like_a_list(router: Router) -> None:
    g = guard(_client(router), Policy.preset(), mode="repair", store=MemoryStore())
    thread = {"id": "user-42-9f1c", "tags": ("support", "billing", "support")}
    g.chat.completions.create(model="m", messages=MSG, extra_body={"orq": {"thread": thread}})
    assert router.received[-1]["orq"]["thread"] == {"id": "user-42-9f1c", "tags": ["support", "billing"]}
    assert thread["tags"] == ("support", "billing", "support")  # the caller's value is untouched


@pytest.mark.parametrize("tags", [{"support"}, frozenset({"support"}), iter(["support", "support"])],
                         ids=["set", "frozenset", "iterator"])
def test_repair_leaves_what_json_has_no_array_for(router: Router, tags: Any) -> None:
    g = guard(_client(router), Policy.preset(), mode="repair", store=MemoryStore())
    with pytest.raises(ThreadPolicyError) as info:
        g.chat.completions.create(model="m", messages=MSG, extra_body={"orq": {"thread": {"id": "user-42-9f1c",
                                                                                          "tags": tags}}})
    assert [v.code for v in info.value.violations] == ["OTL010"]
    assert router.received == []


# issue 12 item 16: a clear TypeError; a dead store reported once --------------------------------------
def test_guard_names_the_clients_it_takes() -> None:
    with pytest.raises(TypeError, match=r"guard\(\) takes an openai client \(OpenAI, AsyncOpenAI.*not builtins.object"):
        guard(object(), Policy.preset(), store=MemoryStore())


def test_a_dead_store_in_open_mode_is_reported_once(router: Router, caplog: pytest.LogCaptureFixture) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once it is closed
    g = guard(_client(router), Policy.preset(), store=f"redis://127.0.0.1:{port}/0")
    with warnings.catch_warnings(record=True) as seen, thread_scope("alice"):
        warnings.simplefilter("always")
        g.chat.completions.create(model="m", messages=MSG, extra_body={"orq": {"thread": {"id": "user-42-9f1c"}}})
    ours = [str(w.message) for w in seen if w.category is OrqThreadWarning]
    assert len(ours) == 1 and ours[0].startswith("uniqueness store failed")
    assert not [r for r in caplog.records if r.name.startswith("orq_thread_lint") and r.levelno >= logging.INFO]
    assert len(router.received) == 1


# 16: store keys and owners are keyed hashes; the SQLite file is private ----------------------------------
def _send_through_sqlite(router: Router, db: Path, scope: str, thread_id: str) -> None:
    g = guard(_client(router), Policy.preset(), store=f"sqlite:///{db}")
    with g, thread_scope(scope):
        g.chat.completions.create(model="m", messages=MSG, extra_body={"orq": {"thread": {"id": thread_id}}})


def test_sqlite_file_and_its_wal_and_shm_are_created_private(router: Router, tmp_path: Path) -> None:
    old = os.umask(0o022)
    try:
        db = tmp_path / "threads.db"
        s = SqliteStore(str(db))  # held open, so the -wal and -shm files stay
        _send_through_sqlite(router, db, "alice", "user-1-aaaa")
        for path in (db, Path(f"{db}-wal"), Path(f"{db}-shm")):
            assert path.exists() and stat.S_IMODE(path.stat().st_mode) == 0o600, path
        s.close()
    finally:
        os.umask(old)


def _unkeyed(text: str) -> str:
    return hashlib.sha256(text.encode()).hexdigest()[:40]


def test_sqlite_holds_neither_ids_nor_scopes_nor_plain_hashes(router: Router, tmp_path: Path) -> None:
    db = tmp_path / "threads.db"
    _send_through_sqlite(router, db, "alice.smith@example.com", "user-99-abc")
    with sqlite3.connect(db) as raw:
        rows = raw.execute("SELECT key, owner FROM bindings").fetchall()
    assert len(rows) == 1
    key, owner = rows[0]
    assert "user-99" not in key and _unkeyed("user-99-abc") not in key  # brute force needs the secret
    assert "alice" not in owner and "example.com" not in owner and owner != _unkeyed("alice.smith@example.com")


def test_a_store_without_a_configured_secret_keeps_one_for_every_process(tmp_path: Path,
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    db = tmp_path / "threads.db"
    first, second = SqliteStore(str(db)), SqliteStore(str(db))
    assert first.secret == second.secret and len(first.secret) == 32
    assert first.key("user-1-a") == second.key("user-1-a")
    assert SqliteStore(str(tmp_path / "other.db")).secret != first.secret  # random per store
    first.close()
    second.close()


def test_the_secret_comes_from_the_environment_or_the_setting(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    url = f"sqlite:///{tmp_path / 'a.db'}"
    from_setting = open_store(url, secret="a setting secret, 16+")
    assert from_setting.key("user-1-a") == store_key("user-1-a", b"a setting secret, 16+")
    monkeypatch.setenv(SECRET_ENV, "the environment's secret")
    from_env = open_store(f"sqlite:///{tmp_path / 'b.db'}", secret="a setting secret, 16+")
    assert from_env.key("user-1-a") == store_key("user-1-a", b"the environment's secret")
    monkeypatch.setenv(SECRET_ENV, "short")
    with pytest.raises(ValueError, match=SECRET_ENV):
        open_store(url)
    with pytest.raises(ConfigError, match="store-key-secret") as info:
        Policy.from_dict({"runtime": {"store-key-secret": "short secret"}})
    assert "short secret" not in str(info.value)  # a secret is never echoed
    from_setting.close()
    from_env.close()


def test_redis_holds_neither_ids_nor_scopes(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    import redis

    monkeypatch.delenv(SECRET_ENV, raising=False)
    s = RedisStore(redis_url)
    assert s.claim(["user-99-abc"], "alice.smith@example.com", 60_000) == [False]
    other = RedisStore(redis_url)  # another process, later: it reads the secret the first one stored

    async def claim() -> list[bool]:
        try:
            return await other.aclaim(["user-99-abc"], "bob", 60_000)
        finally:
            await other.aclose()

    assert asyncio.run(claim()) == [True]
    raw = redis.Redis.from_url(redis_url)
    keys = [k.decode() for k in raw.keys("*")]
    values = [raw.get(k) for k in keys]
    raw.close()
    s.close()
    assert sorted(keys) == ["orq-thread-lint:secret", s.key("user-99-abc")]
    assert not any("user-99" in k or _unkeyed("user-99-abc") in k for k in keys)
    assert not any(b"alice" in v or b"example" in v for v in values if v is not None)


def test_processes_sharing_a_store_agree_on_its_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.delenv(SECRET_ENV, raising=False)
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    code = ("import sys; from orq_thread_lint.runtime.stores import open_store; "
            "print(open_store(sys.argv[1]).claim(['user-5-eeee'], sys.argv[2], 60000))")
    env = {k: v for k, v in os.environ.items() if k != SECRET_ENV}
    outs = [subprocess.run([sys.executable, "-c", code, url, who], capture_output=True, text=True, check=True, env=env)
            .stdout.strip() for who in ("alice", "bob")]
    assert outs == ["[False]", "[True]"]


def test_a_hung_redis_fails_every_waiting_async_bind_within_two_timeouts() -> None:
    from test_runtime_stores import _Silent

    silent = _Silent()
    store = RedisStore(f"redis://127.0.0.1:{silent.port}/0", timeout_ms=300)

    async def bind(n: int) -> str:
        try:
            return str(await store.aclaim([f"user-{n}-hung"], "alice", 60_000))
        except StoreError:
            return "failed"

    async def main() -> list[str]:
        try:
            return list(await asyncio.gather(*(bind(n) for n in range(250))))  # more than one pipeline
        finally:
            await store.aclose()

    started = time.monotonic()
    try:
        outcome = asyncio.run(main())
    finally:
        silent.close()
    assert outcome == ["failed"] * 250
    assert time.monotonic() - started < 2.0  # two timeouts of 0.3 s, and slack for a loaded machine
