from __future__ import annotations

import re
import sys

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orq_thread_lint.templates import DFA_BUDGET, TemplateError, TemplateSet, parse
from steps import count_steps

_NEW_SYNTAX = pytest.mark.skipif(sys.version_info < (3, 11), reason="re has these from Python 3.11")
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


def _steps(ts: TemplateSet, text: str) -> int:
    """Edge tests the automaton makes while matching ``text`` from an empty DFA table."""
    counter = count_steps(ts)
    ts.matches(text)
    return counter[0]


@pytest.mark.parametrize("pattern", [r"re:(a+)+b", r"re:(a|aa)*c", r"re:(\w+\s?)*!", r"re:(a*)*$"])
def test_re_patterns_match_in_linear_steps(pattern: str) -> None:
    # Backtracking takes 2**n steps on these; the automaton's work grows with the input, no faster.
    small, large = (_steps(TemplateSet.compile([pattern]), "a" * n + "!") for n in (200, 800))
    assert small > 0 and large <= 5 * small


def test_re_patterns_mean_what_python_re_means() -> None:
    import random

    patterns = [r"(a+)+b", r"^user-\d+$", r"[a-z]{2,4}-\w+", r"(?:ab|a)*c?", r"[^\s]+", r".*x.*", r"\D{3}",
                r"[\W\d]+", r"a{,2}b{2}", r"x{}", r"a{ 3}", r"(?P<n>q|r)+", r"[\u0100-\uffff]+", r"(?#c)ab",
                r"\x41\u0042", r"[-a]", r"[]a]", r"\012", r"a|^b$", r"", r"(a|b)*a(a|b){5}", r"[\s\S]"]
    alphabet = "ab-cxyzqr0129 _\n\tAB\u0100\u0663\u00e9x{}3"
    rng = random.Random(7)
    for pattern in patterns:
        ts, rx = TemplateSet.compile(["re:" + pattern]), re.compile(pattern)
        for _ in range(2000):
            text = "".join(rng.choice(alphabet) for _ in range(rng.randint(0, 9)))
            assert ts.matches(text) == bool(rx.fullmatch(text)), (pattern, text)


@pytest.mark.parametrize(("pattern", "construct"), [
    (r"(a)\1", "a backreference"), (r"(?P<x>a)(?P=x)", "a backreference"), (r"(?=a)a", "a lookahead"),
    (r"(?<!a)b", "a lookbehind"), (r"a\b", "a word boundary"), (r"(?i)a", "inline flags"),
    # Python 3.10's re doesn't know these two: there they are invalid regular expressions.
    pytest.param(r"a*+", "a possessive quantifier", marks=_NEW_SYNTAX),
    pytest.param(r"(?>a)", "an atomic group", marks=_NEW_SYNTAX), (r"(a)(?(1)b)", "a conditional group"),
    (r"a^b", "an anchor at position 1"), (r"(a{1000}){1000}", "more than 10,000 automaton states"),
])
def test_re_constructs_an_automaton_cant_match_are_refused_by_name(pattern: str, construct: str) -> None:
    with pytest.raises(TemplateError, match=re.escape(construct)):
        parse("re:" + pattern)


def test_the_dfa_table_stays_bounded_on_a_stream_of_new_ids() -> None:
    ts = TemplateSet.compile([r"re:(a|b)*a(a|b){12}"])  # its DFA has 2**13 states
    for i in range(3000):
        ts.matches(format(i * 7919, "b").replace("0", "a").replace("1", "b") * 3)
    assert sum(map(len, ts._sets)) + sum(map(len, ts._trans)) <= DFA_BUDGET


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


def test_could_match_intersects_re_patterns_too() -> None:
    assert not TemplateSet.compile(["re:^x$"]).could_match(["chat-", None])
    assert TemplateSet.compile([r"re:chat-\d+"]).could_match(["chat-", None])


def test_build_validates_each_part() -> None:
    tpl = parse("ticket-{ticket_id:int}-{prio:low|high}")
    assert tpl.build({"ticket_id": 7, "prio": "low"}) == "ticket-7-low"
    with pytest.raises(ValueError, match="ticket_id='x' is not digits"):
        tpl.build({"ticket_id": "x", "prio": "low"})
    with pytest.raises(ValueError, match="needs a value for 'prio'"):
        tpl.build({"ticket_id": 1})
    with pytest.raises(ValueError, match="no placeholder 'extra'"):
        tpl.build({"ticket_id": 1, "prio": "low", "extra": 2})


regex_atoms = st.sampled_from(["a", "b", "-", ".", r"\d", r"\w", r"\s", r"\D", "[ab]", "[^a]", "[a-c0-9]", r"[\W_]",
                               r"\.", "[^\\s-]"])
regexes = st.recursive(
    regex_atoms,
    lambda inner: st.tuples(inner, st.sampled_from(["*", "+", "?", "{2}", "{1,3}", "{,2}", "*?", ""])).map(
        lambda qx: f"(?:{qx[0]}){qx[1]}")
    | st.lists(inner, min_size=2, max_size=3).map("".join)
    | st.lists(inner, min_size=2, max_size=3).map(lambda xs: "(?:" + "|".join(xs) + ")")
    | inner.map(lambda x: f"({x})"),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(regexes, st.lists(st.text(alphabet="ab-c0 _.\n\u00e9\u0663", max_size=8), min_size=1, max_size=20))
def test_random_re_patterns_match_what_python_re_matches(pattern: str, texts: list[str]) -> None:
    ts, rx = TemplateSet.compile(["re:" + pattern]), re.compile(pattern)
    for text in texts:
        assert ts.matches(text) == bool(rx.fullmatch(text)), (pattern, text)
