"""Check one file's source: the gates, the segments, the rules, noqa, and fixes."""

from __future__ import annotations

import ast
import io
import tokenize
import warnings
from collections import Counter
from dataclasses import dataclass, field, replace

import libcst as cst

from ..policy import Policy
from ..report import Finding
from ..rules.catalog import RULES
from ..rules.thread import Emitter
from ..violations import Violation
from .fixes import fix_text, single_fix
from .noqa import SKIP_FILE, suppressed
from .resolve import Anchor, FileContext
from .segments import Prefilter, Segment, merge, plan, source_lines
from .visitor import check_segment

_GATES: dict[tuple[str, ...], Prefilter] = {}


def targets(policy: Policy) -> tuple[str, ...]:
    calls = policy.config.calls
    return tuple(dict.fromkeys([*calls.targets, *calls.extend_targets]))


def gate(policy: Policy) -> Prefilter:
    key = targets(policy)
    found = _GATES.get(key)
    if found is None:
        found = _GATES[key] = Prefilter(key)
    return found


@dataclass
class FileResult:
    filename: str
    findings: list[Finding] = field(default_factory=list)
    fixed: Counter[str] = field(default_factory=Counter)
    original: str | None = None  # the text before fixes, when fixing
    source: str | None = None  # the text after fixes, when fixing
    encoding: str = "utf-8"


@dataclass
class Parsed:
    """A file after the gates: its text and the segments libcst parsed."""

    text: str
    encoding: str
    lines: list[str]
    segments: list[Segment]
    violations: list[Violation]


def _invalid(filename: str, message: str, row: int = 1, column: int = 1) -> Finding:
    rule = RULES["OTL000"]
    return Finding(filename, row, max(column, 1), Violation(rule.code, rule.name, message, "", rule.severity))


def decode(data: bytes) -> tuple[str, str]:
    """Source text and its encoding (PEP 263 cookie or BOM, else UTF-8); raises on bad bytes."""
    encoding, _ = tokenize.detect_encoding(io.BytesIO(data).readline)
    text = data.decode(encoding)
    if encoding == "utf-8-sig":
        text = text.lstrip("\ufeff")
    return text, encoding


def analyse(text: str, encoding: str, filename: str, policy: Policy) -> Parsed | Finding | None:
    """The segments and violations of a text, an OTL000 finding, or None when nothing can be found."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename)
    except SyntaxError as exc:
        return _invalid(filename, f"can't parse: {exc.msg}", exc.lineno or 1, exc.offset or 1)
    except ValueError as exc:
        return _invalid(filename, f"can't parse: {exc}")
    found = plan(tree, targets(policy))
    if found is None:
        return None
    lines = source_lines(text)
    ctx = FileContext(lines, found.bindings, tree)
    out: list[Violation] = []
    emit = Emitter(policy, out)
    segments = []
    for start, end in merge(found.spans):
        try:
            segment = Segment(lines, start, end)
        except cst.ParserSyntaxError:
            continue  # syntax CPython accepts and libcst doesn't know yet: nothing can be proved
        segments.append(segment)
        check_segment(ctx, segment, emit, targets(policy))
    return Parsed(text, encoding, lines, segments, out)


def place(parsed: Parsed, filename: str, ignored: frozenset[str], with_fixes: bool = True) -> list[Finding]:
    """Violations placed in the file, once each, minus noqa and per-file ignores; ``with_fixes``
    attaches each fixable finding's own edit (what reports show)."""
    seen: set[tuple[str, int, int]] = set()
    findings = []
    for v in parsed.violations:
        if not isinstance(v.anchor, Anchor) or v.code.startswith(tuple(ignored)):
            continue
        row, col, end_row, end_col = v.anchor.segment.where(v.anchor.node)
        key = (v.code, row, col)
        if key in seen:
            continue
        seen.add(key)
        line = parsed.lines[row - 1] if row <= len(parsed.lines) else ""
        if suppressed(line, v.code):
            continue
        fix = single_fix(v) if with_fixes and RULES[v.code].fixable else None
        findings.append(Finding(filename, row, col, v, end_row, end_col, fix))
    return findings


def check_bytes(data: bytes, filename: str, policy: Policy, ignored: frozenset[str] = frozenset(),
                fix: bool = False, prefilter: bool = True) -> FileResult:
    """Check one file's bytes. ``prefilter=False`` parses every file (what the tests compare with)."""
    result = FileResult(filename)
    if SKIP_FILE in data or (prefilter and not gate(policy).may_hold(data)):
        return result
    try:
        text, encoding = decode(data)
    except (SyntaxError, UnicodeDecodeError, LookupError) as exc:
        if policy.enabled("OTL000"):
            result.findings.append(_invalid(filename, f"can't decode: {exc}"))
        return result
    result.encoding = encoding
    if fix:
        result.original = text
        text, result.fixed = fix_text(text, encoding, filename, policy, ignored)
        result.source = text
    parsed = analyse(text, encoding, filename, policy)
    if isinstance(parsed, Finding):
        if policy.enabled("OTL000") and not "OTL000".startswith(tuple(ignored)):
            result.findings.append(parsed)
    elif parsed is not None:
        # Anchors point into libcst trees; the findings leave without them (cheap to send and keep).
        result.findings = [replace(f, violation=replace(f.violation, anchor=None))
                           for f in place(parsed, filename, ignored)]
    return result
