"""Findings as users see them, and one module per output format."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import TextIO

from ..rules.catalog import RULES
from ..violations import Violation


@dataclass(frozen=True, slots=True)
class Edit:
    content: str
    row: int
    column: int
    end_row: int
    end_column: int


@dataclass(frozen=True, slots=True)
class Fix:
    message: str
    edits: tuple[Edit, ...] = ()
    applicability: str = "safe"


@dataclass(frozen=True, slots=True)
class Finding:
    """A violation placed in a file (rows and columns are 1-based, like ruff's)."""

    filename: str
    row: int
    column: int
    violation: Violation
    end_row: int = 0
    end_column: int = 0
    fix: Fix | None = field(default=None, compare=False)
    # Notebooks: the cell (1-based over all cells) that ``row`` counts in, and the notebook
    # file's own (row, column, end row, end column) for formats that point into the file.
    cell: int | None = None
    file_location: tuple[int, int, int, int] | None = field(default=None, compare=False)

    @property
    def code(self) -> str:
        return self.violation.code

    @property
    def fixable(self) -> bool:
        return self.fix is not None

    def sort_key(self) -> tuple[str, int, int, int, str]:
        return (self.filename, self.cell or 0, self.row, self.column, self.code)

    @property
    def where(self) -> str:
        """``row:column``, after ``cell N:`` in a notebook (ruff's way of naming a place)."""
        return f"cell {self.cell}:{self.row}:{self.column}" if self.cell else f"{self.row}:{self.column}"


Renderer = Callable[[Sequence[Finding], TextIO, "Options"], None]


@dataclass(frozen=True, slots=True)
class Options:
    color: bool = False
    statistics: bool = False
    quiet: bool = False
    fixed: int = 0
    root: str = "."
    fixed_codes: tuple[str, ...] = ()  # the code of each finding --fix fixed (summaries count them)
    sources: dict[str, str] = field(default_factory=dict)  # text already in memory (stdin), by file name


def renderers() -> dict[str, Renderer]:
    from . import github, junit, sarif, text
    from . import json as json_format

    return {"text": text.render, "concise": text.render, "full": text.render_full, "json": json_format.render,
            "json-lines": json_format.render_lines, "sarif": sarif.render, "github": github.render,
            "junit": junit.render}


def statistics(findings: Sequence[Finding], out: TextIO) -> None:
    """Ruff's ``--statistics``: count, code, fixable marker, name."""
    counts: dict[str, list[Finding]] = {}
    for f in findings:
        counts.setdefault(f.code, []).append(f)
    for code, group in sorted(counts.items(), key=lambda kv: (-len(kv[1]), kv[0])):
        mark = "[*]" if all(f.fixable for f in group) else "[-]" if any(f.fixable for f in group) else "   "
        out.write(f"{len(group)}\t{code}\t{mark} {RULES[code].name}\n")
