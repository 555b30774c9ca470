"""The results cache, like ruff's: ``.orq-thread-lint-cache/<version>/<policy>.json`` at the project
root (with its own ``.gitignore``).

Entries are keyed on the file's content (a BLAKE2 hash), under the tool version and the resolved
policy. As git does, a file whose size and modification time are unchanged is trusted to have the
content it had, so a warm run reads no file. The cache is written through a temporary file and a
rename, so concurrent runs never see half a file; a corrupt or foreign cache is ignored and
rewritten.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import tempfile
from pathlib import Path
from typing import Any

from .. import __version__
from ..report import Edit, Finding, Fix
from ..violations import Violation

DEFAULT_DIR = ".orq-thread-lint-cache"
_FORMAT = 2


def digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


def _pack(f: Finding) -> list[Any]:
    v = f.violation
    fix = None
    if f.fix is not None:
        fix = [f.fix.message, f.fix.applicability,
               [[e.content, e.row, e.column, e.end_row, e.end_column] for e in f.fix.edits]]
    return [f.row, f.column, f.end_row, f.end_column, v.code, v.name, v.message, v.path, v.severity, v.suggestion,
            fix, f.cell, list(f.file_location) if f.file_location else None]


def _unpack(filename: str, item: list[Any]) -> Finding:
    row, col, end_row, end_col, code, name, message, path, severity, suggestion, fix, cell, place = item
    packed_fix = None
    if fix is not None:
        packed_fix = Fix(fix[0], tuple(Edit(*e) for e in fix[2]), fix[1])
    return Finding(filename, row, col, Violation(code, name, message, path, severity, suggestion),
                   end_row, end_col, packed_fix, cell, tuple(place) if place else None)


class Cache:
    def __init__(self, folder: Path, fingerprint: str) -> None:
        self.folder = folder
        self.file = folder / __version__ / f"{fingerprint}.json"
        self.entries: dict[str, list[Any]] = {}
        self.dirty = False
        with contextlib.suppress(OSError, ValueError, TypeError):
            data = json.loads(self.file.read_text(encoding="utf-8"))
            if isinstance(data, dict) and data.get("format") == _FORMAT and isinstance(data.get("files"), dict):
                self.entries = data["files"]

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
            self.file.parent.mkdir(parents=True, exist_ok=True)
            ignore = self.folder / ".gitignore"
            if not ignore.exists():
                ignore.write_text("# Automatically created by orq-thread-lint.\n*\n", encoding="utf-8")
            fd, tmp = tempfile.mkstemp(dir=self.file.parent, prefix=".tmp-", suffix=".json")
        except OSError:
            return  # a cache that can't be written is only a slower next run
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as out:
                json.dump({"format": _FORMAT, "files": self.entries}, out, separators=(",", ":"))
            os.replace(tmp, self.file)
        except OSError:
            with contextlib.suppress(OSError):
                os.unlink(tmp)
