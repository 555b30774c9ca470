"""Property tests: ids built by thread_id() validate, and no input makes the checks raise."""

from __future__ import annotations

import string

from hypothesis import given, settings
from hypothesis import strategies as st

from orq_thread_lint import Policy

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
