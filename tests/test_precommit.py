"""The hooks in .pre-commit-hooks.yaml, run by the real `pre-commit try-repo` on a temporary repository."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import ROOT

BAD = 'def go(client):\n    client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": "conversation1"}}})\n'
CLEAN = 'def go(client, uid, sid):\n    client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": f"user-{uid}-{sid}"}}})\n'
ORQ_KW = 'def go(client, uid, sid):\n    client.chat.completions.create(model="m", messages=[], orq={"thread": {"id": f"user-{uid}-{sid}"}})\n'


def git(cwd: Path, *args: str) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True)


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("pre-commit-home")


def try_repo(repo: Path, home: Path, cli_env: dict[str, str], hook: str, *files: str) -> subprocess.CompletedProcess[str]:
    env = {**cli_env, "PRE_COMMIT_HOME": str(home), "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@t",
           "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@t"}
    return subprocess.run(["pre-commit", "try-repo", str(ROOT), hook, "--files", *files],
                          cwd=repo, capture_output=True, text=True, env=env, timeout=900)


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    git(tmp_path, "init", "-q")
    return tmp_path


def test_manifest_is_valid(cli_env: dict[str, str], tmp_path: Path) -> None:
    home = tmp_path / "home"
    home.mkdir()
    proc = subprocess.run(["pre-commit", "validate-manifest", str(ROOT / ".pre-commit-hooks.yaml")],
                          capture_output=True, text=True, env={**cli_env, "HOME": str(home)})
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert list(home.iterdir()) == []  # pre-commit's cache went to the test's PRE_COMMIT_HOME, not ~/.cache
    assert Path(cli_env["PRE_COMMIT_HOME"]).is_dir()


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed for pre-commit")
def test_check_hook_fails_on_generic_id_and_passes_clean(repo: Path, home: Path, cli_env: dict[str, str]) -> None:
    (repo / "bad.py").write_text(BAD)
    (repo / "clean.py").write_text(CLEAN)
    git(repo, "add", ".")
    proc = try_repo(repo, home, cli_env, "orq-thread-lint", "bad.py")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "bad.py:2:" in proc.stdout and "OTL003" in proc.stdout
    proc = try_repo(repo, home, cli_env, "orq-thread-lint", "clean.py")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "Passed" in proc.stdout


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed for pre-commit")
def test_fix_hook_rewrites_orq_keyword(repo: Path, home: Path, cli_env: dict[str, str]) -> None:
    (repo / "app.py").write_text(ORQ_KW)
    git(repo, "add", ".")
    proc = try_repo(repo, home, cli_env, "orq-thread-lint-fix", "app.py")
    assert proc.returncode == 1, proc.stdout + proc.stderr  # pre-commit fails a hook that changed files
    assert "files were modified by this hook" in proc.stdout
    assert 'extra_body={"orq": {"thread": {"id": f"user-{uid}-{sid}"}}}' in (repo / "app.py").read_text()


def _notebook(source: str) -> str:
    cell = {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [],
            "source": source.splitlines(keepends=True)}
    return json.dumps({"cells": [{"cell_type": "markdown", "metadata": {}, "source": ["# Chat"]}, cell],
                       "metadata": {}, "nbformat": 4, "nbformat_minor": 5}, indent=1) + "\n"


@pytest.mark.skipif(shutil.which("git") is None, reason="git is needed for pre-commit")
def test_hooks_read_notebooks(repo: Path, home: Path, cli_env: dict[str, str]) -> None:
    (repo / "chat.ipynb").write_text(_notebook("%pip install openai\n" + BAD))
    (repo / "fixme.ipynb").write_text(_notebook("!ls\n" + ORQ_KW))
    git(repo, "add", ".")
    proc = try_repo(repo, home, cli_env, "orq-thread-lint", "chat.ipynb")
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert "chat.ipynb:cell 2:3:" in proc.stdout and "OTL003" in proc.stdout
    proc = try_repo(repo, home, cli_env, "orq-thread-lint-fix", "fixme.ipynb")
    assert proc.returncode == 1 and "files were modified by this hook" in proc.stdout, proc.stdout + proc.stderr
    fixed = json.loads((repo / "fixme.ipynb").read_text())
    assert "".join(fixed["cells"][1]["source"]) == "!ls\n" + ORQ_KW.replace(
        'orq={"thread": {"id": f"user-{uid}-{sid}"}}', 'extra_body={"orq": {"thread": {"id": f"user-{uid}-{sid}"}}}')
