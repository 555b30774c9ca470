"""Request-level rules: where the thread sits in a body (OTL101, OTL103, the OTL015 near misses
of the ``thread`` key), then the value rules on each thread found.

A body is a :class:`~orq_thread_lint.values.Mapping`: a decoded JSON request, the options an
openai client is about to send, or the keyword arguments of a call in source code.
"""

from __future__ import annotations

import difflib
from functools import lru_cache
from typing import NamedTuple

from ..values import Mapping, Node, Text
from .redact import key_path, show
from .thread import Emitter, check_id, check_thread_node

# Fields of the `orq` object next to `thread` (never near misses, and where a nested thread hides).
ORQ_FIELDS = frozenset({
    "name", "retry", "fallbacks", "prompt", "identity", "contact", "thread", "inputs", "variables",
    "cache", "knowledge_bases", "load_balancer", "timeout", "metadata",
})
FLAT_THREAD_KEYS = ("thread_id", "threadId", "thread-id")
METADATA_THREAD_KEYS = ("thread_id", "threadId", "thread", "thread-id")
HEADER = "X-ORQ-THREAD-ID"
# The fields whose values the request rules read; of every other field they read only the name.
# (The JSON memo in ``engine`` relies on this; tests check it.)
READ_FIELDS = ("metadata", "orq", "thread")


class Found(NamedTuple):
    placement: str  # "orq" or "top-level"
    node: Node
    anchor: object
    path: str


# Request fields that are neither a near miss of `thread` nor a flat thread key (the common case,
# answered without a call).
_ORDINARY = frozenset({
    "model", "messages", "input", "prompt", "stream", "stream_options", "temperature", "top_p", "max_tokens",
    "max_completion_tokens", "max_output_tokens", "tools", "tool_choice", "parallel_tool_calls", "response_format",
    "text", "instructions", "user", "n", "stop", "seed", "logprobs", "top_logprobs", "presence_penalty",
    "frequency_penalty", "logit_bias", "store", "reasoning", "reasoning_effort", "previous_response_id",
    "metadata", "orq", "thread", "identity", "modalities", "audio", "prediction", "service_tier", "include",
    "truncation", "background", "suffix", "echo", "best_of", *ORQ_FIELDS,
})


def _near_miss(key: str) -> bool:
    # A key of more than 9 characters is never within 0.8 of "thread" (6): no need to cache it.
    return len(key) <= 9 and _short_near_miss(key)


@lru_cache(maxsize=4096)
def _short_near_miss(key: str) -> bool:
    if key == "thread" or key in ORQ_FIELDS or key in FLAT_THREAD_KEYS:
        return False
    low = key.lower()
    return low == "thread" or bool(difflib.get_close_matches(low, ["thread"], n=1, cutoff=0.8))


def _scan_level(container: Mapping, emit: Emitter, where: str) -> bool:
    """OTL015 and OTL103 for keys beside `thread` in `orq` or the body. True if a misplaced thread
    was seen (so a missing thread isn't reported twice)."""
    misplaced = False
    for key in container.keys():
        if key in _ORDINARY:
            continue
        if _near_miss(key):
            emit("OTL015", f"unknown key {show(key)} in {where}; did you mean 'thread'?",
                 path=key_path(container.path, key),
                 anchor=container.key_anchor(key), suggestion="thread")
            misplaced = True
        elif key in FLAT_THREAD_KEYS:
            emit("OTL103", f"{key!r} in {where} is ignored by the router; send {{'thread': {{'id': ...}}}}",
                 path=f"{container.path}.{key}" if container.path else key, anchor=container.key_anchor(key))
            misplaced = True
    return misplaced


def _scan_nested(container: Mapping, fields: frozenset[str] | None, emit: Emitter, keys: tuple[str, ...]) -> bool:
    """OTL103 for a thread hidden inside another field (`metadata.thread_id`, `orq.identity.thread`)."""
    misplaced = False
    for field in container.keys():
        if (fields is not None and field not in fields) or field == "thread":
            continue
        inner = container.get(field)
        if not isinstance(inner, Mapping):
            continue
        for key in keys:
            if key in inner.keys():
                path = f"{inner.path}.{key}"
                emit("OTL103", f"a thread at {path} is ignored by the router; it belongs at "
                               f"{'orq.thread' if container.path == 'orq' else 'thread'}",
                     path=path, anchor=inner.key_anchor(key))
                misplaced = True
    return misplaced


def check_request_node(body: Node, emit: Emitter, *, header: Node | None = None,
                       require_thread: bool = True) -> list[Found]:
    """All request-level rules and the value rules of every thread found. Returns the threads."""
    if not isinstance(body, Mapping):
        return []
    placement = emit.policy.config.thread_placement
    found: list[Found] = []
    misplaced = _scan_level(body, emit, "the request body")
    meta = body.get("metadata")
    if isinstance(meta, Mapping):
        misplaced |= _scan_nested(body, frozenset({"metadata"}), emit, METADATA_THREAD_KEYS)
    orq = body.get("orq")
    if isinstance(orq, Mapping):
        misplaced |= _scan_level(orq, emit, "orq")
        misplaced |= _scan_nested(orq, ORQ_FIELDS, emit, ("thread", *FLAT_THREAD_KEYS))
        node = orq.get("thread")
        if node is not None:
            found.append(Found("orq", node, orq.key_anchor("thread"), "orq.thread"))
    node = body.get("thread")
    if node is not None:
        found.append(Found("top-level", node, body.key_anchor("thread"), "thread"))

    for item in found:
        if placement != "any" and item.placement != placement:
            want = "orq.thread" if placement == "orq" else "the top-level 'thread'"
            emit("OTL103", f"thread-placement is {placement!r}: move the thread from {item.path} to {want}",
                 path=item.path, anchor=item.anchor, suggestion=want)
    if len(found) == 2:
        ids = [_id_text(f.node) for f in found]
        if ids[0] is not None and ids[1] is not None and ids[0] != ids[1]:
            later = max(reversed(found), key=lambda f: _order(f.anchor))
            emit("OTL103", f"the request carries two threads with different ids ({show(ids[0])} at orq.thread, "
                           f"{show(ids[1])} at thread); the router reads one", path=later.path, anchor=later.anchor)
    for item in found:
        check_thread_node(item.node, emit)
    if header is not None:
        check_id(header, emit)
    orq_unknown = orq is not None and (not isinstance(orq, Mapping) or orq.open)
    if require_thread and not found and header is None and not misplaced and not body.open and not orq_unknown:
        emit("OTL101", "request carries no thread; it won't be grouped with the rest of its conversation",
             body, path="", suggestion="extra_body={'orq': {'thread': {'id': ..., 'tags': [...]}}}")
    return found


def _id_text(node: Node) -> str | None:
    if isinstance(node, Mapping):
        ident = node.get("id")
        if isinstance(ident, Text):
            return ident.value
    return None


def _order(anchor: object) -> tuple[int, int]:
    """Source order where the front end knows it (static anchors carry a position)."""
    pos = getattr(anchor, "position", None)
    return pos if isinstance(pos, tuple) else (0, 0)
