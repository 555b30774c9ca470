"""Gitignore patterns, matched in time polynomial in the path and the pattern (never exponential).

The meaning is git's, as pathspec's ``GitIgnoreSpec`` implements it (the tests compare the two
on many patterns and paths): a pattern without a slash matches at any depth, one with a slash
from its root, ``**`` spans folders, a trailing ``/`` matches folders only, ``!`` re-includes, the
last pattern that matches the path itself wins, and one that matches only a parent folder of
the path decides only when no pattern matches the path itself. One deliberate difference: a
negated range (``[!a]``) never matches the ``/`` between folders, as in git (pathspec's regex
lets it).

pathspec turns each pattern into a Python regex, and one with many stars (``*a*a*a...*b``)
backtracks exponentially on long names. Here a pattern is a sequence of segment globs and ``**``
matched against the path's segments by a memoised search (pattern segments x path segments), and
a segment glob is a regex in which every star but the last is matched atomically: its chunk is
found at its leftmost place and never retried, which is exact because each chunk has a fixed
width, and which bounds a match by the name's length times the glob's.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from functools import lru_cache

_DSTAR = None  # a `**` segment


class _RangeError(ValueError):
    """A ``[`` without its ``]``: git ignores the whole pattern."""


def _chunks(glob: str) -> list[str | None]:
    """A segment glob as regex pieces for fixed-width units, with ``None`` for each star run."""
    out: list[str | None] = []
    i, end = 0, len(glob)
    while i < end:
        char = glob[i]
        i += 1
        if char == "\\":
            if i == end:
                raise ValueError("a pattern can't end with an escaping backslash")
            out.append(re.escape(glob[i]))
            i += 1
        elif char == "*":
            if not out or out[-1] is not None:
                out.append(None)
        elif char == "?":
            out.append("[^/]")
        elif char == "[":
            j = i
            if j < end and glob[j] in "!^":
                j += 1
            if j < end and glob[j] == "]":
                j += 1
            while j < end and glob[j] != "]":
                j += 1
            if j >= end:
                raise _RangeError(glob)
            body = glob[i:j]
            negate = body[:1] in ("!", "^")
            body = body[1:] if negate else body
            out.append("[" + ("^" if negate else "") + body.replace("\\", "\\\\") + "]")
            i = j + 1
        else:
            out.append(re.escape(char))
    return out


@lru_cache(maxsize=4096)
def _segment(glob: str) -> re.Pattern[str] | str:
    """A segment glob compiled: the name itself when it has no wildcard, else a regex."""
    if not any(c in glob for c in "*?[\\"):
        return glob
    if glob == "*":
        return re.compile(r"[^/]+\Z")  # a lone `*` needs at least one character
    groups: list[list[str]] = [[]]  # the fixed-width runs between stars
    for piece in _chunks(glob):
        if piece is None:
            groups.append([])
        else:
            groups[-1].append(piece)
    regex = "".join(groups[0])
    if len(groups) > 1:
        for n, middle in enumerate(groups[1:-1], 1):
            # `(?=(?P<g>.*?X))(?P=g)`: X at its leftmost place, taken atomically (3.10 has no `(?>...)`)
            regex += f"(?=(?P<g{n}>[^/]*?{''.join(middle)}))(?P=g{n})"
        regex += "[^/]*" + "".join(groups[-1])
    return re.compile(regex + r"\Z")


def _segment_matches(compiled: re.Pattern[str] | str, name: str) -> bool:
    if isinstance(compiled, str):
        return compiled == name
    return compiled.match(name) is not None


@dataclass(frozen=True, slots=True)
class GitPattern:
    """One gitignore line. ``match`` answers None (no match) or whether it matched only through a
    parent folder of the path (what pathspec calls the directory mark)."""

    include: bool  # False for a `!` line
    tokens: tuple[re.Pattern[str] | str | None, ...]
    dir_only: bool
    whole: str | None = None  # "any", "slash", "slash-dir": the patterns that reduce to one test

    def match(self, path: str) -> bool | None:
        if self.whole == "any":
            return False if path else None
        if self.whole is not None:
            return (self.whole == "slash-dir") if "/" in path else None
        return _search(self.tokens, self.dir_only, tuple(path.split("/")))


def _search(tokens: Sequence[re.Pattern[str] | str | None], dir_only: bool,
            segs: Sequence[str]) -> bool | None:
    """The first match pathspec's regex would find, in its order (the longest ``**`` first)."""
    n, m = len(tokens), len(segs)
    memo: dict[tuple[int, int], bool | None] = {}
    hits: dict[tuple[int, int], bool] = {}

    def seg_ok(i: int, j: int) -> bool:
        key = (i, j)
        found = hits.get(key)
        if found is None:
            token = tokens[i]
            assert token is not None
            found = hits[key] = _segment_matches(token, segs[j])
        return found

    # Filled from the last token back, so no recursion: f(i, j) = result of matching tokens[i:]
    # with segs[j:] where segs[:j] are consumed.
    fixed_before = [0] * (n + 1)  # segment globs before token i: each takes one path segment
    for i, token in enumerate(tokens):
        fixed_before[i + 1] = fixed_before[i] + (token is not _DSTAR)
    for i in range(n - 1, -1, -1):
        token = tokens[i]
        fixed_after = fixed_before[n] - fixed_before[i]
        for j in range(m - fixed_after, fixed_before[i] - 1, -1):
            result: bool | None = None
            if token is _DSTAR and i == n - 1:
                result = dir_only if j < m else None  # `/` must follow; anything may come after it
            elif token is _DSTAR:
                for k in range(m - j, -1, -1):  # greedy: skip as many folders as can be
                    if (hit := memo.get((i + 1, j + k))) is not None:
                        result = hit
                        break
            elif j < m and seg_ok(i, j):
                # the last glob: it ends the path, or a `/` follows (then it matched a parent folder)
                result = j + 1 < m if i == n - 1 else memo.get((i + 1, j + 1))
            memo[(i, j)] = result
    return memo.get((0, 0))


