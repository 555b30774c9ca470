"""Reads the examples out of the rule pages (rules/OTLxxx.md) for the generic page test."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

FENCE = re.compile(r"^```(\w+)\n(.*?)^```", re.M | re.S)
MARKER = re.compile(r"#\s*error:\s*(OTL\d{3})")
# A `notebook` example is written in the percent format: `# %%` starts a code cell,
# `# %% [markdown]` a markdown one.
CELL = re.compile(r"^# %%( \[markdown\])?[^\n]*\n", re.M)


@dataclass(frozen=True)
class Example:
    code: str  # the page's rule
    kind: str  # json, jsonl, python or notebook
    text: str
    bad: bool
    config: str  # TOML for a standalone config file, may be empty

    @property
    def expected_lines(self) -> set[tuple[int, str]]:
        return {(n, m.group(1)) for n, line in enumerate(self.text.splitlines(), 1) for m in MARKER.finditer(line)}

    @property
    def cells(self) -> list[tuple[str, str]]:
        """A notebook example's cells: (cell type, source)."""
        parts = CELL.split(self.text)
        return [("markdown" if kind else "code", source.rstrip("\n"))
                for kind, source in zip(parts[1::2], parts[2::2], strict=True)]

    @property
    def expected_cells(self) -> set[tuple[int, int, str]]:
        """(cell, row in it, code) of each ``# error: CODE`` marker of a notebook example."""
        return {(n, row, m.group(1)) for n, (_, source) in enumerate(self.cells, 1)
                for row, line in enumerate(source.splitlines(), 1) for m in MARKER.finditer(line)}

    def __str__(self) -> str:
        return f"{self.code}-{'bad' if self.bad else 'good'}-{self.kind}"


def examples(folder: Path) -> list[Example]:
    out = []
    for page in sorted(folder.glob("OTL*.md")):
        text = page.read_text(encoding="utf-8")
        code = page.stem
        config = "\n".join(body for lang, body in FENCE.findall(text) if lang == "toml")
        example = text.split("## Example", 1)[1].split("## Use instead", 1)[0]
        instead = text.split("## Use instead", 1)[1].split("\n## ", 1)[0]
        for section, bad in ((example, True), (instead, False)):
            for lang, body in FENCE.findall(section):
                if lang in ("json", "jsonl", "python", "notebook"):
                    out.append(Example(code, lang, body, bad, config))
    return out
