"""Where thread ids are bound to their first owner (a scope, or one request): memory, SQLite, Redis.

``bind(key, owner, ttl_ms)`` binds ``key`` to ``owner`` unless it is already bound (and not
expired), and returns the owner the key has after the call. It is one atomic step in every store,
so two processes (or machines, with Redis) racing for a key agree on one winner. ``bind_all`` does
the same for the ids of one request, all or none: a request refused for one id claims no other.

Shared stores hold neither thread ids nor scopes in the clear: both are keyed hashes (HMAC-SHA256)
under a secret from ``ORQ_THREAD_LINT_STORE_KEY`` or ``store-key-secret``; without one, a random
secret is created once and kept in the store itself (see :func:`configured_secret`). Continuity
fingerprints are keyed by the same secret (:meth:`Store.load_secret`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import hmac
import os
import secrets
import sqlite3
import sys
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Coroutine, Sequence
from typing import Any, NamedTuple, TypeVar

from ..rules.continuity import AMBIGUOUS, bound, split

NAMESPACE = "orq-thread-lint:thread:"
CONTINUITY_NAMESPACE = "orq-thread-lint:continuity:"
SECRET_ENV = "ORQ_THREAD_LINT_STORE_KEY"
SECRET_MIN = 16  # characters
# Long enough for a loaded machine (a 50 ms default failed a third of the binds under 16 threads);
# a store that is down refuses at once, only a hung one costs this long.
DEFAULT_TIMEOUT_MS = 2000
T = TypeVar("T")


class StoreError(Exception):
    """The store could not answer (down, unreachable, timed out)."""


class Follow(NamedTuple):
    """A request's continuity step: its own fingerprint (``None``: it binds nothing), those of its
    prefixes (longest first) and what its thread is stored as (``""``: it has no thread id)."""

    full: bytes | None
    prefixes: tuple[bytes, ...]
    thread: str


def configured_secret(setting: str | None = None) -> bytes | None:
    """The store-key secret: ``ORQ_THREAD_LINT_STORE_KEY`` if set, else the ``store-key-secret``
    setting, else ``None`` (the store then keeps a random secret of its own)."""
    value = os.environ.get(SECRET_ENV) or setting
    if not value:
        return None
    if len(value) < SECRET_MIN:
        raise ValueError(f"the store key secret ({SECRET_ENV} or store-key-secret) needs at least "
                         f"{SECRET_MIN} characters")
    return value.encode("utf-8", "surrogatepass")


def _mac(secret: bytes, kind: bytes, text: str) -> str:
    return hmac.new(secret, kind + b"\0" + text.encode("utf-8", "surrogatepass"), hashlib.sha256).hexdigest()[:40]


def store_key(thread_id: str, secret: bytes) -> str:
    """Namespaced, and a keyed hash so the store holds no thread ids in the clear."""
    return NAMESPACE + _mac(secret, b"thread", thread_id)


def owner_key(owner: str, secret: bytes) -> str:
    """What a shared store keeps for an owner (a scope may be an e-mail address): a keyed hash."""
    return _mac(secret, b"owner", owner)


class Store:
    url = "memory"
    secret: bytes = b""

    def key(self, thread_id: str) -> str:
        """The store's key for a thread id (shared stores namespace and hash it)."""
        return store_key(thread_id, self.secret)

    def owner(self, owner: str) -> str:
        """What the store keeps for an owner (shared stores hash it)."""
        return owner_key(owner, self.secret)

    def load_secret(self) -> bytes:
        """The store's secret, the key of every hash it keeps (uniqueness and continuity alike)."""
        return self.secret

    async def aload_secret(self) -> bytes:
        return self.load_secret()

    def bind(self, key: str, owner: str, ttl_ms: int) -> str:
        raise NotImplementedError

    def bind_all(self, keys: Sequence[str], owner: str, ttl_ms: int) -> list[str | None]:
        """Bind every key to ``owner``, or none: for each key, the other owner holding it (``None``
        where it is free or already ``owner``'s); anything but ``None`` means nothing was bound.
        Stores that can't do this atomically bind one key after another (this default)."""
        out: list[str | None] = []
        for key in keys:
            held = self.bind(key, owner, ttl_ms)
            out.append(None if held == owner else held)
        return out

    def claim(self, thread_ids: Sequence[str], owner: str, ttl_ms: int) -> list[bool]:
        """Claim a request's thread ids for ``owner``, all or none; per id, whether another owner
        holds it (then none was claimed)."""
        return [held is not None for held in self.bind_all([*map(self.key, thread_ids)], self.owner(owner), ttl_ms)]

    async def abind(self, key: str, owner: str, ttl_ms: int) -> str:
        return await asyncio.to_thread(self.bind, key, owner, ttl_ms)

    async def aclaim(self, thread_ids: Sequence[str], owner: str, ttl_ms: int) -> list[bool]:
        return await asyncio.to_thread(self.claim, thread_ids, owner, ttl_ms)

    def admit(self, thread_ids: Sequence[str], owner: str, ttl_ms: int, follow: Follow | None,
              refuse: bool) -> tuple[list[bool], list[str | None]]:
        """The guard's whole store step for one request: :meth:`claim` its thread ids (none to
        claim: an empty list) and :meth:`follow` its conversation. Returns, per id, whether another
        owner holds it, and what each prefix fingerprint holds. ``refuse`` (enforce, repair): a
        request refused for a split or for an id held elsewhere binds nothing, neither an id nor
        its fingerprint; a split claims nothing (the returned list is then empty).

        This default takes two steps, the look-up and then the claim (with the fingerprint's bind,
        which waits for it); Redis overrides it with one script: one round trip."""
        if follow is None:
            return (self.claim(thread_ids, owner, ttl_ms) if thread_ids else []), []
        later = refuse and bool(thread_ids)  # the fingerprint is bound only once the ids are claimed
        found = self.follow(None if later else follow.full, follow.prefixes, follow.thread, ttl_ms, not refuse)
        if refuse and split(found, follow.thread) is not None:
            return [], found
        if not thread_ids:
            return [], found
        taken = self.claim(thread_ids, owner, ttl_ms)
        if later and follow.full is not None and not any(taken):
            self.follow(follow.full, (), follow.thread, ttl_ms, True)
        return taken, found

    async def aadmit(self, thread_ids: Sequence[str], owner: str, ttl_ms: int, follow: Follow | None,
                     refuse: bool) -> tuple[list[bool], list[str | None]]:
        return await asyncio.to_thread(self.admit, thread_ids, owner, ttl_ms, follow, refuse)

    # Continuity (OTL008): fingerprints of message lists mapped to (a hash of) their thread id.
    def follow(self, full: bytes | None, prefixes: Sequence[bytes], owner: str, ttl_ms: int,
               bind_split: bool) -> list[str | None]:
        """What each prefix fingerprint holds (``None``: never sent), then bind ``full`` to
        ``owner`` with :func:`~orq_thread_lint.rules.continuity.bound`, unless the request splits
        and ``bind_split`` is false (a refused request binds nothing). One atomic step."""
        raise NotImplementedError

    async def afollow(self, full: bytes | None, prefixes: Sequence[bytes], owner: str, ttl_ms: int,
                      bind_split: bool) -> list[str | None]:
        return await asyncio.to_thread(self.follow, full, prefixes, owner, ttl_ms, bind_split)

    def close(self) -> None:
        """Release connections; the store reconnects if it is used again."""

    async def aclose(self) -> None:
        """``close`` for async code: also releases the running event loop's connections."""
        self.close()


