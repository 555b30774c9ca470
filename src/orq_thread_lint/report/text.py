"""``--format concise`` (``path:row:col: CODE message``) and ``--format full`` (the same, then the
source line with a caret under the range, like ruff's full output), each with a summary."""

from __future__ import annotations

import io
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path
from typing import TextIO

from ..rules.catalog import RULES
from ..rules.redact import clean
from . import Finding, Options, statistics

_BOLD, _RED, _CYAN, _BLUE, _RESET = "\x1b[1m", "\x1b[31m", "\x1b[36m", "\x1b[34m", "\x1b[0m"
_SHOWN = 160  # characters of a long source line shown around the finding


def render(findings: Sequence[Finding], out: TextIO, opts: Options) -> None:
    _render(findings, out, opts, full=False)


def render_full(findings: Sequence[Finding], out: TextIO, opts: Options) -> None:
    _render(findings, out, opts, full=True)


def _render(findings: Sequence[Finding], out: TextIO, opts: Options, *, full: bool) -> None:
    if opts.statistics:
        statistics(findings, out)
        return
    paint: Paint = (lambda s, c: f"{c}{s}{_RESET}") if opts.color else (lambda s, c: s)
    lines = _source_lines(findings, opts.sources) if full else {}
    for f in findings:
        mark = "[*] " if f.fixable else ""
        where = paint(f"{f.filename}:{f.where}:", _BOLD)
        out.write(f"{where} {paint(f.code, _RED + _BOLD)} {mark}{f.violation.message}\n")
        if full and f.cell is None:  # a notebook's rows count in its cells, not in the file's lines
            out.write(_snippet(f, lines.get((f.filename, f.row)), paint))
    if opts.quiet:
        return
    fixable = sum(f.fixable for f in findings)
    if opts.fixed:
        counted = summary(_severities(findings, opts.fixed_codes))
        out.write(f"Found {counted} ({opts.fixed} fixed, {len(findings)} remaining).\n")
    elif findings:
        out.write(f"Found {summary(f.violation.severity for f in findings)}.\n")
    else:
        out.write("All checks passed!\n")
    if fixable:
        out.write(f"{paint('[*]', _CYAN)} {fixable} fixable with the `--fix` option.\n")


def _severities(findings: Sequence[Finding], fixed_codes: Iterable[str]) -> list[str]:
    return [f.violation.severity for f in findings] + [RULES[c].severity for c in fixed_codes]


def summary(severities: Iterable[str]) -> str:
    """``3 errors``, ``1 warning``, ``2 errors and 1 warning``: findings counted by severity."""
    errors = warnings = 0
    for s in severities:
        if s == "warning":
            warnings += 1
        else:
            errors += 1
    parts = [f"{n} {word}{'s' if n != 1 else ''}" for n, word in ((errors, "error"), (warnings, "warning")) if n]
    return " and ".join(parts) or "0 errors"


Paint = Callable[[str, str], str]


def _snippet(f: Finding, line: str | None, color: Paint) -> str:
    """The finding's first source line, numbered, with carets under its range on that line."""
    if line is None:
        return ""
    if not clean(line):  # the line holds personal data: a report never shows it
        return "  | (source line not shown: it holds personal data)\n\n"
    start = max(f.column - 1, 0)
    end = f.end_column - 1 if f.end_row in (0, f.row) and f.end_column > f.column else len(line.rstrip())
    end = max(end, start + 1)
    # A very long line (minified JSON, generated code) is shown as a window around the finding.
    offset = max(0, min(start - 20, len(line) - _SHOWN))
    shown = line[offset : offset + _SHOWN]
    lead = "…" if offset else ""
    tail = "…" if offset + _SHOWN < len(line) else ""
    carets = min(end, offset + _SHOWN) - start
    number = str(f.row)
    gutter = " " * len(number)
    bar = color("|", _BLUE)
    pad = " " * (start - offset + len(lead))
    lines = [f"{gutter} {bar}", f"{color(number, _BLUE)} {bar} {lead}{shown.expandtabs(1)}{tail}",
             f"{gutter} {bar} {pad}{color('^' * max(carets, 1), _RED)} {f.code}", f"{gutter} {bar}"]
    if f.violation.suggestion:
        lines.append(f"{gutter} = help: {f.violation.suggestion}")
    return "\n".join(lines) + "\n\n"


def _source_lines(findings: Sequence[Finding], given: dict[str, str]) -> dict[tuple[str, int], str]:
    """The source lines the findings point at, read once per file and only those kept (a log can
    be larger than memory); text the caller already holds (stdin) is used as given."""
    wanted: dict[str, set[int]] = {}
    for f in findings:
        if f.cell is None:
            wanted.setdefault(f.filename, set()).add(f.row)
    out: dict[tuple[str, int], str] = {}
    for name, rows in wanted.items():
        last = max(rows)
        try:
            stream: TextIO = io.StringIO(given[name], newline=None) if name in given else (
                Path(name).open(encoding="utf-8", errors="replace", newline=None))  # noqa: SIM115 - closed below
        except OSError:
            continue
        with stream:
            for row, text in enumerate(stream, 1):
                if row in rows:
                    out[name, row] = text.rstrip("\r\n")
                if row >= last:
                    break
    return out
