from __future__ import annotations

import pytest

from orq_thread_lint.templates import TemplateError, TemplateSet, parse

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
ULID = "01ARZ3NDEKTSV4RRFFQ69G5FAV"


@pytest.mark.parametrize(
    ("template", "good", "bad"),
    [
        ("user-{user_id}-{session_id}", ["user-42-abc", "user-a.b:c-d_e-x"], ["user-42", "user--x", "User-1-2", "user-1-2 "]),
        ("ticket-{ticket_id:int}", ["ticket-0", "ticket-981"], ["ticket-", "ticket-9a", "ticket-1.5"]),
        ("conversation-{id:uuid}", [f"conversation-{UUID}", f"conversation-{UUID.upper()}"], ["conversation-0f8fad5b", f"conversation-{UUID}0"]),
        ("h-{x:hex}", ["h-deadBEEF", "h-0"], ["h-xyz", "h-"]),
        ("s-{x:slug}", ["s-hello", "s-hello-world-2"], ["s-Hello", "s-hello--world", "s--x", "s-x-"]),
        ("thread_{x:ulid}", [f"thread_{ULID}", f"thread_{ULID.lower()}"], [f"thread_{ULID}Z", "thread_81ARZ3NDEKTSV4RRFFQ69G5FAV", f"thread_{ULID[:-1]}U"]),
        ("priority-{level:low|medium|high}", ["priority-low", "priority-high"], ["priority-urgent", "priority-", "priority-lowmedium"]),
        ("{{literal}}-{n:int}", ["{literal}-3"], ["literal-3", "{{literal}}-3"]),
        ("re:^chat_[0-9]{4}$", ["chat_1234"], ["chat_123", "chat_12345"]),
    ],
)
def test_matching(template: str, good: list[str], bad: list[str]) -> None:
    ts = TemplateSet.compile([template])
    for text in good:
        assert ts.matches(text), text
    for text in bad:
        assert not ts.matches(text), text


def test_placeholder_names_are_free_and_list_names_are_prefixes() -> None:
    ts = TemplateSet.compile(["user-{userId}-{sessionId}", "ticket-{ticket_id:int}", "{kind}-x"])
    assert [t.name for t in ts.templates] == ["user", "ticket", "{kind}-x"]
    assert ts.match("ticket-5") is ts.templates[1]
    named = TemplateSet.compile({"support": "ticket-{id:int}"})
    assert named.templates[0].name == "support"


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("user-{", "unclosed '{' at position 5"),
        ("user-}", "unmatched '}' at position 5"),
        ("user-{a:float}", "unknown placeholder type 'float'"),
        ("user-{1a}", "bad placeholder name '1a'"),
        ("{a}{b}", "touch"),
        ("re:(", "invalid regular expression"),
        ("x-{a:b|c d}", "bad choice 'c d'"),
    ],
)
def test_errors_say_where(source: str, message: str) -> None:
    with pytest.raises(TemplateError, match=message.replace("(", r"\(").replace("{", r"\{").replace("}", r"\}")):
        parse(source)


def test_matching_stays_linear_on_adversarial_input() -> None:
    # With backtracking regexes this input takes seconds for three adjacent placeholders; the DFA
    # visits each character once, so the number of DFA states stays tiny and bounded.
    ts = TemplateSet.compile(["a-{x}-{y}-{z}-b"])
    text = "a-" + "x-" * 5000 + "!"
    assert not ts.matches(text)
    assert len(ts._sets) < 20


def test_raw_patterns_are_not_run_on_huge_input() -> None:
    ts = TemplateSet.compile(["re:(a+)+$"])
    assert not ts.matches("a" * 5000 + "b")


@pytest.mark.parametrize(
    ("parts", "expected"),
    [
        (["chat-", None], False),
        (["user-", None], True),
        ([None, "-", None], True),
        (["user-", None, " x"], False),
        (["ticket-", None], True),
        (["ticket-abc"], False),
        ([None], True),
    ],
)
def test_could_match_intersects_partial_values(parts: list[str | None], expected: bool) -> None:
    ts = TemplateSet.compile(["user-{u}-{s}", "ticket-{t:int}"])
    assert ts.could_match(parts) is expected


def test_could_match_is_conservative_with_raw_patterns() -> None:
    assert TemplateSet.compile(["re:^x$"]).could_match(["chat-", None])


def test_build_validates_each_part() -> None:
    tpl = parse("ticket-{ticket_id:int}-{prio:low|high}")
    assert tpl.build({"ticket_id": 7, "prio": "low"}) == "ticket-7-low"
    with pytest.raises(ValueError, match="ticket_id='x' is not digits"):
        tpl.build({"ticket_id": "x", "prio": "low"})
    with pytest.raises(ValueError, match="needs a value for 'prio'"):
        tpl.build({"ticket_id": 1})
    with pytest.raises(ValueError, match="no placeholder 'extra'"):
        tpl.build({"ticket_id": 1, "prio": "low", "extra": 2})
