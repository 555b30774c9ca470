"""OTL008 thread-split: a request continues an earlier request's conversation under another thread id.

A request continues an earlier one when its messages (chat ``messages``, Responses ``input``
items) start with all of the earlier request's messages plus at least one more. Requests are
compared by fingerprints, never by content: a keyed hash of each normalised message list. A
request's own fingerprint is bound to its thread id; to check it, the fingerprints of its
prefixes that could be an earlier request are looked up: the messages before the last run of
model output (assistant messages, function calls, reasoning), and before each earlier run, at
most :data:`MAX_PREFIXES`. The longest prefix found decides.

One source of truth: the runtime guard (through its store) and ``validate`` (through
:class:`Index`) share the boundaries and normalisation of the fingerprinters, :func:`bound` and
:func:`split` (which :class:`Index` applies to its entries inline: it runs for every record).
"""

from __future__ import annotations

import hashlib
import json
from collections import OrderedDict
from collections.abc import Sequence
from typing import Any, NamedTuple

from ..violations import Violation
from .catalog import RULES
from .pii import find_pii

MAX_PREFIXES = 8
# What a fingerprint holds once two threads sent exactly those messages (two conversations that
# open alike, or a retry under a new id): it proves nothing, so it convicts nobody.
AMBIGUOUS = "*"
# Items the model produced in a turn: a conversation's next request starts after them.
_OUTPUT_TYPES = frozenset({
    "function_call", "reasoning", "web_search_call", "file_search_call", "computer_call",
    "image_generation_call", "code_interpreter_call", "local_shell_call", "mcp_call", "mcp_list_tools",
    "mcp_approval_request", "custom_tool_call",
})
_THREADS_MAX = 4096
# What identifies a message; everything else (ids of output items, refusal: null ...) is left out.
_FIELDS = ("role", "type", "content", "tool_calls", "tool_call_id", "call_id", "name", "arguments", "output")


class Fingerprints(NamedTuple):
    """A request's own fingerprint (``None``: it starts nothing) and those of the earlier
    requests it may continue, longest first."""

    full: bytes | None
    prefixes: tuple[bytes, ...]


NOTHING = Fingerprints(None, ())


def messages_of(body: dict[str, Any]) -> list[Any] | None:
    """The conversation a request body carries: chat ``messages`` or Responses ``input`` items."""
    messages = body.get("messages")
    if type(messages) is list:
        return messages
    items = body.get("input")
    return items if type(items) is list else None


class Fingerprinter:
    """Keyed hashes (BLAKE2b, 16 bytes) of message lists and thread ids.

    The key keeps a store's reader from testing guesses of what was said; processes that share a
    store must share the key."""

    __slots__ = ("_base", "_threads")

    def __init__(self, secret: bytes) -> None:
        self._base = hashlib.blake2b(key=secret[:64], digest_size=16, person=b"orq-thread-lint")
        self._threads: dict[str, str] = {}  # the turns of a conversation repeat their thread id

    def thread(self, thread_id: str) -> str:
        """What the stores keep for a thread id: a keyed hash, not the id."""
        known = self._threads.get(thread_id)
        if known is not None:
            return known
        h = self._base.copy()
        h.update(b"thread\x00" + thread_id.encode("utf-8", "surrogatepass"))
        if len(self._threads) >= _THREADS_MAX:
            self._threads.clear()
        known = self._threads[thread_id] = h.hexdigest()
        return known

    def fingerprints(self, messages: Sequence[Any] | None) -> Fingerprints:
        """One pass of hashing over the messages: the running hash is read at each boundary.

        The common message (a dict of a string role and a string content) is encoded inline and
        the text between two boundaries is hashed in one piece: this runs for every request."""
        if messages is None or len(messages) < 2:
            return NOTHING  # a one-message request starts nothing and continues nothing
        h = self._base.copy()
        cuts: list[bytes] = []
        pieces: list[str] = []
        before = False  # whether the previous message was model output
        for i, message in enumerate(messages):
            if type(message) is dict and len(message) == 2:
                role, content = message.get("role"), message.get("content")
                if type(role) is str and type(content) is str:
                    output = role == "assistant"
                    if output and not before and i >= 2:
                        h.update("".join(pieces).encode("utf-8", "surrogatepass"))
                        pieces.clear()
                        cuts.append(h.digest())  # the messages before this run of output: an earlier request?
                    before = output
                    pieces.append(f"m{len(role)}:{role}{len(content)}:{content}")
                    continue
            output = _is_output(message)
            if output and not before and i >= 2:
                h.update("".join(pieces).encode("utf-8", "surrogatepass"))
                pieces.clear()
                cuts.append(h.digest())
            before = output
            pieces.append(_encode(message))
        h.update("".join(pieces).encode("utf-8", "surrogatepass"))
        cuts.reverse()
        return Fingerprints(h.digest(), tuple(cuts[:MAX_PREFIXES]))