class MemoryStore(Store):
    """One process: an LRU of bindings with expiry, safe across threads."""

    def __init__(self, capacity: int = 100_000) -> None:
        self.capacity = capacity
        self._data: OrderedDict[str, tuple[str, float]] = OrderedDict()
        self._prints: OrderedDict[bytes, tuple[str, float]] = OrderedDict()
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._data)

    def key(self, thread_id: str) -> str:
        return thread_id  # in-process only: nothing to namespace or hide

    def owner(self, owner: str) -> str:
        return owner

    def bind(self, key: str, owner: str, ttl_ms: int) -> str:
        now = time.monotonic()
        with self._lock:
            found = self._data.get(key)
            if found is not None and found[1] > now:
                self._data.move_to_end(key)
                return found[0]
            self._data[key] = (owner, now + ttl_ms / 1000)
            self._data.move_to_end(key)
            while len(self._data) > self.capacity:
                self._data.popitem(last=False)
            return owner

    def claim(self, thread_ids: Sequence[str], owner: str, ttl_ms: int) -> list[bool]:
        if len(thread_ids) == 1:  # nearly every request: no lists to build
            return [self.bind(thread_ids[0], owner, ttl_ms) != owner]
        return [held is not None for held in self.bind_all(thread_ids, owner, ttl_ms)]

    def bind_all(self, keys: Sequence[str], owner: str, ttl_ms: int) -> list[str | None]:
        now = time.monotonic()
        data = self._data
        with self._lock:
            held: list[str | None] = []
            for key in keys:
                found = data.get(key)
                held.append(found[0] if found is not None and found[1] > now and found[0] != owner else None)
            if any(h is not None for h in held):
                return held
            for key in keys:
                found = data.get(key)
                if found is None or found[1] <= now:
                    data[key] = (owner, now + ttl_ms / 1000)
                data.move_to_end(key)
            while len(data) > self.capacity:
                data.popitem(last=False)
            return held

    async def abind(self, key: str, owner: str, ttl_ms: int) -> str:
        return self.bind(key, owner, ttl_ms)  # never blocks for long: no thread hop

    async def aclaim(self, thread_ids: Sequence[str], owner: str, ttl_ms: int) -> list[bool]:
        return self.claim(thread_ids, owner, ttl_ms)

    async def aadmit(self, thread_ids: Sequence[str], owner: str, ttl_ms: int, follow: Follow | None,
                     refuse: bool) -> tuple[list[bool], list[str | None]]:
        return self.admit(thread_ids, owner, ttl_ms, follow, refuse)

    def follow(self, full: bytes | None, prefixes: Sequence[bytes], owner: str, ttl_ms: int,
               bind_split: bool) -> list[str | None]:
        now = time.monotonic()
        with self._lock:
            prints = self._prints
            found: list[str | None] = []
            for key in prefixes:
                entry = prints.get(key)
                found.append(entry[0] if entry is not None and entry[1] > now else None)
            if full is not None and (bind_split or split(found, owner) is None):
                entry = prints.get(full)
                prints[full] = (bound(entry[0] if entry is not None and entry[1] > now else None, owner),
                                now + ttl_ms / 1000)
                prints.move_to_end(full)
                if len(prints) > self.capacity:
                    prints.popitem(last=False)
        return found

    async def afollow(self, full: bytes | None, prefixes: Sequence[bytes], owner: str, ttl_ms: int,
                      bind_split: bool) -> list[str | None]:
        return self.follow(full, prefixes, owner, ttl_ms, bind_split)



