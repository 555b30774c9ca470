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
            where = paint(f"{f.filename}:{f.where}:", _BOLD)
            out.write(f"{where} {paint(f.code, _RED + _BOLD)} {mark}{f.violation.message}\n")
    fixable = sum(f.fixable for f in findings)
    total = len(findings) + opts.fixed
    noun = "error" if total == 1 else "errors"
    if opts.fixed:
        out.write(f"Found {total} {noun} ({opts.fixed} fixed, {len(findings)} remaining).\n")
    elif findings:
        out.write(f"Found {total} {noun}.\n")
    elif not opts.quiet:
        out.write("All checks passed!\n")
    if fixable:
        out.write(f"{paint('[*]', _CYAN)} {fixable} fixable with the `--fix` option.\n")
