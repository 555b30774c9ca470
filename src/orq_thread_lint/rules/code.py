"""Rules only code can break: one constant id for every call (OTL104), an id built only from
loop counters (OTL105). They read the same values as every other rule."""

from __future__ import annotations

from ..values import Mapping, Node, Partial, Text
from .redact import show
from .thread import Emitter

_SILENCING = frozenset({"OTL001", "OTL003", "OTL005", "OTL006"})


def check_code_id(thread: Node, emit: Emitter) -> None:
    """OTL104 and OTL105 for the id of a thread found in code, reported at the id expression."""
    if not isinstance(thread, Mapping) or "id" not in thread.keys():
        return
    ident = thread.get("id")
    where = thread.value_anchor("id")
    if isinstance(ident, Text):
        if any(v.code in _SILENCING and v.anchor == ident.anchor for v in emit.out):
            return  # one value, one finding
        emit("OTL104", f"thread id {show(ident)} is the same for every call; all sessions share one thread",
             ident, anchor=where, suggestion="build the id from the user and session")
    elif isinstance(ident, Partial) and ident.holes and all(h.loop for h in ident.holes):
        emit("OTL105", f"thread id {show(ident)} is built only from loop counters; the next run reuses the same ids",
             ident, anchor=where, suggestion="add something unique to the run, e.g. f'batch-{run_id}-{i}'")
