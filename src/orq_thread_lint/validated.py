"""Validated configs, kept: a config pydantic has validated once is read back on later runs from
``$XDG_CACHE_HOME/orq-thread-lint`` (``~/.cache/orq-thread-lint`` on every platform, as pre-commit's
cache is), so a command that finds it there imports no pydantic and builds no model (about 170 ms,
where a clean-file ``check`` may take 200).

Only configs that pass are kept, and none that holds a secret (``runtime.store-key-secret``): a
wrong one is validated again on every run, and its errors are pydantic's, worded by :mod:`.config`.
An entry is keyed on the settings as read (the preset and the table, by value) and on everything
that decides what they validate to: this package's version, the text of the modules that validate,
and pydantic's version. Entries are written through a temporary file and a rename, so a reader sees
a whole entry or none; one that can't be read, or is of any other shape, is validated again and
rewritten. A cache that can't be written is a slower run.
"""

from __future__ import annotations

import contextlib
import functools
import hashlib
import json
import os
import shutil
import tempfile
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from . import __version__

if TYPE_CHECKING:
    from .config import Config

# The modules whose text decides what a config validates to (its schema, presets, rule codes,
# template syntax): a change to any of them is a new schema.
_SCHEMA = ("config.py", "policy.py", "templates.py", "regex.py", "rules/catalog.py")
_KEYS = ("values", "tables", "preset_keys", "raw_keys")


class Settings:
    """A validated config read back from its dump: each field an attribute, as on the model (tables
    as nested Settings), with no pydantic. Anything else (``model_copy``, ``model_config``, ...)
    comes from the pydantic model, built from the dump when first asked for."""

    __slots__ = ("_dump", "_model", "_path", "_root", "_tables", "_values")

    def __init__(self, dump: Mapping[str, Any], tables: Iterable[str], root: Settings | None = None,
                 path: tuple[str, ...] = ()) -> None:
        self._dump = dict(dump)
        self._tables = frozenset(tables)
        self._root = root or self
        self._path = path
        self._model: Config | None = None
        self._values = {name: Settings(value, self._tables, self._root, (*path, name))
                        if ".".join((*path, name)) in self._tables else value for name, value in dump.items()}

    def __getattr__(self, name: str) -> Any:
        if name.startswith("__"):  # copy and pickle ask for these before __init__ has run
            raise AttributeError(name)
        values = self._values
        if name in values:
            return values[name]
        return getattr(self.model(), name)

    def model(self) -> object:
        """The pydantic model of these settings (a table's own model, for a table)."""
        root = self._root
        if root._model is None:
            from .config import Config

            root._model = Config.model_validate(root._dump)
        model: object = root._model
        return functools.reduce(getattr, self._path, model)

    def dump(self) -> dict[str, Any]:
        """What ``model_dump()`` gives: the values, tables as dicts."""
        return dict(self._dump)

    def __reduce__(self) -> tuple[Any, ...]:
        if self._root is not self:
            return _table, (self._root, self._path)
        return Settings, (self._dump, sorted(self._tables))

    def __repr__(self) -> str:
        return f"Settings({self._dump!r})"


def _table(root: Settings, path: tuple[str, ...]) -> object:
    table: object = root
    return functools.reduce(getattr, path, table)


def settings(config: Config | Settings) -> dict[str, Any]:
    """The dump of a config, whether a model or read back."""
    return config.dump() if isinstance(config, Settings) else config.model_dump()


def validated(merged: Mapping[str, Any], raw: Mapping[str, Any], source: str, table: str | None,
              preset: Mapping[str, Any]) -> tuple[Settings, list[str], list[str]]:
    """``merged`` validated (see :func:`.config.validate`), from the cache when it holds it, and the
    keys the preset and ``raw`` set."""
    folder = _folder()
    try:
        key = hashlib.sha256(repr((merged, raw, preset)).encode()).hexdigest()[:32]
    except ValueError:  # an int of more digits than Python converts: pydantic says what is wrong
        folder = None
    entry = _read(folder / f"{key}.json", key) if folder else None
    if entry is None:
        from .config import validate

        entry = validate(merged, raw, source, table, preset)
        if folder and not entry["secret"]:
            _write(folder, key, entry)
    return Settings(entry["values"], entry["tables"]), entry["preset_keys"], entry["raw_keys"]


def _folder() -> Path | None:
    """This schema's folder (None when ``~`` can't be found, or the schema can't be read)."""
    schema = _schema()
    if schema is None:
        return None
    base = os.environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    if not os.path.isabs(base):  # no home folder: "~" is left as it is
        return None
    return Path(base, "orq-thread-lint", "config", schema)


@functools.lru_cache(maxsize=1)
def _schema() -> str | None:
    import importlib.util

    digest = hashlib.sha256(__version__.encode())
    here = Path(__file__).parent
    spec = importlib.util.find_spec("pydantic")
    files = [here / name for name in _SCHEMA]
    if spec and spec.origin:
        files.append(Path(spec.origin).parent / "version.py")
    for file in files:
        try:
            digest.update(file.read_bytes())
        except OSError:
            return None  # what can't be read can't be told from a change
    return digest.hexdigest()[:16]


def _read(path: Path, key: str) -> dict[str, Any] | None:
    try:
        fd = os.open(path, os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0))
        with os.fdopen(fd, "rb") as fh:
            entry = json.loads(fh.read())
    except (OSError, ValueError):
        return None
    if not (isinstance(entry, dict) and entry.get("key") == key and isinstance(entry.get("values"), dict)
            and all(isinstance(entry.get(k), list) and all(isinstance(s, str) for s in entry[k]) for k in _KEYS[1:])):
        return None
    node: Any
    for table in entry["tables"]:  # every table named is a table of values
        node = entry["values"]
        for part in table.split("."):
            node = node.get(part) if isinstance(node, dict) else None
        if not isinstance(node, dict):
            return None
    return entry


def _write(folder: Path, key: str, entry: Mapping[str, Any]) -> None:
    tmp = None
    try:
        text = json.dumps({"key": key, **{k: entry[k] for k in _KEYS}})
        fresh = not folder.is_dir()
        folder.mkdir(parents=True, exist_ok=True, mode=0o700)
        if fresh:  # entries of earlier schemas are never read again
            for old in folder.parent.iterdir():
                if old != folder and old.is_dir() and not old.is_symlink():
                    shutil.rmtree(old, ignore_errors=True)
        fd, tmp = tempfile.mkstemp(dir=folder, prefix=".", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, folder / f"{key}.json")
        tmp = None
    except (OSError, TypeError, ValueError):
        pass  # a cache that can't be written is only a slower next run
    finally:
        if tmp is not None:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
