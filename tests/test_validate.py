"""`orq-thread-lint validate` as a program: inputs, positions, OTL007 across records, formats, exit codes."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

from orq_thread_lint.audit import validate
from orq_thread_lint.policy import Policy

GOOD = {"orq": {"thread": {"id": "user-42-9f1c", "tags": ["support"]}}}


def run(args: list[str], cwd: Path, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["orq-thread-lint", *args], cwd=cwd, capture_output=True, text=True, env=env, input=stdin)


def test_clean_file_exits_0(tmp_path: Path, cli_env: dict[str, str]) -> None:
    (tmp_path / "b.json").write_text(json.dumps(GOOD))
    proc = run(["validate", "b.json"], tmp_path, cli_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "All checks passed!" in proc.stdout


def test_array_elements_are_located(tmp_path: Path) -> None:
    text = '[\n  {"orq": {"thread": {"id": "user-42-9f1c"}}},\n  {"orq": {"thread": {"id": "demo"}}}\n]\n'
    (tmp_path / "a.json").write_text(text)
    (f,) = validate([str(tmp_path / "a.json")], Policy.preset())
    assert (f.code, f.row, f.column) == ("OTL003", 3, 3)


def test_jsonl_bad_line_is_otl000_and_the_rest_is_checked(tmp_path: Path, cli_env: dict[str, str]) -> None:
    lines = [json.dumps(GOOD), "{not json", json.dumps({"orq": {"thread": {"id": "chat1"}}})]
    (tmp_path / "log.jsonl").write_text("\n".join(lines) + "\n")
    proc = run(["validate", "log.jsonl"], tmp_path, cli_env)
    assert proc.returncode == 1
    out = proc.stdout.splitlines()
    assert out[0].startswith("log.jsonl:2:2: OTL000 line is not valid JSON")
    assert out[1].startswith("log.jsonl:3:1: OTL003 thread id 'chat1' is generic")


def test_multi_line_log_without_jsonl_suffix_is_read_as_jsonl(tmp_path: Path) -> None:
    (tmp_path / "requests.log").write_text(json.dumps(GOOD) + "\n" + json.dumps({"thread": {"id": 5}}) + "\n")
    (f,) = validate([str(tmp_path / "requests.log")], Policy.preset())
    assert (f.code, f.row) == ("OTL002", 2)


def test_broken_document_is_one_otl000(tmp_path: Path) -> None:
    (tmp_path / "b.json").write_text('{\n  "orq": {"thread": \n')
    (f,) = validate([str(tmp_path / "b.json")], Policy.preset())
    assert f.code == "OTL000" and f.row == 3


def test_unreadable_and_undecodable_inputs(tmp_path: Path) -> None:
    (tmp_path / "bin.json").write_bytes(b'{"a": "\xff"}')
    found = validate([str(tmp_path / "missing.json"), str(tmp_path / "bin.json")], Policy.preset())
    assert [f.code for f in found] == ["OTL000", "OTL000"]
    assert "can't read" in found[0].violation.message and "not UTF-8" in found[1].violation.message


def test_stdin_and_json_format(tmp_path: Path, cli_env: dict[str, str]) -> None:
    proc = run(["validate", "-", "--format", "json"], tmp_path, cli_env, stdin=json.dumps({"thread": {"id": "tmp"}}))
    assert proc.returncode == 1
    (obj,) = json.loads(proc.stdout)
    assert obj["code"] == "OTL003" and obj["name"] == "generic-thread-id" and obj["filename"] == "<stdin>"
    assert obj["location"] == {"row": 1, "column": 1} and obj["path"] == "thread.id"
    assert set(obj) >= {"code", "message", "filename", "location", "end_location", "fix", "url", "severity"}


def test_overlap_across_records_by_identity_or_scope_field(tmp_path: Path, cli_env: dict[str, str]) -> None:
    recs = [
        {"orq": {"identity": {"id": "u1"}, "thread": {"id": "user-1-aa"}}},
        {"orq": {"identity": {"id": "u1"}, "thread": {"id": "user-1-aa"}}},
        {"orq": {"contact": {"id": "u2"}, "thread": {"id": "user-1-aa"}}},
        {"thread": {"id": "user-1-aa"}},
    ]
    (tmp_path / "log.jsonl").write_text("\n".join(map(json.dumps, recs)))
    proc = run(["validate", "log.jsonl"], tmp_path, cli_env)
    assert proc.stdout.splitlines()[0].startswith("log.jsonl:3:1: OTL007 thread id is already used under another scope (first at log.jsonl:1)")
    assert proc.stdout.count("OTL007") == 1
    recs = [{"user": {"sid": "a"}, **GOOD}, {"user": {"sid": "b"}, **GOOD}]
    (tmp_path / "log.jsonl").write_text("\n".join(map(json.dumps, recs)))
    assert run(["validate", "log.jsonl"], tmp_path, cli_env).returncode == 0
    proc = run(["validate", "log.jsonl", "--scope-field", "user.sid"], tmp_path, cli_env)
    assert "2:1: OTL007" in proc.stdout


def test_exit_zero_statistics_select_and_output_file(tmp_path: Path, cli_env: dict[str, str]) -> None:
    recs = [{"thread": {"id": "demo"}}, {"thread": {"id": "test"}}, {"model": "m"}]
    (tmp_path / "log.jsonl").write_text("\n".join(map(json.dumps, recs)))
    proc = run(["validate", "log.jsonl", "--statistics"], tmp_path, cli_env)
    assert proc.stdout.splitlines() == ["2\tOTL003\t    generic-thread-id", "1\tOTL101\t    missing-thread"]
    assert run(["validate", "log.jsonl", "--exit-zero"], tmp_path, cli_env).returncode == 0
    proc = run(["validate", "log.jsonl", "--ignore", "OTL003,OTL101"], tmp_path, cli_env)
    assert proc.returncode == 0
    proc = run(["validate", "log.jsonl", "--select", "OTL101", "-o", "out.json", "--output-format", "json"], tmp_path, cli_env)
    assert proc.returncode == 1 and [o["code"] for o in json.loads((tmp_path / "out.json").read_text())] == ["OTL101"]
    assert run(["validate", "log.jsonl", "--select", "XYZ"], tmp_path, cli_env).returncode == 2


def test_rules_and_rule_commands(tmp_path: Path, cli_env: dict[str, str]) -> None:
    listing = json.loads(run(["rules", "--format", "json"], tmp_path, cli_env).stdout)
    assert {r["code"] for r in listing} >= {"OTL000", "OTL007", "OTL105"}
    otl102 = next(r for r in listing if r["code"] == "OTL102")
    assert otl102["applies"] == ["code"] and otl102["fixable"] is True
    proc = run(["rule", "otl003"], tmp_path, cli_env)
    assert proc.returncode == 0 and proc.stdout.startswith("# OTL003 generic-thread-id") and "## Use instead" in proc.stdout
    assert run(["rule", "OTL999"], tmp_path, cli_env).returncode == 2
