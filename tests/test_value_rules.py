"""The value rules through the Python API (the same functions every front end calls)."""

from __future__ import annotations

import uuid

import pytest

from orq_thread_lint import Policy
from orq_thread_lint.rules.pii import find_pii

REC = Policy.preset()
PATTERNS = Policy.from_dict({
    "thread-id": {"patterns": ["user-{user_id}-{session_id}", "ticket-{ticket_id:int}"], "max-length": 40},
    "tags": {"vocabulary": ["support", "billing"], "patterns": ["priority-{level:low|medium|high}"],
             "max-count": 3, "max-length": 16},
})


def codes(policy: Policy, thread: object) -> list[str]:
    return [v.code for v in policy.check_thread(thread)]


@pytest.mark.parametrize(
    ("thread", "expected"),
    [
        ({"id": "user-42-9f1c"}, []),
        ({}, ["OTL001"]),
        ({"id": ""}, ["OTL001"]),
        ({"id": "   "}, ["OTL001"]),
        ({"id": None}, ["OTL001"]),
        ("user-42-9f1c", ["OTL001"]),
        ({"id": 42}, ["OTL002"]),
        ({"id": uuid.uuid4()}, ["OTL002"]),
        ({"id": ["a"]}, ["OTL002"]),
        ({"id": "conversation1"}, ["OTL003"]),
        ({"id": "test-123"}, ["OTL003"]),
        ({"id": "Session_2"}, ["OTL003"]),
        ({"id": "12345"}, ["OTL003"]),
        ({"id": "a1b"}, ["OTL003"]),
        ({"id": "conversation-7f3a9"}, []),
        ({"id": "x" * 129}, ["OTL005"]),
        ({"id": "user-42 "}, ["OTL005"]),
        ({"id": "user-42-ü"}, ["OTL005"]),
        ({"id": "user-42\n"}, ["OTL005"]),
        ({"id": "jane@example.com"}, ["OTL006"]),
        ({"id": "user-+14155550123"}, ["OTL006"]),
        ({"id": "card-4111-1111-1111-1111"}, ["OTL006"]),
        ({"id": "ip-192.168.10.20"}, ["OTL006"]),
        ({"id": "sk-proj-abcdefghijklmnopqrstuvwxyz123456"}, ["OTL006"]),
        ({"id": "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0In0.sig"}, ["OTL006"]),
        ({"id": "user-42-9f1c", "tags": "support"}, ["OTL010"]),
        ({"id": "user-42-9f1c", "tags": None}, ["OTL010"]),
        ({"id": "user-42-9f1c", "tags": ["ok", 3]}, ["OTL010"]),
        ({"id": "user-42-9f1c", "tags": ["a", "a"]}, ["OTL012"]),
        ({"id": "user-42-9f1c", "tags": [""]}, ["OTL013"]),
        ({"id": "user-42-9f1c", "tags": ["a b"]}, ["OTL013"]),
        ({"id": "user-42-9f1c", "tags": ["t"] * 11}, ["OTL014", *["OTL012"] * 10]),
        ({"id": "user-42-9f1c", "tag": ["a"]}, ["OTL015"]),
        ({"ID": "user-42-9f1c"}, ["OTL015"]),
        ({"id": "user-42-9f1c", "name": "x"}, ["OTL015"]),
    ],
)
def test_thread_rules_recommended(thread: object, expected: list[str]) -> None:
    assert codes(REC, thread) == expected


@pytest.mark.parametrize(
    ("thread", "expected"),
    [
        ({"id": "user-1-2", "tags": ["support", "priority-high"]}, []),
        ({"id": "ticket-77"}, []),
        ({"id": "support-77"}, ["OTL004"]),
        ({"id": "conversation1"}, ["OTL003"]),  # generic, not also OTL004
        ({"id": "jane@example.com"}, ["OTL006"]),  # personal data, not also OTL004
        ({"id": "user-1-2", "tags": ["suport"]}, ["OTL011"]),
        ({"id": "user-1-2", "tags": ["priority-urgent"]}, ["OTL011"]),
        ({"id": "user-1-2", "tags": ["jane@example.com"]}, ["OTL006"]),  # not also OTL011
        ({"id": "user-1-2", "tags": ["support", "billing", "priority-low", "priority-high"]}, ["OTL014"]),
        ({"id": "user-1-2", "tags": ["priority-medium-x"]}, ["OTL013"]),  # too long, not also OTL011
        ({"id": "user-1-" + "x" * 40}, ["OTL005"]),
    ],
)
def test_thread_rules_with_patterns(thread: object, expected: list[str]) -> None:
    assert codes(PATTERNS, thread) == expected


