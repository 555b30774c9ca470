"""The command line as a ruff user meets it: quiet levels, unknown codes, summaries, the full
format, broken pipes, empty runs, help, --show-settings/--show-files/--watch and friends."""

from __future__ import annotations

import json
import os
import pty
import subprocess
import sys
from pathlib import Path

import pytest

if sys.version_info >= (3, 11):
    import tomllib
else:
    import tomli as tomllib

BAD = 'def go(client):\n    client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": "conversation1"}}})\n'
CLEAN = 'def go(client, uid, sid):\n    client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": f"user-{uid}-{sid}"}}})\n'
# One error (OTL003) and one warning (OTL011, with a vocabulary configured).
MIXED = '{"orq": {"thread": {"id": "conversation1", "tags": ["billing", "bilings"]}}}\n'
VOCAB = '[tool.orq-thread-lint.tags]\nvocabulary = ["billing", "support"]\n'


def run(args: list[str], cwd: Path, env: dict[str, str], stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["orq-thread-lint", *args], cwd=cwd, capture_output=True, text=True, env=env, input=stdin,
                          timeout=120)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "pyproject.toml").write_text(VOCAB)
    (tmp_path / "app.py").write_text(BAD)
    (tmp_path / "log.jsonl").write_text(MIXED)
    return tmp_path


def test_quiet_levels_follow_ruff(project: Path, cli_env: dict[str, str]) -> None:
    loud = run(["check", "app.py", "--no-cache"], project, cli_env)
    assert loud.returncode == 1 and "app.py:2:" in loud.stdout and "Found 1 error." in loud.stdout
    quiet = run(["check", "app.py", "--no-cache", "-q"], project, cli_env)
    assert quiet.returncode == 1 and "app.py:2:" in quiet.stdout and "Found" not in quiet.stdout
    for flags in (["-qq"], ["--silent"], ["-q", "-q"]):
        silent = run(["check", "app.py", "--no-cache", *flags], project, cli_env)
        assert silent.returncode == 1 and silent.stdout == "" and silent.stderr == "", flags
    # -qq still writes a report file that was asked for.
    assert run(["validate", "log.jsonl", "-qq", "-o", "out.json", "--format", "json"], project, cli_env).stdout == ""
    assert {f["code"] for f in json.loads((project / "out.json").read_text())} == {"OTL003", "OTL011"}


@pytest.mark.parametrize(("args", "message"), [
    (["--select", "OTL999"], "--select OTL999: matches no rule code or prefix"),
    (["--ignore", "otl003"], '--ignore otl003: matches no rule code or prefix; did you mean "OTL003"?'),
    (["--extend-select", "OTL00,OTL1O1"], '--extend-select OTL1O1: matches no rule code or prefix; did you mean "OTL101"?'),
    (["--select", "E501"], "--select E501: matches no rule code or prefix"),
])
def test_unknown_codes_on_the_command_line_exit_2(project: Path, cli_env: dict[str, str], args: list[str],
                                                   message: str) -> None:
    for command in (["check", "app.py"], ["validate", "log.jsonl"]):
        proc = run([*command, *args], project, cli_env)
        assert proc.returncode == 2 and message in proc.stderr and "Traceback" not in proc.stderr
        assert "All checks passed" not in proc.stdout


@pytest.mark.parametrize(("toml", "message"), [
    ('select = ["OTL999"]', 'select: "OTL999" matches no rule code or prefix'),
    ('ignore = ["OTL3"]', 'ignore: "OTL3" matches no rule code or prefix'),
    ('extend-select = ["otl101"]', 'extend-select: "otl101" matches no rule code or prefix; did you mean "OTL101"?'),
    ('per-file-ignores = {"tests/**" = ["OTL0O3"]}',
     'per-file-ignores: "OTL0O3" (for "tests/**") matches no rule code or prefix; did you mean "OTL003"?'),
])
def test_unknown_codes_in_the_config_exit_2(tmp_path: Path, cli_env: dict[str, str], toml: str, message: str) -> None:
    (tmp_path / "pyproject.toml").write_text(f"[tool.orq-thread-lint]\n{toml}\n")
    (tmp_path / "app.py").write_text(BAD)
    proc = run(["check", "app.py"], tmp_path, cli_env)
    assert proc.returncode == 2, proc.stdout
    assert f"pyproject.toml: [tool.orq-thread-lint] {message}" in proc.stderr


