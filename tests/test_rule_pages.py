"""Every rule page's examples are test cases: the bad one raises exactly that code (at the marked
line, for code), the good one nothing."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from conftest import RULES_DIR
from orq_thread_lint.audit import validate
from orq_thread_lint.pages import page
from orq_thread_lint.policy import Policy
from orq_thread_lint.rules.catalog import RULES
from rule_pages import Example, examples

EXAMPLES = examples(RULES_DIR)


def _policy(ex: Example, tmp_path: Path) -> Policy:
    cfg = tmp_path / "orq-thread-lint.toml"
    cfg.write_text(ex.config, encoding="utf-8")
    return Policy.from_file(cfg)


def test_every_rule_has_a_page_with_both_kinds_of_example() -> None:
    assert sorted(p.stem for p in RULES_DIR.glob("OTL*.md")) == sorted(RULES)
    for code, rule in RULES.items():
        text = (RULES_DIR / f"{code}.md").read_text(encoding="utf-8")
        assert text.startswith(f"# {code} {rule.name}\n")
        for heading in ("## What it does", "## Why is this bad?", "## Example", "## Use instead", "## Options"):
            assert heading in text, (code, heading)
        kinds = {(e.kind, e.bad) for e in EXAMPLES if e.code == code}
        assert any(bad for _, bad in kinds) and any(not bad for _, bad in kinds), code
        if "code" in rule.applies:
            assert ("python", True) in kinds, f"{code} applies to code but has no bad python example"
        if rule.applies - {"code"}:
            assert any(k in ("json", "jsonl") for k, bad in kinds if bad), f"{code} has no bad request example"


@pytest.mark.parametrize("ex", [e for e in EXAMPLES if e.kind in ("json", "jsonl")], ids=str)
def test_request_examples(ex: Example, tmp_path: Path) -> None:
    data = tmp_path / f"example.{ex.kind}"
    data.write_text(ex.text, encoding="utf-8")
    codes = {f.code for f in validate([str(data)], _policy(ex, tmp_path))}
    assert codes == ({ex.code} if ex.bad else set())


def test_pages_ship_with_the_package() -> None:
    for code in RULES:
        text = page(code)
        assert text is not None and re.match(rf"# {code} ", text)


@pytest.mark.parametrize("ex", [e for e in EXAMPLES if e.kind == "python"], ids=str)
def test_code_examples(ex: Example, tmp_path: Path) -> None:
    from orq_thread_lint.static.run import check_paths

    source = tmp_path / "example.py"
    source.write_text(ex.text, encoding="utf-8")
    found = {(f.row, f.code) for f in check_paths([str(source)], _policy(ex, tmp_path)).findings}
    if ex.bad:
        assert ex.expected_lines, "a bad code example marks its line with '# error: CODE'"
        assert {code for _, code in ex.expected_lines} == {ex.code}
        assert found == ex.expected_lines
    else:
        assert found == set()


@pytest.mark.parametrize("ex", [e for e in EXAMPLES if e.kind == "notebook"], ids=str)
def test_notebook_examples(ex: Example, tmp_path: Path) -> None:
    import json

    from orq_thread_lint.static.run import check_paths

    cells = [{"cell_type": kind, "metadata": {}, "source": source.splitlines(keepends=True),
              **({"execution_count": None, "outputs": []} if kind == "code" else {})} for kind, source in ex.cells]
    notebook = tmp_path / "example.ipynb"
    notebook.write_text(json.dumps({"cells": cells, "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1))
    found = {(f.cell, f.row, f.code) for f in check_paths([str(notebook)], _policy(ex, tmp_path)).findings}
    if ex.bad:
        assert ex.expected_cells, "a bad notebook example marks its line with '# error: CODE'"
        assert found == ex.expected_cells
    else:
        assert found == set()
