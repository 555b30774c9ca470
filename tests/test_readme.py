"""Every snippet in the README runs: Python is executed (against the loopback router and the test
Redis), `pycon` sessions are doctests, TOML is parsed as the config it claims to be, shell
commands of the tool are run, the usage lines match `--help`, the error examples are reproduced,
the pre-commit config validates, and the GitHub Actions job is played step by step."""

from __future__ import annotations

import contextlib
import doctest
import io
import json
import re
import shlex
import shutil
import subprocess
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
import yaml

from conftest import BIN, ROOT
from orq_thread_lint import Policy
from orq_thread_lint.policy import tomllib  # the stdlib's, or tomli on 3.10
from router import Router

README = (ROOT / "README.md").read_text(encoding="utf-8")
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.M | re.S)
BAD = 'def go(client):\n    client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": "conversation1"}}})\n'


@dataclass(frozen=True)
class Block:
    lang: str
    text: str
    line: int

    def __str__(self) -> str:
        return f"README.md:{self.line}"


BLOCKS = [Block(m.group(1), m.group(2), README.count("\n", 0, m.start()) + 1) for m in FENCE.finditer(README)]


def blocks(lang: str) -> list[Block]:
    return [b for b in BLOCKS if b.lang == lang]


def test_every_block_is_one_this_file_runs() -> None:
    assert {b.lang for b in BLOCKS} <= {"bash", "toml", "yaml", "python", "pycon", ""}, {b.lang for b in BLOCKS}


# Python -----------------------------------------------------------------------------------------

