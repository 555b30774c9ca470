"""``validate``'s view across records: the requests of a log in request order, and OTL008 between them.

Request order is file order, unless ``--time-field`` names each record's time: then records are
held in a buffer ordered by time and compared once nothing earlier can still arrive within the
TTL window (or the buffer is full), so logs written out of order by several workers are read in
the order their requests were sent. What is kept per record is its fingerprints, thread id and
line, never its messages: memory is bounded by ``runtime.memory-capacity`` fingerprints and as
many buffered records, whatever the size of the log.
"""

from __future__ import annotations

import heapq
import math
from datetime import datetime, timezone
from typing import Any, NamedTuple

from .policy import Policy
from .report import Finding
from .rules.continuity import Earlier, Fingerprints, Index, LocalFingerprinter, messages_of, thread_split


class _Request(NamedTuple):
    filename: str
    row: int
    column: int
    prints: Fingerprints
    thread_id: str | None
    path: str

    @property
    def where(self) -> str:
        return f"{self.filename}:{self.row}"


class Timeline:
    """OTL008 across the records of one ``validate`` run."""

    def __init__(self, policy: Policy, time_field: str | None = None) -> None:
        cfg = policy.config.runtime
        self.enabled = policy.enabled("OTL008")
        self.capacity = cfg.memory_capacity
        self.ttl = float(cfg.ttl_seconds)
        self.time_path = tuple(time_field.split(".")) if time_field else None
        self.index = Index(self.capacity, self.ttl if time_field else None)
        self.hasher = LocalFingerprinter()  # nothing leaves the process
        self._pending: list[tuple[float, int, _Request]] = []
        self._seq = 0
        self._latest = -math.inf

    def add(self, filename: str, row: int, column: int, body: dict[str, Any],
            thread_ids: tuple[tuple[str, str], ...]) -> list[Finding]:
        """Take a record (its thread ids as the rules found them); the OTL008 findings now due."""
        if not self.enabled:
            return []
        tid, path = thread_ids[0] if thread_ids else (None, "orq.thread")
        prints = self.hasher.fingerprints(messages_of(body))
        if prints.full is None and not prints.prefixes:
            return []
        if self.time_path is None:  # in file order: compared now, nothing kept but its fingerprints
            return _finding(filename, row, column, path, tid, self.index.check(prints, tid, f"{filename}:{row}"))
        request = _Request(filename, row, column, prints, tid, path)
        when = _time(body, self.time_path)
        when = self._latest if when is None else when  # no time: it comes where it stands in the file
        if when == -math.inf:
            when = 0.0
        self._latest = max(self._latest, when)
        self._seq += 1
        heapq.heappush(self._pending, (when, self._seq, request))
        out: list[Finding] = []
        pending = self._pending
        while pending and (pending[0][0] < self._latest - self.ttl or len(pending) > self.capacity):
            when, _, due = heapq.heappop(pending)
            out += self._follow(due, when)
        return out

    def finish(self) -> list[Finding]:
        """The findings of the records still buffered (all of them are due at the end)."""
        out: list[Finding] = []
        while self._pending:
            when, _, due = heapq.heappop(self._pending)
            out += self._follow(due, when)
        return out

    def _follow(self, request: _Request, when: float) -> list[Finding]:
        earlier = self.index.check(request.prints, request.thread_id, request.where, when)
        return _finding(request.filename, request.row, request.column, request.path, request.thread_id, earlier)


def _finding(filename: str, row: int, column: int, path: str, thread_id: str | None,
             earlier: Earlier | None) -> list[Finding]:
    if earlier is None:
        return []
    return [Finding(filename, row, column, thread_split(path, thread_id, earlier.where, earlier.thread_id))]


def _time(body: dict[str, Any], path: tuple[str, ...]) -> float | None:
    """A record's time in seconds: ISO 8601 text or an epoch number (seconds, milli- or microseconds)."""
    node: Any = body
    for key in path:
        if not isinstance(node, dict):
            return None
        node = node.get(key)
    if isinstance(node, str):
        text = node.strip()
        try:
            node = float(text)
        except ValueError:
            try:
                parsed = datetime.fromisoformat(text[:-1] + "+00:00" if text.endswith(("Z", "z")) else text)
            except ValueError:
                return None
            if parsed.tzinfo is None:
                parsed = parsed.replace(tzinfo=timezone.utc)
            return parsed.timestamp()
    if isinstance(node, bool) or not isinstance(node, (int, float)) or not math.isfinite(node):
        return None
    value = float(node)
    while abs(value) >= 1e11:  # milliseconds, microseconds, nanoseconds since the epoch
        value /= 1000
    return value
