"""Whether the guard can check a request at all: bounds on what the rules will be given.

A request whose thread fields nest too deep (or refer to themselves), hold too many values or too
much text is not checked but refused as OTL000: the caller may take such values from a user, and
``enforce`` never sends a request it couldn't check. The walk is iterative and stops at the first
bound it meets, so its cost is bounded too, whatever the input.
"""

from __future__ import annotations

import marshal
from typing import Any

from ..rules.catalog import RULES
from ..rules.engine import HEADER_PATH
from ..rules.request import READ_FIELDS
from ..violations import Violation

MAX_DEPTH = 64  # levels below the request body; a thread sits at 2 or 3
MAX_VALUES = 10_000  # values in the fields the rules read
MAX_CHARS = 1_000_000  # characters of text (keys included) in those fields and the thread header
# Marshal spends at least 3 bytes on a level of nesting ({None: ...}) and 1 on a value, so fields
# that marshal to fewer bytes than this are within every bound: no walk needed (most requests).
_SMALL = 3 * MAX_DEPTH


def uncheckable(body: dict[str, Any], header: str | None = None) -> Violation | None:
    """The OTL000 finding for a request body the rules can't be given, else ``None``.

    Containers are walked from an explicit stack; text is only counted. Where a container sits is
    kept as a chain of (parent, key) and spelt out only for a finding: the walk runs on every
    request, and a thread is a handful of values."""
    chars = len(header) if isinstance(header, str) else 0
    if chars > MAX_CHARS:
        return _refused((None, HEADER_PATH), f"holds more than {MAX_CHARS:,} characters of text")
    fields = [*map(body.get, READ_FIELDS)]
    try:
        if len(marshal.dumps(fields, 2)) < _SMALL:
            return None
    except ValueError:  # too deep for marshal, or a type it doesn't know: walk it
        pass
    budget = MAX_VALUES
    stack: list[tuple[object, int, Any]] = []
    for field, value in zip(READ_FIELDS, fields, strict=True):
        if isinstance(value, str):
            chars += len(value)
            if chars > MAX_CHARS:
                return _refused((None, field), f"holds more than {MAX_CHARS:,} characters of text")
        elif isinstance(value, _CONTAINERS):
            stack.append((value, 1, (None, field)))
    while stack:
        value, depth, trail = stack.pop()
        if depth >= MAX_DEPTH:
            return _refused(trail, f"nests deeper than {MAX_DEPTH} levels (or holds itself)")
        budget -= len(value)  # type: ignore[arg-type]
        if budget < 0:
            return _refused(trail, f"holds more than {MAX_VALUES:,} values")
        if isinstance(value, dict):
            for key, item in value.items():
                if isinstance(key, str):
                    chars += len(key)
                if isinstance(item, str):
                    chars += len(item)
                elif isinstance(item, _CONTAINERS):
                    stack.append((item, depth + 1, (trail, key)))
        else:
            for index, item in enumerate(value):  # type: ignore[arg-type]
                if isinstance(item, str):
                    chars += len(item)
                elif isinstance(item, _CONTAINERS):
                    stack.append((item, depth + 1, (trail, index)))
        if chars > MAX_CHARS:
            return _refused(trail, f"holds more than {MAX_CHARS:,} characters of text")
    return None


_CONTAINERS = (dict, list, tuple)


def _path(trail: Any) -> str:
    keys = []
    while trail is not None:
        trail, key = trail
        keys.append(key)
    out = ""
    for key in reversed(keys):
        out = f"{out}[{key}]" if isinstance(key, int) else (f"{out}.{key}" if out else str(key))
    return out


def _refused(trail: Any, why: str) -> Violation:
    rule = RULES["OTL000"]
    return Violation(rule.code, rule.name, f"the request can't be checked: its value {why}", _path(trail),
                     rule.severity)
