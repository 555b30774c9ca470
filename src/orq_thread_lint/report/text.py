"""``--format text``: ``path:row:col: CODE message`` and a summary, like ruff's concise output."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from . import Finding, Options, statistics

_BOLD, _RED, _CYAN, _RESET = "\x1b[1m", "\x1b[31m", "\x1b[36m", "\x1b[0m"


def render(findings: Sequence[Finding], out: TextIO, opts: Options) -> None:
    if opts.statistics:
        statistics(findings, out)
        return
    paint = (lambda s, c: f"{c}{s}{_RESET}") if opts.color else (lambda s, c: s)
    if not opts.quiet:
        for f in findings:
            mark = "[*] " if f.fixable else ""
            where = paint(f"{f.filename}:{f.row}:{f.column}:", _BOLD)
            out.write(f"{where} {paint(f.code, _RED + _BOLD)} {mark}{f.violation.message}\n")
    fixable = sum(f.fixable for f in findings)
    if findings:
        noun = "error" if len(findings) == 1 else "errors"
        fixed = f" ({opts.fixed} fixed, {len(findings)} remaining)" if opts.fixed else ""
        out.write(f"Found {len(findings) + opts.fixed} {noun}.{fixed}\n" if opts.fixed
                  else f"Found {len(findings)} {noun}.\n")
        if fixable:
            out.write(f"{paint('[*]', _CYAN)} {fixable} fixable with the `--fix` option.\n")
    elif opts.fixed:
        out.write(f"Found {opts.fixed} error{'s' if opts.fixed != 1 else ''} ({opts.fixed} fixed, 0 remaining).\n")
    elif not opts.quiet:
        out.write("All checks passed!\n")