def test_python_blocks_run_against_the_router_and_redis(router: Router, redis_url: str,
                                                        tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (block,) = [b for b in blocks("python") if "api.orq.ai/v3/router" in b.text and "thread_scope" in b.text]
    monkeypatch.chdir(tmp_path)  # Policy.load() finds no config here: the recommended preset
    monkeypatch.setenv("ORQ_API_KEY", "test-key")
    source = block.text.replace("https://api.orq.ai/v3/router", router.url)
    source = source.replace("redis://127.0.0.1:6379/0", redis_url)
    assert source.count(router.url) == 1 and source.count(redis_url) == 1  # both stand-ins were used
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        exec(compile(source, str(block), "exec"), {"__name__": "readme"})
    printed = re.findall(r"print\(.*\)\s+# (.*)", block.text)
    assert out.getvalue().splitlines() == printed
    assert [body["orq"]["thread"]["id"] for body in router.received] == ["user-42-9f1c"]  # the refused one never left


def test_pycon_blocks_are_doctests() -> None:
    for block in blocks("pycon"):
        test = doctest.DocTestParser().get_doctest(block.text, {}, str(block), "README.md", block.line)
        runner = doctest.DocTestRunner(optionflags=doctest.ELLIPSIS)
        out = io.StringIO()
        runner.run(test, out=out.write)
        assert runner.failures == 0 and runner.tries > 0, out.getvalue()


# TOML -------------------------------------------------------------------------------------------

def test_toml_blocks_are_valid_config() -> None:
    seen = set()
    for block in blocks("toml"):
        data = tomllib.loads(block.text)
        tool = data["tool"]
        if "orq-thread-lint" in tool:
            policy = Policy.from_dict(tool["orq-thread-lint"], str(block), table="tool.orq-thread-lint")
            assert policy.id_patterns.by_name("user") is not None
            seen.add("orq")
        if "ruff" in tool:
            assert tool["ruff"]["lint"]["external"] == ["OTL"]  # run with ruff below
            seen.add("ruff")
    assert seen == {"orq", "ruff"}


def test_next_to_ruff_the_coded_noqa_survives_and_a_bare_one_does_not(tmp_path: Path, cli_env: dict[str, str]) -> None:
    (ruff_block,) = [b for b in blocks("toml") if "tool.ruff" in b.text]
    (tmp_path / "pyproject.toml").write_text(ruff_block.text + 'extend-select = ["RUF100"]\n')
    coded = BAD.replace("}}})\n", "}}})  # noqa: OTL003\n")
    bare = BAD.replace("go(", "go2(").replace("}}})\n", "}}})  # noqa\n")
    (tmp_path / "app.py").write_text(coded + bare + "import os  # noqa\n")
    assert subprocess.run(["orq-thread-lint", "check", "app.py", "--no-cache"], cwd=tmp_path, env=cli_env,
                          capture_output=True).returncode == 0  # both forms silence orq-thread-lint
    ruff = [str(BIN / "ruff"), "check", "app.py", "--no-cache", "--output-format", "concise"]
    proc = subprocess.run(ruff, cwd=tmp_path, env=cli_env, capture_output=True, text=True)
    flagged = [line.split(":")[1] + " " + line.split()[1] for line in proc.stdout.splitlines() if line.startswith("app.py:")]
    # Only the bare noqa on the OTL line is "unused" to ruff; the bare noqa on `import os` hides F401.
    assert flagged == ["4 RUF100"], proc.stdout
    subprocess.run([*ruff, "--fix"], cwd=tmp_path, env=cli_env, capture_output=True, check=False)
    fixed = (tmp_path / "app.py").read_text()
    assert "# noqa: OTL003" in fixed and fixed.count("# noqa") == 2
    proc = subprocess.run(["orq-thread-lint", "check", "app.py", "--no-cache"], cwd=tmp_path, env=cli_env,
                          capture_output=True, text=True)
    assert proc.returncode == 1 and proc.stdout.startswith("app.py:4:")  # the OTL finding is back


# Shell ------------------------------------------------------------------------------------------

# Commands the README shows that this suite does not run itself, and why.
NOT_RUN = {
    "pip install": "installing: the pre-commit tests install this checkout into a fresh environment",
    "python -m pytest": "the suite itself",
    "pytest --orq-thread-lint": "the plugin: tests/test_pytest_plugin.py runs it with pytester",
    "python bench/": "benchmarks take minutes; their numbers are quoted with the command",
    "ORQ_THREAD_LINT_MODE=": "the process-wide install: tests/test_runtime_install.py runs it",
    "python app.py": "the reader's own program",
}


def test_other_python_blocks_compile() -> None:
    for block in blocks("python"):
        compile(block.text, str(block), "exec")


def test_shell_commands_of_the_tool_run(tmp_path: Path, cli_env: dict[str, str]) -> None:
    """Each block runs in a fresh project (the examples, a module with a finding, a request log),
    its commands in order, as a reader would type them."""
    ran = 0
    for n, block in enumerate(blocks("bash")):
        project = tmp_path / f"block{n}"
        shutil.copytree(ROOT / "examples", project / "examples")
        shutil.copy(ROOT / "examples" / "requests.jsonl", project / "requests.jsonl")
        (project / "app.py").write_text(BAD)
        for line in block.text.splitlines():
            for command in (c.strip() for c in line.split("#")[0].split("&&")):
                if not command or any(command.startswith(prefix) for prefix in NOT_RUN):
                    continue
                assert command.startswith("orq-thread-lint "), f"{block}: no test runs {command!r}"
                proc = subprocess.run(shlex.split(command), cwd=project, env=cli_env, capture_output=True,
                                      text=True, timeout=300)
                assert proc.returncode in (0, 1) and "Traceback" not in proc.stderr, (command, proc.stderr)
                if command == "orq-thread-lint validate examples/requests.jsonl":
                    # The quick start says it exits 1: the example log has findings.
                    assert proc.returncode == 1 and "Found" in proc.stdout
                ran += 1
    assert ran >= 4


def help_options(command: str, env: dict[str, str]) -> set[str]:
    text = subprocess.run(["orq-thread-lint", command, "--help"], env=env, capture_output=True, text=True).stdout
    return set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-[a-z]{1,2})\b", text.split("Options:", 1)[1])) - {"-h", "--help"}


@pytest.mark.parametrize("command", ["validate", "check"])
def test_usage_lines_match_help(command: str, cli_env: dict[str, str]) -> None:
    (usage,) = [b for b in blocks("") if b.text.startswith(f"orq-thread-lint {command} ")]
    shown = set(re.findall(r"(?<![\w-])(--[a-z][a-z-]+|-[a-z]{1,2})\b", usage.text))
    shown |= {f"--{part}" for group in re.findall(r"--([a-z/-]+) CODES", usage.text) for part in group.split("/--")}
    known = help_options(command, cli_env)
    assert shown - known == set(), f"{usage} shows options {command} doesn't have"
    # The usage line writes one spelling of each option; these are the others.
    aliases = {"--output-format", "--output-file", "--quiet", "-e", "-j", "-n", "-w"}
    assert known - shown == aliases & known, f"{usage} misses options of {command}"


