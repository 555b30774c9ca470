"""Which files to check: walk the paths, skip ruff's default excludes, ``exclude`` and
``extend-exclude`` from the config (gitignore-style globs) and what ``.gitignore`` files ignore.

Ruff's semantics: a pattern without a slash matches an entry's name at any depth; one with a
slash matches its path from the project root (or from the ``.gitignore`` that holds it). Entries
are judged as the walk reaches them, so a path named on the command line is walked even when it
lies inside an excluded folder (``.venv/lib/.../site-packages``). The walk works on strings and
answers name patterns with a set or a regex; globmatch (gitignore's meaning, matched without
backtracking) handles only what needs it.
"""

from __future__ import annotations

import fnmatch
import os
import re
from collections.abc import Iterable, Iterator
from functools import lru_cache
from pathlib import Path

from ..policy import Policy
from .globmatch import GitIgnore

DEFAULT_EXCLUDE = (
    ".bzr", ".direnv", ".eggs", ".git", ".git-rewrite", ".hg", ".ipynb_checkpoints", ".mypy_cache",
    ".nox", ".pants.d", ".pyenv", ".pytest_cache", ".pytype", ".ruff_cache", ".svn", ".tox", ".venv",
    ".vscode", "__pypackages__", "_build", "buck-out", "build", "dist", "node_modules", "site-packages",
    "venv", ".orq-thread-lint-cache",
)
SUFFIXES = (".py", ".pyi")
_GLOB = re.compile(r"[*?\[]")


def _spec(patterns: Iterable[str]) -> GitIgnore:
    return GitIgnore(patterns)


class NameMatcher:
    """Gitignore patterns that have no slash, matched against one entry name."""

    def __init__(self, patterns: Iterable[str]) -> None:
        lines = [p.strip() for p in patterns if p.strip() and not p.lstrip().startswith("#")]
        self.fallback = _spec(lines) if any(p.startswith("!") or "\\" in p for p in lines) else None
        self.names: set[str] = set()
        self.dir_names: set[str] = set()
        globs: list[str] = []
        dir_globs: list[str] = []
        for line in lines:
            dir_only = line.endswith("/")
            name = line.rstrip("/")
            if _GLOB.search(name):
                (dir_globs if dir_only else globs).append(fnmatch.translate(name))
            else:
                (self.dir_names if dir_only else self.names).add(name)
        self.glob = re.compile("|".join(globs)) if globs else None
        self.dir_glob = re.compile("|".join(dir_globs)) if dir_globs else None

    def __bool__(self) -> bool:
        return bool(self.fallback or self.names or self.dir_names or self.glob or self.dir_glob)

    def match(self, name: str, is_dir: bool) -> bool:
        if self.fallback is not None:
            return self.fallback.match_file(name + ("/" if is_dir else ""))
        if name in self.names or (self.glob is not None and self.glob.match(name)):
            return True
        return is_dir and (name in self.dir_names or bool(self.dir_glob and self.dir_glob.match(name)))


def _split(lines: Iterable[str]) -> tuple[list[str], list[str]]:
    names: list[str] = []
    paths: list[str] = []
    for line in lines:
        (paths if "/" in line.strip().rstrip("/") else names).append(line)
    return names, paths


@lru_cache(maxsize=4096)
def _ignore_file(folder: str) -> tuple[NameMatcher, GitIgnore | None] | None:
    """A folder's ``.gitignore``: its name patterns, and a spec for the patterns with a slash."""
    try:
        with open(os.path.join(folder, ".gitignore"), encoding="utf-8", errors="replace") as fh:
            lines = fh.read().splitlines()
    except OSError:
        return None
    names, paths = _split(lines)
    return NameMatcher(names), (_spec(paths) if paths else None)


Rules = tuple[tuple[str, NameMatcher, "GitIgnore | None"], ...]


