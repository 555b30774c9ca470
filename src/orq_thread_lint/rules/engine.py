"""Entry points of the rule engine: every front end calls these and nothing else."""

from __future__ import annotations

import marshal
from typing import TYPE_CHECKING, Any

from ..values import Node, Text, from_json
from ..violations import Violation
from .overlap import thread_id_of
from .request import HEADER, READ_FIELDS, Found, check_request_node
from .thread import Emitter, check_thread_node

if TYPE_CHECKING:
    from ..policy import Policy

HEADER_PATH = f"headers.{HEADER}"
_MEMO_MAX = 4096
_KEY_MAX = 2048  # bytes; a request with more in its read fields is checked without the memo


def check_thread(node: Node, policy: Policy) -> list[Violation]:
    out: list[Violation] = []
    check_thread_node(node, Emitter(policy, out))
    return out


def check_request(body: Node, policy: Policy, *, header: Node | None = None,
                  require_thread: bool = True) -> list[Violation]:
    out: list[Violation] = []
    check_request_node(body, Emitter(policy, out), header=header, require_thread=require_thread)
    return out


def locate_and_check(body: Node, policy: Policy, *, header: Node | None = None,
                     require_thread: bool = True) -> tuple[list[Violation], list[Found]]:
    """Like :func:`check_request`, and also the threads it found (for uniqueness checks)."""
    out: list[Violation] = []
    found = check_request_node(body, Emitter(policy, out), header=header, require_thread=require_thread)
    return out, found


# The violations, and (thread id, where it sits) for each thread that has an id. A plain tuple:
# the garbage collector stops tracking those once they hold only strings, so a full memo costs
# the collector nothing (a NamedTuple stays tracked).
JsonVerdict = tuple[tuple[Violation, ...], tuple[tuple[str, str], ...]]


def check_json_request(body: dict[str, Any], policy: Policy, header: str | None = None) -> JsonVerdict:
    """:func:`locate_and_check` for a decoded JSON body (and the thread header, if any).

    The verdict depends only on the policy, the header, the names of the body's fields and the
    values of :data:`~orq_thread_lint.rules.request.READ_FIELDS`, so it is memoised per policy
    on those: a conversation sends the same thread with every turn, whatever its messages hold.
    """
    key = _request_key(body, header)
    memo = policy.request_verdicts
    if key is not None:
        verdict = memo.get(key)
        if verdict is not None:
            return verdict
    violations, found = locate_and_check(
        from_json(body), policy, header=Text(header, HEADER_PATH) if header is not None else None)
    ids: dict[str, str] = {}
    for f in found:
        tid = thread_id_of(f.node)
        if tid:
            ids.setdefault(tid, f"{f.path}.id")
    if header:
        ids.setdefault(header, HEADER_PATH)
    verdict = (tuple(violations), tuple(ids.items()))
    if key is not None:
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        memo[key] = verdict
    return verdict


def _request_key(body: dict[str, Any], header: str | None) -> bytes | None:
    """The memo key: what the request rules read, marshalled. Marshal keeps types apart (``1``,
    ``1.0`` and ``True`` are equal in Python, not to the rules) and refuses subclasses and other
    objects (no key, no memo); bytes cost the garbage collector nothing."""
    try:
        key = marshal.dumps((header, tuple(body), *map(body.get, READ_FIELDS)), 2)
    except ValueError:
        return None
    return key if len(key) <= _KEY_MAX else None
