"""Where comments are and where one can go: ``# noqa`` directives as real comment tokens, and the
row that takes the comment for a row inside a multi-line string or a backslash continuation
(ruff's rule: the directive goes where the string or the logical line ends)."""

from __future__ import annotations

import io
import re
import tokenize
from dataclasses import dataclass

_DIRECTIVE = re.compile(r"#\s*noqa(?P<colon>:\s?(?P<codes>[A-Z]+[0-9]+(?:(?:\s*,\s*|\s+)[A-Z]+[0-9]+)*))?",
                        re.IGNORECASE)
_SPLIT = re.compile(r"[,\s]+")


@dataclass(frozen=True, slots=True)
class Directive:
    """A ``# noqa`` in a comment: its row, where it starts and ends in the line, and its codes
    (``None`` for a bare ``# noqa``)."""

    row: int
    start: int
    end: int
    codes: tuple[str, ...] | None
    first: bool  # it opens its comment (nothing of the comment before it)


@dataclass(frozen=True, slots=True)
class Comments:
    directives: dict[int, list[Directive]]
    moved: dict[int, int]  # row -> the row that takes its trailing comment

    def comment_row(self, row: int) -> int:
        return self.moved.get(row, row)

    def suppressing(self, row: int, code: str) -> Directive | None:
        """The directive that silences ``code`` on ``row``: on the row itself, or on the row
        that takes its comment."""
        for where in dict.fromkeys((row, self.comment_row(row))):
            for d in self.directives.get(where, ()):
                if d.codes is None or code in d.codes:
                    return d
        return None


def scan(text: str) -> Comments | None:
    """The comments of a source text, or None when it doesn't tokenize."""
    directives: dict[int, list[Directive]] = {}
    open_rows: set[int] = set()  # rows that end inside a token or with a backslash
    prev_end, prev_type = 0, tokenize.NL
    fstring_start: list[int] = []
    start_kind = getattr(tokenize, "FSTRING_START", None)
    end_kind = getattr(tokenize, "FSTRING_END", None)
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            row, end_row = tok.start[0], tok.end[0]
            if tok.type == tokenize.COMMENT:
                for m in _DIRECTIVE.finditer(tok.string):
                    codes = m.group("codes")
                    directives.setdefault(row, []).append(Directive(
                        row, tok.start[1] + m.start(), tok.start[1] + m.end(),
                        tuple(c.upper() for c in _SPLIT.split(codes) if c) if codes else None, m.start() == 0))
            if tok.type == start_kind:
                fstring_start.append(row)
            elif tok.type == end_kind and fstring_start:
                open_rows.update(range(fstring_start.pop(), row))
            if tok.type not in (tokenize.NL, tokenize.NEWLINE, tokenize.ENDMARKER, tokenize.DEDENT):
                if prev_type not in (tokenize.NL, tokenize.NEWLINE, tokenize.COMMENT) and row > prev_end:
                    open_rows.update(range(prev_end, row))  # a backslash continuation
                open_rows.update(range(row, end_row))  # a token spanning rows: a multi-line string
            prev_end, prev_type = end_row, tok.type
    except (tokenize.TokenError, SyntaxError):
        return None
    moved: dict[int, int] = {}
    for row in sorted(open_rows, reverse=True):
        moved[row] = moved.get(row + 1, row + 1)
    return Comments(directives, moved)
