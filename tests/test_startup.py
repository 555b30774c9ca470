"""What a command imports: a clean-file `check` (what a pre-commit hook runs on most commits), a
rule page and a one-line `validate` never load libcst, openai, asyncio or the guard's stores, and,
once their config is in the cache of validated configs, not pydantic either."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

HEAVY = ("libcst", "openai", "asyncio", "redis", "sqlite3", "orq_thread_lint.runtime", "multiprocessing",
         "pydantic", "orq_thread_lint.config")
CONFIG = '[tool.orq-thread-lint]\nignore = ["OTL016"]\n\n[tool.orq-thread-lint.tags]\nvocabulary = ["billing"]\n'


def imported(args: list[str], cwd: Path) -> set[str]:
    """The modules a second run of the command imports (the first puts its config in the cache)."""
    program = "from orq_thread_lint.cli import main; main()"  # what the console script runs
    subprocess.run([sys.executable, "-c", program, *args], cwd=cwd, capture_output=True, timeout=120)
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", program, *args], cwd=cwd,
                          capture_output=True, text=True, timeout=120)
    assert done.returncode in (0, 1), done.stderr[-2000:]
    return {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}


@pytest.mark.parametrize("config", [False, True])
@pytest.mark.parametrize("args", [
    ["check", "--no-cache", "clean.py"],
    ["check", "--no-cache", "mentions.py"],  # passes the byte scan, proved clean by the ast gate
    ["check", "--no-cache", "clean.ipynb"],
    ["rule", "OTL003"],
    ["validate", "one.jsonl"],
])
def test_commands_import_only_what_they_use(args: list[str], config: bool, tmp_path: Path) -> None:
    if config:
        (tmp_path / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    (tmp_path / "clean.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "mentions.py").write_text("# the orq thread docs say: chat.completions.create\ny = 2\n",
                                          encoding="utf-8")
    (tmp_path / "clean.ipynb").write_text('{"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], '
                                          '"source": ["!pip install openai\\n", "x = 1"]}], "nbformat": 4}',
                                          encoding="utf-8")
    (tmp_path / "one.jsonl").write_text('{"model": "m", "orq": {"thread": {"id": "user-1-9f8e7d"}}}\n',
                                        encoding="utf-8")
    loaded = imported(args, tmp_path)
    assert "orq_thread_lint.cli" in loaded
    heavy = sorted(m for m in loaded if m.split(".")[0] in HEAVY or m.startswith(HEAVY))
    assert heavy == []
    # The notebook front end loads only when a notebook is met.
    assert ("orq_thread_lint.static.notebook" in loaded) == (args[-1] == "clean.ipynb")


def test_a_file_with_findings_does_load_the_parser(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text(
        'client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": "conversation1"}}})\n',
        encoding="utf-8")
    loaded = imported(["check", "--no-cache", "bad.py"], tmp_path)
    assert "libcst" in loaded and "openai" not in loaded and "pydantic" not in loaded


def test_a_config_not_in_the_cache_is_validated_by_pydantic(tmp_path: Path) -> None:
    (tmp_path / "clean.py").write_text("x = 1\n", encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    done = subprocess.run([sys.executable, "-X", "importtime", "-c", "from orq_thread_lint.cli import main; main()",
                           "check", "--no-cache", "clean.py"], cwd=tmp_path, capture_output=True, text=True,
                          timeout=120, env={**os.environ, "XDG_CACHE_HOME": str(tmp_path / "empty-cache")})
    assert done.returncode == 0, done.stderr[-2000:]
    loaded = {line.rsplit("|", 1)[1].strip() for line in done.stderr.splitlines() if line.startswith("import time:")}
    assert {"pydantic", "orq_thread_lint.config"} <= loaded
