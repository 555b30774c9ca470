"""OTL008 at run time: real openai clients, the loopback router, and every store (memory, SQLite, Redis)."""

from __future__ import annotations

import asyncio
import os
import sqlite3
import subprocess
import sys
import time
import uuid
import warnings
from pathlib import Path
from typing import Any

import pytest
from openai import AsyncOpenAI, OpenAI

from orq_thread_lint import OrqThreadWarning, Policy, ThreadPolicyError, guard, thread_scope
from orq_thread_lint.rules.continuity import Fingerprinter
from orq_thread_lint.runtime.stores import SECRET_ENV as STORE_KEY_ENV
from orq_thread_lint.runtime.stores import MemoryStore, SqliteStore, Store, open_store
from router import Router
from test_runtime_stores import store  # noqa: F401 - a fixture (redis_url is in conftest)

SYSTEM = {"role": "system", "content": "You answer questions about invoices."}
QUESTIONS = ["Where is invoice 7?", "And invoice 8?", "Thanks, which one is overdue?"]
SECRET = "k-" + "7" * 30


def _client(router: Router, cls: type = OpenAI, **kw: Any) -> Any:
    return cls(base_url=router.url, api_key="k", max_retries=kw.pop("max_retries", 0), **kw)


def _extra(tid: str) -> dict[str, Any]:
    return {"orq": {"thread": {"id": tid}}}


def converse(client: Any, ids: list[str], start: list[dict[str, Any]] | None = None) -> list[Any]:
    """Three turns, each resending the whole conversation (the assistant's replies included);
    ``ids[i]`` is the thread id of turn i. Returns the turn's error (or None) per turn."""
    messages: list[Any] = list(start or [SYSTEM])
    outcomes: list[Any] = []
    for question, tid in zip(QUESTIONS, ids, strict=True):
        messages.append({"role": "user", "content": question})
        try:
            reply = client.chat.completions.create(model="m", messages=messages, extra_body=_extra(tid))
        except ThreadPolicyError as exc:
            outcomes.append(exc)
            break
        messages.append(reply.choices[0].message)  # as apps do: the SDK's own model object
        outcomes.append(None)
    return outcomes


def test_a_fresh_uuid4_per_call_is_stopped_at_turn_two(router: Router, store: Store) -> None:  # noqa: F811
    g = guard(_client(router), Policy.preset(), mode="enforce", store=store)
    outcomes = converse(g, [f"chat-{uuid.uuid4()}" for _ in QUESTIONS])
    assert outcomes[0] is None and len(outcomes) == 2
    error = outcomes[1]
    assert [v.code for v in error.violations] == ["OTL008"]
    assert error.violations[0].path == "orq.thread.id"
    assert len(router.received) == 1  # turn 2 never left the process
    assert QUESTIONS[0] not in str(error)  # findings name no content


def test_a_stable_id_passes_every_turn(router: Router, store: Store) -> None:  # noqa: F811
    g = guard(_client(router), Policy.preset(), mode="enforce", store=store)
    tid = f"chat-{uuid.uuid4()}"
    assert converse(g, [tid] * 3) == [None, None, None]
    assert len(router.received) == 3


def test_the_store_holds_hashes_only(router: Router, tmp_path: Path) -> None:
    path = tmp_path / "threads.db"
    g = guard(_client(router), Policy.preset(), mode="enforce", store=SqliteStore(str(path)))
    tid = "chat-5f0e2d1c"
    converse(g, [tid] * 3)
    rows = sqlite3.connect(path).execute("SELECT key, owner FROM continuity").fetchall()
    assert len(rows) == 3
    dump = repr(rows)
    assert tid not in dump and not any(q in dump for q in QUESTIONS) and "invoices" not in dump


@pytest.mark.parametrize("configured", [True, False])
def test_fingerprints_are_keyed_by_the_stores_own_secret(router: Router, tmp_path: Path,
                                                          monkeypatch: pytest.MonkeyPatch, configured: bool) -> None:
    """One secret for uniqueness and continuity: the setting, else the random one kept in the file."""
    monkeypatch.delenv(STORE_KEY_ENV, raising=False)
    path = tmp_path / "threads.db"
    s = open_store(f"sqlite:///{path}", secret=SECRET if configured else None)
    kept = sqlite3.connect(path).execute("SELECT value FROM settings").fetchall()
    assert s.secret == (SECRET.encode() if configured else kept[0][0])
    g = guard(_client(router), Policy.preset(), mode="enforce", store=s)
    tid = "chat-5f0e2d1c"
    assert converse(g, [tid] * 3) == [None, None, None]
    hasher = Fingerprinter(s.secret)
    want = hasher.fingerprints([SYSTEM, {"role": "user", "content": QUESTIONS[0]}]).full
    rows = dict(sqlite3.connect(path).execute("SELECT key, owner FROM continuity").fetchall())
    assert len(rows) == 3 and rows[want] == hasher.thread(tid)


