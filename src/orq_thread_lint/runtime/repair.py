"""The repairs ``mode = "repair"`` may make, and no others: they lose nothing.

- trim whitespace around a thread id (``" user-42 "`` -> ``"user-42"``);
- drop repeated tags (the first of each stays, in order), in any value the SDK sends as a JSON
  array: a list or a tuple (the repaired tags are a list). A set, an iterator or another
  collection has no JSON array form; it is OTL010 (not repairable) and the request is refused;
- move the thread to the configured ``thread-placement`` when the other place is empty.

Ids are never invented and tags that aren't repeats are never dropped. The caller's objects are
not modified: what changes is copied.
"""

from __future__ import annotations

from typing import Any

from ..policy import Policy


def _repair_thread(thread: Any) -> Any:
    if not isinstance(thread, dict):
        return thread
    out = thread
    ident = thread.get("id")
    if isinstance(ident, str) and ident.strip() and ident != ident.strip():
        out = {**out, "id": ident.strip()}
    tags = thread.get("tags")
    if isinstance(tags, (list, tuple)):  # what the rules and json.dumps read as an array
        seen: set[str] = set()
        kept = []
        for tag in tags:
            if isinstance(tag, str):
                if tag in seen:
                    continue
                seen.add(tag)
            kept.append(tag)
        if len(kept) != len(tags):
            out = {**out, "tags": kept}
    return out


def repair_body(body: dict[str, Any], policy: Policy) -> dict[str, Any] | None:
    """A repaired copy of ``body``, or None when there is nothing to repair."""
    out = dict(body)
    orq = out.get("orq")
    if isinstance(orq, dict) and "thread" in orq:
        fixed = _repair_thread(orq["thread"])
        if fixed is not orq["thread"]:
            orq = out["orq"] = {**orq, "thread": fixed}
    if "thread" in out:
        out["thread"] = _repair_thread(out["thread"])
    placement = policy.config.thread_placement
    if placement == "orq" and "thread" in out and (orq is None or (isinstance(orq, dict) and "thread" not in orq)):
        out["orq"] = {**(orq or {}), "thread": out.pop("thread")}
    elif placement == "top-level" and isinstance(orq, dict) and "thread" in orq and "thread" not in out:
        rest = {k: v for k, v in orq.items() if k != "thread"}
        out["thread"] = orq["thread"]
        if rest:
            out["orq"] = rest
        else:
            del out["orq"]
    changed = any(out.get(k) is not body.get(k) for k in set(out) | set(body))
    return out if changed else None
