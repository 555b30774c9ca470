"""How a value appears in a message: personal data redacted, long values shortened.

Rules quote values through :func:`show` (and name keys in paths through :func:`key_path`); the
emitter (:class:`~orq_thread_lint.rules.thread.Emitter`) then checks every message, suggestion
and path it builds, and withholds whatever still holds something the PII detectors find. So a
finding's text never carries an e-mail address or a key, whichever rule wrote it, and reaches
``ThreadPolicyError``, warnings, logs and reports clean.
"""

from __future__ import annotations

from functools import lru_cache

from ..values import Hole, Partial, Text
from .pii import find_pii

SHOWN_MAX = 60  # characters of a value a message quotes; the rest is counted, not shown
WITHHELD = "the message would quote personal data, so it is withheld"


def redacted(kind: str) -> str:
    return f"[redacted: {kind}]"


def show(value: str | Text | Partial) -> str:
    """A value as a message may quote it: ``repr`` for text, ``f'…{…}'`` for a partly known
    string, ``[redacted: an e-mail address]`` when it holds personal data or a secret."""
    if isinstance(value, Partial):
        pieces = value.literals
        text = "".join("{…}" if isinstance(p, Hole) else p.replace("{", "{{").replace("}", "}}")
                       for p in value.parts)
        prefix = "f"
    else:
        text = value.value if isinstance(value, Text) else value
        pieces = [text]
        prefix = ""
    kind = next((k for k in map(find_pii, pieces) if k), None)
    if kind:
        return redacted(kind)
    if len(text) > SHOWN_MAX:
        return f"{prefix}{text[:SHOWN_MAX]!r}…({len(text):,} characters)"
    return prefix + repr(text)


def key_path(path: str, key: str) -> str:
    """The path of a key below ``path``, the key redacted if it holds personal data."""
    kind = find_pii(key)
    shown = redacted(kind) if kind else key if len(key) <= SHOWN_MAX else f"{key[:SHOWN_MAX]}…"
    return f"{path}.{shown}" if path else shown


def clean(text: str | None) -> bool:
    """Whether a message, suggestion or path may be shown as it is."""
    if text is None:
        return True
    return _clean(text) if len(text) <= 512 else find_pii(text) is None


@lru_cache(maxsize=4096)  # the same paths and (replayed) messages come back with every request
def _clean(text: str) -> bool:
    return find_pii(text) is None
