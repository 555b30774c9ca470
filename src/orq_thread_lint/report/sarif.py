"""``--format sarif``: SARIF 2.1.0 as GitHub code scanning reads it."""

from __future__ import annotations

import json
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .. import __version__
from ..pages import page
from ..rules.catalog import RULES
from . import Finding, Options

INFO_URI = "https://github.com/orq-thread-lint/orq-thread-lint"
_LEVEL = {"error": "error", "warning": "warning"}


def _uri(filename: str, root: str) -> str:
    path = Path(filename)
    if path.is_absolute() or os.path.exists(filename):
        try:
            return Path(os.path.relpath(path.resolve(), Path(root).resolve())).as_posix()
        except ValueError:
            return path.as_posix()
    return path.as_posix()


def _help(code: str) -> str:
    text = page(code) or RULES[code].summary
    return text.split("## Example", 1)[0].strip()


def document(findings: Sequence[Finding], root: str) -> dict[str, Any]:
    rules = [
        {
            "id": r.code,
            "name": r.name,
            "shortDescription": {"text": r.summary},
            "fullDescription": {"text": r.summary},
            "help": {"text": _help(r.code), "markdown": _help(r.code)},
            "helpUri": r.url,
            "defaultConfiguration": {"level": _LEVEL[r.severity]},
            "properties": {"applies": sorted(r.applies), "fixable": r.fixable},
        }
        for r in RULES.values()
    ]
    index = {r["id"]: i for i, r in enumerate(rules)}
    results = [_result(f, index[f.code], root) for f in findings]
    return {
        "$schema": "https://json.schemastore.org/sarif-2.1.0.json",
        "version": "2.1.0",
        "runs": [{
            "tool": {"driver": {"name": "orq-thread-lint", "version": __version__, "informationUri": INFO_URI,
                                "rules": rules}},
            "results": results,
        }],
    }


def _result(f: Finding, rule_index: int, root: str) -> dict[str, Any]:
    row, col, end_row, end_col = f.file_location or (f.row, f.column, f.end_row or f.row, f.end_column or f.column)
    result: dict[str, Any] = {
        "ruleId": f.code,
        "ruleIndex": rule_index,
        "level": _LEVEL[f.violation.severity],
        "message": {"text": f.violation.message},
        "locations": [{
            "physicalLocation": {
                "artifactLocation": {"uri": _uri(f.filename, root), "uriBaseId": "%SRCROOT%"},
                "region": {"startLine": row, "startColumn": col, "endLine": end_row, "endColumn": end_col},
            },
        }],
    }
    if f.cell:
        # A notebook: the region is in the file's JSON text; the cell's own place rides along.
        result["message"]["text"] += f" (cell {f.cell}, line {f.row}, column {f.column})"
        result["properties"] = {"cell": f.cell, "cellRow": f.row, "cellColumn": f.column}
    return result


def render(findings: Sequence[Finding], out: TextIO, opts: Options) -> None:
    json.dump(document(findings, opts.root), out, indent=2)
    out.write("\n")