def compile_line(line: str) -> GitPattern | None:
    """A gitignore line compiled; None for blanks, comments and lines git ignores."""
    text = line if line.endswith("\\ ") else line.rstrip()
    if not text or text.startswith("#") or text == "/":
        return None
    include = not text.startswith("!")
    if not include:
        text = text[1:]
    segs: list[str] = text.split("/")
    dir_only = not segs[-1]
    if not segs[0]:
        del segs[0]
    elif (len(segs) == 1 or (len(segs) == 2 and not segs[1])) and segs[0] != "**":
        segs.insert(0, "**")  # no slash but a trailing one: at any depth
    if not segs:
        return None
    if not segs[-1]:
        segs[-1] = "**"
    segs = [s for i, s in enumerate(segs) if not (s == "**" and i > 0 and segs[i - 1] == "**")]
    if segs == ["**"]:
        return GitPattern(include, (), dir_only, "slash-dir" if dir_only else "any")
    if segs == ["**", "*"]:
        return GitPattern(include, (), dir_only, "any")
    if segs == ["**", "*", "**"]:
        return GitPattern(include, (), dir_only, "slash-dir" if dir_only else "slash")
    try:
        tokens = tuple(_DSTAR if s == "**" else _segment(s) for s in segs)
    except ValueError:
        return None  # an unclosed range or a dangling escape: git ignores the line
    return GitPattern(include, tokens, dir_only)


class GitIgnore:
    """Gitignore lines; ``match_file`` answers as pathspec's ``GitIgnoreSpec.match_file``."""

    def __init__(self, lines: Iterable[str]) -> None:
        self.patterns = [p for p in map(compile_line, lines) if p is not None]

    def __bool__(self) -> bool:
        return bool(self.patterns)

    def match_file(self, path: str) -> bool:
        # From the last pattern back: a match on the path itself decides; a match only through a
        # parent folder counts unless a later-read (earlier-written) pattern matches the path itself.
        verdict, strength = False, 0
        for pattern in reversed(self.patterns):
            mark = pattern.match(path)
            if mark is None:
                continue
            priority = 1 if mark else 2
            if priority > strength:
                verdict, strength = pattern.include, priority
                if priority == 2:
                    break
        return verdict
