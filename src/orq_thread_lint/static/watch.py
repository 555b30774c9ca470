"""``check --watch``: wait until the files a check would read change, by polling their stat.

Polling needs no dependency and works the same on every platform and file system (network
mounts, containers) where change notifications don't. A poll walks the paths as a check does
(so new and deleted files count) and stats each file: with the results cache, the re-check that
follows reads only the files that changed.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Iterable
from pathlib import Path

from ..policy import Policy
from . import discover

Snapshot = dict[str, tuple[int, int]]


def snapshot(paths: Iterable[str], policy: Policy, force_exclude: bool = False) -> Snapshot:
    """Each file a check of ``paths`` would read, with its modification time and size; the
    config file too, as a change there changes every finding."""
    discover._ignore_file.cache_clear()  # a .gitignore may have changed since the last walk
    files = [str(p) for p in discover.Selector(policy).files(paths, force_exclude)]
    if policy.source is not None:
        files.append(str(policy.source))
    out: Snapshot = {}
    for name in files:
        try:
            st = os.stat(name)
        except OSError:
            continue
        out[name] = (st.st_mtime_ns, st.st_size)
    return out


def wait_for_change(take: Callable[[], Snapshot], before: Snapshot, interval: float = 0.3,
                    sleep: Callable[[float], None] = time.sleep) -> tuple[Snapshot, list[str]]:
    """Poll ``take`` until it differs from ``before``; the new snapshot and the paths that changed."""
    while True:
        sleep(interval)
        now = take()
        if now != before:
            changed = sorted(p for p in now.keys() | before.keys() if now.get(p) != before.get(p))
            return now, [Path(p).as_posix() for p in changed]