def test_unknown_tag_suggests_the_closest_allowed_tag() -> None:
    (v,) = PATTERNS.check_thread({"id": "user-1-2", "tags": ["Billing"]})
    assert v.suggestion == "billing" and "did you mean 'billing'?" in v.message
    assert v.path == "thread.tags[0]"


def test_required_tags() -> None:
    policy = Policy.from_dict({"tags": {"required": True}})
    assert codes(policy, {"id": "user-42-9f1c"}) == ["OTL016"]
    assert codes(policy, {"id": "user-42-9f1c", "tags": []}) == ["OTL016"]
    assert codes(policy, {"id": "user-42-9f1c", "tags": ["a1"]}) == []


def test_custom_generic_ids() -> None:
    policy = Policy.from_dict({"thread-id": {"generic": ["acme-bot", "re:^tenant-\\d+$"]}})
    assert codes(policy, {"id": "acme-bot"}) == ["OTL003"]
    assert codes(policy, {"id": "tenant-12"}) == ["OTL003"]
    assert codes(policy, {"id": "tenant-12-user-9"}) == []


def body(**kw: object) -> dict[str, object]:
    return {"model": "gpt-4o", "messages": [], **kw}


@pytest.mark.parametrize(
    ("policy", "request_body", "expected"),
    [
        (REC, body(orq={"thread": {"id": "user-42-9f1c"}}), []),
        (REC, body(thread={"id": "user-42-9f1c"}), []),
        (REC, body(), ["OTL101"]),
        (REC, body(metadata={"thread_id": "user-42-9f1c"}), ["OTL103"]),
        (REC, body(thread_id="user-42-9f1c"), ["OTL103"]),
        (REC, body(orq={"identity": {"id": "u1", "thread": {"id": "user-42-9f1c"}}}), ["OTL103"]),
        (REC, body(orq={"thread": {"id": "user-42-9f1c"}}, thread={"id": "user-43-9f1c"}), ["OTL103"]),
        (REC, body(orq={"thread": {"id": "user-42-9f1c"}}, thread={"id": "user-42-9f1c"}), []),
        (REC, body(orq={"threads": {"id": "user-42-9f1c"}}), ["OTL015"]),
        (REC, body(Thread={"id": "user-42-9f1c"}), ["OTL015"]),
        (REC, body(orq={"identity": {"id": "u"}, "retry": {"count": 2}, "cache": {}, "thread": {"id": "user-42-9f1c"}}), []),
        (Policy.preset("strict"), body(thread={"id": "user-42-9f1c", "tags": ["x1"]}), ["OTL103"]),
        (Policy.from_dict({"thread-placement": "top-level"}), body(orq={"thread": {"id": "user-42-9f1c"}}), ["OTL103"]),
        (REC, body(orq={"thread": {"id": "conversation1"}}), ["OTL003"]),
        (REC, [1, 2], []),
    ],
)
def test_request_rules(policy: Policy, request_body: object, expected: list[str]) -> None:
    assert [v.code for v in policy.check_request(request_body)] == expected


def test_paths_point_into_the_request() -> None:
    (v,) = REC.check_request(body(orq={"thread": {"id": "user-42-9f1c", "tags": ["a", "a"]}}))
    assert v.path == "orq.thread.tags[1]" and v.name == "duplicate-tag" and v.severity == "warning"


def test_ignored_rules_neither_report_nor_silence_others() -> None:
    policy = Policy.from_dict({"ignore": ["OTL003"], "thread-id": {"patterns": ["user-{u}-{s}"]}})
    assert [v.code for v in policy.check_thread({"id": "conversation1"})] == ["OTL004"]


@pytest.mark.parametrize(
    "text",
    ["user-42-9f1c", "ticket-4111", "batch-2024-01-05", "v1.2.3", "ns:a:b", "release-1.2.3.4.5",
     "order-1234567890123", "task-sk-abc", "a@b", "user@localhost", "snowflake-1234567890123456789"],
)
def test_pii_detectors_stay_quiet_on_ordinary_ids(text: str) -> None:
    assert find_pii(text) is None
