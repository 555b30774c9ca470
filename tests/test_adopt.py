"""`init` learns a policy from a sample project; `--add-noqa` brings it in clean; OTL900 finds the
directives that went stale. Everything runs the real command on real files."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import pytest

from conftest import BIN
from orq_thread_lint.adopt.generalise import of_text
from orq_thread_lint.audit import validate
from orq_thread_lint.policy import Policy
from orq_thread_lint.static.run import check_paths

APP = '''\
from openai import OpenAI

client = OpenAI(base_url="https://api.orq.ai/v2/router")


def reply(user, session_id, messages):
    return client.chat.completions.create(
        model="gpt-4o", messages=messages,
        extra_body={"orq": {"thread": {"id": f"user-{user.id}-{session_id}",
                                       "tags": ["support", f"tier-{user.tier}"]}}},
    )


def by_ticket(ticket_id, messages):
    return client.chat.completions.create(
        model="gpt-4o", messages=messages,
        extra_body={"orq": {"thread": {"id": f"ticket-{ticket_id}", "tags": ["billing"]}}},
    )


def demo(messages):
    return client.chat.completions.create(
        model="gpt-4o", messages=messages,
        extra_body={"orq": {"thread": {"id": "conversation1", "tags": ["alice@example.com"]}}},
    )
'''

LOG = [
    {"model": "m", "messages": [], "orq": {"thread": {"id": "thread_01ARZ3NDEKTSV4RRFFQ69G5FAV", "tags": ["support"]}}},
    {"model": "m", "messages": [], "orq": {"thread": {"id": "order-1042", "tags": ["region-eu"]}}},
    {"model": "m", "messages": [], "orq": {"thread": {"id": "order-77", "tags": ["region-eu"]}}},
    {"model": "m", "messages": [], "orq": {"thread": {"id": "550e8400-e29b-41d4-a716-446655440000"}}},
    {"model": "m", "messages": [], "orq": {"thread": {"id": "bob@example.com"}}},
]

PYPROJECT = '''\
# The project's own comment, kept as it is.
[project]
name   = "sample"   # odd spacing stays
version = "1.0"

[tool.ruff]
line-length=100
'''


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "orq-thread-lint"), *args], cwd=cwd, capture_output=True, text=True,
                          timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    (tmp_path / "requests.jsonl").write_text("".join(json.dumps(r) + "\n" for r in LOG), encoding="utf-8")
    (tmp_path / "pyproject.toml").write_text(PYPROJECT, encoding="utf-8")
    return tmp_path


def test_init_proposes_what_the_code_and_logs_use(project: Path) -> None:
    done = run("init", ".", "--logs", "requests.jsonl", cwd=project)
    assert done.returncode == 0, done.stderr
    text = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert text.startswith(PYPROJECT), "the rest of pyproject.toml is kept byte for byte"
    policy = Policy.from_file(project / "pyproject.toml")
    assert sorted(policy.config.thread_id.patterns) == sorted([
        "user-{user_id}-{session_id}", "ticket-{ticket_id}", "thread_{id:ulid}", "order-{n:int}", "{id:uuid}",
    ])
    assert sorted(policy.config.tags.vocabulary) == ["billing", "region-eu", "support"]
    assert policy.config.tags.patterns == ["tier-{user_tier}"]
    assert policy.config.thread_placement == "orq"
    assert '"order-{n:int}",  # 2 uses: requests.jsonl:2, requests.jsonl:3' in text
    # Generic ids and personal data are listed, never proposed, and never quoted.
    assert "app.py:24: OTL003" in done.stderr and "requests.jsonl:5: OTL006" in done.stderr
    assert "conversation1" not in text and "example.com" not in text and "example.com" not in done.stderr


def test_the_learned_policy_leaves_only_genuine_findings(project: Path) -> None:
    assert run("init", ".", "--logs", "requests.jsonl", cwd=project).returncode == 0
    policy = Policy.from_file(project / "pyproject.toml")
    code = {(f.row, f.code) for f in check_paths([str(project / "app.py")], policy).findings}
    assert code == {(24, "OTL003"), (24, "OTL006")}
    logs = {(f.row, f.code) for f in validate([str(project / "requests.jsonl")], policy)}
    assert logs == {(5, "OTL006")}


def test_init_refuses_an_existing_policy_unless_forced(project: Path) -> None:
    assert run("init", ".", cwd=project).returncode == 0
    first = (project / "pyproject.toml").read_text(encoding="utf-8")
    again = run("init", ".", cwd=project)
    assert again.returncode == 2 and "--force" in again.stderr and "Traceback" not in again.stderr
    assert (project / "pyproject.toml").read_text(encoding="utf-8") == first
    forced = run("init", ".", "--logs", "requests.jsonl", "--force", cwd=project)
    assert forced.returncode == 0, forced.stderr
    text = (project / "pyproject.toml").read_text(encoding="utf-8")
    assert text.startswith(PYPROJECT) and text.count("[tool.orq-thread-lint]") == 1
    assert "order-{n:int}" in text


def test_force_replaces_a_table_in_the_middle_and_keeps_the_rest(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(APP, encoding="utf-8")
    head = "[project]\nname = 'x'\n\n"
    tail = "\n[tool.black]  # after ours\nline-length = 88\n"
    (tmp_path / "pyproject.toml").write_text(
        head + "[tool.orq-thread-lint]\nselect = ['OTL']\n\n[tool.orq-thread-lint.tags]\nmax-count = 3\n" + tail,
        encoding="utf-8")
    assert run("init", ".", "--force", cwd=tmp_path).returncode == 0
    text = (tmp_path / "pyproject.toml").read_text(encoding="utf-8")
    assert text.startswith(head) and "[tool.black]  # after ours\nline-length = 88\n" in text
    assert "max-count = 3" not in text
    Policy.from_file(tmp_path / "pyproject.toml")


def test_dry_run_writes_nothing_and_output_writes_a_standalone_file(project: Path) -> None:
    dry = run("init", ".", "--dry-run", cwd=project)
    assert dry.returncode == 0 and "[tool.orq-thread-lint.thread-id]" in dry.stdout
    assert (project / "pyproject.toml").read_text(encoding="utf-8") == PYPROJECT
    out = run("init", ".", "--output", "orq-thread-lint.toml", cwd=project)
    assert out.returncode == 0, out.stderr
    text = (project / "orq-thread-lint.toml").read_text(encoding="utf-8")
    assert "[tool." not in text and "[thread-id]" in text
    assert Policy.from_file(project / "orq-thread-lint.toml").config.thread_id.patterns


def test_crlf_pyproject_stays_crlf(project: Path) -> None:
    (project / "pyproject.toml").write_bytes(PYPROJECT.replace("\n", "\r\n").encode())
    assert run("init", ".", cwd=project).returncode == 0
    data = (project / "pyproject.toml").read_bytes()
    assert data.startswith(PYPROJECT.replace("\n", "\r\n").encode())
    assert b"\n" not in data.replace(b"\r\n", b"")


@pytest.mark.parametrize(("value", "template"), [
    ("thread_01ARZ3NDEKTSV4RRFFQ69G5FAV", "thread_{id:ulid}"),
    ("550e8400-e29b-41d4-a716-446655440000", "{id:uuid}"),
    ("user-42-9f8e7d6c5b", "user-{n:int}-{h:hex}"),
    ("ticket-7-8", "ticket-{n:int}-{n2:int}"),
    ("support", "support"),
    ("deadbeef", "deadbeef"),  # letters only: a word, not a number
    ("a{b}", "a{{b}}"),
])
def test_generalise(value: str, template: str) -> None:
    assert of_text(value) == template


def test_add_noqa_brings_a_project_in_clean(project: Path) -> None:
    before = (project / "app.py").read_text(encoding="utf-8")
    done = run("check", "--no-cache", "--add-noqa", ".", cwd=project)
    assert done.returncode == 0, done.stderr
    assert "Added 1 noqa directive to 1 file." in done.stderr
    after = (project / "app.py").read_text(encoding="utf-8")
    changed = [(a, b) for a, b in zip(before.splitlines(), after.splitlines(), strict=True) if a != b]
    assert changed == [(before.splitlines()[23], before.splitlines()[23] + "  # noqa: OTL003, OTL006")]
    assert run("check", "--no-cache", ".", cwd=project).returncode == 0
    second = run("check", "--no-cache", "--add-noqa", ".", cwd=project)
    assert "Added 0 noqa directives to 0 files." in second.stderr
    assert (project / "app.py").read_text(encoding="utf-8") == after


def test_add_noqa_merges_and_finds_the_line_that_can_take_it(tmp_path: Path) -> None:
    src = (
        'from openai import OpenAI\n'
        'client = OpenAI(base_url="https://api.orq.ai/v2/router")\n'
        'client.chat.completions.create(model="m", messages=[], '
        'extra_body={"orq": {"thread": {"id": "conversation1"}}})  # noqa: E501\n'
        'client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": """demo\n'
        '"""}}})\n'
    )
    path = tmp_path / "m.py"
    path.write_bytes(src.replace("\n", "\r\n").encode())
    done = run("check", "--no-cache", "--add-noqa", "m.py", cwd=tmp_path)
    assert "Added 2 noqa directives to 1 file." in done.stderr, done.stderr
    lines = path.read_bytes().decode().split("\r\n")
    assert lines[2].endswith("  # noqa: E501, OTL003")
    assert lines[3].endswith('"id": """demo') and lines[4] == '"""}}})  # noqa: OTL005'
    assert run("check", "--no-cache", "m.py", cwd=tmp_path).returncode == 0


