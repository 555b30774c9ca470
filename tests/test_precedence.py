"""One value, one finding: on one id or one tag only the first code in the documented order is
reported, through the API, the static checker and the rule pages that state the order."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from conftest import RULES_DIR
from orq_thread_lint import Policy
from orq_thread_lint.rules.thread import ID_PRECEDENCE, TAG_PRECEDENCE
from orq_thread_lint.static.run import check_paths

POLICY = Policy.from_dict({
    "thread-id": {"patterns": ["user-{user_id}-{session_id}", "ticket-{ticket_id:int}"], "max-length": 40},
    "tags": {"vocabulary": ["support", "billing"], "max-length": 16},
})


@pytest.mark.parametrize(("thread", "expected", "silenced"), [
    ({"id": " ticket-7 "}, ["OTL005"], "OTL004"),  # the space is the problem; stripped, it matches
    ({"id": "ticket-7", "tags": ["a b"]}, ["OTL013"], "OTL011"),
    ({"id": " jane@example.com"}, ["OTL006"], "OTL005"),
    ({"id": "user-1-" + "x" * 40 + "@example.com"}, ["OTL006"], "OTL005"),
    ({"id": "conversation1"}, ["OTL003"], "OTL004"),
    ({"id": "user-1-2", "tags": ["jane@example.com"]}, ["OTL006"], "OTL011"),
])
def test_one_value_one_finding(thread: object, expected: list[str], silenced: str) -> None:
    assert [v.code for v in POLICY.check_thread(thread)] == expected
    # The silenced rule is real: alone, it reports the value.
    alone = POLICY.with_selection(select=[silenced])
    assert [v.code for v in alone.check_thread(thread)] == [silenced]


def test_distinct_values_each_keep_their_finding() -> None:
    found = POLICY.check_thread({"id": "ticket 7", "tags": ["a b", "suport"]})
    assert [(v.code, v.path) for v in found] == [
        ("OTL005", "thread.id"), ("OTL013", "thread.tags[0]"), ("OTL011", "thread.tags[1]")]


def lint(tmp_path: Path, code: str) -> list[tuple[int, str]]:
    path = tmp_path / "mod.py"
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    policy = Policy.from_dict({"thread-id": {"patterns": ["user-{user_id}-{session_id}"]}},
                              path=tmp_path / "pyproject.toml")
    return sorted((f.row, f.code) for f in check_paths([str(path)], policy).findings)


def test_code_rules_take_their_place_in_the_order(tmp_path: Path) -> None:
    code = """
    def send(client, items):
        for i in range(len(items)):
            client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": f"batch-{i}"}}})

    def reply(client):
        client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": "support-4711"}}})
        client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": "conversation1"}}})
    """
    # f"batch-{i}" can't match the pattern either, and "support-4711" is off-pattern too: one finding each.
    assert lint(tmp_path, code) == [(4, "OTL105"), (7, "OTL104"), (8, "OTL003")]


def test_every_value_rule_page_states_the_order() -> None:
    for code in {*ID_PRECEDENCE, *TAG_PRECEDENCE}:
        text = (RULES_DIR / f"{code}.md").read_text(encoding="utf-8")
        section = text.split("## One value, one finding\n", 1)[1].split("\n## ", 1)[0]
        for order in (ID_PRECEDENCE, TAG_PRECEDENCE):
            assert (", ".join(order) in section) == (code in order), code
