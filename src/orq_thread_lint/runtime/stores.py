"""Where thread ids are bound to their first owner (a scope, or one request): memory, SQLite, Redis.

``bind(key, owner, ttl_ms)`` binds ``key`` to ``owner`` unless it is already bound (and not
expired), and returns the owner the key has after the call. It is one atomic step in every store,
so two processes (or machines, with Redis) racing for a key agree on one winner.
"""

from __future__ import annotations

import asyncio
import hashlib
import sqlite3
import threading
import time
import weakref
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any

from ..rules.continuity import AMBIGUOUS, bound, split

NAMESPACE = "orq-thread-lint:thread:"
CONTINUITY_NAMESPACE = "orq-thread-lint:continuity:"


class StoreError(Exception):
    """The store could not answer (down, unreachable, timed out)."""


def store_key(thread_id: str) -> str:
    """Namespaced, and hashed so the store holds no thread ids in the clear."""
    return NAMESPACE + hashlib.sha256(thread_id.encode("utf-8", "surrogatepass")).hexdigest()[:40]


class Store:
    url = "memory"

    def key(self, thread_id: str) -> str:
        """The store's key for a thread id (shared stores namespace and hash it)."""
        return store_key(thread_id)

    def bind(self, key: str, owner: str, ttl_ms: int) -> str:
        raise NotImplementedError

    async def abind(self, key: str, owner: str, ttl_ms: int) -> str:
        return await asyncio.to_thread(self.bind, key, owner, ttl_ms)

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

    async def abind(self, key: str, owner: str, ttl_ms: int) -> str:
        return self.bind(key, owner, ttl_ms)  # never blocks for long: no thread hop

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


_PURGE_EVERY = 1024


class _Connection(sqlite3.Connection):
    """A connection ``close`` can find from any thread (plain ones can't be weakly referenced)."""


class SqliteStore(Store):
    """Several processes on one machine share a SQLite file (WAL); a bind is one statement.

    Each thread has its own connection (``abind`` runs in the event loop's worker threads);
    ``close`` closes them all."""

    def __init__(self, path: str, timeout_ms: int = 50) -> None:
        self.path = path
        self.url = f"sqlite:///{path}"
        self.timeout = timeout_ms / 1000
        self._local = threading.local()
        self._open: weakref.WeakSet[_Connection] = weakref.WeakSet()
        self._generation = 0  # bumped by close: every thread's connection is then stale
        self._follows = 0
        self._lock = threading.Lock()
        try:
            conn = self._conn()
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("CREATE TABLE IF NOT EXISTS bindings (key TEXT PRIMARY KEY, owner TEXT NOT NULL, "
                         "expires INTEGER NOT NULL)")
            conn.execute("CREATE TABLE IF NOT EXISTS continuity (key BLOB PRIMARY KEY, owner TEXT NOT NULL, "
                         "expires INTEGER NOT NULL)")
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite store {path!r}: {exc}") from exc

    def _conn(self) -> sqlite3.Connection:
        local = self._local
        conn: sqlite3.Connection | None = getattr(local, "conn", None)
        if conn is None or local.generation != self._generation:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False,
                                   factory=_Connection)
            with self._lock:
                local.conn, local.generation = conn, self._generation
                self._open.add(conn)
        return conn

    def bind(self, key: str, owner: str, ttl_ms: int) -> str:
        now = int(time.time() * 1000)
        try:
            row = self._conn().execute(_BIND, (key, owner, now, ttl_ms)).fetchone()
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite store: {exc}") from exc
        return str(row[0])

    def follow(self, full: bytes | None, prefixes: Sequence[bytes], owner: str, ttl_ms: int,
               bind_split: bool) -> list[str | None]:
        now = int(time.time() * 1000)
        conn = self._conn()
        try:
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
                conn.execute("ROLLBACK")
                raise
        except sqlite3.Error as exc:
            raise StoreError(f"sqlite store: {exc}") from exc
        return found

    def close(self) -> None:
        with self._lock:
            conns = list(self._open)
            self._open.clear()
            self._generation += 1
        for conn in conns:
            conn.close()


