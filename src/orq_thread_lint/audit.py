"""``validate``: check request bodies in JSON documents, JSON arrays and JSONL logs.

Each record (see :mod:`orq_thread_lint.records`, which streams them) is one request body;
OTL007 and OTL008 are checked across all of them. Memory holds one record, the overlap index
(one entry per distinct thread id) and the continuity fingerprints kept, never a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .policy import Policy
from .records import Record, invalid, records
from .report import Finding
from .report.summary import Summary
from .rules.engine import check_json_request
from .rules.overlap import overlap, request_scope
from .timeline import Timeline
from .values import from_json

__all__ = ["Record", "invalid", "iter_validate", "records", "validate"]


def iter_validate(sources: Iterable[str], policy: Policy, *, scope_field: str | None = None,
                  time_field: str | None = None, summary: Summary | None = None) -> Iterator[Finding]:
    """The findings of :func:`validate`, as they are found."""
    owners: dict[str, tuple[str, str]] = {}
    timeline = Timeline(policy, time_field)
    for source in sources:
        name = "<stdin>" if source == "-" else source
        for item in records(source, name):
            if isinstance(item, Finding):
                if policy.enabled("OTL000"):
                    yield item
                continue
            yield from _check_record(item, name, policy, scope_field, owners, timeline, summary)
    yield from timeline.finish()


def validate(sources: Iterable[str], policy: Policy, *, scope_field: str | None = None,
             time_field: str | None = None, summary: Summary | None = None) -> list[Finding]:
    """Check every request body in ``sources``; OTL007 and OTL008 are checked across all of them
    (in file order, or in the order of each record's ``time_field``). ``summary`` counts the
    requests of each thread."""
    return list(iter_validate(sources, policy, scope_field=scope_field, time_field=time_field, summary=summary))


def _check_record(record: Record, name: str, policy: Policy, scope_field: str | None,
                  owners: dict[str, tuple[str, str]], timeline: Timeline, summary: Summary | None) -> list[Finding]:
    if not isinstance(record.body, dict):
        if not policy.enabled("OTL000"):
            return []
        return [invalid(name, "record is not a JSON object (a request body)", record.row, record.column)]
    found, thread_ids = check_json_request(record.body, policy)
    violations = list(found)
    if thread_ids and policy.enabled("OTL007"):
        scope = request_scope(from_json(record.body), scope_field)
        if scope is not None:
            here = f"{name}:{record.row}"
            for tid, path in thread_ids:
                first = owners.setdefault(tid, (scope, here))
                if first[0] != scope:
                    violations.append(overlap(path, first[1]))
    if summary is not None:
        summary.add(thread_ids)
    return [Finding(name, record.row, record.column, v) for v in violations] + timeline.add(
        name, record.row, record.column, record.body, thread_ids)
