"""The version is written once (src/orq_thread_lint/__init__.py); the package metadata,
`--version`, SARIF and the cache all read it from there."""

from __future__ import annotations

import json
import re
import subprocess
from importlib.metadata import version
from pathlib import Path

from conftest import ROOT
from orq_thread_lint import __version__
from orq_thread_lint.policy import tomllib  # the stdlib's, or tomli on 3.10


def test_the_version_is_written_in_one_place() -> None:
    project = tomllib.loads((ROOT / "pyproject.toml").read_text(encoding="utf-8"))
    assert "version" not in project["project"] and "version" in project["project"]["dynamic"]
    source = project["tool"]["hatch"]["version"]["path"]
    assert re.search(r'^__version__ = "([^"]+)"$', (ROOT / source).read_text(encoding="utf-8"), re.M)
    hits = [p for p in (ROOT / "src").rglob("*.py") if re.search(rf'["\']{re.escape(__version__)}["\']', p.read_text())]
    assert hits == [ROOT / source]
    assert version("orq-thread-lint") == __version__


def test_cli_and_sarif_report_it(tmp_path: Path, cli_env: dict[str, str]) -> None:
    out = subprocess.run(["orq-thread-lint", "--version"], capture_output=True, text=True, env=cli_env).stdout
    assert out.strip() == f"orq-thread-lint, version {__version__}"
    (tmp_path / "a.py").write_text("")
    sarif = subprocess.run(["orq-thread-lint", "check", "a.py", "--format", "sarif"], cwd=tmp_path,
                           capture_output=True, text=True, env=cli_env).stdout
    assert json.loads(sarif)["runs"][0]["tool"]["driver"]["version"] == __version__
