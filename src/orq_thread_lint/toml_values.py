"""Values written the way a TOML file writes them (``true``, ``"text"``, ``[1, 2]``), for config
messages and ``--show-settings``: users see their own syntax, not Python's."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from datetime import date, datetime, time

_BARE_KEY = re.compile(r"[A-Za-z0-9_-]+\Z")
_SHOWN = 80  # characters of a value quoted in a message


def show_value(value: object, limit: int | None = None) -> str:
    """``value`` in TOML syntax (inline tables for mappings); cut to ``limit`` characters."""
    text = _toml(value)
    if limit is not None and len(text) > limit and not isinstance(value, int):
        text = text[: limit - 1] + "…"
    return text


def _toml(value: object) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, (int, float)):
        try:
            return repr(value)
        except ValueError:  # an int of more digits than Python converts (3.11+)
            return "a number of more digits than can be shown"
    if isinstance(value, str):
        return json.dumps(value, ensure_ascii=False)
    if isinstance(value, (datetime, date, time)):
        return value.isoformat()
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{key(str(k))} = {_toml(v)}" for k, v in value.items()) + "}"
    if isinstance(value, (list, tuple)):
        return "[" + ", ".join(_toml(v) for v in value) + "]"
    return repr(value)


def key(name: str) -> str:
    """A TOML key: bare when it can be, quoted otherwise."""
    return name if _BARE_KEY.match(name) else json.dumps(name, ensure_ascii=False)


def type_name(value: object) -> str:
    """What TOML calls the type of ``value``, with its article."""
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int):
        return "an integer"
    if isinstance(value, float):
        return "a float"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, Mapping):
        return "a table"
    if isinstance(value, (list, tuple)):
        return "an array"
    if isinstance(value, (datetime, date, time)):
        return "a date or time"
    return f"a {type(value).__name__}"
