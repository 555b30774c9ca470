"""Turn the values code and logs use into templates of the policy's template language.

A known value is generalised piece by piece: UUIDs become ``{id:uuid}``, ULIDs ``{id:ulid}``, runs
of hexadecimal digits that hold both digits and letters ``{h:hex}``, runs of digits ``{n:int}``; the
rest stays literal. A partly known value (an f-string) keeps its literal text and names each hole
after the expression that fills it (``f"user-{user.id}"`` -> ``user-{user_id}``).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence

from ..templates import TemplateError, TemplateSet
from ..values import Hole, Partial, Text

# Longest first at each position: a UUID or ULID is never read as a run of hex or digits.
_PIECE = re.compile(
    r"(?P<uuid>(?<![0-9A-Za-z])[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}(?![0-9A-Za-z]))"
    r"|(?P<ulid>(?<![0-9A-Za-z])[0-7][0-9A-HJKMNP-TV-Z]{25}(?![0-9A-Za-z]))"
    r"|(?P<hex>(?<![0-9A-Za-z])(?=[0-9a-f]*[0-9])(?=[0-9a-f]*[a-f])[0-9a-f]{8,}(?![0-9A-Za-z]))"
    r"|(?P<int>[0-9]+)"
)
_NAMES = {"uuid": ("id", "uuid"), "ulid": ("id", "ulid"), "hex": ("h", "hex"), "int": ("n", "int")}
_IDENT = re.compile(r"[^A-Za-z0-9_]+")


def escape(text: str) -> str:
    return text.replace("{", "{{").replace("}", "}}")


class _Names:
    """Placeholder names unique within one template: ``n``, ``n2``, ``n3`` ..."""

    def __init__(self) -> None:
        self.used: set[str] = set()

    def take(self, wanted: str) -> str:
        name, i = wanted, 2
        while name in self.used:
            name, i = f"{wanted}{i}", i + 1
        self.used.add(name)
        return name


def of_text(value: str) -> str:
    """The template a known value suggests; the value itself (escaped) when nothing varies."""
    names = _Names()
    out: list[str] = []
    last = 0
    for m in _PIECE.finditer(value):
        kind = m.lastgroup or "int"
        base, typ = _NAMES[kind]
        out.append(escape(value[last : m.start()]))
        out.append(f"{{{names.take(base)}:{typ}}}")
        last = m.end()
    out.append(escape(value[last:]))
    return "".join(out)


def of_partial(value: Partial, name_of: Callable[[object], str | None]) -> str:
    """The template an f-string suggests: its literal text, a placeholder per hole (holes that
    touch become one placeholder, since placeholders must be separated by literal text)."""
    names = _Names()
    out: list[str] = []
    parts: Sequence[str | Hole] = value.parts
    i = 0
    while i < len(parts):
        part = parts[i]
        if isinstance(part, str):
            out.append(escape(part))
            i += 1
            continue
        run = [part]
        while i + 1 < len(parts) and isinstance(parts[i + 1], Hole):
            i += 1
            run.append(parts[i])  # type: ignore[arg-type]
        i += 1
        hole = run[0]
        wanted = (name_of(hole.source) if len(run) == 1 else None) or ("n" if hole.loop else "part")
        typ = ":int" if len(run) == 1 and hole.loop else ""
        out.append(f"{{{names.take(wanted)}{typ}}}")
    return "".join(out)


def of_value(value: Text | Partial, name_of: Callable[[object], str | None]) -> str:
    return of_text(value.value) if isinstance(value, Text) else of_partial(value, name_of)


def identifier(code: str) -> str | None:
    """A placeholder name made of an expression's text: ``user.id`` -> ``user_id``."""
    name = _IDENT.sub("_", code).strip("_")
    if name.startswith("self_"):
        name = name[5:]
    if not name:
        return None
    if name[0].isdigit():
        name = f"p_{name}"
    return name[:40]


def valid(template: str) -> bool:
    try:
        TemplateSet.compile([template])
    except (TemplateError, ValueError):
        return False
    return True
