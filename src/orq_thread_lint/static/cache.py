"""The results cache, like ruff's: ``.orq-thread-lint-cache/<version>/<policy>.json`` at the project
root (with its own ``.gitignore``).

Entries are keyed on the file's content (a BLAKE2 hash), under the tool version and the resolved
policy. As git does, a file whose size and modification time are unchanged is trusted to have the
content it had, so a warm run reads no file. The cache is written through a temporary file and a
rename, so concurrent runs never see half a file. Every entry is checked against the shape this
version writes; a cache, or an entry, of any other shape is ignored and rewritten.

The cache never follows a symbolic link: its folder, the version folder, ``.gitignore`` and the
cache file are opened relative to each other's descriptors with ``O_NOFOLLOW``, so a link planted
there (``.gitignore`` -> a file elsewhere, a version folder linked out of the project) can't make
a run read or write outside the project. Where the platform can't do that, there is no cache.
"""

from __future__ import annotations

import contextlib
import json
import os
import secrets
import stat
from pathlib import Path
from typing import Any

from .. import __version__
from ..report import Edit, Finding, Fix
from ..violations import Violation

DEFAULT_DIR = ".orq-thread-lint-cache"
_FORMAT = 1


def _pack(f: Finding) -> list[Any]:
    v = f.violation
    fix = None
    if f.fix is not None:
        fix = [f.fix.message, f.fix.applicability,
               [[e.content, e.row, e.column, e.end_row, e.end_column] for e in f.fix.edits]]
    return [f.row, f.column, f.end_row, f.end_column, v.code, v.name, v.message, v.path, v.severity, v.suggestion,
            fix]


def _unpack(filename: str, item: list[Any]) -> Finding:
    row, col, end_row, end_col, code, name, message, path, severity, suggestion, fix = item
    packed_fix = None
    if fix is not None:
        packed_fix = Fix(fix[0], tuple(Edit(*e) for e in fix[2]), fix[1])
    return Finding(filename, row, col, Violation(code, name, message, path, severity, suggestion),
                   end_row, end_col, packed_fix)


_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_SAFE = bool(_NOFOLLOW and _DIRECTORY) and os.open in os.supports_dir_fd and os.mkdir in os.supports_dir_fd


def _int(value: object) -> bool:
    return type(value) is int


def _str(value: object) -> bool:
    return type(value) is str


def _valid_fix(fix: object) -> bool:
    if fix is None:
        return True
    if not (type(fix) is list and len(fix) == 3 and _str(fix[0]) and _str(fix[1]) and type(fix[2]) is list):
        return False
    return all(type(e) is list and len(e) == 5 and _str(e[0]) and all(map(_int, e[1:])) for e in fix[2])


def _valid_finding(item: object) -> bool:
    return (type(item) is list and len(item) == 11 and all(map(_int, item[:4])) and all(map(_str, item[4:9]))
            and (item[9] is None or _str(item[9])) and _valid_fix(item[10]))


def _valid_entry(entry: object) -> bool:
    """``[size, mtime_ns, digest, [finding, ...]]``, each finding as ``_pack`` writes it."""
    return (type(entry) is list and len(entry) == 4 and _int(entry[0]) and _int(entry[1]) and _str(entry[2])
            and type(entry[3]) is list and all(map(_valid_finding, entry[3])))


def _open_folder(name: str, dir_fd: int | None, create: bool) -> int:
    """A folder's descriptor; a symbolic link in its place is refused (``OSError``)."""
    if create:
        with contextlib.suppress(FileExistsError):
            os.mkdir(name, 0o777, dir_fd=dir_fd)
    return os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW, dir_fd=dir_fd)