_BIND = """
INSERT INTO bindings(key, owner, expires) VALUES (?1, ?2, ?3 + ?4)
ON CONFLICT(key) DO UPDATE SET
    owner = CASE WHEN bindings.expires <= ?3 THEN excluded.owner ELSE bindings.owner END,
    expires = CASE WHEN bindings.expires <= ?3 THEN excluded.expires ELSE bindings.expires END
RETURNING owner
"""
_HELD = "SELECT owner FROM bindings WHERE key = ?1 AND expires > ?2 AND owner != ?3"
_SECRET = "orq-thread-lint:secret"
_BATCH = 100  # commands per async pipeline
_PURGE_EVERY = 1024


class _Connection(sqlite3.Connection):
    """A connection ``close`` can find from any thread (plain ones can't be weakly referenced)."""


class SqliteStore(Store):
    """Several processes on one machine share a SQLite file (WAL); a bind is one statement.

    Each thread has its own connection (``abind`` runs in the event loop's worker threads);
    ``close`` closes them all. Threads of one process take turns on a lock before they write, so
    SQLite's busy wait (which polls, and starves some waiters under contention) is left to other
    processes; either wait is bounded by the timeout. A new file is created readable by its owner
    only (0600; SQLite gives its -wal and -shm files the same mode)."""

    def __init__(self, path: str, timeout_ms: int = DEFAULT_TIMEOUT_MS, secret: bytes | None = None) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self.timeout = timeout_ms / 1000
        self._local = threading.local()
        self._open: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._generation = 0  # bumped by close: every thread's connection is then stale
        self._follows = 0
        self._lock = threading.Lock()
        self._write = threading.Lock()
        try:
            os.close(os.open(path, os.O_CREAT | os.O_RDWR, 0o600))
            conn = self._conn()
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS bindings (key TEXT PRIMARY KEY, owner TEXT NOT NULL, "
                         "expires INTEGER NOT NULL)")
            conn.execute("CREATE TABLE IF NOT EXISTS continuity (key BLOB PRIMARY KEY, owner TEXT NOT NULL, "
                         "expires INTEGER NOT NULL)")
            conn.execute("CREATE TABLE IF NOT EXISTS settings (name TEXT PRIMARY KEY, value BLOB NOT NULL)")
            if secret is None:  # the first process to open the file picks it; the others read it
                conn.execute("INSERT OR IGNORE INTO settings VALUES (?, ?)", (_SECRET, secrets.token_bytes(32)))
                secret = bytes(conn.execute("SELECT value FROM settings WHERE name = ?", (_SECRET,)).fetchone()[0])
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(f"sqlite store {path!r}: {exc}") from exc
        self.secret = secret

    def _conn(self) -> sqlite3.Connection:
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is None or local.generation != self._generation:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False,
                                   factory=_Connection)
            # WAL without a sync per commit: a crash of the machine may forget the last bindings,
            # never corrupt the file (a lost binding only lets an id be claimed again).
            conn.execute("PRAGMA synchronous=NORMAL")
            with self._lock:
                local.conn, local.generation = conn, self._generation
                self._open.add(conn)
        return conn

    def bind(self, key: str, owner: str, ttl_ms: int) -> str:
        held = self.bind_all((key,), owner, ttl_ms)[0]
        return owner if held is None else held

    def bind_all(self, keys: Sequence[str], owner: str, ttl_ms: int) -> list[str | None]:
        if not self._write.acquire(timeout=self.timeout):
            raise StoreError(f"sqlite store: no turn to write within {self.timeout * 1000:.0f} ms")
        try:
            conn = self._conn()
            now = int(time.time() * 1000)
            if len(keys) == 1:  # one statement: its own transaction
                bound = str(conn.execute(_BIND, (keys[0], owner, now, ttl_ms)).fetchone()[0])
                return [None if bound == owner else bound]
            conn.execute("BEGIN IMMEDIATE")
            try:
                held: list[str | None] = []
                for key in keys:
                    row = conn.execute(_HELD, (key, now, owner)).fetchone()
                    held.append(None if row is None else str(row[0]))
                if not any(h is not None for h in held):
                    for key in keys:
                        conn.execute(_BIND, (key, owner, now, ttl_ms)).fetchone()
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
            return held
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite store: {exc}") from exc
        finally:
            self._write.release()

    def follow(self, full: bytes | None, prefixes: Sequence[bytes], owner: str, ttl_ms: int,
               bind_split: bool) -> list[str | None]:
        if not self._write.acquire(timeout=self.timeout):
            raise StoreError(f"sqlite store: no turn to write within {self.timeout * 1000:.0f} ms")
        try:
            now = int(time.time() * 1000)
            conn = self._conn()
            conn.execute("BEGIN IMMEDIATE")  # look-up and bind in one transaction: racing processes agree
            try:
                self._follows += 1
                if self._follows % _PURGE_EVERY == 0:  # expired fingerprints go, now and then
                    conn.execute("DELETE FROM continuity WHERE expires <= ?", (now,))
                held: dict[bytes, str] = {}
                wanted = [*prefixes, full] if full is not None else list(prefixes)
                if wanted:
                    marks = ",".join("?" * len(wanted))
                    held = {bytes(k): str(o) for k, o in conn.execute(
                        f"SELECT key, owner FROM continuity WHERE expires > ? AND key IN ({marks})", (now, *wanted))}
                found = [held.get(key) for key in prefixes]
                if full is not None and (bind_split or split(found, owner) is None):
                    conn.execute("INSERT OR REPLACE INTO continuity(key, owner, expires) VALUES (?, ?, ?)",
                                 (full, bound(held.get(full), owner), now + ttl_ms))
                conn.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite store: {exc}") from exc
        finally:
            self._write.release()
        return found

    def close(self) -> None:
        with self._lock:
            conns = list(self._open)
            self._open.clear()
            self._generation += 1
        for conn in conns:
            conn.close()


