"""Write the proposed table into a config file without disturbing the rest of it.

The rest of the file is kept byte for byte: an existing table is removed with tomlkit (which
round-trips everything it doesn't touch) and the new table is appended as text, so its comments
and layout are exactly what ``render`` made.
"""

from __future__ import annotations

import os
import tempfile
from pathlib import Path

from ..policy import ConfigError, Policy

TABLE = "orq-thread-lint"


class Exists(ConfigError):
    """The file already holds a table and ``--force`` wasn't given."""


def _without_table(text: str, path: Path, standalone: bool) -> tuple[str, bool]:
    """The file's text with its orq-thread-lint table removed, and whether there was one."""
    import tomlkit
    from tomlkit.exceptions import ParseError

    if standalone:
        return "", bool(text.strip())
    try:
        doc = tomlkit.parse(text)
    except ParseError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    tool = doc.get("tool")
    if tool is None or TABLE not in tool:
        return text, False
    del tool[TABLE]
    if not tool:
        del doc["tool"]
    return tomlkit.dumps(doc), True


def merged(path: Path, table: str, *, standalone: bool, force: bool) -> str:
    """The file's new text: its old text, less any old table, plus ``table``."""
    text = ""
    if path.exists():
        with path.open(encoding="utf-8", newline="") as fh:  # keep the file's line endings
            text = fh.read()
    rest, had = _without_table(text, path, standalone)
    if had and not force:
        where = "the file" if standalone else f"[tool.{TABLE}]"
        raise Exists(f"{path}: {where} already holds a policy; pass --force to replace it, or --dry-run to see "
                     "the proposal")
    newline = "\r\n" if "\r\n" in text else "\n"
    if rest and not rest.endswith("\n"):
        rest += newline
    return rest + (newline if rest.strip() else "") + table.replace("\n", newline)


def check(text: str, path: Path) -> Policy:
    """The new text must load as a policy: a proposal that can't load is never written."""
    import sys

    if sys.version_info >= (3, 11):
        import tomllib
    else:
        import tomli as tomllib

    data = tomllib.loads(text)
    if path.name == "pyproject.toml":
        return Policy.from_dict(data.get("tool", {}).get(TABLE, {}), str(path), table=f"tool.{TABLE}")
    return Policy.from_dict(data, str(path))


def write(path: Path, text: str) -> None:
    """Atomically, keeping the mode of a file that exists."""
    mode = path.stat().st_mode & 0o7777 if path.exists() else None
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "w", encoding="utf-8", newline="") as out:
            out.write(text)
        if mode is not None:
            os.chmod(tmp, mode)
        else:
            umask = os.umask(0)
            os.umask(umask)
            os.chmod(tmp, 0o666 & ~umask)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
