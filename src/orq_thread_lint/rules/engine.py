"""Entry points of the rule engine: every front end calls these and nothing else."""

from __future__ import annotations

import marshal
from typing import TYPE_CHECKING, Any

from ..values import Node, Text, from_json
from ..violations import Violation
from .overlap import thread_id_of
from .request import HEADER, READ_FIELDS, Api, check_request_node
from .thread import Emitter, check_thread_node, id_verdict

if TYPE_CHECKING:
    from ..policy import Policy

HEADER_PATH = f"headers.{HEADER}"
_MEMO_MAX = 4096
_KEY_MAX = 1024  # bytes; a request with more in its read fields is checked without the memo
_VALUE_MAX = 2048  # characters of messages and paths; a verdict with more isn't kept
_ORQ, _THREAD = READ_FIELDS.index("orq"), READ_FIELDS.index("thread")


def check_thread(node: Node, policy: Policy) -> list[Violation]:
    out: list[Violation] = []
    check_thread_node(node, Emitter(policy, out))
    return out


def check_request(body: Node, policy: Policy, *, header: Node | None = None,
                  require_thread: bool = True) -> list[Violation]:
    out: list[Violation] = []
    check_request_node(body, Emitter(policy, out), header=header, require_thread=require_thread)
    return out


# The violations, and (thread id, where it sits) for each thread that has an id.
JsonVerdict = tuple[tuple[Violation, ...], tuple[tuple[str, str], ...]]
# What the memo holds: the violations, then the slot of each thread id and where it sits. Keys are
# bytes and clean entries plain tuples of strings, which the garbage collector stops tracking:
# a full memo costs it next to nothing. Keys and values are capped (_KEY_MAX, _VALUE_MAX), so
# _MEMO_MAX entries bound it in bytes too.
Memoised = tuple[tuple[Violation, ...], tuple[int, ...], tuple[str, ...]]


def check_json_request(body: dict[str, Any], policy: Policy, header: str | None = None,
                       api: Api = "body") -> JsonVerdict:
    """:func:`check_request` for a decoded JSON body (and the thread header, if any), and the id
    of each thread found, with where it sits (what uniqueness binds). ``api``: whose wording the
    advice uses (the client that built the body).

    Memoised per policy on what the rules read (see :func:`_request_key`): the turns of a
    conversation repeat its thread, and a new conversation usually differs from the last one
    only by a thread id with the same findings (none).
    """
    keyed = _request_key(body, header, policy, api)
    memo = policy.request_verdicts
    if keyed is not None:
        hit = memo.get(keyed[0])
        if hit is not None:  # a memoised slot always holds an id: the key says which slots do
            return hit[0], tuple(zip(map(keyed[1].__getitem__, hit[1]), hit[2], strict=True))  # type: ignore[arg-type]
    violations: list[Violation] = []
    found = check_request_node(from_json(body), Emitter(policy, violations),
                               header=Text(header, HEADER_PATH) if header is not None else None, api=api)
    where: dict[str, str] = {}
    for f in found:
        tid = thread_id_of(f.node)
        if tid:
            where.setdefault(tid, f"{f.path}.id")
    if header:
        where.setdefault(header, HEADER_PATH)
    verdict = (tuple(violations), tuple(where.items()))
    if (keyed is not None and all(tid in keyed[1] for tid in where)  # else the rules found ids elsewhere
            and sum(len(v.message) + len(v.path) + len(v.suggestion or "") for v in violations) <= _VALUE_MAX):
        if len(memo) >= _MEMO_MAX:
            memo.clear()
        memo[keyed[0]] = (verdict[0], tuple(map(keyed[1].index, where)), tuple(where.values()))
    return verdict


def _request_key(body: dict[str, Any], header: str | None, policy: Policy,
                 api: Api) -> tuple[bytes, list[str | None]] | None:
    """The memo key, and the thread ids it stands for (at ``orq.thread.id``, ``thread.id`` and the
    header, ``None`` where there is none).

    The rules read the names of the body's fields and the values of
    :data:`~orq_thread_lint.rules.request.READ_FIELDS`. A thread id's text only matters through
    its own findings (:func:`~orq_thread_lint.rules.thread.id_verdict`) and whether it is empty or
    blank, so a lone thread id and the header stand in the key by those (and by which other id
    they equal); two thread ids are kept as they are, as a finding comparing them quotes both.
    Marshal keeps types apart (``1``, ``1.0`` and ``True`` are equal in Python, not to the
    rules) and refuses subclasses and other objects (no key, no memo); bytes cost the garbage
    collector nothing. Tests check every claim here against the rules.
    """
    read = [*map(body.get, READ_FIELDS)]
    orq, thread = read[_ORQ], read[_THREAD]
    inner = orq.get("thread") if type(orq) is dict else None
    first = inner.get("id") if type(inner) is dict else None
    second = thread.get("id") if type(thread) is dict else None
    if type(first) is not str:
        first = None
    if type(second) is not str:
        second = None
    if first is not None and second is None:
        read[_ORQ] = {**orq, "thread": {**inner, "id": None}}  # type: ignore[dict-item]
    elif second is not None and first is None:
        read[_THREAD] = {**thread, "id": None}  # type: ignore[dict-item]
    ids = [first, second, header]
    stand_ins = []
    known = policy.id_verdicts
    for slot, tid in enumerate(ids):
        if tid is not None:
            verdict = known.get(tid)
            stand_ins.append((slot, id_verdict(tid, policy) if verdict is None else verdict, ids.index(tid),
                              bool(tid), bool(tid.strip())))
    try:
        key = marshal.dumps((api, tuple(body), stand_ins, read), 2)
    except ValueError:
        return None
    return (key, ids) if len(key) <= _KEY_MAX else None