# All or none: if another owner holds any key, bind nothing and say who holds what.
_BIND_ALL = """
local held, other = {}, false
for i, key in ipairs(KEYS) do
    local owner = redis.call('GET', key)
    if owner and owner ~= ARGV[1] then held[i] = owner; other = true else held[i] = '' end
end
if not other then
    for _, key in ipairs(KEYS) do redis.call('SET', key, ARGV[1], 'NX', 'PX', ARGV[2]) end
end
return held
"""


class RedisStore(Store):
    """Several machines: ``SET key owner NX GET PX ttl``, one round trip, atomic (Redis >= 7).

    Threads share redis-py's pool (a connection each). Async binds are batched per event loop:
    whatever binds the loop's tasks ask for while one pipeline is on the wire go out together in
    the next, in the order they were asked, so 500 tasks need one connection and a bind waits one
    or two round trips, not for a free connection (an unfair wait: a pool of 64 connections for
    500 tasks failed 99.8% of 10,000 binds within 50 ms).
    Without a configured secret, the first client to need one stores a random secret in Redis
    (``SET NX``) and every client reads that one."""

    def __init__(self, url: str, timeout_ms: int = DEFAULT_TIMEOUT_MS, secret: bytes | None = None) -> None:
        try:
            import redis
            import redis.asyncio
            from redis.backoff import NoBackoff
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise StoreError("the redis store needs the extra: pip install 'orq-thread-lint[redis]'") from exc
        self.url = url
        self.timeout = timeout_ms / 1000
        # No retries inside redis-py: they would multiply the timeout a caller waits.
        options: dict[str, Any] = {"socket_timeout": self.timeout, "socket_connect_timeout": self.timeout,
                                   "retry": redis.retry.Retry(NoBackoff(), 0)}
        self._errors = (redis.RedisError, OSError, asyncio.TimeoutError)
        self._sync = redis.Redis.from_url(url, **options)
        self._bind_all = self._sync.register_script(_BIND_ALL)
        self._follow = self._sync.register_script(_FOLLOW)
        self._admit = self._sync.register_script(_ADMIT)
        self._noscript = redis.exceptions.NoScriptError
        self._async_options = {**options, "retry": redis.asyncio.retry.Retry(NoBackoff(), 0)}
        # One asyncio client per event loop: a connection belongs to the loop that opened it.
        self._async: dict[asyncio.AbstractEventLoop, Any] = {}
        self._async_lock = threading.Lock()
        if secret is not None:
            self.secret = secret
        self._has_secret = secret is not None

    # The secret ---------------------------------------------------------------------------------
    def _adopt(self, previous: object, mine: bytes) -> None:
        self.secret = previous if isinstance(previous, bytes) else mine
        self._has_secret = True

    def _load_secret(self) -> None:
        if not self._has_secret:
            mine = secrets.token_bytes(32)
            try:
                self._adopt(self._sync.set(_SECRET, mine, nx=True, get=True), mine)
            except self._errors as exc:
                raise StoreError(f"redis store: {exc}") from exc

    def load_secret(self) -> bytes:
        self._load_secret()
        return self.secret

    async def aload_secret(self) -> bytes:
        if not self._has_secret:
            mine = secrets.token_bytes(32)
            self._adopt(await self._run("SET", _SECRET, mine, "NX", "GET", get=True), mine)
        return self.secret

    def key(self, thread_id: str) -> str:
        self._load_secret()
        return super().key(thread_id)

    def owner(self, owner: str) -> str:
        self._load_secret()
        return super().owner(owner)

    # Binding --------------------------------------------------------------------------------------
    def bind(self, key: str, owner: str, ttl_ms: int) -> str:
        try:
            previous = self._sync.set(key, owner, nx=True, get=True, px=ttl_ms)
        except self._errors as exc:
            raise StoreError(f"redis store: {exc}") from exc
        return owner if previous is None else _text(previous)

    def bind_all(self, keys: Sequence[str], owner: str, ttl_ms: int) -> list[str | None]:
        if len(keys) == 1:
            held = self.bind(keys[0], owner, ttl_ms)
            return [None if held == owner else held]
        try:
            reply = self._bind_all(keys=list(keys), args=[owner, ttl_ms])
        except self._errors as exc:
            raise StoreError(f"redis store: {exc}") from exc
        return [_text(h) or None for h in reply]

    def _batch(self) -> _Batch:
        import redis.asyncio

        loop = asyncio.get_running_loop()
        batch = self._async.get(loop)
        if batch is None:
            batch = _Batch(redis.asyncio.Redis.from_url(self.url, **self._async_options), self.timeout)
            with self._async_lock:
                self._forget_closed_loops()
                self._async[loop] = batch
        return batch

    async def _run(self, *command: Any, **options: Any) -> Any:
        """One command (and the options of its reply's parser), sent with the loop's next batch."""
        try:
            reply = await self._batch().run(command, options)
        except self._errors as exc:
            raise StoreError(f"redis store: {_reason(exc)}") from exc
        if isinstance(reply, Exception):
            if isinstance(reply, self._noscript):
                raise reply
            raise StoreError(f"redis store: {reply}")
        return reply

    async def abind(self, key: str, owner: str, ttl_ms: int) -> str:
        previous = await self._run("SET", key, owner, "NX", "GET", "PX", ttl_ms, get=True)
        return owner if previous is None else _text(previous)

    async def aclaim(self, thread_ids: Sequence[str], owner: str, ttl_ms: int) -> list[bool]:
        await self.aload_secret()
        keys, me = [*map(self.key, thread_ids)], self.owner(owner)
        if len(keys) == 1:
            return [await self.abind(keys[0], me, ttl_ms) != me]
        return [bool(_text(h)) for h in await self._run("EVAL", _BIND_ALL, len(keys), *keys, me, ttl_ms)]

    def admit(self, thread_ids: Sequence[str], owner: str, ttl_ms: int, follow: Follow | None,
              refuse: bool) -> tuple[list[bool], list[str | None]]:
        if follow is None:
            return (self.claim(thread_ids, owner, ttl_ms) if thread_ids else []), []
        keys, args = self._admit_args(thread_ids, owner, ttl_ms, follow, refuse)
        try:  # the look-up, the decision, the claim and the bind: one script, one round trip
            reply = self._admit(keys=keys, args=args)
        except self._errors as exc:
            raise StoreError(f"redis store: {exc}") from exc
        return _admitted(reply)

    async def aadmit(self, thread_ids: Sequence[str], owner: str, ttl_ms: int, follow: Follow | None,
                     refuse: bool) -> tuple[list[bool], list[str | None]]:
        if follow is None:
            return (await self.aclaim(thread_ids, owner, ttl_ms) if thread_ids else []), []
        await self.aload_secret()
        keys, args = self._admit_args(thread_ids, owner, ttl_ms, follow, refuse)
        try:
            reply = await self._run("EVALSHA", self._admit.sha, len(keys), *keys, *args)
        except self._noscript:
            reply = await self._run("EVAL", _ADMIT, len(keys), *keys, *args)  # first use on this server
        return _admitted(reply)

    def _admit_args(self, thread_ids: Sequence[str], owner: str, ttl_ms: int, follow: Follow,
                    refuse: bool) -> tuple[list[str], list[str | int]]:
        keys = [*map(self.key, thread_ids), *(CONTINUITY_NAMESPACE + p.hex() for p in follow.prefixes)]
        if follow.full is not None:
            keys.append(CONTINUITY_NAMESPACE + follow.full.hex())
        me = self.owner(owner) if thread_ids else ""
        return keys, [me, ttl_ms, follow.thread, len(thread_ids), len(follow.prefixes),
                      int(follow.full is not None), int(refuse)]

    def follow(self, full: bytes | None, prefixes: Sequence[bytes], owner: str, ttl_ms: int,
               bind_split: bool) -> list[str | None]:
        keys, args = _follow_args(full, prefixes, owner, ttl_ms, bind_split)
        try:
            reply = self._follow(keys=keys, args=args)
        except self._errors as exc:
            raise StoreError(f"redis store: {exc}") from exc
        return [None if v is None else _text(v) for v in reply]

    async def afollow(self, full: bytes | None, prefixes: Sequence[bytes], owner: str, ttl_ms: int,
                      bind_split: bool) -> list[str | None]:
        keys, args = _follow_args(full, prefixes, owner, ttl_ms, bind_split)
        try:
            reply = await self._run("EVALSHA", self._follow.sha, len(keys), *keys, *args)
        except self._noscript:
            reply = await self._run("EVAL", _FOLLOW, len(keys), *keys, *args)  # first use on this server
        return [None if v is None else _text(v) for v in reply]

    def _forget_closed_loops(self) -> None:
        """Drop the clients of event loops that have ended (each ``asyncio.run`` is a new loop).

        Nothing can await their connections any more; dropping them lets their sockets be
        collected instead of one pool leaking per loop."""
        for loop in [loop for loop in self._async if loop.is_closed()]:
            del self._async[loop]

    def close(self) -> None:
        self._sync.close()
        with self._async_lock:
            self._forget_closed_loops()

    async def aclose(self) -> None:
        with self._async_lock:
            batch = self._async.pop(asyncio.get_running_loop(), None)
        if batch is not None:
            await batch.client.aclose(close_connection_pool=True)
        self.close()