class Cache:
    def __init__(self, folder: Path, fingerprint: str) -> None:
        self.folder = folder
        self.file = folder / __version__ / f"{fingerprint}.json"
        self.entries: dict[str, list[Any]] = {}
        self.dirty = False
        with contextlib.suppress(OSError, ValueError, RecursionError):
            data = json.loads(self._read())
            files = data.get("files") if isinstance(data, dict) and data.get("format") == _FORMAT else None
            if isinstance(files, dict):
                self.entries = {k: v for k, v in files.items() if _valid_entry(v)}
                self.dirty = len(self.entries) != len(files)

    def _folders(self, create: bool) -> tuple[int, int]:
        """Descriptors of the cache folder and its version folder, links refused."""
        if not _SAFE:
            raise OSError("no safe cache on this platform")
        parent = os.open(self.folder.parent, os.O_RDONLY | _DIRECTORY)
        try:
            root = _open_folder(self.folder.name, parent, create)
        finally:
            os.close(parent)
        try:
            return root, _open_folder(__version__, root, create)
        except BaseException:
            os.close(root)
            raise

    def _read(self) -> bytes:
        root, version = self._folders(create=False)
        try:
            fd = os.open(self.file.name, os.O_RDONLY | _NOFOLLOW | os.O_NONBLOCK, dir_fd=version)
        finally:
            os.close(root)
            os.close(version)
        with os.fdopen(fd, "rb") as fh:
            if not stat.S_ISREG(os.fstat(fh.fileno()).st_mode):
                raise OSError("the cache file is not a regular file")
            return fh.read()

    @staticmethod
    def _stat(path: Path) -> tuple[int, int] | None:
        try:
            st = os.stat(path)
        except OSError:
            return None
        return st.st_size, st.st_mtime_ns

    def lookup(self, path: Path, filename: str) -> list[Finding] | None:
        """Findings for an unchanged file (by size and mtime), without reading it."""
        entry = self.entries.get(str(path))
        stat = self._stat(path)
        if not entry or stat is None or [entry[0], entry[1]] != list(stat):
            return None
        try:
            return [_unpack(filename, item) for item in entry[3]]
        except (TypeError, ValueError):
            return None

    def known_digest(self, path: Path) -> str | None:
        entry = self.entries.get(str(path))
        return entry[2] if entry else None

    def reuse(self, path: Path, filename: str) -> list[Finding] | None:
        """Findings for a file whose stat changed but whose content hash is the one checked."""
        entry = self.entries.get(str(path))
        stat = self._stat(path)
        if not entry or stat is None:
            return None
        entry[0], entry[1] = stat
        self.dirty = True
        try:
            return [_unpack(filename, item) for item in entry[3]]
        except (TypeError, ValueError):
            return None

    def store(self, path: Path, content_digest: str, findings: list[Finding]) -> None:
        stat = self._stat(path)
        if stat is None:
            return
        self.entries[str(path)] = [stat[0], stat[1], content_digest, [_pack(f) for f in findings]]
        self.dirty = True

    def save(self) -> None:
        if not self.dirty:
            return
        try:
            self.folder.parent.mkdir(parents=True, exist_ok=True)
            root, version = self._folders(create=True)
        except OSError:
            return  # a cache that can't be written is only a slower next run
        try:
            # O_EXCL never follows a link: an existing .gitignore (or a link in its place) stays as it is.
            with contextlib.suppress(FileExistsError):
                fd = os.open(".gitignore", os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666, dir_fd=root)
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    out.write("# Automatically created by orq-thread-lint.\n*\n")
            tmp = f".tmp-{os.getpid()}-{secrets.token_hex(6)}.json"
            fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW, 0o666, dir_fd=version)
            try:
                with os.fdopen(fd, "w", encoding="utf-8") as out:
                    json.dump({"format": _FORMAT, "files": self.entries}, out, separators=(",", ":"))
                os.replace(tmp, self.file.name, src_dir_fd=version, dst_dir_fd=version)
            except OSError:
                with contextlib.suppress(OSError):
                    os.unlink(tmp, dir_fd=version)
        except OSError:
            pass
        finally:
            os.close(root)
            os.close(version)
