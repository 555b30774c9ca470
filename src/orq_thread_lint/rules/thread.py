"""The value rules for one thread object: its id (OTL001-OTL006), its tags (OTL010-OTL016)
and its fields (OTL015). Written once; the static checker, the runtime guard and ``validate``
all call :func:`check_thread_node`.

One value, one finding: personal data (OTL006) silences OTL003/OTL004/OTL011 for that value,
and a generic id (OTL003) silences OTL004. Messages quote values through
:func:`~orq_thread_lint.rules.redact.show`; the emitter withholds any text that would still
carry personal data.
"""

from __future__ import annotations

import difflib
import re
import weakref
from collections.abc import Callable
from typing import TYPE_CHECKING

from ..values import List, Mapping, Node, Partial, Scalar, Text, Unknown
from ..violations import Violation
from .catalog import RULES
from .pii import find_pii
from .redact import WITHHELD, clean, key_path, redacted, show

if TYPE_CHECKING:
    from ..policy import Policy

THREAD_FIELDS = ("id", "tags")
_ID_ALIASES = {"threadid", "thread_id", "thread-id", "uuid", "_id", "identifier", "key"}
_GENERIC_WORDS = (
    "conversation", "convo", "thread", "session", "chat", "test", "testing", "default", "demo",
    "example", "sample", "foo", "bar", "baz", "qux", "tmp", "temp", "user", "id", "abc", "xyz",
    "dummy", "placeholder", "hello", "new", "null", "none", "undefined", "string", "todo",
    "changeme", "untitled", "main", "my-thread", "my-conversation", "my-session", "my-chat",
    "thread-id", "session-id", "conversation-id", "chat-id", "user-id", "test-thread",
    "test-conversation", "test-session", "new-thread", "new-conversation", "default-thread",
)
_GENERIC = frozenset(_GENERIC_WORDS)
_VERDICTS_MAX = 8192
# Texts longer than this are checked each time rather than kept: with messages of bounded size
# (quoted values are shortened, pattern lists cut), a full verdict cache stays within a few MB.
_VERDICT_TEXT_MAX = 256
LISTED_MAX = 5  # patterns a message names before "and N more"
_SUGGEST_MAX = 500  # choices a "did you mean" compares a tag with
_BAD_CHAR = re.compile(r"[\s\x00-\x1f\x7f-\x9f]")


class Emitter:
    """Collects violations for the enabled rules. ``seen``, when given, is told of every thread
    the rules check (``init`` learns a policy from them)."""

    __slots__ = ("out", "policy", "seen")

    def __init__(self, policy: Policy, out: list[Violation], seen: Callable[[Node], None] | None = None) -> None:
        self.policy = policy
        self.out = out
        self.seen = seen

    def on(self, code: str) -> bool:
        return code in self.policy.enabled_codes

    def __call__(self, code: str, message: str, node: Node | None = None, *, path: str | None = None,
                 anchor: object = None, suggestion: str | None = None) -> None:
        if code not in self.policy.enabled_codes:
            return
        rule = RULES[code]
        where = path if path is not None else (node.path if node else "")
        # The one place findings are written: nothing a PII detector recognises gets past it.
        if not clean(message):
            message = WITHHELD
        if not clean(suggestion):
            suggestion = None
        if not clean(where):
            where = redacted("personal data")
        self.out.append(Violation(
            code, rule.name, message, where,
            rule.severity, suggestion, anchor if anchor is not None else (node.anchor if node else None),
        ))


def is_generic(value: str, policy: Policy) -> bool:
    if len(value) <= 3 or value.isdigit():
        return True
    low = value.lower().replace("_", "-").replace(" ", "-").replace(".", "-")
    stem = low.rstrip("0123456789")
    if len(low) - len(stem) <= 4 and (stem in _GENERIC or (stem[:-1] in _GENERIC and stem[-1] == "-")):
        return True
    generic = policy.generic
    return bool(generic.templates) and len(value) <= policy.config.thread_id.max_length and generic.matches(value)


