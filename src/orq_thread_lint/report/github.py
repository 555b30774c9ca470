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
        row, col, end_row, end_col = f.file_location or (f.row, f.column, f.end_row or f.row,
                                                          f.end_column or f.column)
        props = (f"file={_prop(f.filename)},line={row},col={col},endLine={end_row},endColumn={end_col},"
                 f"title={_prop(f'{f.code} {f.violation.name}')}")
        # In a notebook the annotation sits on the file's JSON line; the message names the cell.
        cell = f"{f.where}: " if f.cell else ""
        out.write(f"::{level} {props}::{_data(f'{cell}{f.code} {f.violation.message}')}\n")
