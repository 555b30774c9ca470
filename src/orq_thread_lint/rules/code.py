"""Rules only code can break: one constant id for every call (OTL104), an id built only from
loop counters (OTL105). They read the same values as every other rule."""

from __future__ import annotations

from ..values import Mapping, Node, Partial, Text
from .redact import show
from .thread import ID_PRECEDENCE, Emitter

# One value, one finding (see rules/thread.py): what comes before these codes silences them, and
# they silence what comes after (OTL004).
_BEFORE = {code: frozenset(ID_PRECEDENCE[: ID_PRECEDENCE.index(code)]) for code in ("OTL104", "OTL105")}
_AFTER = {code: frozenset(ID_PRECEDENCE[ID_PRECEDENCE.index(code) + 1 :]) for code in ("OTL104", "OTL105")}


def check_code_id(thread: Node, emit: Emitter) -> None:
    """OTL104 and OTL105 for the id of a thread found in code, reported at the id expression."""
    if not isinstance(thread, Mapping) or "id" not in thread.keys():
        return
    ident = thread.get("id")
    where = thread.value_anchor("id")
    if isinstance(ident, Text):
        if _first(emit, "OTL104", ident):
            emit("OTL104", f"thread id {show(ident)} is the same for every call; all sessions share one thread",
                 ident, anchor=where, suggestion="build the id from the user and session")
    elif (isinstance(ident, Partial) and ident.holes and all(h.loop for h in ident.holes)
          and _first(emit, "OTL105", ident)):
        emit("OTL105", f"thread id {show(ident)} is built only from loop counters; the next run reuses the same ids",
             ident, anchor=where, suggestion="add something unique to the run, e.g. f'batch-{run_id}-{i}'")


def _first(emit: Emitter, code: str, ident: Node) -> bool:
    """Whether ``code`` is the id's first finding; if so, the findings it precedes are dropped."""
    if not emit.on(code) or any(v.code in _BEFORE[code] and v.anchor == ident.anchor for v in emit.out):
        return False
    emit.out[:] = [v for v in emit.out if not (v.code in _AFTER[code] and v.anchor == ident.anchor)]
    return True
