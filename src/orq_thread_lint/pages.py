"""Rule pages (``rules/OTLxxx.md``): shipped in the wheel, read by ``orq-thread-lint rule``."""

from __future__ import annotations

from pathlib import Path

_HERE = Path(__file__).resolve().parent


def pages_dir() -> Path:
    """Where the pages are: inside the installed package, or the repository's ``rules/``."""
    shipped = _HERE / "pages"
    return shipped if shipped.is_dir() else _HERE.parents[1] / "rules"


def page(code: str) -> str | None:
    path = pages_dir() / f"{code}.md"
    return path.read_text(encoding="utf-8") if path.is_file() else None
