"""OTL007 thread-overlap: one thread id used under two scopes (users or sessions).

The rule is the same everywhere; only where the first owner of an id is remembered differs:
a dict for ``validate``, a memory, SQLite or Redis store for the runtime guard.
"""

from __future__ import annotations

from ..values import Mapping, Node, Scalar, Text
from ..violations import Violation
from .catalog import RULES

IDENTITY_PATHS = (("orq", "identity", "id"), ("orq", "contact", "id"), ("identity", "id"))


def _dig(body: Node, path: tuple[str, ...]) -> Node | None:
    node: Node | None = body
    for key in path:
        if not isinstance(node, Mapping):
            return None
        node = node.get(key)
    return node


def request_scope(body: Node, field: str | None = None) -> str | None:
    """The scope a request belongs to: ``field`` (a dotted path) or its identity id."""
    paths = (tuple(field.split(".")),) if field else IDENTITY_PATHS
    for path in paths:
        node = _dig(body, path)
        if isinstance(node, Text) and node.value:
            return node.value
        if isinstance(node, Scalar) and node.value is not None and not isinstance(node.value, bool):
            return _scope_text(node.value)
    return None


def _scope_text(value: object) -> str:
    if isinstance(value, int):
        try:
            return str(value)
        except ValueError:  # more digits than Python converts (3.11+): the hex form is exact too
            return hex(value)
    return str(value)


def thread_id_of(thread: Node) -> str | None:
    if isinstance(thread, Mapping):
        ident = thread.get("id")
        if isinstance(ident, Text) and ident.value.strip():
            return ident.value
    return None


def overlap(path: str, first_seen: str | None = None) -> Violation:
    """The OTL007 finding for an id already bound to another scope (``first_seen`` says where)."""
    rule = RULES["OTL007"]
    where = f" (first at {first_seen})" if first_seen else ""
    return Violation(
        rule.code, rule.name,
        f"thread id is already used under another scope{where}; two users or sessions would share one thread",
        path, rule.severity, "make the id unique per user and session",
    )
