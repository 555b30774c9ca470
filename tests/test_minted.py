"""OTL106 minted-thread-id: where a fresh id is minted decides (the call, a binding for that call
only) and what is reused is never reported (module level, a caller, self, a parameter, loops)."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from orq_thread_lint.policy import Policy
from orq_thread_lint.static.run import check_paths

HEAD = "import datetime as dt\nimport secrets\nimport time\nimport uuid\nfrom datetime import datetime\n" \
       "from uuid import uuid4\n\nfrom openai import OpenAI\n\nclient = OpenAI()\n"


def found(tmp_path: Path, body: str) -> set[tuple[int, str]]:
    path = tmp_path / "app.py"
    path.write_text(HEAD + textwrap.dedent(body), encoding="utf-8")
    offset = HEAD.count("\n")
    return {(f.row - offset, f.code) for f in check_paths([str(path)], Policy.preset()).findings}


def send(expr: str) -> str:
    return f'client.chat.completions.create(model="m", messages=m, extra_body={{"orq": {{"thread": {{"id": {expr}}}}}}})'


@pytest.mark.parametrize("expr", [
    "str(uuid.uuid4())", "f'chat-{uuid4()}'", "uuid.uuid4().hex", "uuid.uuid4().hex[:12]",
    "str(uuid.uuid7())", "secrets.token_hex(8)", "'t-' + secrets.token_urlsafe()", "str(time.time())",
    "f'{time.time_ns()}'", "f'{int(time.time() * 1000)}'", "datetime.now().isoformat()",
    "str(dt.datetime.utcnow())", "'s-{}'.format(uuid4())", "'s-%s' % uuid4()", "str(uuid.uuid4()).replace('-', '')",
])
def test_minted_in_the_call_is_reported(tmp_path: Path, expr: str) -> None:
    assert found(tmp_path, f"def ask(m):\n    return {send(expr)}\n") == {(2, "OTL106")}


@pytest.mark.parametrize("expr", [
    "f'day-{datetime.now():%Y-%m-%d}'", "str(datetime.now().date())", "datetime.now().strftime('%Y%m%d')",
    "str(uuid.uuid5(uuid.NAMESPACE_URL, 'x'))", "f'u-{uuid.uuid4().version}'", "str(uuid.UUID(m[0]))",
])
def test_values_that_are_not_fresh_per_request_are_not_reported(tmp_path: Path, expr: str) -> None:
    assert found(tmp_path, f"def ask(m):\n    return {send(expr)}\n") == set()


def test_a_binding_for_this_call_only_is_reported_where_the_id_is_written(tmp_path: Path) -> None:
    body = """
    def ask(m):
        thread_id = f"chat-{uuid4()}"
        extra = {"orq": {"thread": {"id": thread_id}}}
        return client.chat.completions.create(model="m", messages=m, extra_body=extra)
    """
    assert found(tmp_path, body) == {(4, "OTL106")}


@pytest.mark.parametrize("body", [
    # a parameter, self, a module constant, a caller's closure
    "def ask(m, tid):\n    return " + send("tid") + "\n",
    "class Chat:\n    def ask(self, m):\n        return " + send("self.tid") + "\n",
    "TID = str(uuid.uuid4())\n\ndef ask(m):\n    return " + send("TID") + "\n",
    "def start():\n    tid = str(uuid4())\n\n    def ask(m):\n        return " + send("tid") + "\n    return ask\n",
    # minted once, then reused: two calls, stored on self, returned
    "def two(m):\n    tid = str(uuid4())\n    " + send("tid") + "\n    return " + send("tid") + "\n",
    "def keep(self, m):\n    tid = str(uuid4())\n    self.tid = tid\n    return " + send("tid") + "\n",
    "def back(m):\n    tid = str(uuid4())\n    " + send("tid") + "\n    return tid\n",
    # loops and comprehensions: one thread per item, or a mint before the loop reused by every turn
    "def batch(docs):\n    for m in docs:\n        " + send("str(uuid4())") + "\n",
    "def chat(qs):\n    tid = str(uuid4())\n    m = []\n    for q in qs:\n        m.append(q)\n        " + send("tid") + "\n",
    "def serve(m):\n    while True:\n        " + send("str(uuid4())") + "\n",
    "def batch(docs):\n    return [" + send("str(uuid4())").replace("messages=m", "messages=[d]") + " for d in docs]\n",
    # module level: runs once
    "m = []\n" + send("str(uuid4())") + "\n",
])
def test_ids_minted_once_and_reused_are_not_reported(tmp_path: Path, body: str) -> None:
    assert found(tmp_path, body) == set()


def test_orq_sdk_thread_keyword(tmp_path: Path) -> None:
    body = """
    def run(orq, inputs):
        return orq.deployments.invoke(key="k", inputs=inputs, thread={"id": str(uuid.uuid4())})
    """
    assert found(tmp_path, body) == {(3, "OTL106")}


def test_the_otl002_fix_keeps_the_split_risk_reported(tmp_path: Path) -> None:
    """Issue 12 item 9: `str(uuid.uuid4())` from --fix is still a new thread per request."""
    path = tmp_path / "app.py"
    path.write_text(HEAD + "def ask(m):\n    return " + send("uuid.uuid4()") + "\n", encoding="utf-8")
    before = check_paths([str(path)], Policy.preset()).findings
    assert sorted(f.code for f in before) == ["OTL002", "OTL106"]
    assert {(f.row, f.column) for f in before} == {(before[0].row, before[0].column)}  # side by side
    run = check_paths([str(path)], Policy.preset(), fix=True)
    assert "str(uuid.uuid4())" in path.read_text(encoding="utf-8")
    assert [f.code for f in run.findings] == ["OTL106"]
    # bound before the call, once per conversation: the fix applies and nothing is left
    path.write_text(HEAD + "def chat(qs):\n    tid = uuid.uuid4()\n    m = []\n    for q in qs:\n        m.append(q)\n"
                    "        " + send("tid") + "\n", encoding="utf-8")
    run = check_paths([str(path)], Policy.preset(), fix=True)
    assert "tid = str(uuid.uuid4())" in path.read_text(encoding="utf-8") and run.findings == []


def test_noqa_and_ignore(tmp_path: Path) -> None:
    assert found(tmp_path, "def ask(m):\n    return " + send("str(uuid4())") + "  # noqa: OTL106\n") == set()
    path = tmp_path / "b.py"
    path.write_text(HEAD + "def ask(m):\n    return " + send("str(uuid4())") + "\n", encoding="utf-8")
    assert check_paths([str(path)], Policy.preset().with_selection(ignore=["OTL106"])).findings == []
