"""Check one file's source: the gates, the segments, the rules, noqa, and fixes.

libcst and the value following are imported only when a file passes the gates: most files
never need them, and a pre-commit hook pays every import on every commit."""

from __future__ import annotations

import ast
import io
import tokenize
import warnings
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from ..policy import Policy
from ..report import Finding
from ..rules.catalog import RULES
from ..rules.thread import Emitter
from ..values import Node
from ..violations import Violation
from . import unused_noqa
from .comments import Comments, scan
from .noqa import SKIP_FILE
from .scopes import Words
from .segments import Prefilter, Segment, line_starts, plan, source_lines

if TYPE_CHECKING:
    from .fixes import Action
    from .resolve import FileContext

# Fixing repeats until nothing fixable is left (so a second run changes nothing), this many rounds at most.
_FIX_ROUNDS = 8

_GATES: dict[tuple[str, ...], Prefilter] = {}
_NO_COMMENTS = Comments({}, {})


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
    diff: str | None = None  # what --diff shows, when not a diff of the whole text (notebook cells)


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


def analyse(text: str, encoding: str, filename: str, policy: Policy,
            seen: Callable[[Node], None] | None = None, gates: bool = True) -> Parsed | Finding | None:
    """The segments and violations of a text, an OTL000 finding, or None when nothing can be found.
    ``seen`` is told of every thread the rules check. ``gates=False`` reads every statement and
    parses whole module-level statements (what the tests compare the gates with)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            tree = ast.parse(text, filename)
    except SyntaxError as exc:
        return _invalid(filename, f"can't parse: {exc.msg}", exc.lineno or 1, exc.offset or 1)
    except ValueError as exc:
        return _invalid(filename, f"can't parse: {exc}")
    lines = source_lines(text)
    rows = gate(policy).rows(text, line_starts(lines)) if gates else None
    words = Words(text if gates else None)
    found = plan(tree, targets(policy), rows, words.rows("orq_ai_sdk"), outermost=not gates)
    if not found:
        return None
    from .resolve import FileContext
    from .visitor import check_sites, collect

    ctx = FileContext(lines, tree, words)
    segments = _segments(ctx, found)
    ctx.cover(segments)
    out: list[Violation] = []
    check_sites([site for segment in segments for site in collect(ctx, segment, targets(policy))],
                Emitter(policy, out, seen))
    return Parsed(text, encoding, lines, segments, out)


def _segments(ctx: FileContext, found: list[tuple[ast.stmt, tuple[ast.AST, ...], bool]]) -> list[Segment]:
    """The segments of the plan's statements, none inside another (a widened one holds the rest)."""
    made: dict[int, Segment] = {}
    for stmt, path, header in found:
        segment = ctx.segment_for(stmt, path, header)
        if segment is not None:
            made[id(segment)] = segment
    out: list[Segment] = []
    for segment in sorted(made.values(), key=lambda s: (s.start, -s.end)):
        if out and segment.start <= out[-1].end:
            last = out[-1]
            if segment.end <= last.end and not last.tail:
                continue
            # overlapping without one holding the other: both go into their module-level statement
            top = (last.path or last.roots)[0]
            assert isinstance(top, ast.stmt)
            wide = ctx.segment_for(top, ())
            out.pop()
            if wide is not None and not (out and wide is out[-1]):
                out.append(wide)
            continue
        out.append(segment)
    return out


def place(parsed: Parsed, filename: str, ignored: frozenset[str], with_fixes: bool = True,
          used: set[tuple[int, str]] | None = None) -> list[Finding]:
    """Violations placed in the file, once each, minus noqa and per-file ignores; ``with_fixes``
    attaches each fixable finding's own edit (what reports show); ``used`` gathers the (row, code)
    of each noqa directive that silenced something."""
    from .fixes import single_fix
    from .resolve import Anchor

    seen: set[tuple[str, int, int]] = set()
    findings = []
    comments: Comments | None = None
    for v in parsed.violations:
        if not isinstance(v.anchor, Anchor) or v.code.startswith(tuple(ignored)):
            continue
        row, col, end_row, end_col = v.anchor.segment.where(v.anchor.node)
        key = (v.code, row, col)
        if key in seen:
            continue
        seen.add(key)
        if comments is None:  # no directive can be without the word (tokenizing is slow)
            comments = (scan(parsed.text) if "noqa" in parsed.text.lower() else None) or _NO_COMMENTS
        directive = comments.suppressing(row, v.code)
        if directive is not None:
            if used is not None:
                used.add((directive.row, v.code))
            continue
        fix = single_fix(v) if with_fixes and RULES[v.code].fixable else None
        findings.append(Finding(filename, row, col, v, end_row, end_col, fix))
    return findings


