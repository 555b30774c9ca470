"""Property tests: ids built by thread_id() validate, no input makes the checks raise, and the
JSON memo answers as the rules do."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from orq_thread_lint import Policy, Violation
from orq_thread_lint.rules.engine import check_json_request
from orq_thread_lint.rules.request import READ_FIELDS, check_request_node
from orq_thread_lint.rules.thread import Emitter
from orq_thread_lint.values import Text, from_json

POLICY = Policy.from_dict({
    "thread-id": {"patterns": {"user": "user-{user_id}-{session_id}", "ticket": "ticket-{ticket_id:int}",
                               "conv": "conversation-{id:uuid}", "job": "job-{kind:slug}-{n:hex}"}},
    "tags": {"vocabulary": ["support"], "patterns": ["priority-{p:low|high}"], "required": True},
})
STRICT = Policy.preset("strict")

part = st.text(alphabet=string.ascii_letters + string.digits + "_.:-", min_size=1, max_size=30)
slug = st.from_regex(r"[a-z0-9]{1,8}(-[a-z0-9]{1,8}){0,3}", fullmatch=True)


def _assert_valid_or_refused(name: str, **parts: object) -> None:
    try:
        built = POLICY.thread_id(name, **parts)
    except ValueError:
        return
    assert [v for v in POLICY.check_thread({"id": built, "tags": ["support"]})] == []


@given(part, part)
def test_built_user_ids_always_validate(user_id: str, session_id: str) -> None:
    _assert_valid_or_refused("user", user_id=user_id, session_id=session_id)


@given(st.integers(min_value=0, max_value=10**12), st.uuids(), slug, st.integers(min_value=0))
def test_built_typed_ids_always_validate(ticket: int, conv: object, kind: str, n: int) -> None:
    assert POLICY.thread_id("ticket", ticket_id=ticket)
    assert POLICY.thread_id("conv", id=str(conv))
    _assert_valid_or_refused("job", kind=kind, n=format(n, "x"))


@given(st.text(alphabet=string.ascii_lowercase + string.digits, min_size=4, max_size=12),
       st.text(alphabet=string.ascii_lowercase, min_size=4, max_size=12))
def test_plain_parts_are_never_refused(user_id: str, session_id: str) -> None:
    built = POLICY.thread_id("user", user_id=user_id, session_id=session_id)
    assert POLICY.check_thread({"id": built, "tags": ["support"]}) == []


json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=True) | st.text(max_size=40),
    lambda children: st.lists(children, max_size=5) | st.dictionaries(
        st.sampled_from(["orq", "thread", "id", "tags", "identity", "metadata", "thread_id", "threads", "x"])
        | st.text(max_size=8), children, max_size=5),
    max_leaves=30,
)


@settings(max_examples=400)
@given(json_values)
def test_check_request_never_raises(body: object) -> None:
    for policy in (POLICY, STRICT):
        for v in policy.check_request(body):
            assert v.code.startswith("OTL")
        policy.check_thread(body)


@given(st.text(max_size=300))
def test_random_strings_never_raise(text: str) -> None:
    POLICY.check_thread({"id": text, "tags": [text]})
    POLICY.check_request({"orq": {"thread": {"id": text}}, "thread": text})


# The JSON memo (rules.engine.check_json_request) keys a request on its field names and the
# values of READ_FIELDS. These check that claim, and that a memo hit never answers for another body.
field_names = st.sampled_from(["metadata", "orq", "thread", "model", "messages", "identity", "thread_id", "threads", "x"]) \
    | st.text(max_size=8)
bodies = st.dictionaries(field_names, json_values, max_size=6)
headers = st.none() | st.text(max_size=20)


def rules(body: dict[str, object], policy: Policy, header: str | None = None) -> list[Violation]:
    """The request rules run directly on a body: no memo."""
    out: list[Violation] = []
    check_request_node(from_json(body), Emitter(policy, out),
                       header=None if header is None else Text(header, "headers.X-ORQ-THREAD-ID"))
    return out


@settings(max_examples=300)
@given(bodies, st.data())
def test_request_rules_read_only_the_read_fields(body: dict[str, object], data: st.DataObject) -> None:
    other = {k: v if k in READ_FIELDS else data.draw(json_values) for k, v in body.items()}
    for policy in (POLICY, STRICT):
        assert rules(other, policy) == rules(body, policy)


ids = st.sampled_from(["", " ", "conversation1", "user-1-abc", "user-2-abc", " user-3-abc ", "a b",
                      "4111 1111 1111 1111", "x@example.com"]) | st.text(max_size=12)
threads = st.fixed_dictionaries({"id": ids | json_values}, optional={
    "tags": st.lists(st.sampled_from(["support", "billing", "x", 1]), max_size=3), "thread_id": ids})
thread_bodies = st.fixed_dictionaries({}, optional={
    "model": st.just("m"), "orq": st.fixed_dictionaries({"thread": threads}, optional={"identity": json_values}),
    "thread": threads, "metadata": json_values})
LAX = Policy.from_dict({"ignore": ["OTL001", "OTL003", "OTL004", "OTL005", "OTL006", "OTL101"]})


@settings(max_examples=400)
@given(st.lists(st.tuples(thread_bodies | bodies, st.none() | ids), min_size=2, max_size=6))
def test_memo_hits_answer_as_the_rules_do(requests: list[tuple[dict[str, object], str | None]]) -> None:
    for policy in (POLICY, STRICT, LAX):
        fresh = []
        for body, header in requests:
            policy.request_verdicts.clear()
            fresh.append(check_json_request(body, policy, header))
            assert list(fresh[-1][0]) == rules(body, policy, header)
        policy.request_verdicts.clear()
        for (body, header), expected in zip(requests, fresh, strict=True):
            assert check_json_request(body, policy, header) == expected


def test_the_memo_keeps_types_apart() -> None:
    messages = [check_json_request({"orq": {"thread": {"id": ident}}}, POLICY)[0][0].message
                for ident in (1, True, 1.0, 1, True)]
    assert messages == ["thread id must be a string, not int", "thread id must be a string, not bool",
                        "thread id must be a string, not float", "thread id must be a string, not int",
                        "thread id must be a string, not bool"]


def test_the_memo_quotes_the_ids_of_two_threads() -> None:
    for first in ("user-1-abc", "user-2-abc"):
        body = {"orq": {"thread": {"id": first}}, "thread": {"id": "user-9-abc"}}
        messages = [v.message for v in check_json_request(body, POLICY)[0] if v.code == "OTL103"]
        assert messages and all(repr(first) in m for m in messages)


def test_the_memo_knows_a_header_that_repeats_the_thread_id() -> None:
    body = {"orq": {"thread": {"id": "user-1-abc", "tags": ["support"]}}}
    assert check_json_request(body, POLICY, "user-1-abc")[1] == (("user-1-abc", "orq.thread.id"),)
    assert check_json_request(body, POLICY, "user-2-abc")[1] == (
        ("user-1-abc", "orq.thread.id"), ("user-2-abc", "headers.X-ORQ-THREAD-ID"))


# Hostile input (issue 10): random nesting, random re:-free policies, random files never raise,
# and no finding's text carries what the PII detectors recognise.

def _deep(kinds: list[str], leaf: object) -> object:
    value = leaf
    for kind in kinds:  # built in a loop: the test itself must not recurse either
        value = [value] if kind == "list" else {"k": value}
    return value


deep_values = st.builds(_deep, st.lists(st.sampled_from(["list", "dict"]), min_size=1, max_size=3000),
                        json_values)
placements = st.sampled_from([("orq", "thread", "id"), ("orq", "thread", "tags"), ("orq", "identity", "id"),
                              ("thread",), ("metadata",), ("orq", "thread", "x"), ("orq",)])


@settings(max_examples=150, deadline=None)
@given(deep_values, placements, st.booleans())
def test_random_nesting_never_raises(deep: object, where: tuple[str, ...], inside_tags: bool) -> None:
    body: dict[str, object] = {"orq": {"thread": {"id": "user-1-abc", "tags": ["support"]}}}
    node = body
    for key in where[:-1]:
        node = node.setdefault(key, {})  # type: ignore[assignment]
    node[where[-1]] = [deep] if inside_tags else deep
    for policy in (POLICY, STRICT):
        found, _ = check_json_request(body, policy)
        assert all(v.code.startswith("OTL") for v in found)
        policy.check_request(body)


placeholder = st.sampled_from(["{a}", "{n:int}", "{u:uuid}", "{h:hex}", "{s:slug}", "{x:ulid}", "{c:low|high}"])
literal = st.text(alphabet=string.ascii_letters + string.digits + "-_.:/ {}@", min_size=1, max_size=6).map(
    lambda t: t.replace("{", "{{").replace("}", "}}"))
template = st.lists(st.tuples(literal, placeholder), min_size=1, max_size=3).map(
    lambda pairs: "".join(lit + ph for lit, ph in pairs))
sizes = st.integers(min_value=-5, max_value=10**18)
policies = st.fixed_dictionaries({}, optional={
    "thread-id": st.fixed_dictionaries({}, optional={
        "patterns": st.lists(template, max_size=6) | st.dictionaries(st.text(string.ascii_lowercase, min_size=1,
                                                                             max_size=5), template, max_size=4),
        "generic": st.lists(template, max_size=3), "max-length": sizes}),
    "tags": st.fixed_dictionaries({}, optional={
        "vocabulary": st.lists(st.text(max_size=10), max_size=8), "patterns": st.lists(template, max_size=4),
        "max-count": sizes, "max-length": sizes, "required": st.booleans()}),
    "runtime": st.fixed_dictionaries({}, optional={"ttl-seconds": sizes, "store-timeout-ms": sizes,
                                                   "memory-capacity": sizes}),
    "thread-placement": st.sampled_from(["orq", "top-level", "any"]),
})
secrets = st.sampled_from(["alice.smith@example.com", "sk-proj-" + "Ab3" * 10, "+14155550123", "10.0.0.1",
                           "4111 1111 1111 1111", "AKIA" + "ABCDEFGHIJKLMNOP"])


@settings(max_examples=300, deadline=None)
@given(policies, st.lists(thread_bodies | bodies, min_size=1, max_size=4), secrets)
def test_random_policies_and_requests_never_raise_nor_leak(raw: dict[str, object],
                                                           requests: list[dict[str, object]], secret: str) -> None:
    from orq_thread_lint.policy import ConfigError
    from orq_thread_lint.rules.pii import find_pii

    try:
        policy = Policy.from_dict(raw)
    except ConfigError as exc:
        assert str(exc).startswith("<config>:")
        return
    leaky = {"orq": {"thread": {"id": secret + " ", "tags": [secret, secret, f"{secret}\t"], secret: 1}},
             "thread": {"id": secret}}
    for body in [*requests, leaky]:
        found, _ = check_json_request(body, policy)
        for v in found:
            assert v.code.startswith("OTL")
        for v in check_json_request(leaky, policy)[0]:
            for text in (v.message, v.path, v.suggestion or ""):
                assert secret not in text and find_pii(text) is None, text


json_text = st.recursive(
    st.sampled_from(["1", "-0.5e3", "true", "null", '"x"', '"\\u00e9\\""', '"a,]}"', "9" * 5000, "[]", "{}"]),
    lambda inner: st.lists(inner, max_size=4).map(lambda xs: "[" + ",".join(xs) + "]")
    | st.lists(st.tuples(st.sampled_from(['"orq"', '"thread"', '"id"', '"tags"', '"x"']), inner), max_size=4).map(
        lambda kvs: "{" + ",".join(f"{k}:{v}" for k, v in kvs) + "}"),
    max_leaves=20,
)
noise = st.sampled_from(["", " ", "\n", ",", "]", "[", "{", '"', "\\", "\xff", "\r\n", "[" * 3000])


@settings(max_examples=300, deadline=None)
@given(st.lists(st.tuples(json_text, noise), max_size=6), st.sampled_from(["log.jsonl", "a.json", "b.txt"]),
       st.booleans())
def test_random_files_never_raise(pieces: list[tuple[str, str]], name: str, array: bool) -> None:
    import tempfile
    from pathlib import Path

    from orq_thread_lint.audit import validate

    text = ("[" if array else "") + ("," if array else "\n").join(j + n for j, n in pieces) + ("]" if array else "")
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / name
        path.write_bytes(text.encode("utf-8", "surrogateescape").replace(b"\xc3\xbf", b"\xff"))
        for finding in validate([str(path)], STRICT):
            assert finding.code.startswith("OTL") and finding.row >= 1 and finding.column >= 1
