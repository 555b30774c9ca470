"""The speed machinery must not change results: the prefilter, the cache and parallel workers."""

from __future__ import annotations

import json
import subprocess
import sysconfig
import textwrap
import threading
from pathlib import Path

import pytest

from conftest import RULES_DIR
from orq_thread_lint.policy import Policy
from orq_thread_lint.static.checker import check_bytes, gate
from orq_thread_lint.static.run import check_paths, start_method
from rule_pages import examples

TRICKY = [
    "def f(c):\n    c.chat.completions \\\n        .create(model='m', messages=[])\n",
    "def f(c):\n    (c.chat.completions  # a comment\n     # another\n     .create(model='m', messages=[]))\n",
    "def f(c):\n    c.responses.  parse(model='m', input='x')\n",
    "def f(send, uid):\n    send(dict(orq  =  {'thread': {'id': 'demo'}}))\n",
    "def f(send):\n    send(**{'orq': {'thread': {'id': 'tmp'}}})\n",
    "X = {\"orq\": {\"thread\": {\"id\": 'chat1'}}}\n",
    "def f(o):\n    o.deployments.invoke(key='k', thread={'id': 'demo'})\n",
    "def f(c):\n    c.chat.completions.create(model='m', messages=[], orq\n        ={'thread': {'id': 'x1x1'}})\n",
    "def f(c):\n    c.chat.completions.with_streaming_response  .  create(model='m', messages=[])\n",
    "from orq_ai_sdk.models import Thread as T\nT(id='')\n",
    "from orq_ai_sdk import models\nX = models . ThreadTypedDict (id='  ')\n",
    "K = 'orq.' + 'thread_id'\ndef f(s):\n    s.set_attribute(K, '')\n",
    "def f(t):\n    with t.start_as_current_span('x', attributes={'orq.tags': 'a'}):\n        pass\n",
    "from orq_ai_sdk import Orq\no = Orq()\ndef f(h):\n    o.deployments \\\n      .invoke_async(key='k', messages=h)\n",
]
# Every target call must carry a thread here, whatever its client: the prefilter is what is tested.
ALL = {"calls": {"require-thread": "all"}}


def _assert_exact(data: bytes, policy: Policy, name: str) -> None:
    full = check_bytes(data, name, policy, prefilter=False).findings
    fast = check_bytes(data, name, policy).findings
    if full:
        assert gate(policy).may_hold(data), name
    assert [(f.row, f.code) for f in fast] == [(f.row, f.code) for f in full], name


@pytest.mark.parametrize("source", TRICKY)
def test_prefilter_keeps_every_file_with_findings(source: str) -> None:
    policy = Policy.from_dict(ALL)
    assert check_bytes(source.encode(), "t.py", policy, prefilter=False).findings, source
    _assert_exact(source.encode(), policy, "t.py")


def test_prefilter_is_exact_on_rule_examples(tmp_path: Path) -> None:
    for ex in examples(RULES_DIR):
        if ex.kind != "python":
            continue
        cfg = tmp_path / "orq-thread-lint.toml"
        cfg.write_text(ex.config)
        _assert_exact(ex.text.encode(), Policy.from_file(cfg), str(ex))


def test_prefilter_is_exact_on_real_code() -> None:
    site = Path(sysconfig.get_paths()["purelib"])
    policy = Policy.from_dict({"calls": {"extend-targets": ["messages.create", "client.request"]}})
    checked = 0
    for path in sorted((site / "openai").rglob("*.py")):
        _assert_exact(path.read_bytes(), policy, str(path))
        checked += 1
    assert checked > 500


CALL = "def go(client):\n    client.chat.completions.create(model='m', messages=[], extra_body={{'orq': {{'thread': {{'id': {tid!r}}}}}}})\n"


def _tree(root: Path, n: int = 60) -> None:
    for i in range(n):
        (root / f"m{i:03}.py").write_text(CALL.format(tid="demo" if i % 3 == 0 else f"user-{i}-x"))
    (root / "plain.py").write_text("x = 1\n")


def _rows(run: object) -> list[tuple[str, int, str]]:
    return sorted((Path(f.filename).name, f.row, f.code) for f in run.findings)  # type: ignore[attr-defined]


def test_same_findings_with_and_without_cache_and_jobs(tmp_path: Path) -> None:
    _tree(tmp_path)
    policy = Policy.from_dict({}, path=tmp_path / "pyproject.toml")
    base = _rows(check_paths([str(tmp_path)], policy, jobs=1))
    assert len(base) == 20 * 1 + 40 * 1  # OTL003 on the generic ones, OTL104 on the others
    assert _rows(check_paths([str(tmp_path)], policy, jobs=2)) == base
    first = check_paths([str(tmp_path)], policy, jobs=2, use_cache=True)
    second = check_paths([str(tmp_path)], policy, jobs=2, use_cache=True)
    assert _rows(first) == _rows(second) == base
    assert first.cached == 0 and second.cached == second.files == 61
    assert (tmp_path / ".orq-thread-lint-cache" / ".gitignore").read_text().strip().endswith("*")