class _Batch:
    """The commands an event loop's tasks are waiting to send, and the one pipeline on the wire.

    The timeout bounds each pipeline's round trip (connecting included) from the moment it is
    sent; a pipeline carries at most ``_BATCH`` commands, so its round trip costs this process
    little CPU even when it is starved of it. When one fails, every command waiting fails with it:
    a store that doesn't answer costs a bind at most two timeouts (the pipeline ahead, its own).
    Time the loop's other tasks keep it busy doesn't count: that is this process's load."""

    def __init__(self, client: Any, timeout: float) -> None:
        self.client = client
        self.timeout = timeout
        self.waiting: list[tuple[tuple[Any, ...], dict[str, Any], asyncio.Future[Any]]] = []
        self.sender: asyncio.Task[None] | None = None

    async def run(self, command: tuple[Any, ...], options: dict[str, Any]) -> Any:
        loop = asyncio.get_running_loop()
        reply: asyncio.Future[Any] = loop.create_future()
        self.waiting.append((command, options, reply))
        if self.sender is None:
            self.sender = loop.create_task(self._send())
        return await reply

    async def _send(self) -> None:
        try:
            while self.waiting:
                batch, self.waiting = self.waiting[:_BATCH], self.waiting[_BATCH:]
                pipe = self.client.pipeline(transaction=False)
                for command, options, _ in batch:
                    pipe.execute_command(*command, **options)
                try:
                    replies = await _within(self.timeout, pipe.execute(raise_on_error=False))
                except BaseException as exc:  # the store failed: every waiter hears why
                    batch, self.waiting = batch + self.waiting, []
                    for _, _, reply in batch:
                        if not reply.done():
                            reply.set_exception(exc)
                    if not isinstance(exc, Exception):
                        raise
                    continue
                for (_, _, reply), value in zip(batch, replies, strict=True):
                    if not reply.done():  # a waiter that timed out has gone
                        reply.set_result(value)
        finally:
            self.sender = None