def test_prefixes_that_match_rules_are_accepted(project: Path, cli_env: dict[str, str]) -> None:
    proc = run(["validate", "log.jsonl", "--select", "OTL01", "--format", "json"], project, cli_env)
    assert proc.returncode == 1 and {f["code"] for f in json.loads(proc.stdout)} == {"OTL011"}
    assert run(["validate", "log.jsonl", "--select", "ALL"], project, cli_env).returncode == 1


def test_scope_field_no_record_has_is_a_warning(tmp_path: Path, cli_env: dict[str, str]) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text('{"orq": {"thread": {"id": "user-1-a"}}, "user": {"id": "u1"}}\n'
                   '{"orq": {"thread": {"id": "user-1-a"}}, "user": {"id": "u2"}}\n')
    proc = run(["validate", "log.jsonl", "--scope-field", "usr.id"], tmp_path, cli_env)
    assert proc.returncode == 0
    assert "warning: --scope-field usr.id: no record has this field" in proc.stderr
    proc = run(["validate", "log.jsonl", "--scope-field", "user.id"], tmp_path, cli_env)
    assert proc.returncode == 1 and "OTL007" in proc.stdout and "warning" not in proc.stderr


def test_summary_counts_errors_and_warnings_apart(project: Path, cli_env: dict[str, str]) -> None:
    proc = run(["validate", "log.jsonl"], project, cli_env)
    assert proc.stdout.endswith("Found 1 error and 1 warning.\n")
    proc = run(["validate", "log.jsonl", "--select", "OTL011"], project, cli_env)
    assert proc.stdout.endswith("Found 1 warning.\n")


def test_full_format_shows_the_line_and_carets_under_the_range(project: Path, cli_env: dict[str, str]) -> None:
    proc = run(["check", "app.py", "--no-cache", "--format", "full"], project, cli_env)
    lines = proc.stdout.splitlines()
    head = next(i for i, line in enumerate(lines) if line.startswith("app.py:2:"))
    column = int(lines[head].split(":")[2])
    assert lines[head + 2] == "2 | " + BAD.splitlines()[1]
    carets = lines[head + 3]
    start = carets.index("^")
    assert start - len("  | ") == column - 1
    assert carets[start:].split(" ")[0] == "^" * len('"conversation1"') and carets.endswith("OTL003")
    assert "= help: build the id from the user and session" in proc.stdout
    # Piped output defaults to concise, as before.
    concise = run(["check", "app.py", "--no-cache"], project, cli_env)
    assert "|" not in concise.stdout and concise.stdout.startswith("app.py:2:")
    # stdin keeps its text for the snippet.
    piped = run(["check", "-", "--stdin-filename", "x.py", "--format", "full"], project, cli_env, stdin=BAD)
    assert "2 | " + BAD.splitlines()[1] in piped.stdout


def test_full_format_is_the_default_on_a_terminal(project: Path, cli_env: dict[str, str]) -> None:
    controller, terminal = pty.openpty()
    proc = subprocess.run(["orq-thread-lint", "check", "app.py", "--no-cache"], cwd=project,
                          env={**cli_env, "NO_COLOR": "1"}, stdout=terminal, stderr=subprocess.PIPE, timeout=120)
    os.close(terminal)
    out = b""
    while True:
        try:
            chunk = os.read(controller, 65536)
        except OSError:
            break
        if not chunk:
            break
        out += chunk
    os.close(controller)
    assert proc.returncode == 1
    assert b"2 |     client.chat.completions.create" in out and b"^^^ OTL003" in out