class Selector:
    def __init__(self, policy: Policy) -> None:
        cfg = policy.config
        self.root = str(policy.root.resolve())
        names, paths = _split([*DEFAULT_EXCLUDE, *cfg.exclude, *cfg.extend_exclude])
        self.by_name = NameMatcher(names)
        self.by_path = _spec(paths) if paths else None
        self.gitignore = cfg.respect_gitignore
        self.per_file = [(_spec([pattern]), frozenset(codes)) for pattern, codes in cfg.per_file_ignores.items()]
        # Folders the walk couldn't list, with why: reported, never skipped in silence.
        self.unreadable: list[tuple[str, str]] = []

    def _relative(self, path: str) -> str:
        full = os.path.abspath(path)
        if full == self.root or full.startswith(self.root + os.sep):
            return full[len(self.root) + 1 :].replace(os.sep, "/")
        return path.replace(os.sep, "/")

    def _skip(self, path: str, name: str, is_dir: bool, rules: Rules) -> bool:
        if self.by_name.match(name, is_dir):
            return True
        slash = "/" if is_dir else ""
        if self.by_path is not None and self.by_path.match_file(self._relative(path) + slash):
            return True
        for folder, names, paths in rules:
            if names.match(name, is_dir):
                return True
            if paths is not None and folder and path.startswith(folder + os.sep) and paths.match_file(
                    path[len(folder) + 1 :].replace(os.sep, "/") + slash):
                return True
        return False

    def _outer(self, folder: str) -> Rules:
        """``.gitignore`` files above a walk, up to the repository root: only their name
        patterns apply below (a walk never looks at its own ancestors)."""
        out = []
        for parent in _ancestors(os.path.abspath(folder)):
            found = _ignore_file(parent)
            if found is not None:
                out.append(("", found[0], None))
        return tuple(out)

    def excluded(self, path: Path) -> bool:
        """Whether a file named on the command line is excluded (``--force-exclude``): it, or a
        folder on its way down from the project root, matches."""
        full = os.path.abspath(path)
        rel = self._relative(full)
        parts = rel.split("/") if not os.path.isabs(rel) else [os.path.basename(full)]
        rules = self._outer(self.root) if self.gitignore else ()
        current = self.root if not os.path.isabs(rel) else os.path.dirname(full)
        for i, part in enumerate(parts):
            current = os.path.join(current, part)
            if self._skip(current, part, i < len(parts) - 1, rules):
                return True
        return False

    def ignored_codes(self, path: Path) -> frozenset[str]:
        if not self.per_file:
            return frozenset()
        rel = self._relative(str(path))
        out: frozenset[str] = frozenset()
        for spec, codes in self.per_file:
            if spec.match_file(rel) or spec.match_file(path.name):
                out |= codes
        return out

    def files(self, paths: Iterable[str], force_exclude: bool = False) -> Iterator[Path]:
        """Python files under ``paths``; files named explicitly are checked unless
        ``force_exclude`` (what pre-commit hooks pass) and excluded."""
        for raw in paths:
            if os.path.isdir(raw):
                yield from self._walk(raw)
            elif not (force_exclude and self.excluded(Path(raw))):
                yield Path(raw)

    def _walk(self, top: str) -> Iterator[Path]:
        top = os.path.normpath(top)
        outer = self._outer(os.path.dirname(os.path.abspath(top))) if self.gitignore else ()
        stack: list[tuple[str, Rules]] = [(top, outer)]
        while stack:
            folder, rules = stack.pop()
            if self.gitignore:
                found = _ignore_file(folder)
                if found is not None:
                    rules = (*rules, (folder, found[0], found[1]))
            try:
                with os.scandir(folder) as it:
                    entries = sorted(it, key=lambda e: e.name, reverse=True)
            except OSError as exc:
                self.unreadable.append((folder, exc.strerror or str(exc)))
                continue
            for entry in entries:
                is_dir = entry.is_dir(follow_symlinks=False)
                if not is_dir and not entry.name.endswith(SUFFIXES):
                    continue
                if not is_dir and not _regular(entry):
                    continue  # a named pipe, socket or device would block or never end
                if self._skip(entry.path, entry.name, is_dir, rules):
                    continue
                if is_dir:
                    stack.append((entry.path, rules))
                else:
                    yield Path(entry.path)


def _regular(entry: os.DirEntry[str]) -> bool:
    """A regular file, or a link to one."""
    try:
        return entry.is_file()
    except OSError:
        return False


@lru_cache(maxsize=4096)
def _ancestors(folder: str) -> tuple[str, ...]:
    """The folder and its parents up to the repository root (the one holding ``.git``)."""
    out = []
    current = folder
    while True:
        out.append(current)
        if os.path.exists(os.path.join(current, ".git")):
            return tuple(reversed(out))
        parent = os.path.dirname(current)
        if parent == current:
            return (folder,)
        current = parent
