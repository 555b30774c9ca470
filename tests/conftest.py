from __future__ import annotations

import os
import socket
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
RULES_DIR = ROOT / "rules"

# Tests that start `orq-thread-lint` as a program use the one installed next to this Python.
BIN = Path(sys.executable).parent


@pytest.fixture
def cli_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    return env


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

    r = redis.Redis.from_url(REDIS_URL)
    r.flushdb()
    yield REDIS_URL
    r.flushdb()
    r.close()


pytest_plugins = ["pytester"]