def test_warn_mode_sends_warns_once_and_keeps_following_the_new_thread(router: Router) -> None:
    g = guard(_client(router), Policy.preset(), mode="warn", store=MemoryStore())
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        assert converse(g, ["chat-a1b2c3d4", "chat-e5f6a7b8", "chat-e5f6a7b8"]) == [None, None, None]
    splits = [w for w in caught if issubclass(w.category, OrqThreadWarning) and "OTL008" in str(w.message)]
    assert len(splits) == 1  # turn 3 continues turn 2's thread: no second report
    assert splits[0].filename == __file__
    assert len(router.received) == 3


def test_repair_mode_reports_a_split_and_never_rewrites_the_id(router: Router) -> None:
    g = guard(_client(router), Policy.preset(), mode="repair", store=MemoryStore())
    outcomes = converse(g, ["chat-a1b2c3d4", "chat-e5f6a7b8", "chat-e5f6a7b8"])
    assert [v.code for v in outcomes[1].violations] == ["OTL008"]
    assert [b["orq"]["thread"]["id"] for b in router.received] == ["chat-a1b2c3d4"]


def test_no_thread_id_on_a_follow_up_is_a_split(router: Router) -> None:
    g = guard(_client(router), Policy.preset().with_selection(ignore=["OTL101"]), mode="enforce", store=MemoryStore())
    messages: list[Any] = [SYSTEM, {"role": "user", "content": QUESTIONS[0]}]
    reply = g.chat.completions.create(model="m", messages=messages, extra_body=_extra("chat-a1b2c3d4"))
    messages += [reply.choices[0].message, {"role": "user", "content": QUESTIONS[1]}]
    with pytest.raises(ThreadPolicyError) as info:
        g.chat.completions.create(model="m", messages=messages)
    assert [v.code for v in info.value.violations] == ["OTL008"]
    assert "no thread id" in str(info.value)


def test_retries_and_identical_resends_are_not_splits(router: Router) -> None:
    g = guard(_client(router, max_retries=2), Policy.preset(), mode="enforce", store=MemoryStore())
    messages = [SYSTEM, {"role": "user", "content": QUESTIONS[0]}]
    router.fail_next = 1  # the SDK retries the same options: the guard sees the request twice
    g.chat.completions.create(model="m", messages=messages, extra_body=_extra("chat-a1b2c3d4"))
    g.chat.completions.create(model="m", messages=messages, extra_body=_extra("chat-a1b2c3d4"))
    assert len(router.received) == 3


def test_two_conversations_that_open_alike_are_not_splits(router: Router) -> None:
    """Two users send the same first turn under their own ids: the opening proves nothing."""
    g = guard(_client(router), Policy.preset(), mode="enforce", store=MemoryStore())
    assert converse(g, ["chat-11111111"] * 3) == [None, None, None]
    assert converse(g, ["chat-22222222"] * 3) == [None, None, None]


def test_orqs_workflow_pattern_one_message_per_step_is_clean(router: Router) -> None:
    g = guard(_client(router), Policy.preset(), mode="enforce", store=MemoryStore())
    for step in ("extract", "classify", "summarise"):
        g.chat.completions.create(model="m", messages=[{"role": "user", "content": f"{step} the invoice"}],
                                  extra_body=_extra("workflow-7f3a9c"))
    # a one-message request starts nothing: another id for the next step is no split either
    g.chat.completions.create(model="m", messages=[{"role": "user", "content": "extract the invoice"}],
                              extra_body=_extra("workflow-0b1c2d"))
    assert len(router.received) == 4


