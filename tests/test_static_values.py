"""Value following and precision of `check`: what is proved is reported, unknown never is."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from orq_thread_lint.policy import Policy
from orq_thread_lint.static.run import check_paths

PATTERNS = {"thread-id": {"patterns": ["user-{user_id}-{session_id}", "ticket-{ticket_id:int}"]}}
# Every target call must carry a thread, whatever its client (how these tests see which calls are targets).
ALL = {"calls": {"require-thread": "all"}}


def lint(tmp_path: Path, code: str, config: dict[str, object] | None = None, name: str = "mod.py") -> list[tuple[int, str]]:
    path = tmp_path / name
    path.write_text(textwrap.dedent(code), encoding="utf-8")
    policy = Policy.from_dict(config or {}, path=tmp_path / "pyproject.toml")
    return sorted((f.row, f.code) for f in check_paths([str(path)], policy).findings)


def test_literal_and_module_constant_defined_later(tmp_path: Path) -> None:
    code = """
    def reply(client):
        return client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": TID}}})

    TID = "conversation1"
    """
    assert lint(tmp_path, code) == [(5, "OTL003")]


def test_constant_used_by_two_calls_is_reported_once_at_its_definition(tmp_path: Path) -> None:
    code = """
    TID = "demo"
    def a(client):
        client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": TID}}})
    def b(client):
        client.responses.create(model="m", input="x", extra_body={"thread": {"id": TID}})
    """
    assert lint(tmp_path, code) == [(2, "OTL003")]


def test_constant_id_is_otl104_at_each_use(tmp_path: Path) -> None:
    code = """
    BOT = "support-bot-main"
    def a(client):
        client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": BOT}}})
    """
    assert lint(tmp_path, code) == [(4, "OTL104")]


@pytest.mark.parametrize(
    "expr",
    ['f"chat-{uid}"', '"chat-" + uid', '"chat-{}".format(uid)', '"chat-%s" % uid', '"chat-%s-%s" % (uid, sid)',
     '"chat-{u}".format(u=uid)'],
)
def test_dynamic_ids_against_patterns(tmp_path: Path, expr: str) -> None:
    code = f"""
    def reply(client, uid, sid):
        tid = {expr}
        return client.chat.completions.create(model="m", messages=[], extra_body={{"orq": {{"thread": {{"id": tid}}}}}})
    """
    assert lint(tmp_path, code, PATTERNS) == [(3, "OTL004")]


@pytest.mark.parametrize("expr", ['f"user-{uid}-{sid}"', 'f"{kind}-{uid}"', '"ticket-" + str(n)', "uid", "make_id()",
                                  "ids[0]", "self.tid", 'f"user-{uid}" + suffix'])
def test_dynamic_ids_that_could_match_are_fine(tmp_path: Path, expr: str) -> None:
    code = f"""
    def reply(client, uid, sid, kind, n, ids, suffix, make_id):
        return client.chat.completions.create(model="m", messages=[], extra_body={{"orq": {{"thread": {{"id": {expr}}}}}}})
    """
    assert lint(tmp_path, code, PATTERNS) == []


def test_content_rules_read_literal_parts(tmp_path: Path) -> None:
    code = """
    def reply(client, sid):
        client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": f"user-+14155550123-{sid}"}}})
        client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": f"user {sid}"}}})
    """
    assert lint(tmp_path, code) == [(3, "OTL006"), (4, "OTL005")]


def test_unknown_values_and_kwargs_are_never_findings(tmp_path: Path) -> None:
    code = """
    def reply(client, body, opts, **kwargs):
        client.chat.completions.create(model="m", messages=[], **kwargs)
        client.chat.completions.create(model="m", messages=[], extra_body=body)
        client.chat.completions.create(model="m", messages=[], extra_body={"orq": opts})
        client.chat.completions.create(model="m", messages=[], extra_body={**body})
        client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": body.id}}})
        client.embeddings.create(model="m", input="x")
        Model.objects.create(name="x")
    """
    assert lint(tmp_path, code) == []


def test_reassigned_names_are_unknown(tmp_path: Path) -> None:
    code = """
    def reply(client, flag):
        tid = "demo"
        if flag:
            tid = compute()
        client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": tid}}})
    """
    assert lint(tmp_path, code) == []


def test_local_shadows_module_constant(tmp_path: Path) -> None:
    code = """
    TID = "demo"
    def reply(client, TID):
        client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": TID}}})
    """
    assert lint(tmp_path, code) == []


def test_enclosing_function_binding_is_followed(tmp_path: Path) -> None:
    code = """
    def outer(client):
        tid = "session_1"
        def inner():
            return client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": tid}}})
        return inner
    """
    assert lint(tmp_path, code) == [(3, "OTL003")]


def test_missing_thread_on_target_calls_only(tmp_path: Path) -> None:
    code = """
    async def go(client, c2):
        await client.chat.completions.create(model="m", messages=[])
        client.with_options(timeout=3).beta.chat.completions.parse(model="m", messages=[])
        client.responses.stream(model="m", input="x")
        client.chat.completions.with_raw_response.create(model="m", messages=[])
        client.completions.create(model="m", prompt="x")
        client.chat.completions.create(model="m", messages=[], extra_headers={"X-ORQ-THREAD-ID": f"user-{c2}"})
        client.files.create(file=b"")
    """
    assert lint(tmp_path, code, ALL) == [(3, "OTL101"), (4, "OTL101"), (5, "OTL101"), (6, "OTL101"), (7, "OTL101")]


def test_header_value_is_checked_as_an_id(tmp_path: Path) -> None:
    code = """
    def go(client):
        client.chat.completions.create(model="m", messages=[], extra_headers={"X-ORQ-THREAD-ID": "chat1"})
    """
    assert lint(tmp_path, code) == [(3, "OTL003")]


def test_configured_targets(tmp_path: Path) -> None:
    code = """
    def go(llm):
        llm.ask(prompt="x")
        llm.chat.completions.create(model="m", messages=[])
    """
    assert lint(tmp_path, code, {"calls": {"targets": ["llm.ask"], "require-thread": "all"}}) == [(3, "OTL101")]


def test_orq_keyword_and_router(tmp_path: Path) -> None:
    code = """
    def go(client, orq_client, uid):
        client.chat.completions.create(model="m", messages=[], orq={"thread": {"id": f"user-{uid}"}})
        orq_client.router.chat.completions.create(model="m", messages=[], orq={"thread": {"id": f"user-{uid}"}})
        client.embeddings.create(model="m", input="x", orq={"name": "x"})
        helper(orq={"x": 1})
    """
    assert lint(tmp_path, code) == [(3, "OTL102"), (5, "OTL102")]


def test_orq_sdk_thread_keyword(tmp_path: Path) -> None:
    code = """
    def go(orq, uid):
        orq.deployments.invoke(key="k", thread={"id": "conversation1"})
        orq.agents.responses.create(agent_key="a", thread={"id": f"user-{uid}", "tag": ["x"]})
        orq.deployments.invoke(key="k", thread={"id": f"user-{uid}"}, metadata={"thread_id": "x"})
    """
    assert lint(tmp_path, code, {"thread-placement": "orq"}) == [(3, "OTL003"), (4, "OTL015"), (5, "OTL103")]


def test_orq_payload_dicts_are_checked_where_their_use_is_unknown(tmp_path: Path) -> None:
    code = """
    PAYLOAD = {"orq": {"thread": {"id": "test-1"}}}
    other = {"thread": {"id": "test-2"}}
    def go(send):
        send(body=dict(orq={"thread": {"id": "tmp"}}))
    """
    assert lint(tmp_path, code) == [(2, "OTL003"), (5, "OTL003")]
    # Their literal ids are not OTL104: nothing proves every call sends them.
    assert lint(tmp_path, 'P = {"orq": {"thread": {"id": "support-bot-main"}}}\n') == []


def test_placement_rules_in_code(tmp_path: Path) -> None:
    code = """
    def go(client, uid):
        client.chat.completions.create(model="m", messages=[], metadata={"thread_id": f"user-{uid}"})
        client.chat.completions.create(model="m", messages=[], extra_body={"thread_id": f"user-{uid}"})
        client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"identity": {"id": uid, "thread": {"id": uid}}}})
        client.chat.completions.create(model="m", messages=[], extra_body={"thread": {"id": f"user-{uid}"}})
        client.chat.completions.create(model="m", messages=[], extra_body={
            "orq": {"thread": {"id": "user-a-1"}},
            "thread": {"id": "user-b-2"},
        })
    """
    found = lint(tmp_path, code, {"thread-placement": "orq"})
    assert found == [(3, "OTL103"), (4, "OTL103"), (5, "OTL103"), (6, "OTL103"), (9, "OTL103"), (9, "OTL104")] or \
        found == [(3, "OTL103"), (4, "OTL103"), (5, "OTL103"), (6, "OTL103"), (8, "OTL104"), (9, "OTL103"), (9, "OTL104")]


def test_loop_counters(tmp_path: Path) -> None:
    code = """
    def go(client, items, run_id):
        for i in range(10):
            client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": f"batch-{i}"}}})
        for n, item in enumerate(items):
            client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": "job-" + str(n)}}})
            client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": f"job-{item}"}}})
            client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": f"batch-{run_id}-{n}"}}})
        [client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": f"x-{j}"}}}) for j in range(3)]
    """
    assert lint(tmp_path, code) == [(4, "OTL105"), (9, "OTL105")]


def test_noqa_and_skip_file(tmp_path: Path) -> None:
    code = """
    def go(client):
        client.chat.completions.create(model="m", messages=[])  # noqa: OTL101
        client.chat.completions.create(model="m", messages=[])  # noqa
        client.chat.completions.create(model="m", messages=[])  # noqa: OTL003
    """
    assert lint(tmp_path, code, ALL) == [(5, "OTL101")]
    assert lint(tmp_path, "# orq-thread-lint: skip-file\n" + textwrap.dedent(code), ALL) == []


def test_per_file_ignores_and_exclude(tmp_path: Path) -> None:
    code = "def go(client):\n    client.chat.completions.create(model='m', messages=[])\n"
    (tmp_path / "tests").mkdir()
    (tmp_path / "tests" / "test_x.py").write_text(code)
    (tmp_path / "gen").mkdir()
    (tmp_path / "gen" / "g.py").write_text(code)
    (tmp_path / "ignored.py").write_text(code)
    (tmp_path / ".gitignore").write_text("ignored.py\n")
    (tmp_path / "app.py").write_text(code)
    policy = Policy.from_dict({"per-file-ignores": {"tests/*": ["OTL1"]}, "exclude": ["gen/"], **ALL},
                              path=tmp_path / "pyproject.toml")
    found = check_paths([str(tmp_path)], policy).findings
    assert [(Path(f.filename).name, f.code) for f in found] == [("app.py", "OTL101")]


def test_syntax_error_is_otl000_and_other_files_are_checked(tmp_path: Path) -> None:
    (tmp_path / "bad.py").write_text("def go(client:\n    client.chat.completions.create()\n")
    (tmp_path / "good.py").write_text("def go(client):\n    client.chat.completions.create(model='m', messages=[])\n")
    (tmp_path / "latin.py").write_bytes(b"x = '\xe9'\norq = 1\n")
    found = check_paths([str(tmp_path)], Policy.from_dict(ALL)).findings
    assert sorted((Path(f.filename).name, f.code, f.row) for f in found) == [
        ("bad.py", "OTL000", 1), ("good.py", "OTL101", 2), ("latin.py", "OTL000", 1)]


def test_form_feeds_and_odd_separators_keep_rows_right(tmp_path: Path) -> None:
    code = "x = 1\n\x0c\ny = 'a\\x1cb'  # \x1c in a comment\n\ndef go(client):\n    client.chat.completions.create(model='m', messages=[], extra_body={'orq': {'thread': {'id': 'demo'}}})\n"
    path = tmp_path / "ff.py"
    path.write_text(code)
    assert [(f.row, f.code) for f in check_paths([str(path)], Policy.preset()).findings] == [(6, "OTL003")]
