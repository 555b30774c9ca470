"""``--format json``: ruff's JSON objects plus ``name``, ``severity`` and the thread ``path``."""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, TextIO

from ..rules.catalog import RULES
from . import Finding, Options


def as_dict(f: Finding) -> dict[str, Any]:
    fix = None
    if f.fix is not None:
        fix = {
            "applicability": f.fix.applicability,
            "message": f.fix.message,
            "edits": [
                {"content": e.content, "location": {"row": e.row, "column": e.column},
                 "end_location": {"row": e.end_row, "column": e.end_column}}
                for e in f.fix.edits
            ],
        }
    return {
        "cell": f.cell,
        "code": f.code,
        "name": f.violation.name,
        "message": f.violation.message,
        "severity": f.violation.severity,
        "filename": f.filename,
        "location": {"row": f.row, "column": f.column},
        "end_location": {"row": f.end_row or f.row, "column": f.end_column or f.column},
        "fix": fix,
        "url": RULES[f.code].url,
        "noqa_row": f.row,
        "path": f.violation.path,
        "suggestion": f.violation.suggestion,
    }


def render(findings: Sequence[Finding], out: TextIO, opts: Options) -> None:
    json.dump([as_dict(f) for f in findings], out, indent=2)
    out.write("\n")


def render_lines(findings: Sequence[Finding], out: TextIO, opts: Options) -> None:
    for f in findings:
        out.write(json.dumps(as_dict(f)) + "\n")