def test_tool_call_turns_continue_the_thread(router: Router) -> None:
    g = guard(_client(router), Policy.preset(), mode="enforce", store=MemoryStore())
    call = {"id": "call_1", "type": "function", "function": {"name": "find", "arguments": "{\"n\": 7}"}}
    base: list[Any] = [SYSTEM, {"role": "user", "content": QUESTIONS[0]}]
    g.chat.completions.create(model="m", messages=base, extra_body=_extra("chat-a1b2c3d4"))
    with_tool = [*base, {"role": "assistant", "content": None, "tool_calls": [call]},
                 {"role": "tool", "tool_call_id": "call_1", "content": "in the drawer"}]
    g.chat.completions.create(model="m", messages=with_tool, extra_body=_extra("chat-a1b2c3d4"))
    final = [*with_tool, {"role": "assistant", "content": "In the drawer."}, {"role": "user", "content": "ok"}]
    with pytest.raises(ThreadPolicyError):
        g.chat.completions.create(model="m", messages=final, extra_body=_extra("chat-99999999"))


def test_responses_api_input_items(router: Router) -> None:
    g = guard(_client(router), Policy.preset(), mode="enforce", store=MemoryStore())
    items: list[Any] = [{"role": "developer", "content": "Be brief."}, {"role": "user", "content": QUESTIONS[0]}]
    g.responses.create(model="m", input=items, extra_body=_extra("chat-a1b2c3d4"))
    items += [{"type": "function_call", "call_id": "c1", "name": "find", "arguments": "{}"},
              {"type": "function_call_output", "call_id": "c1", "output": "drawer"}]
    with pytest.raises(ThreadPolicyError) as info:
        g.responses.create(model="m", input=items, extra_body=_extra("chat-e5f6a7b8"))
    assert [v.code for v in info.value.violations] == ["OTL008"]


def test_continuity_can_be_turned_off(router: Router, tmp_path: Path) -> None:
    cfg = tmp_path / "orq-thread-lint.toml"
    cfg.write_text("[runtime]\ncontinuity = false\n", encoding="utf-8")
    g = guard(_client(router), Policy.from_file(cfg), mode="enforce", store=MemoryStore())
    assert converse(g, [f"chat-{uuid.uuid4()}" for _ in QUESTIONS]) == [None, None, None]
    g = guard(_client(router), Policy.preset().with_selection(ignore=["OTL008"]), mode="enforce", store=MemoryStore())
    assert converse(g, [f"chat-{uuid.uuid4()}" for _ in QUESTIONS]) == [None, None, None]


@pytest.mark.parametrize("asynchronous", [False, True])
def test_a_request_refused_only_for_uniqueness_leaves_the_store_as_it_was(
        router: Router, store: Store, asynchronous: bool) -> None:  # noqa: F811
    """Bob reuses Alice's id: refused (OTL007) before his conversation's fingerprint is kept, so
    Carol, sending that same conversation on under her own id, continues nothing."""
    cls = AsyncOpenAI if asynchronous else OpenAI
    g = guard(_client(router, cls), Policy.preset(), mode="enforce", store=store)
    bobs: list[Any] = [SYSTEM, {"role": "user", "content": QUESTIONS[1]}]
    later = [*bobs, {"role": "assistant", "content": "In the drawer."}, {"role": "user", "content": QUESTIONS[2]}]

    async def send(messages: list[Any], tid: str, scope: str) -> None:
        with thread_scope(scope):
            reply = g.chat.completions.create(model="m", messages=messages, extra_body=_extra(tid))
            if asynchronous:
                await reply

    asyncio.run(send([SYSTEM, {"role": "user", "content": QUESTIONS[0]}], "chat-a1b2c3d4", "alice"))
    with pytest.raises(ThreadPolicyError) as info:
        asyncio.run(send(bobs, "chat-a1b2c3d4", "bob"))
    assert [v.code for v in info.value.violations] == ["OTL007"]
    asyncio.run(send(later, "chat-e5f6a7b8", "carol"))  # before the fix: OTL008, split from Bob's refused turn
    assert len(router.received) == 2
    store.close()


def test_async_client_is_stopped_at_turn_two(router: Router, store: Store) -> None:  # noqa: F811
    g = guard(_client(router, AsyncOpenAI), Policy.preset(), mode="enforce", store=store)

    async def run() -> list[Any]:
        messages: list[Any] = [SYSTEM]
        outcomes: list[Any] = []
        for question in QUESTIONS:
            messages.append({"role": "user", "content": question})
            try:
                reply = await g.chat.completions.create(model="m", messages=messages,
                                                        extra_body=_extra(f"chat-{uuid.uuid4()}"))
            except ThreadPolicyError as exc:
                outcomes.append(exc)
                break
            messages.append(reply.choices[0].message)
            outcomes.append(None)
        await g.close()
        return outcomes

    outcomes = asyncio.run(run())
    assert outcomes[0] is None and [v.code for v in outcomes[1].violations] == ["OTL008"]