def _format_problem(text: str) -> str | None:
    if text.isascii() and text.isprintable() and " " not in text:
        return None
    if _BAD_CHAR.search(text):
        return "whitespace or control characters"
    return "non-ASCII characters"


Verdict = tuple[tuple[str, str, str | None], ...]
Verdicts = dict[str, Verdict]


def _verdict(text: str, policy: Policy, cache: Verdicts, check: Callable[[Node, Emitter], None]) -> Verdict:
    """The findings of ``check`` on a known string, once per policy and text.

    A known value's findings depend only on its text and the policy: a conversation sends the
    same id with every turn, and tags come from a small vocabulary. The cache is bounded."""
    verdict = cache.get(text)
    if verdict is None:
        found: list[Violation] = []
        check(Text(text, ""), Emitter(policy, found))
        verdict = tuple((v.code, v.message, v.suggestion) for v in found) if found else ()
        if len(text) <= _VERDICT_TEXT_MAX:
            if len(cache) >= _VERDICTS_MAX:
                cache.clear()
            cache[text] = verdict
    return verdict


def _replay(node: Text, emit: Emitter, cache: Verdicts, check: Callable[[Node, Emitter], None]) -> None:
    for code, message, suggestion in _verdict(node.value, emit.policy, cache, check):
        emit(code, message, node, suggestion=suggestion)


def id_verdict(text: str, policy: Policy) -> Verdict:
    """What :func:`check_id` finds in a known id: (code, message, suggestion) for each finding."""
    return _verdict(text, policy, policy.id_verdicts, _check_id)


def check_id(node: Node, emit: Emitter) -> None:
    """OTL001-OTL006 for one thread id."""
    if isinstance(node, Text):
        _replay(node, emit, emit.policy.id_verdicts, _check_id)
    else:
        _check_id(node, emit)


def _check_id(node: Node, emit: Emitter) -> None:
    if isinstance(node, Unknown):
        return
    if isinstance(node, Scalar) and node.kind == "null":
        emit("OTL001", "thread id is null", node)
        return
    if not isinstance(node, (Text, Partial)):
        kind = node.kind if isinstance(node, Scalar) else ("list" if isinstance(node, List) else "dict")
        emit("OTL002", f"thread id must be a string, not {kind}", node,
             suggestion="str(...)" if kind == "UUID" else None)
        return
    policy = emit.policy
    on = policy.enabled_codes
    max_len = policy.config.thread_id.max_length
    if isinstance(node, Text):
        value = node.value
        if not value.strip():
            emit("OTL001", "thread id is empty" if not value else "thread id is blank", node)
            return
        if "OTL005" in on:
            if len(value) > max_len:
                emit("OTL005", f"thread id is {len(value)} characters long (thread-id.max-length is {max_len})", node)
            problem = _format_problem(value)
            if problem:
                stripped = value.strip()
                clean = stripped != value and not _format_problem(stripped)
                hint = "strip the surrounding whitespace" if clean else None
                emit("OTL005", f"thread id {show(value)} contains {problem}", node, suggestion=hint)
        pii = "OTL006" in on and find_pii(value)
    else:
        pieces = node.literals
        if "OTL005" in on:
            fixed = sum(len(p) for p in pieces)
            if fixed > max_len:
                emit("OTL005", f"thread id is at least {fixed} characters long (thread-id.max-length is {max_len})",
                     node)
            problem = next((p for p in map(_format_problem, pieces) if p), None)
            if problem:
                emit("OTL005", f"thread id {show(node)} contains {problem}", node)
        pii = "OTL006" in on and next((p for p in map(find_pii, pieces) if p), None)
    if pii:
        emit("OTL006", f"thread id holds {pii}; ids are shown in dashboards and logs", node,
             suggestion="use an opaque id (a UUID or a database key)")
        return
    patterns = policy.id_patterns
    if isinstance(node, Text):
        if "OTL003" in on and is_generic(node.value, policy):
            emit("OTL003", f"thread id {show(node)} is generic; unrelated conversations will share it", node,
                 suggestion="build the id from the user and session, e.g. 'user-{user_id}-{session_id}'")
            return
        if patterns.templates and "OTL004" in on and patterns.match(node.value) is None:
            emit("OTL004", f"thread id {show(node)} matches none of the thread-id patterns ({_list(policy)})", node)
    elif patterns.templates and "OTL004" in on and not patterns.could_match(node.shape()):
        emit("OTL004", f"thread id {show(node)} can't match any thread-id pattern ({_list(policy)})", node)