@pytest.mark.parametrize("command", ["validate", "check"])
def test_a_closed_pipe_ends_the_command_quietly(tmp_path: Path, cli_env: dict[str, str], command: str) -> None:
    if command == "validate":
        (tmp_path / "big.jsonl").write_text('{"orq": {"thread": {"id": "conversation1"}}}\n' * 5000)
        args = ["validate", "big.jsonl"]
    else:
        body = "".join(f'def go{i}(client):\n    client.chat.completions.create(model="m", messages=[], '
                       f'extra_body={{"orq": {{"thread": {{"id": "demo"}}}}}})\n' for i in range(400))
        (tmp_path / "big.py").write_text(body)
        args = ["check", "big.py", "--no-cache", "--format", "json"]
    proc = subprocess.Popen(["orq-thread-lint", *args], cwd=tmp_path, env=cli_env, stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)
    assert proc.stdout is not None and proc.stderr is not None
    first = proc.stdout.readline()
    proc.stdout.close()  # as `| head -1` does: the reader is gone while the writer has more to say
    err = proc.stderr.read().decode()
    code = proc.wait(timeout=120)
    assert first  # it did start writing
    assert err == "", err
    assert code == 1


def test_no_files_checked_is_a_warning(tmp_path: Path, cli_env: dict[str, str]) -> None:
    (tmp_path / "empty").mkdir()
    proc = run(["check", "empty"], tmp_path, cli_env)
    assert proc.returncode == 0
    assert "warning: No Python files found under the given path(s)" in proc.stderr
    (tmp_path / "pyproject.toml").write_text('[tool.orq-thread-lint]\nexclude = ["*.py"]\n')
    (tmp_path / "app.py").write_text(BAD)
    proc = run(["check", ".", "--no-cache"], tmp_path, cli_env)
    assert proc.returncode == 0 and "No Python files found" in proc.stderr
    assert "No Python files" not in run(["check", ".", "-q"], tmp_path, cli_env).stderr
    assert "warning" not in run(["check", "-"], tmp_path, cli_env, stdin=CLEAN).stderr


def test_help_is_complete_and_rules_have_a_legend(tmp_path: Path, cli_env: dict[str, str]) -> None:
    top = run(["--help"], tmp_path, cli_env).stdout
    for command in ("check", "validate", "rules", "rule"):
        line = next(line for line in top.splitlines() if line.strip().startswith(command + " "))
        assert "..." not in line, line
    env = {**cli_env, "COLUMNS": "200"}
    check_help = run(["check", "--help"], tmp_path, env).stdout
    assert "--watch-iterations" not in check_help
    for option in ("--show-settings", "--show-files", "--exit-non-zero-on-fix", "--watch", "--silent"):
        assert option in check_help
    assert "Where the cache lives (default: .orq-thread-lint-cache at the project root)." in check_help
    listing = run(["rules"], tmp_path, cli_env).stdout
    assert "[*]" in listing.splitlines()[-1] and "--fix" in listing.splitlines()[-1]


def test_rule_all_prints_every_page(tmp_path: Path, cli_env: dict[str, str]) -> None:
    from orq_thread_lint.rules.catalog import RULES

    out = run(["rule", "--all"], tmp_path, cli_env).stdout
    assert [line.split()[1] for line in out.splitlines() if line.startswith("# OTL")] == list(RULES)
    assert run(["rule"], tmp_path, cli_env).returncode == 2
    assert run(["rule", "OTL003", "--all"], tmp_path, cli_env).returncode == 2


def test_show_settings_says_where_each_value_came_from(tmp_path: Path, cli_env: dict[str, str]) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.orq-thread-lint]\nextends = "strict"\nignore = ["OTL101"]\n[tool.orq-thread-lint.tags]\nmax-count = 3\n')
    proc = run(["check", "--show-settings", "--extend-select", "OTL1", "--ignore", "OTL104"], tmp_path, cli_env)
    assert proc.returncode == 0
    lines = {line.split("=")[0].strip(): line for line in proc.stdout.splitlines() if "=" in line}
    assert lines["extends"].endswith("# pyproject.toml [tool.orq-thread-lint]")
    assert lines["ignore"].startswith('ignore = ["OTL101", "OTL104"]')
    assert lines["ignore"].endswith("# pyproject.toml [tool.orq-thread-lint] + command line")
    assert lines["extend-select"].endswith("# command line")
    assert lines["thread-placement"].startswith('thread-placement = "orq"') and "preset \"strict\"" in lines[
        "thread-placement"]
    assert lines["max-count"].startswith("max-count = 3") and lines["max-count"].endswith("[tool.orq-thread-lint]")
    assert lines["max-length"].endswith("# default")
    assert "# Settings file: pyproject.toml" in proc.stdout
    enabled = next(line for line in proc.stdout.splitlines() if line.startswith("# Enabled rules"))
    assert "OTL101" not in enabled and "OTL104" not in enabled and "OTL105" in enabled
    # The output is the policy itself: read back, it gives the same rules.
    from orq_thread_lint import Policy
    from orq_thread_lint.policy import tomllib

    table = tomllib.loads(proc.stdout)["tool"]["orq-thread-lint"]
    assert Policy.from_dict(table).enabled_codes == frozenset(enabled.split(": ")[1].split(", "))


