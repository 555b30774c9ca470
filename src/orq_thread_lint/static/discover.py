"""Which files to check: walk the paths, skip ruff's default excludes, ``exclude`` and
``extend-exclude`` from the config (gitignore-style globs) and what ``.gitignore`` files ignore."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

import pathspec

from ..policy import Policy

DEFAULT_EXCLUDE = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".ipynb_checkpoints", ".mypy_cache",
    ".nox", ".pants.d", ".pyenv", ".pytest_cache", ".pytype", ".ruff_cache", ".svn", ".tox", ".venv",
    ".vscode", "__pypackages__", "_build", "buck-out", "build", "dist", "node_modules", "site-packages",
    "venv", ".orq-thread-lint-cache",
)
SUFFIXES = (".py", ".pyi")


def _spec(patterns: Iterable[str]) -> pathspec.GitIgnoreSpec:
    return pathspec.GitIgnoreSpec.from_lines(patterns)


@lru_cache(maxsize=4096)
def _gitignore(folder: Path) -> pathspec.GitIgnoreSpec | None:
    path = folder / ".gitignore"
    try:
        return _spec(path.read_text(encoding="utf-8", errors="replace").splitlines())
    except OSError:
        return None


class Selector:
    def __init__(self, policy: Policy) -> None:
        cfg = policy.config
        self.root = policy.root.resolve()
        self.exclude = _spec([*DEFAULT_EXCLUDE, *cfg.exclude, *cfg.extend_exclude])
        self.gitignore = cfg.respect_gitignore
        self.per_file = [(_spec([pattern]), frozenset(codes)) for pattern, codes in cfg.per_file_ignores.items()]

    def _relative(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def excluded(self, path: Path, is_dir: bool) -> bool:
        rel = self._relative(path) + ("/" if is_dir else "")
        if self.exclude.match_file(rel) or self.exclude.match_file(path.name + ("/" if is_dir else "")):
            return True
        if self.gitignore:
            for folder in _ancestors(path.resolve().parent):
                spec = _gitignore(folder)
                if spec is None:
                    continue
                sub = path.resolve().relative_to(folder).as_posix() + ("/" if is_dir else "")
                if spec.match_file(sub):
                    return True
        return False

    def ignored_codes(self, path: Path) -> frozenset[str]:
        rel = self._relative(path)
        out: frozenset[str] = frozenset()
        for spec, codes in self.per_file:
            if spec.match_file(rel) or spec.match_file(path.name):
                out |= codes
        return out

    def files(self, paths: Iterable[str], force_exclude: bool = False) -> Iterator[Path]:
        """Python files under ``paths``; files named explicitly are checked unless
        ``force_exclude`` (what pre-commit hooks pass) and excluded."""
        for raw in paths:
            path = Path(raw)
            if path.is_dir():
                yield from self._walk(path)
            elif not (force_exclude and self.excluded(path, False)):
                yield path

    def _walk(self, top: Path) -> Iterator[Path]:
        stack = [top]
        while stack:
            folder = stack.pop()
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name, reverse=True)
            except OSError:
                continue
            for entry in entries:
                path = Path(entry.path)
                if entry.is_dir(follow_symlinks=False):
                    if not self.excluded(path, True):
                        stack.append(path)
                elif entry.name.endswith(SUFFIXES) and not self.excluded(path, False):
                    yield path


@lru_cache(maxsize=4096)
def _ancestors(folder: Path) -> tuple[Path, ...]:
    """The folder and its parents up to the repository root (the one holding ``.git``)."""
    out = []
    for parent in (folder, *folder.parents):
        out.append(parent)
        if (parent / ".git").exists():
            break
    else:
        return (folder,)
    return tuple(reversed(out))