async def _within(seconds: float, step: Coroutine[Any, Any, T]) -> T:
    """``step``'s result, all its waits (to connect, for the answer) within one timeout."""
    if sys.version_info >= (3, 11):
        async with asyncio.timeout(seconds):
            return await step
    return await asyncio.wait_for(step, seconds)  # pragma: no cover - Python 3.10


def _reason(exc: BaseException) -> str:
    return str(exc) or f"no answer within the timeout ({type(exc).__name__})"


# The continuity step in one round trip: look the prefixes up, then bind the request's own
# fingerprint as rules/continuity.py's `split` and `bound` say (keys: the prefixes, longest
# first, then the request's own if it binds one).
_FOLLOW = """
local owner, ttl, binds, bind_split = ARGV[1], ARGV[2], ARGV[3] == '1', ARGV[4] == '1'
local n = #KEYS
if binds then n = n - 1 end
local found, splits, decided = {}, false, false
for i = 1, n do
  local v = redis.call('GET', KEYS[i])
  found[i] = v
  if v and not decided then
    decided = true
    splits = v ~= owner and v ~= '""" + AMBIGUOUS + """'
  end
end
if binds and (bind_split or not splits) then
  local full = KEYS[#KEYS]
  local previous = redis.call('GET', full)
  local value = owner
  if previous and previous ~= owner then value = '""" + AMBIGUOUS + """' end
  redis.call('SET', full, value, 'PX', ttl)
end
return found
"""