def test_error_examples_are_what_the_tool_prints(tmp_path: Path, cli_env: dict[str, str]) -> None:
    (example,) = [b for b in blocks("") if "unknown key; did you mean" in b.text]
    configs = ["[tool.orq-thread-lint.tags]\nmax-cout = 1\n", "[tool.orq-thread-lint.runtime]\nttl-seconds = 0\n",
               '[tool.orq-thread-lint]\nselect = ["OTL0O3"]\n']
    printed = []
    for text in configs:
        (tmp_path / "pyproject.toml").write_text(text)
        proc = subprocess.run(["orq-thread-lint", "validate", "-"], cwd=tmp_path, env=cli_env, input="{}",
                              capture_output=True, text=True)
        assert proc.returncode == 2
        printed.append(proc.stderr.removeprefix("orq-thread-lint: error: ").strip())
    assert printed == example.text.strip().splitlines()


# YAML -------------------------------------------------------------------------------------------

def yaml_block(key: str) -> dict[str, Any]:
    (found,) = [yaml.safe_load(b.text) for b in blocks("yaml") if yaml.safe_load(b.text).get(key)]
    return found


def test_pre_commit_config_validates_and_names_real_hooks(tmp_path: Path, cli_env: dict[str, str]) -> None:
    config = yaml_block("repos")
    manifest = {hook["id"] for hook in yaml.safe_load((ROOT / ".pre-commit-hooks.yaml").read_text())}
    (repo,) = config["repos"]
    assert {hook["id"] for hook in repo["hooks"]} <= manifest
    assert re.fullmatch(r"[0-9a-f]{40}", str(repo["rev"]))  # a commit, as the text says: no tag exists yet
    path = tmp_path / ".pre-commit-config.yaml"
    path.write_text(yaml.safe_dump(config))
    proc = subprocess.run(["pre-commit", "validate-config", str(path)], env=cli_env, capture_output=True, text=True)
    assert proc.returncode == 0, proc.stdout + proc.stderr


def play_job(job: dict[str, Any], repo: Path, env: dict[str, str]) -> tuple[list[str], bool]:
    """Run a job's steps as GitHub does: a step runs while no earlier one failed, unless its `if`
    says always(); `run` steps run in the checkout, the upload step needs its file to be there."""
    ran, failed = [], False
    for step in job["steps"]:
        condition = str(step.get("if", "success()"))
        if failed and "always()" not in condition:
            continue
        if "uses" in step:
            action = step["uses"].split("@")[0]
            if action == "github/codeql-action/upload-sarif":
                report = json.loads((repo / step["with"]["sarif_file"]).read_text())
                assert report["version"] == "2.1.0"
                ran.append(f"upload:{len(report['runs'][0]['results'])}")
            else:
                assert action in ("actions/checkout", "actions/setup-python"), action
            continue
        command = step["run"].split("#")[0].strip()
        if command.startswith("pip install"):
            continue  # the tool is installed here already
        proc = subprocess.run(shlex.split(command), cwd=repo, env=env, capture_output=True, text=True, timeout=120)
        ran.append(f"{command.split()[2:4]}:{proc.returncode}")
        failed = failed or proc.returncode != 0
    return ran, failed


def test_github_actions_job_uploads_sarif_even_with_findings(tmp_path: Path, cli_env: dict[str, str]) -> None:
    (job,) = yaml_block("jobs")["jobs"].values()
    dirty = tmp_path / "dirty"
    dirty.mkdir()
    (dirty / "app.py").write_text(BAD)
    ran, failed = play_job(job, dirty, cli_env)
    assert "upload:1" in ran and failed  # the findings reach code scanning, and the job still fails
    assert ran[-1] == "['--format', 'github']:1"
    clean = tmp_path / "clean"
    clean.mkdir()
    (clean / "app.py").write_text("x = 1\n")
    ran, failed = play_job(job, clean, cli_env)
    assert "upload:0" in ran and not failed