_TURN_ONE = """
import sys
sys.path.insert(0, {tests!r})
from openai import OpenAI
from orq_thread_lint import Policy, guard
from orq_thread_lint.runtime.stores import open_store
client = guard(OpenAI(base_url={url!r}, api_key="k", max_retries=0), Policy.preset(), mode="enforce",
               store=open_store({redis!r}, timeout_ms=2000))
messages = {messages!r}
reply = client.chat.completions.create(model="m", messages=messages, extra_body={extra!r})
print(reply.choices[0].message.model_dump_json(exclude_unset=True))
"""


@pytest.mark.parametrize("same_id", [False, True])
def test_two_processes_sharing_redis(router: Router, redis_url: str, monkeypatch: pytest.MonkeyPatch,
                                     same_id: bool) -> None:
    """Turn 1 is sent by another process; this process sends turn 2 through the same Redis."""
    import json

    from orq_thread_lint.runtime.stores import open_store

    monkeypatch.delenv(STORE_KEY_ENV, raising=False)  # the secret both use is the one kept in Redis
    first: list[Any] = [SYSTEM, {"role": "user", "content": QUESTIONS[0]}]
    script = _TURN_ONE.format(tests=str(Path(__file__).parent), url=router.url, redis=redis_url, messages=first,
                              extra=_extra("chat-a1b2c3d4"))
    done = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, timeout=120,
                          env={k: v for k, v in os.environ.items() if k != STORE_KEY_ENV})
    assert done.returncode == 0, done.stderr
    reply = json.loads(done.stdout)
    g = guard(_client(router), Policy.preset(), mode="enforce", store=open_store(redis_url, timeout_ms=2000))
    second = [*first, reply, {"role": "user", "content": QUESTIONS[1]}]
    tid = "chat-a1b2c3d4" if same_id else "chat-e5f6a7b8"
    if same_id:
        g.chat.completions.create(model="m", messages=second, extra_body=_extra(tid))
        assert len(router.received) == 2
    else:
        with pytest.raises(ThreadPolicyError) as info:
            g.chat.completions.create(model="m", messages=second, extra_body=_extra(tid))
        assert [v.code for v in info.value.violations] == ["OTL008"]
        assert len(router.received) == 1
    g.close()


def test_redis_takes_one_round_trip_per_request(redis_url: str, monkeypatch: pytest.MonkeyPatch) -> None:
    """Look-up and bind in one script: one reply read per request, sync and async."""
    import redis.asyncio.connection
    import redis.connection

    from orq_thread_lint.rules.continuity import Fingerprinter
    from orq_thread_lint.runtime.stores import open_store

    s = open_store(redis_url, timeout_ms=2000)
    hasher = Fingerprinter(b"k" * 32)
    history: list[Any] = [SYSTEM, {"role": "user", "content": "q"}]
    first = hasher.fingerprints(history)
    second = hasher.fingerprints([*history, {"role": "assistant", "content": "a"}, {"role": "user", "content": "q2"}])
    s.follow(first.full, first.prefixes, "t1", 60_000, False)  # loads the script
    reads: list[int] = []
    original = redis.connection.Connection.read_response
    monkeypatch.setattr(redis.connection.Connection, "read_response",
                        lambda self, *a, **k: reads.append(1) or original(self, *a, **k))
    assert s.follow(second.full, second.prefixes, "t2", 60_000, False) == ["t1"]
    assert len(reads) == 1
    assert s.follow(second.full, second.prefixes, "t1", 60_000, False) == ["t1"]  # refused one bound nothing
    assert len(reads) == 2
    areads: list[int] = []
    aoriginal = redis.asyncio.connection.AbstractConnection.read_response

    async def counted(self: Any, *a: Any, **k: Any) -> Any:
        areads.append(1)
        return await aoriginal(self, *a, **k)

    monkeypatch.setattr(redis.asyncio.connection.AbstractConnection, "read_response", counted)

    async def run() -> list[str | None]:
        await s.afollow(first.full, first.prefixes, "t1", 60_000, False)  # connects (handshake replies)
        areads.clear()
        found = await s.afollow(second.full, second.prefixes, "t1", 60_000, False)
        await s.aclose()
        return found

    assert asyncio.run(run()) == ["t1"] and len(areads) == 1