def test_show_files_lists_what_would_be_checked(tmp_path: Path, cli_env: dict[str, str]) -> None:
    (tmp_path / "pkg").mkdir()
    (tmp_path / "pkg" / "a.py").write_text(CLEAN)
    (tmp_path / "b.pyi").write_text("")
    (tmp_path / "notes.txt").write_text("")
    (tmp_path / ".venv").mkdir()
    (tmp_path / ".venv" / "c.py").write_text("")
    proc = run(["check", "--show-files"], tmp_path, cli_env)
    assert proc.returncode == 0 and proc.stdout.splitlines() == ["b.pyi", "pkg/a.py"]


def test_exit_non_zero_on_fix(tmp_path: Path, cli_env: dict[str, str]) -> None:
    fixable = ('def go(client, uid, sid):\n    client.chat.completions.create(model="m", messages=[], '
               'orq={"thread": {"id": f"user-{uid}-{sid}"}})\n')
    (tmp_path / "app.py").write_text(fixable)
    assert run(["check", "app.py", "--fix", "--no-cache"], tmp_path, cli_env).returncode == 0
    (tmp_path / "app.py").write_text(fixable)
    proc = run(["check", "app.py", "--fix", "--no-cache", "--exit-non-zero-on-fix"], tmp_path, cli_env)
    assert proc.returncode == 1 and "extra_body=" in (tmp_path / "app.py").read_text()
    assert run(["check", "app.py", "--fix", "--exit-non-zero-on-fix"], tmp_path, cli_env).returncode == 0


def test_watch_checks_again_when_a_file_changes(tmp_path: Path, cli_env: dict[str, str]) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.orq-thread-lint]\n")
    app = tmp_path / "app.py"
    app.write_text(CLEAN)
    proc = subprocess.Popen(["orq-thread-lint", "check", ".", "--watch", "--watch-iterations", "2"], cwd=tmp_path,
                            env=cli_env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout is not None and proc.stderr is not None
    try:
        assert proc.stderr.readline() == "Watching for file changes.\n"
        app.write_text(BAD)
        assert "Changed: app.py" in proc.stderr.readline()
        assert proc.stderr.readline() == "Watching for file changes.\n"
        (tmp_path / "new.py").write_text(BAD.replace("go(", "go2("))
        assert "Changed: new.py" in proc.stderr.readline()
        out, err = proc.communicate(timeout=120)
    finally:
        proc.kill()
    assert proc.returncode == 1  # the last check's status
    lines = out.splitlines()
    assert out.count("All checks passed!") == 1  # the first check, before any change
    assert sum(line.startswith("app.py:2:") for line in lines) == 2  # after each change
    assert sum(line.startswith("new.py:2:") for line in lines) == 1
    assert err == ""


def test_watch_is_refused_with_fix_or_stdin(tmp_path: Path, cli_env: dict[str, str]) -> None:
    assert run(["check", ".", "--watch", "--fix"], tmp_path, cli_env).returncode == 2
    assert run(["check", "-", "--watch"], tmp_path, cli_env, stdin="").returncode == 2


def test_show_settings_never_prints_the_store_secret(tmp_path: Path, cli_env: dict[str, str]) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.orq-thread-lint.runtime]\nstore-key-secret = "0123456789abcdef-do-not-print"\n', encoding="utf-8")
    done = run(["check", "--show-settings", "."], tmp_path, cli_env)
    assert done.returncode == 0, done.stderr
    assert "do-not-print" not in done.stdout and "# store-key-secret = (set, not shown)" in done.stdout
    tomllib.loads(done.stdout)  # the unset and hidden keys are comments: the output stays TOML