class LocalFingerprinter:
    """:class:`Fingerprinter`'s boundaries and normalisation, hashed with Python's own keyed hash
    (SipHash under a key drawn for each process) instead of BLAKE2b: for indexes that never leave
    the process (``validate``, the in-memory store), where it costs a fraction. A chain: each
    message's identity is hashed with the hash of the messages before it, so a boundary's
    fingerprint is the chain where it stands: one hash per message, however many boundaries
    (hashing each boundary's list cost more for long conversations). The fingerprints of two
    message lists are equal exactly when :class:`Fingerprinter`'s are (up to collisions of 64-bit
    hashes), which the property tests check."""

    __slots__ = ()

    def thread(self, thread_id: str) -> str:
        return thread_id  # in-process only: nothing to hide

    def fingerprints(self, messages: Sequence[Any] | None) -> Fingerprints:
        if messages is None or len(messages) < 2:
            return NOTHING
        h = 0
        cuts: list[int] = []
        before = False  # whether the previous message was model output
        for n, message in enumerate(messages):
            if type(message) is dict and len(message) == 2:
                role, content = message.get("role"), message.get("content")
                if type(role) is str and type(content) is str:
                    output = role == "assistant"
                    if output and not before and n >= 2:  # the messages before this run of output
                        cuts.append(h)
                    before = output
                    h = hash((h, role, content))
                    continue
            output = _is_output(message)
            if output and not before and n >= 2:
                cuts.append(h)
            before = output
            item = _item(message)
            h = hash((h, *item)) if type(item) is tuple else hash((h, item))  # as the inline path hashes it
        return Fingerprints(h.to_bytes(8, "little", signed=True),
                            tuple([c.to_bytes(8, "little", signed=True) for c in cuts[:-MAX_PREFIXES - 1:-1]]))


def bound(previous: str | None, owner: str) -> str:
    """What a fingerprint holds after a request with thread ``owner`` sent exactly its messages."""
    return owner if previous is None or previous == owner else AMBIGUOUS


def split(found: Sequence[str | None], owner: str) -> int | None:
    """Index (into the prefixes, longest first) of the earlier request ``owner`` splits from.

    The longest prefix that any request sent decides: when it carries this thread (or is
    ambiguous) the request is no split, even if a shorter one was sent under another id; that
    split was reported at its own request."""
    for i, previous in enumerate(found):
        if previous is None:
            continue
        return None if previous in (owner, AMBIGUOUS) else i
    return None


def thread_split(path: str, thread_id: str | None, earlier: str | None = None, earlier_id: str | None = None,
                 ) -> Violation:
    """The OTL008 finding; ``earlier`` says where the earlier request is (``validate``)."""
    rule = RULES["OTL008"]
    if earlier is None:
        before = "an earlier request sent under another thread id"
    else:
        before = f"the request at {earlier} (thread id {_shown(earlier_id)})"
    now = f"thread id {_shown(thread_id)}" if thread_id is not None else "no thread id"
    return Violation(
        rule.code, rule.name,
        f"request continues the conversation of {before} but carries {now}; its turns will not group in one thread",
        path, rule.severity, "mint the thread id once per conversation and send it with every turn",
    )


class Earlier(NamedTuple):
    """What ``validate`` keeps per fingerprint: the thread, its id and where it was first sent."""

    owner: str
    thread_id: str | None
    where: str
    time: float


