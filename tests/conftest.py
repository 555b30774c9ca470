from __future__ import annotations

import atexit
import fcntl
import hashlib
import os
import shutil
import socket
import sys
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import settings
from hypothesis.configuration import set_hypothesis_home_dir

ROOT = Path(__file__).resolve().parents[1]
RULES_DIR = ROOT / "rules"
_BEFORE = pytest.StashKey[set[str]]()

# Tests that start `orq-thread-lint` as a program use the one installed next to this Python.
BIN = Path(sys.executable).parent


@pytest.fixture(scope="session")
def tool_home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Where programs the tests start keep their caches (pre-commit, pip, virtualenv)."""
    return tmp_path_factory.mktemp("tool-home")


def hermetic(env: dict[str, str], home: Path) -> dict[str, str]:
    """``env`` with every cache a tool would put under ~ moved into ``home`` (a temporary folder)."""
    return {**env, "PRE_COMMIT_HOME": str(home / "pre-commit"), "XDG_CACHE_HOME": str(home / "cache"),
            "PIP_CACHE_DIR": str(home / "pip"), "VIRTUALENV_OVERRIDE_APP_DATA": str(home / "virtualenv")}


@pytest.fixture(autouse=True)
def _user_cache(tool_home: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """The cache of validated configs (and any other user cache) kept out of ~ for every test."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tool_home / "cache"))


@pytest.fixture
def cli_env(tool_home: Path) -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return hermetic(env, tool_home)


@pytest.fixture
def router():  # type: ignore[no-untyped-def]
    from router import Router

    with Router() as r:
        yield r


# A separate database per concurrent test run (CI uses 13); every test flushes it.
REDIS_URL = os.environ.get("ORQ_THREAD_LINT_TEST_REDIS_URL", "redis://127.0.0.1:6379/13")


def _redis_up() -> bool:
    try:
        with socket.create_connection(("127.0.0.1", 6379), timeout=0.5):
            return True
    except OSError:
        return False


@pytest.fixture
def redis_url() -> Iterator[str]:
    if not _redis_up():
        if os.environ.get("ORQ_THREAD_LINT_REQUIRE_REDIS"):
            pytest.fail("Redis is required (ORQ_THREAD_LINT_REQUIRE_REDIS is set) but 127.0.0.1:6379 is not answering")
        pytest.skip("no Redis server at 127.0.0.1:6379 (set ORQ_THREAD_LINT_REQUIRE_REDIS=1 to make this a failure)")
    import redis

    # Tests of one database take turns, across xdist workers and concurrent runs: each flushes it.
    tag = hashlib.sha256(REDIS_URL.encode()).hexdigest()[:12]
    lock = Path(tempfile.gettempdir()) / f"orq-thread-lint-redis-{tag}.lock"
    with lock.open("a") as held:
        fcntl.flock(held, fcntl.LOCK_EX)
        r = redis.Redis.from_url(REDIS_URL)
        r.flushdb()
        yield REDIS_URL
        r.flushdb()
        r.close()


pytest_plugins = ["pytester"]

# Hypothesis keeps its files (examples, constants) in a temporary folder, not the working directory.
_HYPOTHESIS_HOME = tempfile.mkdtemp(prefix="hypothesis-")
atexit.register(shutil.rmtree, _HYPOTHESIS_HOME, True)
set_hypothesis_home_dir(_HYPOTHESIS_HOME)
settings.register_profile("hermetic", database=None)
settings.load_profile("hermetic")

# The checkout must look the same after a run as before: tests write only inside temp folders.
_UNWATCHED = {".git", "__pycache__", ".pytest_cache", ".mypy_cache", ".ruff_cache", ".corpus"}


def _checkout_entries() -> set[str]:
    found = set()
    for folder, dirs, files in os.walk(ROOT):
        dirs[:] = [d for d in dirs if d not in _UNWATCHED and not d.startswith((".venv", ".ci-venv"))
                   and not d.endswith(".egg-info")]
        found.update(os.path.join(folder, name) for name in (*dirs, *files))
    return found


def pytest_sessionstart(session: pytest.Session) -> None:
    if not hasattr(session.config, "workerinput"):  # the controller (or a run without xdist)
        session.config.stash[_BEFORE] = _checkout_entries()


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    before = session.config.stash.get(_BEFORE, None)
    if before is None:
        return
    new = sorted(p for p in _checkout_entries() - before if not p.endswith((".pyc", ".pyo")))
    if new:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(f"tests wrote inside the checkout (outside temp folders): {new[:10]}", red=True)
        session.exitstatus = pytest.ExitCode.TESTS_FAILED
