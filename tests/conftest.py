from __future__ import annotations

import os
import sys
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


pytest_plugins = ["pytester"]
