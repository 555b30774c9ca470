"""Check many files: discovery, per-file work, fixes written back, results in order."""

from __future__ import annotations

import difflib
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..policy import Policy
from ..report import Finding
from .checker import FileResult, _invalid, check_bytes
from .discover import Selector
from .fixes import write_atomically


@dataclass
class RunResult:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    fixed: Counter[str] = field(default_factory=Counter)
    fixed_files: dict[str, Counter[str]] = field(default_factory=dict)
    diffs: list[str] = field(default_factory=list)
    source: str | None = None  # stdin with --fix: the fixed text


def check_one(path: Path, policy: Policy, selector: Selector, *, fix: bool) -> FileResult:
    try:
        data = path.read_bytes()
    except OSError as exc:
        return FileResult(path.as_posix(), [_invalid(path.as_posix(), f"can't read: {exc.strerror or exc}")])
    return check_bytes(data, path.as_posix(), policy, selector.ignored_codes(path), fix=fix)


def check_paths(paths: Iterable[str], policy: Policy, *, fix: bool = False, diff: bool = False,
                force_exclude: bool = False) -> RunResult:
    """Check files; with ``fix`` write the fixes, with ``diff`` only describe them."""
    selector = Selector(policy)
    run = RunResult()
    for path in selector.files(paths, force_exclude):
        run.files += 1
        result = check_one(path, policy, selector, fix=fix or diff)
        collect(run, result, path, write=fix and not diff)
    return run


def collect(run: RunResult, result: FileResult, path: Path | None, *, write: bool) -> None:
    run.findings.extend(result.findings)
    if not result.fixed or result.source is None or result.original is None:
        return
    run.fixed.update(result.fixed)
    run.fixed_files[result.filename] = result.fixed
    if write and path is not None:
        write_atomically(path, result.source, result.encoding)
    else:
        run.diffs.append("".join(difflib.unified_diff(
            result.original.splitlines(keepends=True), result.source.splitlines(keepends=True),
            f"a/{result.filename}", f"b/{result.filename}")))


def check_stdin(data: bytes, filename: str, policy: Policy, *, fix: bool, diff: bool) -> RunResult:
    selector = Selector(policy)
    path = Path(filename)
    result = check_bytes(data, filename, policy, selector.ignored_codes(path), fix=fix or diff)
    run = RunResult(files=1)
    collect(run, result, None, write=False)
    if fix:
        run.diffs = []
        run.source = result.source if result.source is not None else data.decode(result.encoding, "replace")
    return run
