"""``# noqa`` comments, ruff's way: ``# noqa`` silences every rule on its line, ``# noqa: OTL003,
OTL004`` those codes. ``# orq-thread-lint: skip-file`` skips a whole file.

Only a real comment counts: the comments of a file come from Python's tokenizer, so ``# noqa``
written inside a string (``"see # noqa docs"``) silences nothing.
"""

from __future__ import annotations

import io
import re
import tokenize

SKIP_FILE = b"orq-thread-lint: skip-file"
_NOQA = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


def comments(text: str) -> dict[int, str]:
    """The comment on each row (1-based) of a source text, as the tokenizer sees it."""
    out: dict[int, str] = {}
    if "#" not in text:
        return out
    try:
        for tok in tokenize.generate_tokens(io.StringIO(text).readline):
            if tok.type == tokenize.COMMENT:
                out[tok.start[0]] = tok.string
    except (tokenize.TokenError, SyntaxError):
        pass  # the comments found before the error still count; the rest of the file has none
    return out


class Noqa:
    """The ``# noqa`` comments of one file, read from its tokens when first asked."""

    def __init__(self, text: str) -> None:
        self.text = text
        self._comments: dict[int, str] | None = None

    def suppressed(self, row: int, code: str) -> bool:
        if self._comments is None:
            self._comments = comments(self.text)
        comment = self._comments.get(row)
        return comment is not None and suppressed(comment, code)


def suppressed(comment: str, code: str) -> bool:
    """Whether a comment's text (``# noqa: OTL003``) silences ``code``."""
    if "#" not in comment:
        return False
    for m in _NOQA.finditer(comment):
        codes = m.group("codes")
        if codes is None:
            return True
        if code in {c.upper() for c in re.split(r"[,\s]+", codes) if c}:
            return True
    return False
