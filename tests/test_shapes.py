"""The shapes corpus: files of this project's own writing in the shapes real code has (orq's SDK and
its models, plain OpenAI code, Assistants/LangGraph/LangSmith "threads", OpenTelemetry spans,
cookbook-style deployment loops). Each file says what it must give; the check must give exactly that.

Expected findings:
- a ``.py`` file: ``# expect: OTL003`` (or ``# expect: OTL003, OTL104``) on the line reported;
- any file (a notebook too): a sidecar ``<file>.expect`` with one ``ROW CODE`` per line, or
  ``CELL:ROW CODE`` for a notebook, where CELL is the 1-based cell number the report gives;
- a notebook without a sidecar: ``# expect:`` comments inside its code cells.
A first line ``# config: {...}`` (JSON) gives the policy the file is checked with.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from orq_thread_lint.policy import Policy
from orq_thread_lint.report import Finding
from orq_thread_lint.static.checker import targets
from orq_thread_lint.static.run import check_paths
from orq_thread_lint.static.segments import Prefilter

SHAPES = Path(__file__).parent / "fixtures" / "shapes"
EXPECT = re.compile(r"#\s*expect:\s*(OTL\d{3}(?:\s*,\s*OTL\d{3})*)")
CONFIG = re.compile(r"#\s*config:\s*(\{.*\})")
Key = tuple[int | None, int, str]


def _marked(lines: list[str], cell: int | None) -> list[Key]:
    return [(cell, row, code.strip()) for row, line in enumerate(lines, 1)
            for m in EXPECT.finditer(line) for code in m.group(1).split(",")]


def expected(path: Path) -> list[Key]:
    sidecar = path.with_name(path.name + ".expect")
    if sidecar.exists():
        out: list[Key] = []
        for line in sidecar.read_text(encoding="utf-8").splitlines():
            if line.strip() and not line.startswith("#"):
                where, code = line.split()
                cell, _, row = where.rpartition(":")
                out.append((int(cell) if cell else None, int(row), code))
        return sorted(out, key=str)
    if path.suffix == ".ipynb":
        cells = json.loads(path.read_text(encoding="utf-8"))["cells"]
        return sorted((key for n, c in enumerate(cells, 1) if c.get("cell_type") == "code"
                       for key in _marked("".join(c.get("source", "")).splitlines(), n)), key=str)
    return sorted(_marked(path.read_text(encoding="utf-8").splitlines(), None), key=str)


def found(finding: Finding) -> Key:
    cell = getattr(finding, "cell", None)
    return (cell if isinstance(cell, int) else None, finding.row, finding.code)


def config(path: Path) -> dict[str, object]:
    first = path.read_text(encoding="utf-8").split("\n", 1)[0]
    m = CONFIG.search(first)
    return json.loads(m.group(1)) if m else {}


CORPUS = sorted(p for p in SHAPES.iterdir() if p.suffix in (".py", ".ipynb"))


def test_the_corpus_holds_every_shape() -> None:
    names = {p.stem for p in CORPUS}
    assert {"orq_sdk_models", "plain_openai", "orq_openai", "threads_elsewhere", "otel_spans",
            "cookbook_deployments", "two_threads"} <= names
    assert all(expected(p) or p.stem in ("plain_openai", "threads_elsewhere") for p in CORPUS)


@pytest.mark.parametrize("path", CORPUS, ids=lambda p: p.name)
def test_shape_gives_exactly_its_expected_findings(path: Path) -> None:
    policy = Policy.from_dict(config(path), path=SHAPES / "pyproject.toml")
    run = check_paths([str(path)], policy)
    assert run.files == 1
    got = sorted(map(found, run.findings), key=str)
    assert got == expected(path), "\n".join(f"{f.row}:{f.column} {f.code} {f.violation.message}" for f in run.findings)


def test_require_thread_all_reports_every_target_call_and_off_none() -> None:
    path = SHAPES / "plain_openai.py"
    every = check_paths([str(path)], Policy.from_dict({"calls": {"require-thread": "all"}}))
    assert sorted(f.row for f in every.findings if f.code == "OTL101") == [15, 19, 23, 28, 32, 36, 41, 49, 55]
    path = SHAPES / "orq_openai.py"
    none = check_paths([str(path)], Policy.from_dict({"calls": {"require-thread": "off"}}))
    assert [f for f in none.findings if f.code == "OTL101"] == []


def test_orq_base_urls_name_a_private_gateway(tmp_path: Path) -> None:
    code = ('from openai import OpenAI\nclient = OpenAI(base_url="https://llm.corp.example/v2/router")\n'
            'def go(history):\n    return client.chat.completions.create(model="m", messages=history)\n')
    (tmp_path / "gw.py").write_text(code)
    default = check_paths([str(tmp_path / "gw.py")], Policy.from_dict({}))
    assert default.findings == []
    ours = check_paths([str(tmp_path / "gw.py")], Policy.from_dict({"calls": {"orq-base-urls": ["llm.corp.example"]}}))
    assert [(f.row, f.code) for f in ours.findings] == [(4, "OTL101")]


def test_advice_speaks_the_callers_api_and_follows_thread_placement() -> None:
    run = check_paths([str(SHAPES / "orq_sdk_models.py"), str(SHAPES / "orq_openai.py")], Policy.from_dict({}))
    by_file = {(Path(f.filename).name, f.code, f.row): f for f in run.findings}
    sdk_missing = by_file[("orq_sdk_models.py", "OTL101", 35)].violation
    assert sdk_missing.suggestion is not None and sdk_missing.suggestion.startswith("thread=")
    assert "thread=" in by_file[("orq_sdk_models.py", "OTL103", 53)].violation.message
    lines = (SHAPES / "orq_sdk_models.py").read_text(encoding="utf-8").splitlines()
    row = next(n for n, line in enumerate(lines, 1) if "orq.router.chat.completions.create" in line)
    assert by_file[("orq_sdk_models.py", "OTL101", row)].violation.suggestion == \
        "orq={'thread': {'id': ..., 'tags': [...]}}"
    openai_missing = by_file[("orq_openai.py", "OTL101", 14)].violation
    assert openai_missing.suggestion is not None and openai_missing.suggestion.startswith("extra_body={'orq'")
    meta = by_file[("orq_openai.py", "OTL103", 83)].violation.message
    assert meta.endswith("send it as extra_body={'orq': {'thread': {'id': ..., 'tags': [...]}}}")
    top = check_paths([str(SHAPES / "orq_openai.py")], Policy.from_dict({"thread-placement": "top-level"}))
    msg = next(f.violation.message for f in top.findings if f.code == "OTL103" and f.row == 83)
    assert msg.endswith("send it as extra_body={'thread': {'id': ..., 'tags': [...]}}")


def test_placement_message_reads_as_a_sentence() -> None:
    policy = Policy.from_dict({"thread-placement": "orq"})
    out = policy.check_request({"thread": {"id": "user-1-a"}})
    assert [v.message for v in out if v.code == "OTL103"] == [
        "thread-placement is 'orq', so the thread at the top level belongs in orq.thread"]


@pytest.mark.parametrize(("body", "codes"), [
    ({"orq": {"thread": {"id": "user-1-a"}}, "thread": {"id": "user-2-b"}}, ["OTL103"]),
    ({"orq": {"thread": {"id": "user-1-a"}}, "thread": {"id": "user-1-a"}}, []),
    ({"metadata": {"thread_id": "user-1-a"}}, ["OTL103"]),
])
def test_logs_two_threads_and_metadata(body: dict[str, object], codes: list[str]) -> None:
    out = Policy.from_dict({}).check_request(body)
    assert [v.code for v in out] == codes


def test_e_mail_followed_by_separators_is_personal_data() -> None:
    policy = Policy.from_dict({})
    for ident in ("user-alice@corp.io-s3", "bob@example.com-1", "alice@corp.io_s3", "bob@example.com.7"):
        assert [v.code for v in policy.check_request({"thread": {"id": ident}})] == ["OTL006"], ident


def test_the_prefilter_keeps_every_shape(tmp_path: Path) -> None:
    # An aliased model, a span attribute behind a constant, an orq SDK call without thread=: each a
    # file the byte scan must not rule out, or a finding would be hidden.
    gate = Prefilter(targets(Policy.from_dict({})))
    for path in CORPUS:
        assert gate.may_hold(path.read_bytes()), path.name
    alone = {
        "alias.py": "from orq_ai_sdk.models import Thread as T\nT(id='')\n",
        "span.py": "KEY = 'orq.' + 'thread_id'\ndef f(s):\n    s.set_attribute(KEY, '')\n",
        "invoke.py": "from orq_ai_sdk import Orq\norq = Orq()\ndef f(h):\n    orq.deployments.invoke(key='k', messages=h)\n",
    }
    for name, code in alone.items():
        (tmp_path / name).write_text(code)
        assert gate.may_hold(code.encode()), name
        assert check_paths([str(tmp_path / name)], Policy.from_dict({})).findings, name


def test_a_violation_reads_as_a_sentence_with_its_place_first() -> None:
    policy = Policy.from_dict({"thread-placement": "orq", "runtime": {"mode": "repair"}})
    out = policy.check_request({"model": "m", "thread": {"id": "user-1-a"}})
    assert [str(v) for v in out] == [
        "OTL103 thread: thread-placement is 'orq', so the thread at the top level belongs in orq.thread"]
