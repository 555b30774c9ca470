"""Check many files: discovery, per-file work, and the results in order."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..policy import Policy
from ..report import Finding
from .checker import FileResult, check_bytes
from .discover import Selector


@dataclass
class RunResult:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    fixed: int = 0
    results: list[FileResult] = field(default_factory=list)


def check_paths(paths: Iterable[str], policy: Policy, *, fix: bool = False, force_exclude: bool = False) -> RunResult:
    selector = Selector(policy)
    run = RunResult()
    for path in selector.files(paths, force_exclude):
        run.files += 1
        try:
            data = path.read_bytes()
        except OSError as exc:
            from .checker import _invalid

            run.findings.append(_invalid(str(path), f"can't read: {exc.strerror or exc}"))
            continue
        result = check_bytes(data, _display(path), policy, selector.ignored_codes(path), fix=fix)
        run.results.append(result)
        run.findings.extend(result.findings)
        run.fixed += result.fixed
    return run


def _display(path: Path) -> str:
    return path.as_posix()