def test_unused_noqa_is_off_by_default_then_found_and_fixed(tmp_path: Path) -> None:
    src = (
        'from openai import OpenAI\n'
        'client = OpenAI(base_url="https://api.orq.ai/v2/router")\n'
        'def f(uid, sid, messages):\n'
        '    client.chat.completions.create(model="m", messages=messages, '
        'extra_body={"orq": {"thread": {"id": f"user-{uid}-{sid}"}}})  # noqa: OTL003, E501  # why\n'
        '    client.chat.completions.create(model="m", messages=messages, '
        'extra_body={"orq": {"thread": {"id": "conversation1"}}})  # noqa: OTL003, OTL999\n'
        'x = "# noqa: OTL004"  # noqa\n'
        'y = 1  # noqa: OTL012\n'
    )
    path = tmp_path / "m.py"
    path.write_text(src, encoding="utf-8")
    assert run("check", "--no-cache", "m.py", cwd=tmp_path).returncode == 0
    found = run("check", "--no-cache", "--extend-select", "OTL900", "--format", "json", "m.py", cwd=tmp_path)
    report = sorted((f["location"]["row"], f["message"]) for f in json.loads(found.stdout))
    assert report == [(4, "unused noqa code: OTL003"), (5, "unused noqa code: OTL999"),
                      (7, "unused noqa code: OTL012")]
    fixed = run("check", "--no-cache", "--extend-select", "OTL900", "--fix", "m.py", cwd=tmp_path)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[3].endswith("}}})  # noqa: E501  # why")
    assert lines[4].endswith("}}})  # noqa: OTL003")
    assert lines[5] == 'x = "# noqa: OTL004"  # noqa' and lines[6] == "y = 1"