def _list(policy: Policy) -> str:
    """The thread-id patterns, the first few by name and the rest counted (messages stay small)."""
    templates = policy.id_patterns.templates
    shown = ", ".join(t.source if len(t.source) <= 80 else f"{t.source[:80]}…" for t in templates[:LISTED_MAX])
    more = len(templates) - LISTED_MAX
    return f"{shown} and {more:,} more" if more > 0 else shown


_TAG_CHOICES: weakref.WeakKeyDictionary[Policy, dict[str, list[str]]] = weakref.WeakKeyDictionary()


def _tag_choices(value: str, policy: Policy) -> list[str]:
    """What a "did you mean" compares a tag with: every vocabulary word and tag pattern, or past
    :data:`_SUGGEST_MAX` of them, those that start like the tag (at most that many)."""
    index = _TAG_CHOICES.get(policy)
    if index is None:
        choices = sorted(policy.vocabulary) + [t.source for t in policy.tag_patterns.templates]
        index = {"": choices[:_SUGGEST_MAX + 1]}
        if len(choices) > _SUGGEST_MAX:
            for choice in choices:
                group = index.setdefault(choice[:1].lower(), [])
                if len(group) < _SUGGEST_MAX:
                    group.append(choice)
        _TAG_CHOICES[policy] = index
    everything = index[""]
    return everything if len(everything) <= _SUGGEST_MAX else index.get(value[:1].lower(), [])


def _closest_tag(value: str, policy: Policy) -> str | None:
    if len(value) > 2 * policy.config.tags.max_length:
        return None  # nothing that long is close to a tag that fits
    choices = _tag_choices(value, policy)
    close = difflib.get_close_matches(value, choices, n=1, cutoff=0.6)
    if not close:
        close = difflib.get_close_matches(value.lower(), [c.lower() for c in choices], n=1, cutoff=0.6)
        close = [c for c in choices if c.lower() in close][:1]
    return close[0] if close else None


def check_tag(node: Node, emit: Emitter) -> None:
    """OTL006, OTL010, OTL011 and OTL013 for one tag."""
    if isinstance(node, Text):
        _replay(node, emit, emit.policy.tag_verdicts, _check_tag)
    else:
        _check_tag(node, emit)


def _check_tag(node: Node, emit: Emitter) -> None:
    if isinstance(node, Unknown):
        return
    if not isinstance(node, (Text, Partial)):
        kind = node.kind if isinstance(node, Scalar) else ("list" if isinstance(node, List) else "dict")
        emit("OTL010", f"tag must be a string, not {kind}", node)
        return
    policy = emit.policy
    cfg = policy.config.tags
    if isinstance(node, Text) and node.value in policy.vocabulary and len(node.value) <= cfg.max_length and (
            node.value.isprintable() and " " not in node.value):
        return  # a well-formed vocabulary word: nothing left to prove
    pieces = [node.value] if isinstance(node, Text) else node.literals
    if emit.on("OTL013"):
        if isinstance(node, Text) and not node.value:
            emit("OTL013", "tag is empty", node)
            return
        size = sum(len(p) for p in pieces)
        if size > cfg.max_length:
            emit("OTL013", f"tag is {'at least ' if isinstance(node, Partial) else ''}{size} characters long "
                           f"(tags.max-length is {cfg.max_length})", node)
        if any(_BAD_CHAR.search(p) for p in pieces):
            emit("OTL013", f"tag {show(node)} contains whitespace or control characters", node)
    pii = emit.on("OTL006") and next((p for p in map(find_pii, pieces) if p), None)
    if pii:
        emit("OTL006", f"tag holds {pii}; tags are shown in dashboards and logs", node)
        return
    if not (policy.vocabulary or policy.tag_patterns) or not emit.on("OTL011"):
        return
    if isinstance(node, Text):
        if node.value in policy.vocabulary or policy.tag_patterns.matches(node.value):
            return
        close = _closest_tag(node.value, policy)
        hint = f"; did you mean {close!r}?" if close else ""
        emit("OTL011", f"tag {show(node)} is not in the tag vocabulary or patterns{hint}", node, suggestion=close)
    elif not policy.tags_allowed.could_match(node.shape()):
        emit("OTL011", f"tag {show(node)} can't match the tag vocabulary or patterns", node)