class Index:
    """``validate``'s fingerprint store: the earliest request per fingerprint, at most
    ``capacity`` of them, and none older than ``ttl`` seconds before the latest request (when
    requests carry a time). Memory is bounded by the fingerprints kept, not by the log."""

    def __init__(self, capacity: int, ttl: float | None = None) -> None:
        self.capacity = capacity
        self.ttl = ttl
        self._kept: OrderedDict[bytes, Earlier] = OrderedDict()

    def __len__(self) -> int:
        return len(self._kept)

    def check(self, prints: Fingerprints, thread_id: str | None, where: str, time: float = 0.0,
              ) -> Earlier | None:
        """The earlier request this one splits from (``None``: no split); then bind it."""
        kept = self._kept
        if self.ttl is not None:
            while kept:
                oldest = next(iter(kept.values()))
                if oldest.time >= time - self.ttl:
                    break
                kept.popitem(last=False)
        owner = thread_id if thread_id is not None else ""
        hit: Earlier | None = None
        for p in prints.prefixes:  # `split`'s rule, on the entries themselves: the longest one sent decides
            earlier = kept.get(p)
            if earlier is not None:
                if earlier.owner != owner and earlier.owner != AMBIGUOUS:
                    hit = earlier
                break
        if prints.full is not None and thread_id is not None:
            previous = kept.get(prints.full)
            if previous is None:
                kept[prints.full] = Earlier(owner, thread_id, where, time)
                if len(kept) > self.capacity:
                    kept.popitem(last=False)
            elif previous.owner != owner and previous.owner != AMBIGUOUS:
                kept[prints.full] = Earlier(AMBIGUOUS, None, previous.where, previous.time)
        return hit


def _shown(thread_id: str | None) -> str:
    """An id as a message may quote it: never one that holds personal data (OTL006 says which)."""
    if thread_id is None:
        return "none"
    kind = find_pii(thread_id)
    return f"<withheld: it holds {kind}>" if kind else repr(thread_id)


def _is_output(message: Any) -> bool:
    if type(message) is dict:
        role = message.get("role")
        return role == "assistant" or (role is None and message.get("type") in _OUTPUT_TYPES)
    role = getattr(message, "role", None)
    return role == "assistant" or (role is None and getattr(message, "type", None) in _OUTPUT_TYPES)


def _encode(message: Any) -> str:
    """A message's identity as text: role and content (with its parts), tool calls by id and
    arguments, the tool call a result answers. Unambiguous (lengths are spelt out) and the same
    for a dict, the dict with empty fields, and the SDK model it was dumped from."""
    item = _item(message)
    if isinstance(item, tuple):
        role, content = item
        return f"m{len(role)}:{role}{len(content)}:{content}"  # as the inline path encodes it
    return item


def _item(message: Any) -> tuple[str, str] | str:
    """:func:`_encode`'s identity of a message: a string role and a string content as a pair,
    anything else as its text."""
    plain = isinstance(message, dict)
    fields: dict[str, Any] = {}
    for key in _FIELDS:
        value = message.get(key) if plain else getattr(message, key, None)
        if value is None or value == [] or (key == "type" and value == "message"):
            continue
        fields[key] = _tool_calls(value) if key == "tool_calls" else _plain(value)
    role, content = fields.get("role"), fields.get("content")
    if len(fields) == 2 and type(role) is str and type(content) is str:
        return role, content
    if not fields:  # not a message at all: keep what it is, so it still tells requests apart
        fields = {"value": _plain(message)}
    text = json.dumps(fields, sort_keys=True, ensure_ascii=False, separators=(",", ":"), default=repr)
    return f"j{len(text)}:{text}"


def _tool_calls(calls: Any) -> Any:
    if not isinstance(calls, list):
        return _plain(calls)
    out = []
    for call in calls:
        call = _plain(call)
        if isinstance(call, dict):
            function = call.get("function")
            arguments = function.get("arguments") if isinstance(function, dict) else call.get("arguments")
            out.append([call.get("id"), arguments])
        else:
            out.append(call)
    return out


def _plain(value: Any) -> Any:
    """JSON-like data from what a request may hold (SDK models are dumped as the SDK sends them)."""
    if isinstance(value, (str, int, float, bool)) or value is None:
        return value
    if isinstance(value, dict):
        return {str(k): _plain(v) for k, v in value.items() if v is not None}
    if isinstance(value, (list, tuple)):
        return [_plain(v) for v in value]
    dump = getattr(value, "model_dump", None)
    if callable(dump):
        return _plain(dump(exclude_none=True))
    return repr(value)