# The guard's step for one request (Store.admit) in one round trip. Keys: the thread ids' keys,
# the prefixes' fingerprints (longest first), then the request's own if it binds one. Args: the
# owner, the ttl, the thread's hash, how many ids and prefixes, whether it binds, whether refused
# requests bind nothing. Looks the prefixes up and decides as `split` does; a refused split
# claims and binds nothing; then the claim, all or none (as `_BIND_ALL`); then the bind (as
# `_FOLLOW`), unless the request is refused for an id held elsewhere. Returns {held, found}.
_ADMIT = """
local owner, ttl, thread = ARGV[1], ARGV[2], ARGV[3]
local ids, n = tonumber(ARGV[4]), tonumber(ARGV[5])
local binds, refuse = ARGV[6] == '1', ARGV[7] == '1'
local found, splits, decided = {}, false, false
for i = 1, n do
  local v = redis.call('GET', KEYS[ids + i])
  found[i] = v
  if v and not decided then
    decided = true
    splits = v ~= thread and v ~= '""" + AMBIGUOUS + """'
  end
end
if refuse and splits then return {{}, found} end
local held, other = {}, false
for i = 1, ids do
  local v = redis.call('GET', KEYS[i])
  if v and v ~= owner then held[i] = v; other = true else held[i] = '' end
end
if not other then
  for i = 1, ids do redis.call('SET', KEYS[i], owner, 'NX', 'PX', ttl) end
end
if binds and not (refuse and other) then
  local full = KEYS[#KEYS]
  local previous = redis.call('GET', full)
  local value = thread
  if previous and previous ~= thread then value = '""" + AMBIGUOUS + """' end
  redis.call('SET', full, value, 'PX', ttl)
end
return {held, found}
"""


