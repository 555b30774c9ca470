"""Which files to check: walk the paths, skip ruff's default excludes, ``exclude`` and
``extend-exclude`` from the config (gitignore-style globs) and what ``.gitignore`` files ignore."""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from functools import lru_cache
from itertools import accumulate
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
    lines = _lines(folder)
    return _spec(lines) if lines else None


class Selector:
    """Ruff's way: a pattern without a slash matches an entry's name at any depth; one with a
    slash matches its path from the project root (or from the ``.gitignore`` that holds it).
    Entries are judged as the walk reaches them, so a path named on the command line is walked
    even when it lies inside an excluded folder (``.venv/lib/.../site-packages``)."""

    def __init__(self, policy: Policy) -> None:
        cfg = policy.config
        self.root = policy.root.resolve()
        patterns = [*DEFAULT_EXCLUDE, *cfg.exclude, *cfg.extend_exclude]
        self.by_name = _spec(p for p in patterns if "/" not in p.rstrip("/"))
        self.by_path = _spec(p for p in patterns if "/" in p.rstrip("/"))
        self.gitignore = cfg.respect_gitignore
        self.per_file = [(_spec([pattern]), frozenset(codes)) for pattern, codes in cfg.per_file_ignores.items()]

    def _relative(self, path: Path) -> str:
        try:
            return path.resolve().relative_to(self.root).as_posix()
        except ValueError:
            return path.as_posix()

    def excluded(self, path: Path) -> bool:
        """Whether a file named on the command line is excluded (``--force-exclude``): it, or a
        folder on its way down from the project root, matches."""
        full = path.resolve()
        try:
            chain = [self.root / p for p in accumulate(full.relative_to(self.root).parts, lambda a, b: f"{a}/{b}")]
        except ValueError:
            chain = [full]
        outer = self._outer(chain[0].parent) if self.gitignore else []
        return any(self._skip(p, p != full, outer, []) for p in chain)

    def _outer(self, folder: Path) -> list[tuple[Path, pathspec.GitIgnoreSpec]]:
        """``.gitignore`` files above a walk: only their name patterns apply to what is below."""
        return [(parent, _name_spec(parent)) for parent in _ancestors(folder.resolve()) if _lines(parent)]

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
            elif not (force_exclude and self.excluded(path)):
                yield path

    def _walk(self, top: Path) -> Iterator[Path]:
        outer = self._outer(top.resolve().parent) if self.gitignore else []
        stack: list[tuple[Path, list[tuple[Path, pathspec.GitIgnoreSpec]]]] = [(top, [])]
        while stack:
            folder, local = stack.pop()
            if self.gitignore:
                spec = _gitignore(folder.resolve())
                if spec is not None:
                    local = [*local, (folder.resolve(), spec)]
            try:
                entries = sorted(os.scandir(folder), key=lambda e: e.name, reverse=True)
            except OSError:
                continue
            for entry in entries:
                path = Path(entry.path)
                is_dir = entry.is_dir(follow_symlinks=False)
                if not is_dir and not entry.name.endswith(SUFFIXES):
                    continue
                if self._skip(path, is_dir, outer, local):
                    continue
                if is_dir:
                    stack.append((path, local))
                else:
                    yield path

    def _skip(self, path: Path, is_dir: bool, outer: Sequence[tuple[Path, pathspec.GitIgnoreSpec]],
              local: Sequence[tuple[Path, pathspec.GitIgnoreSpec]]) -> bool:
        slash = "/" if is_dir else ""
        if self.by_name.match_file(path.name + slash) or (
                self.by_path.patterns and self.by_path.match_file(self._relative(path) + slash)):
            return True
        for _, spec in outer:
            if spec.match_file(path.name + slash):
                return True
        return any(spec.match_file(path.resolve().relative_to(folder).as_posix() + slash) for folder, spec in local)


@lru_cache(maxsize=4096)
def _lines(folder: Path) -> tuple[str, ...]:
    try:
        return tuple((folder / ".gitignore").read_text(encoding="utf-8", errors="replace").splitlines())
    except OSError:
        return ()


@lru_cache(maxsize=4096)
def _name_spec(folder: Path) -> pathspec.GitIgnoreSpec:
    return _spec(p for p in _lines(folder) if "/" not in p.rstrip("/"))


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