def test_init_with_nothing_to_learn_writes_an_empty_valid_table(tmp_path: Path) -> None:
    (tmp_path / "m.py").write_text("x = 1\n", encoding="utf-8")
    done = run("init", ".", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    policy = Policy.from_file(tmp_path / "pyproject.toml")
    assert policy.config.thread_id.patterns == [] and policy.config.tags.vocabulary == []


def test_init_reads_notebooks_cell_by_cell(tmp_path: Path) -> None:
    cells = [
        {"cell_type": "markdown", "metadata": {}, "source": ["# Support bot\n"]},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": ["%pip install openai\n", "from openai import OpenAI\n",
                    "client = OpenAI(base_url='https://api.orq.ai/v2/router')"]},
        {"cell_type": "code", "metadata": {}, "execution_count": None, "outputs": [],
         "source": ["def ask(case_id, history):\n",
                    "    return client.chat.completions.create(model='m', messages=history,\n",
                    "        extra_body={'orq': {'thread': {'id': f'case-{case_id}', 'tags': ['triage']}}})"]},
    ]
    notebook = {"cells": cells, "metadata": {"kernelspec": {"language": "python", "name": "python3"}},
                "nbformat": 4, "nbformat_minor": 5}
    (tmp_path / "bot.ipynb").write_text(json.dumps(notebook, indent=1), encoding="utf-8")
    done = run("init", ".", "--dry-run", cwd=tmp_path)
    assert done.returncode == 0, done.stderr
    assert '"case-{case_id}",  # 1 use: bot.ipynb:cell 3:3' in done.stdout
    assert '"triage",  # 1 use: bot.ipynb:cell 3:3' in done.stdout


def test_init_proposes_the_base_url_of_a_gateway_the_default_misses(tmp_path: Path) -> None:
    (tmp_path / "app.py").write_text(
        'from openai import OpenAI\n\n'
        'client = OpenAI(base_url="https://llm-gateway.acme.example/v2/router", api_key="k")\n'
        'other = OpenAI(base_url="https://api.orq.ai/v2/router", api_key="k")\n\n\n'
        'def reply(user_id, session_id, messages):\n'
        '    return client.chat.completions.create(model="m", messages=messages,\n'
        '        extra_body={"orq": {"thread": {"id": f"user-{user_id}-{session_id}"}}})\n', encoding="utf-8")
    assert run("init", ".", cwd=tmp_path).returncode == 0
    policy = Policy.from_file(tmp_path / "pyproject.toml")
    assert policy.config.calls.orq_base_urls == ["orq.ai", "llm-gateway.acme.example"]
    assert policy.config.thread_placement == "orq"
    found = {f.code for f in check_paths([str(tmp_path / "app.py")], policy).findings}
    assert found == set()