def _admitted(reply: Any) -> tuple[list[bool], list[str | None]]:
    held, found = reply
    return [bool(_text(h)) for h in held], [None if v is None else _text(v) for v in found]


def _follow_args(full: bytes | None, prefixes: Sequence[bytes], owner: str, ttl_ms: int,
                 bind_split: bool) -> tuple[list[str], list[str | int]]:
    keys = [CONTINUITY_NAMESPACE + p.hex() for p in prefixes]
    if full is not None:
        keys.append(CONTINUITY_NAMESPACE + full.hex())
    return keys, [owner, ttl_ms, int(full is not None), int(bind_split)]


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def open_store(url: str, *, timeout_ms: int = DEFAULT_TIMEOUT_MS, capacity: int = 100_000,
               secret: str | None = None) -> Store:
    """A store from its URL: ``memory``, ``sqlite:///path``, ``redis://host:port/db``.

    ``secret`` is the ``store-key-secret`` setting (``ORQ_THREAD_LINT_STORE_KEY`` wins over it)."""
    if url == "memory":
        return MemoryStore(capacity)
    if url.startswith("sqlite:///"):
        return SqliteStore(url[len("sqlite:///"):], timeout_ms, configured_secret(secret))
    if url.startswith(("redis://", "rediss://")):
        return RedisStore(url, timeout_ms, configured_secret(secret))
    raise ValueError(f"unknown store {url!r}: use 'memory', 'sqlite:///path' or 'redis://host:port/db'")