def fix_text(text: str, encoding: str, filename: str, policy: Policy,
             ignored: frozenset[str]) -> tuple[str, Counter[str]]:
    """Apply every safe fix, round after round; returns the new text and what was fixed."""
    from .fixes import action, parses, rewrite
    from .resolve import Anchor

    fixed: Counter[str] = Counter()
    for _ in range(_FIX_ROUNDS):
        parsed = analyse(text, encoding, filename, policy)
        if not isinstance(parsed, Parsed):
            break
        by_segment: dict[int, tuple[Segment, list[Action]]] = {}
        for finding in place(parsed, filename, ignored, with_fixes=False):
            act = action(finding.violation)
            if act is not None and isinstance(finding.violation.anchor, Anchor):
                seg = finding.violation.anchor.segment
                by_segment.setdefault(id(seg), (seg, []))[1].append(act)
        if not by_segment:
            break
        lines = source_lines(text)
        done: list[tuple[int, int]] = []
        changed: Counter[str] = Counter()
        for segment, acts in sorted(by_segment.values(), key=lambda p: -p[0].start):
            if any(not (segment.end < s or segment.start > e) for s, e in done):
                continue  # overlaps a segment fixed this round; the next round sees it afresh
            new_code, applied = rewrite(segment, acts)
            lines[segment.start - 1 : segment.end] = [new_code]
            done.append((segment.start, segment.end))
            changed.update(a.code for a in applied)
        candidate = "".join(lines)
        if not changed or candidate == text or not parses(candidate):
            break
        text = candidate
        fixed.update(changed)
    return text, fixed


def passes_gate(data: bytes, policy: Policy, ignored: frozenset[str] = frozenset()) -> bool:
    """Whether a file's bytes may hold something to report (else checking it finds nothing)."""
    if SKIP_FILE in data:
        return False
    stale_noqa = policy.enabled(unused_noqa.CODE) and not unused_noqa.CODE.startswith(tuple(ignored))
    return gate(policy).may_hold(data) or (stale_noqa and b"noqa" in data.lower())


def check_bytes(data: bytes, filename: str, policy: Policy, ignored: frozenset[str] = frozenset(),
                fix: bool = False, prefilter: bool = True) -> FileResult:
    """Check one file's bytes. ``prefilter=False`` parses every file (what the tests compare with)."""
    result = FileResult(filename)
    if SKIP_FILE in data or (prefilter and not passes_gate(data, policy, ignored)):
        return result
    stale_noqa = policy.enabled(unused_noqa.CODE) and not unused_noqa.CODE.startswith(tuple(ignored))
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
    parsed = analyse(text, encoding, filename, policy, gates=prefilter)
    used: set[tuple[int, str]] = set()
    if isinstance(parsed, Finding):
        if policy.enabled("OTL000") and not "OTL000".startswith(tuple(ignored)):
            result.findings.append(parsed)
        return result
    if parsed is not None:
        # Anchors point into libcst trees; the findings leave without them (cheap to send and keep).
        result.findings = [replace(f, violation=replace(f.violation, anchor=None))
                           for f in place(parsed, filename, ignored, used=used)]
    if stale_noqa:
        lines = parsed.lines if parsed is not None else source_lines(text)
        stale = unused_noqa.find(filename, lines, scan(text) or _NO_COMMENTS, used, policy.enabled_codes)
        if fix and stale:
            lines = list(lines)
            result.original = result.original if result.original is not None else text
            result.fixed[unused_noqa.CODE] += unused_noqa.apply(lines, stale)
            result.source = "".join(lines)
        else:
            result.findings.extend(stale)
    return result
