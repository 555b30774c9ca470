"""Reading source files safely: only regular files, and what they held when read.

A named pipe, socket or device opened for reading can block forever or never end, so a file is
opened without blocking and read only when ``fstat`` says it is a regular file. The snapshot taken
then (size, modification time, content hash) is what ``--fix`` compares with just before it
replaces the file, so a change made meanwhile is never overwritten.
"""

from __future__ import annotations

import hashlib
import os
import stat
from dataclasses import dataclass
from pathlib import Path


class NotRegular(OSError):
    """The path names something other than a regular file (a named pipe, socket, device, folder)."""


@dataclass(frozen=True, slots=True)
class Snapshot:
    size: int
    mtime_ns: int
    digest: str


def content_digest(data: bytes) -> str:
    return hashlib.blake2b(data, digest_size=16).hexdigest()


_KINDS = ((stat.S_ISDIR, "a folder"), (stat.S_ISFIFO, "a named pipe"), (stat.S_ISSOCK, "a socket"),
          (stat.S_ISCHR, "a character device"), (stat.S_ISBLK, "a block device"))


def _kind(mode: int) -> str:
    return next((name for test, name in _KINDS if test(mode)), "not a regular file")


def read_source(path: Path | str) -> tuple[bytes, Snapshot]:
    """The bytes of a regular file and a snapshot of it; raises ``NotRegular`` for anything else."""
    fd = os.open(path, os.O_RDONLY | getattr(os, "O_NONBLOCK", 0) | getattr(os, "O_BINARY", 0))
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise NotRegular(0, f"not a regular file ({_kind(st.st_mode)})")
        chunks = []
        while chunk := os.read(fd, max(st.st_size, 1 << 16)):
            chunks.append(chunk)
    finally:
        os.close(fd)
    data = b"".join(chunks)
    return data, Snapshot(st.st_size, st.st_mtime_ns, content_digest(data))


def unchanged(path: Path | str, expected: Snapshot) -> bool:
    """Whether the file still has the size, modification time and content of ``expected``."""
    try:
        st = os.stat(path)
        if (st.st_size, st.st_mtime_ns) != (expected.size, expected.mtime_ns):
            return False
        data, _ = read_source(path)
    except OSError:
        return False
    return content_digest(data) == expected.digest