class _Wire:
    """What redis-py puts on the wire, sync and async: each packed send of commands (one round
    trip: a request sends once and then reads) and each reply read."""

    def __init__(self, monkeypatch: pytest.MonkeyPatch) -> None:
        import redis.asyncio.connection
        import redis.connection

        self.sends = self.replies = 0
        sync, asynchronous = redis.connection.AbstractConnection, redis.asyncio.connection.AbstractConnection
        send, read = sync.send_packed_command, sync.read_response
        asend, aread = asynchronous.send_packed_command, asynchronous.read_response

        def sent(conn: Any, *a: Any, **k: Any) -> Any:
            self.sends += 1
            return send(conn, *a, **k)

        def replied(conn: Any, *a: Any, **k: Any) -> Any:
            self.replies += 1
            return read(conn, *a, **k)

        async def asent(conn: Any, *a: Any, **k: Any) -> Any:
            self.sends += 1
            return await asend(conn, *a, **k)

        async def areplied(conn: Any, *a: Any, **k: Any) -> Any:
            self.replies += 1
            return await aread(conn, *a, **k)

        monkeypatch.setattr(sync, "send_packed_command", sent)
        monkeypatch.setattr(sync, "read_response", replied)
        monkeypatch.setattr(asynchronous, "send_packed_command", asent)
        monkeypatch.setattr(asynchronous, "read_response", areplied)

    def take(self) -> tuple[int, int]:
        out = (self.sends, self.replies)
        self.sends = self.replies = 0
        return out


def _redis_contents(url: str) -> dict[bytes, tuple[bytes | None, int]]:
    """Every key of the test database with its value and remaining time to live (ms)."""
    import redis

    r = redis.Redis.from_url(url)
    out = {k: (r.get(k), int(r.pttl(k))) for k in r.scan_iter()}
    r.close()
    return out


def _unchanged(before: dict[bytes, tuple[bytes | None, int]], after: dict[bytes, tuple[bytes | None, int]]) -> bool:
    """The same keys and values, and no time to live renewed (it only runs down)."""
    return before.keys() == after.keys() and all(
        after[k][0] == v and after[k][1] <= ttl for k, (v, ttl) in before.items())


@pytest.mark.parametrize("asynchronous", [False, True])
@pytest.mark.parametrize("mode", ["enforce", "repair", "warn"])
def test_redis_guard_takes_one_round_trip_per_request(router: Router, redis_url: str, monkeypatch: pytest.MonkeyPatch,
                                                      mode: str, asynchronous: bool) -> None:
    """The look-up, the decision, the claim and the bind: one script, one send and one reply per
    request, in every mode; a request refused (a split, an id held by another scope) leaves the
    store as it was; in warn mode the same requests are sent and bind."""
    s = open_store(redis_url, timeout_ms=5000)
    g = guard(_client(router, AsyncOpenAI if asynchronous else OpenAI), Policy.preset(), mode=mode, store=s)
    wire = _Wire(monkeypatch)
    opening: list[Any] = [SYSTEM, {"role": "user", "content": QUESTIONS[0]}]
    follow_up = [*opening, {"role": "assistant", "content": "In the drawer."}, {"role": "user", "content": QUESTIONS[1]}]
    third = [*follow_up, {"role": "assistant", "content": "In the safe."}, {"role": "user", "content": QUESTIONS[2]}]
    steps = [  # (messages, thread id, scope, what refusing modes refuse it for)
        (opening, "chat-a1b2c3d4", "alice", None),  # first: reads the secret, loads the script, connects
        (follow_up, "chat-a1b2c3d4", "alice", None),
        (third, "chat-e5f6a7b8", "alice", "OTL008"),  # a split, under an id nobody holds
        ([SYSTEM, {"role": "user", "content": "x"}], "chat-a1b2c3d4", "bob", "OTL007"),  # a new conversation
        ([{"role": "user", "content": "one message"}], "chat-0c0c0c0c", "alice", None),  # the claim alone
    ]
    seen: list[tuple[tuple[int, int], list[str], bool]] = []  # per step: the wire, codes, store unchanged

    async def run() -> None:
        for messages, tid, scope, _ in steps:
            before = _redis_contents(redis_url)
            wire.take()
            codes: list[str] = []
            with thread_scope(scope), warnings.catch_warnings(record=True) as caught:
                warnings.simplefilter("always")
                try:
                    reply = g.chat.completions.create(model="m", messages=messages, extra_body=_extra(tid))
                    if asynchronous:
                        await reply
                except ThreadPolicyError as exc:
                    codes = [v.code for v in exc.violations]
            on_wire = wire.take()
            codes += [c for w in caught if w.category is OrqThreadWarning for c in ("OTL007", "OTL008")
                      if c in str(w.message)]
            seen.append((on_wire, codes, _unchanged(before, _redis_contents(redis_url))))
        if asynchronous:
            await g.close()

    asyncio.run(run())
    for (on_wire, codes, unchanged), (_, _, _, refused) in zip(seen[1:], steps[1:], strict=True):
        assert on_wire == (1, 1)
        assert codes == ([refused] if refused else [])
        assert unchanged == (refused is not None and mode != "warn")
    assert len(router.received) == (5 if mode == "warn" else 3)
    s.close()


