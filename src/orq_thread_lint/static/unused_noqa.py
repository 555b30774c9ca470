"""OTL900 unused-noqa: ``# noqa: OTL...`` codes that silence nothing on their line (ruff's
RUF100, for this tool's codes only: other tools' codes and a bare ``# noqa`` are left alone,
since they may silence ruff or flake8). The fix drops the stale codes, or the whole directive
when none is left."""

from __future__ import annotations

from collections.abc import Collection, Sequence

from ..report import Edit, Finding, Fix
from ..rules.catalog import RULES
from ..violations import Violation
from .comments import Comments, Directive

CODE = "OTL900"
PREFIX = "OTL"


def _stale(d: Directive, used: Collection[tuple[int, str]], enabled: Collection[str]) -> list[str]:
    if d.codes is None:
        return []
    return [c for c in d.codes if c.startswith(PREFIX) and (c in enabled or c not in RULES)
            and (d.row, c) not in used]


def _replacement(line: str, d: Directive, drop: Sequence[str]) -> tuple[int, int, str]:
    """The span of the line to replace (0-based columns) and what goes there."""
    assert d.codes is not None
    kept = [c for c in d.codes if c not in drop]
    if kept:
        return d.start, d.end, "# noqa: " + ", ".join(kept)
    body = line.rstrip("\r\n")
    rest = body[d.end :].strip()
    if not rest:  # nothing follows: drop the directive and the space before it
        return len(body[: d.start].rstrip()), len(body), ""
    if d.first and not rest.startswith("#"):
        rest = "# " + rest  # the directive opened the comment: what follows still needs a '#'
    return d.start, len(body), rest


def find(filename: str, lines: Sequence[str], comments: Comments, used: Collection[tuple[int, str]],
         enabled: Collection[str]) -> list[Finding]:
    rule = RULES[CODE]
    out = []
    for row, directives in sorted(comments.directives.items()):
        for d in directives:
            drop = _stale(d, used, enabled)
            if not drop:
                continue
            line = lines[row - 1] if row <= len(lines) else ""
            start, end, content = _replacement(line, d, drop)
            message = f"unused noqa code{'s' if len(drop) > 1 else ''}: {', '.join(drop)}"
            fix = Fix("Remove the unused noqa codes", (Edit(content, row, start + 1, row, end + 1),))
            out.append(Finding(filename, row, d.start + 1, Violation(CODE, rule.name, message, "", rule.severity),
                               row, d.end + 1, fix))
    return out


def apply(lines: list[str], findings: Sequence[Finding]) -> int:
    """Apply OTL900 fixes in place (one edit per directive, right to left on each line)."""
    done = 0
    for f in sorted(findings, key=lambda f: (f.row, -f.column)):
        if f.code != CODE or f.fix is None:
            continue
        edit = f.fix.edits[0]
        line = lines[edit.row - 1]
        body = line.rstrip("\r\n")
        ending = line[len(body):]
        lines[edit.row - 1] = body[: edit.column - 1] + edit.content + body[edit.end_column - 1 :] + ending
        done += 1
    return done