def test_workers_are_not_forked_from_a_process_running_threads(tmp_path: Path) -> None:
    _tree(tmp_path)
    policy = Policy.from_dict({}, path=tmp_path / "pyproject.toml")
    base = _rows(check_paths([str(tmp_path)], policy, jobs=1))
    stop = threading.Event()
    busy = threading.Thread(target=stop.wait)  # a host application's thread (an editor, a server)
    busy.start()
    try:
        assert start_method() != "fork"
        assert _rows(check_paths([str(tmp_path)], policy, jobs=2)) == base
    finally:
        stop.set()
        busy.join()


def test_cache_notices_changes_and_survives_corruption(tmp_path: Path) -> None:
    _tree(tmp_path, 3)
    policy = Policy.from_dict({}, path=tmp_path / "pyproject.toml")
    check_paths([str(tmp_path)], policy, use_cache=True)
    (tmp_path / "m001.py").write_text(CALL.format(tid="chat1"))
    run = check_paths([str(tmp_path)], policy, use_cache=True)
    assert ("m001.py", 2, "OTL003") in _rows(run) and run.cached == 3
    # Same content, new mtime: reused by content hash.
    (tmp_path / "m002.py").write_text((tmp_path / "m002.py").read_text())
    assert _rows(check_paths([str(tmp_path)], policy, use_cache=True)) == _rows(run)
    # Another policy has its own entries.
    other = Policy.from_dict({"ignore": ["OTL003"]}, path=tmp_path / "pyproject.toml")
    assert all(code != "OTL003" for _, _, code in _rows(check_paths([str(tmp_path)], other, use_cache=True)))
    for cache_file in (tmp_path / ".orq-thread-lint-cache").rglob("*.json"):
        cache_file.write_text("{not json")
    assert _rows(check_paths([str(tmp_path)], policy, use_cache=True)) == _rows(run)
    for cache_file in (tmp_path / ".orq-thread-lint-cache").rglob("*.json"):
        if "files" in cache_file.read_text():
            json.loads(cache_file.read_text())  # rewritten whole


def test_concurrent_runs_share_the_cache_safely(tmp_path: Path, cli_env: dict[str, str]) -> None:
    _tree(tmp_path, 80)
    cmd = ["orq-thread-lint", "check", ".", "--statistics", "--exit-zero"]
    procs = [subprocess.Popen(cmd, cwd=tmp_path, env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(4)]
    outs = [p.communicate(timeout=120) for p in procs]
    assert all(p.returncode == 0 for p in procs), outs
    assert len({o for o, _ in outs}) == 1 and "OTL003" in outs[0][0]
    again = subprocess.run([*cmd, "--no-cache"], cwd=tmp_path, env=cli_env, capture_output=True, text=True)
    assert again.stdout == outs[0][0]
    elsewhere = tmp_path.parent / (tmp_path.name + "-cache")
    subprocess.run([*cmd, "--cache-dir", str(elsewhere)], cwd=tmp_path, env=cli_env, check=True, capture_output=True)
    assert list(elsewhere.rglob("*.json"))


def test_workers_report_unparsable_files(tmp_path: Path) -> None:
    _tree(tmp_path)
    (tmp_path / "broken.py").write_text(textwrap.dedent("""
        def go(client:
            client.chat.completions.create()
    """))
    run = check_paths([str(tmp_path)], Policy.from_dict({}, path=tmp_path / "pyproject.toml"), jobs=2)
    assert ("broken.py", 2, "OTL000") in _rows(run)


def test_prefilter_sees_through_response_wrappers() -> None:
    source = b"def f(c, data):\n    c.completions.with_raw_response.create(model='m', prompt='x')\n"
    assert gate(Policy.preset()).may_hold(source)
    _assert_exact(source, Policy.preset(), "w.py")


def test_an_internal_error_costs_one_file_not_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from orq_thread_lint.static import visitor

    _tree(tmp_path, 3)
    real = visitor.collect

    def flaky(ctx, segment, targets):  # type: ignore[no-untyped-def]
        if "'demo'" in "".join(ctx.lines):
            raise RuntimeError("boom")
        return real(ctx, segment, targets)

    monkeypatch.setattr(visitor, "collect", flaky)
    run = check_paths([str(tmp_path)], Policy.from_dict({}, path=tmp_path / "pyproject.toml"), jobs=1)
    rows = _rows(run)
    assert ("m000.py", 1, "OTL000") in rows and ("m001.py", 2, "OTL104") in rows
    assert "internal error" in next(f.violation.message for f in run.findings if f.code == "OTL000")