@pytest.mark.parametrize("configured", [True, False])
def test_redis_guards_first_request(router: Router, redis_url: str, monkeypatch: pytest.MonkeyPatch,
                                    configured: bool) -> None:
    """The first request sends the script alone when the secret is configured; else the secret is
    read (or made) first, once per store."""
    import redis
    import redis.connection

    from orq_thread_lint.runtime import stores

    monkeypatch.delenv(STORE_KEY_ENV, raising=False)
    redis.Redis.from_url(redis_url).script_load(stores._ADMIT)  # as any earlier process would have
    commands: list[str] = []
    original = redis.connection.AbstractConnection.send_command

    def sent(conn: Any, *args: Any, **k: Any) -> Any:
        commands.append(str(args[0]))
        return original(conn, *args, **k)

    monkeypatch.setattr(redis.connection.AbstractConnection, "send_command", sent)
    s = open_store(redis_url, timeout_ms=5000, secret=SECRET if configured else None)
    g = guard(_client(router), Policy.preset(), mode="enforce", store=s)
    with thread_scope("alice"):
        g.chat.completions.create(model="m", messages=[SYSTEM, {"role": "user", "content": QUESTIONS[0]}],
                                  extra_body=_extra("chat-a1b2c3d4"))
    handshake = {"CLIENT", "SELECT", "HELLO", "AUTH"}  # what redis-py sends on connecting
    assert [c for c in commands if c not in handshake] == (["EVALSHA"] if configured else ["SET", "EVALSHA"])
    g.close()


@pytest.mark.parametrize("turns", [1, 2])
def test_a_dead_store_is_reported_once_whatever_the_conversation(router: Router, turns: int) -> None:
    import socket

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]  # nothing listens here once it is closed
    g = guard(_client(router), Policy.preset(), mode="warn", store=f"redis://127.0.0.1:{port}/0")
    messages = [SYSTEM, {"role": "user", "content": QUESTIONS[0]}][-turns:]
    with warnings.catch_warnings(record=True) as seen, thread_scope("alice"):
        warnings.simplefilter("always")
        g.chat.completions.create(model="m", messages=messages, extra_body=_extra("chat-a1b2c3d4"))
    ours = [str(w.message) for w in seen if w.category is OrqThreadWarning]
    assert len(ours) == 1 and ours[0].startswith("uniqueness store failed")
    assert len(router.received) == 1


def test_sqlite_drops_expired_fingerprints(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orq_thread_lint.runtime import stores

    monkeypatch.setattr(stores, "_PURGE_EVERY", 16)
    path = tmp_path / "threads.db"
    s = SqliteStore(str(path), timeout_ms=2000)
    s.follow(b"kept".ljust(16), [], "t", 3_600_000, True)
    for i in range(40):
        s.follow(i.to_bytes(16, "big"), [], "t", 1, True)  # 1 ms: expired by a later call
        time.sleep(0.002)
    rows = sqlite3.connect(path).execute("SELECT count(*) FROM continuity").fetchone()[0]
    assert rows == 1 + 10  # purges at the 16th and 32nd call dropped all that had expired: the last ten remain
    assert s.follow(None, [b"kept".ljust(16)], "t", 1, True) == ["t"]
    s.close()
