"""Build the benchmark corpus: a virtualenv holding pinned releases of real packages.

    python bench/corpus.py            # prints the site-packages folder (built once, then reused)

The corpus is the ``.py`` files of that virtualenv's site-packages (about 10,000 files and
2.7 million lines). The virtualenv lives in ``bench/.corpus/`` (or ``$ORQ_BENCH_CORPUS``) and is
rebuilt only when missing or when the pins change.
"""

from __future__ import annotations

import hashlib
import os
import subprocess
import sys
from pathlib import Path

PINS = (
    "ruff==0.17.6",
    "fixit==2.2.1",
    "libcst==1.9.0",
    "openai==3.57.0",
    "pydantic==2.14.4",
    "click==8.1.8",
    "langchain-openai==1.7.4",
    "litellm==1.110.2",
    "django==5.2.19",
)
HERE = Path(__file__).resolve().parent


def corpus_dir() -> Path:
    return Path(os.environ.get("ORQ_BENCH_CORPUS", HERE / ".corpus"))


def site_packages(venv: Path) -> Path:
    code = "import sysconfig; print(sysconfig.get_paths()['purelib'])"
    out = subprocess.run([str(venv / "bin" / "python"), "-c", code], check=True, capture_output=True, text=True)
    return Path(out.stdout.strip())


def build() -> Path:
    venv = corpus_dir() / "venv"
    stamp = venv / ".pins"
    digest = hashlib.sha256("\n".join(PINS).encode()).hexdigest()
    if not (stamp.is_file() and stamp.read_text() == digest):
        subprocess.run([sys.executable, "-m", "venv", "--clear", str(venv)], check=True)
        subprocess.run([str(venv / "bin" / "python"), "-m", "pip", "install", "--quiet", *PINS], check=True)
        stamp.write_text(digest)
    return site_packages(venv)


def files(root: Path) -> list[Path]:
    return sorted(root.rglob("*.py"))


if __name__ == "__main__":
    print(build())
