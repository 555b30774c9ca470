"""``validate``: check request bodies in JSON documents, JSON arrays and JSONL logs.

Each record (see :mod:`orq_thread_lint.records`, which streams them) is one request body;
OTL007 is checked across all of them. Memory holds one record and the overlap index (one entry
per distinct thread id), never a file.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from .policy import Policy
from .records import Record, invalid, records
from .report import Finding
from .rules.engine import check_json_request
from .rules.overlap import overlap, request_scope
from .values import from_json

__all__ = ["Record", "invalid", "iter_validate", "records", "validate"]


def iter_validate(sources: Iterable[str], policy: Policy, *, scope_field: str | None = None) -> Iterator[Finding]:
    """The findings of :func:`validate`, as they are found (memory: the overlap index)."""
    owners: dict[str, tuple[str, str]] = {}
    for source in sources:
        name = "<stdin>" if source == "-" else source
        for item in records(source, name):
            if isinstance(item, Finding):
                if policy.enabled("OTL000"):
                    yield item
                continue
            yield from _check_record(item, name, policy, scope_field, owners)


def validate(sources: Iterable[str], policy: Policy, *, scope_field: str | None = None) -> list[Finding]:
    """Check every request body in ``sources``; OTL007 is checked across all of them."""
    return list(iter_validate(sources, policy, scope_field=scope_field))


def _check_record(record: Record, name: str, policy: Policy, scope_field: str | None,
                  owners: dict[str, tuple[str, str]]) -> list[Finding]:
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
    return [Finding(name, record.row, record.column, v) for v in violations]
