"""Whether the guard can check a request at all: bounds on what the rules will be given.

A request whose thread fields nest too deep (or refer to themselves), hold too many values or too
much text is not checked but refused as OTL000: the caller may take such values from a user, and
``enforce`` never sends a request it couldn't check. The walk is iterative and stops at the first
bound it meets, so its cost is bounded too, whatever the input.
"""

from __future__ import annotations

from typing import Any

from ..rules.catalog import RULES
from ..rules.request import READ_FIELDS
from ..violations import Violation

MAX_DEPTH = 64  # levels below the request body; a thread sits at 2 or 3
MAX_VALUES = 10_000  # values in the fields the rules read
MAX_CHARS = 1_000_000  # characters of text (keys included) in those fields and the thread header


def uncheckable(body: dict[str, Any], header: str | None = None) -> Violation | None:
    """The OTL000 finding for a request body the rules can't be given, else ``None``."""
    chars = len(header) if header else 0
    budget = MAX_VALUES
    stack: list[tuple[object, str, int]] = [(body[f], f, 1) for f in READ_FIELDS if f in body]
    while stack:
        value, path, depth = stack.pop()
        if isinstance(value, str):
            chars += len(value)
            if chars > MAX_CHARS:
                return _refused(path, f"holds more than {MAX_CHARS:,} characters of text")
            continue
        if isinstance(value, dict):
            items: Any = value.items()
            keyed = True
        elif isinstance(value, (list, tuple)):
            items = enumerate(value)
            keyed = False
        else:
            continue
        if depth >= MAX_DEPTH:
            return _refused(path, f"nests deeper than {MAX_DEPTH} levels (or holds itself)")
        budget -= len(value)
        if budget < 0:
            return _refused(path, f"holds more than {MAX_VALUES:,} values")
        for key, item in items:
            if keyed:
                if isinstance(key, str):
                    chars += len(key)
                stack.append((item, f"{path}.{key}", depth + 1))
            else:
                stack.append((item, f"{path}[{key}]", depth + 1))
        if chars > MAX_CHARS:
            return _refused(path, f"holds more than {MAX_CHARS:,} characters of text")
    return None


def _refused(path: str, why: str) -> Violation:
    rule = RULES["OTL000"]
    return Violation(rule.code, rule.name, f"the request can't be checked: its value {why}", path, rule.severity)