def check_tags(tags: Node | None, emit: Emitter, thread: Mapping, suggested: set[str]) -> None:
    """OTL010, OTL012, OTL014, OTL016 for the tags field, then each tag."""
    cfg = emit.policy.config.tags
    if tags is None:
        if cfg.required and not thread.open and "tags" not in suggested:
            emit("OTL016", "thread has no tags (tags.required is set)", thread, path=f"{thread.path}.tags")
        return
    if isinstance(tags, Unknown):
        return
    if not isinstance(tags, List):
        if isinstance(tags, (Text, Partial)):
            emit("OTL010", "tags must be a list of strings, not a string", tags, suggestion=f"[{show(tags)}]")
        else:
            kind = tags.kind if isinstance(tags, Scalar) else "dict"
            emit("OTL010", f"tags must be a list of strings, not {kind}", tags)
        return
    items = tags.items
    if not items and not tags.open and cfg.required:
        emit("OTL016", "thread has an empty tag list (tags.required is set)", tags)
    if len(items) > cfg.max_count:
        emit("OTL014", f"thread has {'at least ' if tags.open else ''}{len(items)} tags "
                       f"(tags.max-count is {cfg.max_count})", tags)
    seen: set[str] = set()
    for item in items:
        if isinstance(item, Text):
            if item.value in seen:
                emit("OTL012", f"tag {show(item)} appears more than once", item, suggestion="drop the repeated tag")
                continue
            seen.add(item.value)
        check_tag(item, emit)


def check_thread_node(node: Node, emit: Emitter) -> None:
    """Every value rule for one thread (the value found at ``orq.thread`` or ``thread``)."""
    if isinstance(node, Unknown):
        return
    if emit.seen is not None:
        emit.seen(node)
    if not isinstance(node, Mapping):
        what = "null" if isinstance(node, Scalar) and node.kind == "null" else (
            "a string" if isinstance(node, (Text, Partial)) else "not an object")
        emit("OTL001", f"thread is {what}; it must be an object with an 'id'", node,
             suggestion='{"id": ...}' if isinstance(node, (Text, Partial)) else None)
        return
    suggested: set[str] = set()
    for key in node.keys():
        if key in THREAD_FIELDS:
            continue
        low = key.lower()
        matches = ["id"] if low in _ID_ALIASES or low == "id" else difflib.get_close_matches(
            low, THREAD_FIELDS, n=1, cutoff=0.6)
        close = matches[0] if matches else None
        if close and close not in node.keys():
            suggested.add(close)
        hint = f"; did you mean {close!r}?" if close else " (a thread has only 'id' and 'tags')"
        emit("OTL015", f"unknown thread field {show(key)}{hint}", path=key_path(node.path, key),
             anchor=node.key_anchor(key), suggestion=close)
    ident = node.get("id")
    if ident is None:
        if not node.open and "id" not in suggested:
            emit("OTL001", "thread has no id", node, path=f"{node.path}.id")
    else:
        check_id(ident, emit)
    check_tags(node.get("tags"), emit, node, suggested)