class RedisStore(Store):
    """Several machines: ``SET key owner NX GET PX ttl``, one round trip, atomic (Redis >= 7)."""

    def __init__(self, url: str, timeout_ms: int = 50) -> None:
        try:
            import redis
            import redis.asyncio
        except ImportError as exc:  # pragma: no cover - depends on the extra
            raise StoreError("the redis store needs the extra: pip install 'orq-thread-lint[redis]'") from exc
        self.url = url
        timeout = timeout_ms / 1000
        options: dict[str, Any] = {"socket_timeout": timeout, "socket_connect_timeout": timeout,
                                   "retry_on_timeout": False}
        self._errors = (redis.RedisError, OSError)
        self._noscript = redis.exceptions.NoScriptError
        self._sync = redis.Redis.from_url(url, **options)
        self._async_options = options
        # One asyncio client per event loop: a connection belongs to the loop that opened it.
        self._async: dict[asyncio.AbstractEventLoop, Any] = {}
        self._async_lock = threading.Lock()
        self._follow = self._sync.register_script(_FOLLOW)

    def bind(self, key: str, owner: str, ttl_ms: int) -> str:
        try:
            previous = self._sync.set(key, owner, nx=True, get=True, px=ttl_ms)
        except self._errors as exc:
            raise StoreError(f"redis store: {exc}") from exc
        return owner if previous is None else _text(previous)

    def _async_client(self) -> Any:
        import redis.asyncio

        loop = asyncio.get_running_loop()
        client = self._async.get(loop)
        if client is None:
            # A blocking pool: many concurrent tasks wait (up to the timeout) for a connection
            # instead of failing with "Too many connections".
            pool = redis.asyncio.BlockingConnectionPool.from_url(
                self.url, max_connections=64, timeout=self._async_options["socket_timeout"], **self._async_options)
            client = redis.asyncio.Redis(connection_pool=pool)
            with self._async_lock:
                self._forget_closed_loops()
                self._async[loop] = client
        return client

    async def abind(self, key: str, owner: str, ttl_ms: int) -> str:
        client = self._async_client()
        try:
            previous = await client.set(key, owner, nx=True, get=True, px=ttl_ms)
        except self._errors as exc:
            raise StoreError(f"redis store: {exc}") from exc
        return owner if previous is None else _text(previous)

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
        client = self._async_client()
        try:
            try:
                reply = await client.evalsha(self._follow.sha, len(keys), *keys, *args)
            except self._noscript:
                reply = await client.eval(_FOLLOW, len(keys), *keys, *args)  # first use on this server
        except self._errors as exc:
            raise StoreError(f"redis store: {exc}") from exc
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
            client = self._async.pop(asyncio.get_running_loop(), None)
        if client is not None:
            await client.aclose(close_connection_pool=True)
        self.close()


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


def _follow_args(full: bytes | None, prefixes: Sequence[bytes], owner: str, ttl_ms: int,
                 bind_split: bool) -> tuple[list[str], list[str | int]]:
    keys = [CONTINUITY_NAMESPACE + p.hex() for p in prefixes]
    if full is not None:
        keys.append(CONTINUITY_NAMESPACE + full.hex())
    return keys, [owner, ttl_ms, int(full is not None), int(bind_split)]


def _text(value: object) -> str:
    return value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)


def open_store(url: str, *, timeout_ms: int = 50, capacity: int = 100_000) -> Store:
    """A store from its URL: ``memory``, ``sqlite:///path``, ``redis://host:port/db``."""
    if url == "memory":
        return MemoryStore(capacity)
    if url.startswith("sqlite:///"):
        return SqliteStore(url[len("sqlite:///"):], timeout_ms)
    if url.startswith(("redis://", "rediss://")):
        return RedisStore(url, timeout_ms)
    raise ValueError(f"unknown store {url!r}: use 'memory', 'sqlite:///path' or 'redis://host:port/db'")
