"""``validate``: check request bodies in JSON documents, JSON arrays and JSONL logs.

Each record is one request body. Records are found with their position (the line of a JSONL
record, the line and column where an array element starts) so findings point at them.
A line that isn't JSON is one OTL000 finding; the other lines are still checked.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path

from .policy import Policy
from .report import Finding
from .rules.catalog import RULES
from .rules.engine import check_json_request
from .rules.overlap import overlap, request_scope
from .values import from_json
from .violations import Violation

_WS = " \t\r\n"


@dataclass(frozen=True, slots=True)
class Record:
    row: int
    column: int
    body: object


def invalid(filename: str, message: str, row: int = 1, column: int = 1) -> Finding:
    rule = RULES["OTL000"]
    return Finding(filename, row, column, Violation(rule.code, rule.name, message, "", rule.severity))


def _position(text: str, offset: int) -> tuple[int, int]:
    row = text.count("\n", 0, offset) + 1
    return row, offset - (text.rfind("\n", 0, offset) + 1) + 1


def _skip(text: str, i: int) -> int:
    while i < len(text) and text[i] in _WS:
        i += 1
    return i


def _array(text: str, start: int) -> Iterator[Record]:
    """The elements of a top-level JSON array, each with where it starts."""
    decoder = json.JSONDecoder()
    i = _skip(text, start + 1)
    if i < len(text) and text[i] == "]":
        return
    while True:
        value, end = decoder.raw_decode(text, i)
        yield Record(*_position(text, i), value)
        i = _skip(text, end)
        if i < len(text) and text[i] == ",":
            i = _skip(text, i + 1)
            continue
        if i < len(text) and text[i] == "]" and _skip(text, i + 1) == len(text):
            return
        raise json.JSONDecodeError("expected ',' or ']'", text, i)


def _looks_jsonl(text: str) -> bool:
    """Whether any of the first few lines is a JSON object on its own."""
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()][:5]
    for line in lines:
        try:
            if isinstance(json.loads(line), dict):
                return True
        except json.JSONDecodeError:
            continue
    return False


def read_records(text: str, filename: str, jsonl: bool) -> Iterator[Record | Finding]:
    """Records of a document, or OTL000 findings where it can't be read."""
    start = _skip(text, 0)
    if start == len(text):
        return
    if not jsonl:
        try:
            if text[start] == "[":
                yield from _array(text, start)
                return
            value = json.loads(text)
        except json.JSONDecodeError as exc:
            if text[start] == "[" or not (exc.msg == "Extra data" or _looks_jsonl(text)):
                yield invalid(filename, f"not valid JSON: {exc.msg}", exc.lineno, exc.colno)
                return
        else:
            yield Record(*_position(text, start), value)
            return
    for row, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except json.JSONDecodeError as exc:
            yield invalid(filename, f"line is not valid JSON: {exc.msg}", row, exc.colno)
            continue
        yield Record(row, 1, value)


def read_source(source: str) -> tuple[str | None, str | None]:
    """The text of a file (``-`` for stdin), or why it can't be read."""
    try:
        data = sys.stdin.buffer.read() if source == "-" else Path(source).read_bytes()
    except OSError as exc:
        return None, f"can't read: {exc.strerror or exc}"
    try:
        return data.decode("utf-8-sig"), None
    except UnicodeDecodeError as exc:
        return None, f"not UTF-8 text: {exc.reason} at byte {exc.start}"


def validate(sources: Iterable[str], policy: Policy, *, scope_field: str | None = None) -> list[Finding]:
    """Check every request body in ``sources``; OTL007 is checked across all of them."""
    findings: list[Finding] = []
    owners: dict[str, tuple[str, str]] = {}
    for source in sources:
        name = "<stdin>" if source == "-" else source
        text, error = read_source(source)
        if text is None:
            if policy.enabled("OTL000"):
                findings.append(invalid(name, error or "can't read"))
            continue
        jsonl = source.endswith((".jsonl", ".ndjson"))
        for item in read_records(text, name, jsonl):
            if isinstance(item, Finding):
                if policy.enabled("OTL000"):
                    findings.append(item)
                continue
            findings.extend(_check_record(item, name, policy, scope_field, owners))
    return findings


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
