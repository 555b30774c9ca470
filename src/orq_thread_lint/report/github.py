"""``--format github``: workflow commands that GitHub Actions shows as annotations."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TextIO

from . import Finding, Options


def _data(text: str) -> str:
    return text.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _prop(text: str) -> str:
    return _data(text).replace(":", "%3A").replace(",", "%2C")


def render(findings: Sequence[Finding], out: TextIO, opts: Options) -> None:
    for f in findings:
        level = "error" if f.violation.severity == "error" else "warning"
        props = (f"file={_prop(f.filename)},line={f.row},col={f.column},"
                 f"endLine={f.end_row or f.row},endColumn={f.end_column or f.column},"
                 f"title={_prop(f'{f.code} {f.violation.name}')}")
        out.write(f"::{level} {props}::{_data(f'{f.code} {f.violation.message}')}\n")
