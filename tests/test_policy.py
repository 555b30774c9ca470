from __future__ import annotations

import subprocess
from pathlib import Path

import pytest

from orq_thread_lint.policy import ConfigError, Policy, find_config


def write(path: Path, text: str) -> Path:
    path.write_text(text, encoding="utf-8")
    return path


def test_defaults_and_presets() -> None:
    rec = Policy.preset()
    assert rec.config.thread_placement == "any" and not rec.id_patterns
    strict = Policy.preset("strict")
    assert strict.config.thread_placement == "orq" and strict.config.tags.required
    names = [t.name for t in strict.id_patterns.templates]
    assert {"user", "ticket", "test", "workflow", "conversation"} <= set(names)
    with pytest.raises(ConfigError, match="unknown preset"):
        Policy.preset("lax")


def test_user_settings_override_the_preset(tmp_path: Path) -> None:
    cfg = write(tmp_path / "orq-thread-lint.toml", 'extends = "strict"\nthread-placement = "any"\n[tags]\nmax-count = 3\n')
    policy = Policy.from_file(cfg)
    assert policy.config.thread_placement == "any"
    assert policy.config.tags.required and policy.config.tags.max_count == 3
    assert policy.config.model_config["frozen"]


def test_discovery_prefers_nearest_and_skips_pyproject_without_table(tmp_path: Path) -> None:
    write(tmp_path / "pyproject.toml", '[tool.orq-thread-lint]\nignore = ["OTL003"]\n')
    sub = tmp_path / "pkg" / "inner"
    sub.mkdir(parents=True)
    write(tmp_path / "pkg" / "pyproject.toml", "[project]\nname = 'x'\n")
    assert find_config(sub) == tmp_path / "pyproject.toml"
    assert not Policy.load(start=sub).enabled("OTL003")
    write(tmp_path / "pkg" / ".orq-thread-lint.toml", 'select = ["OTL00"]\n')
    assert find_config(sub) == tmp_path / "pkg" / ".orq-thread-lint.toml"
    policy = Policy.load(start=sub)
    assert policy.enabled("OTL003") and not policy.enabled("OTL101")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("[tool.orq-thread-lint.tags]\nmax-count = -1\n",
         "pyproject.toml: [tool.orq-thread-lint.tags] max-count: must be at least 0, not -1"),
        ("[tool.orq-thread-lint.tags]\nmax-cout = 1\n",
         "pyproject.toml: [tool.orq-thread-lint.tags] max-cout: unknown key; did you mean 'max-count'?"),
        ("[tool.orq-thread-lint]\nthread-placment = 'orq'\n",
         "pyproject.toml: [tool.orq-thread-lint] thread-placment: unknown key; did you mean 'thread-placement'?"),
        ("[tool.orq-thread-lint]\nthread-placement = 'nested'\n",
         "pyproject.toml: [tool.orq-thread-lint] thread-placement: must be \"orq\", \"top-level\" or \"any\", not \"nested\""),
        ("[tool.orq-thread-lint.thread-id]\npatterns = ['user-{a', 'ok']\n",
         "pyproject.toml: [tool.orq-thread-lint.thread-id] patterns: unclosed '{' at position 5"),
        ("[tool.orq-thread-lint.tags]\nmax-count = '3'\n",
         "pyproject.toml: [tool.orq-thread-lint.tags] max-count: must be an integer, not a string (\"3\")"),
        ("[tool.orq-thread-lint.runtime]\nstore = 'mongodb://x'\n",
         "pyproject.toml: [tool.orq-thread-lint.runtime] store: must be \"memory\", \"sqlite:///path\" or \"redis://host:port/db\", not \"mongodb://x\""),
        ("[tool.orq-thread-lint]\nselect = ['E501']\n",
         "pyproject.toml: [tool.orq-thread-lint] select: \"E501\" matches no rule code or prefix"),
        ("[tool.orq-thread-lint\n", "pyproject.toml: not valid TOML"),
    ],
)
def test_bad_config_names_file_key_and_problem(tmp_path: Path, text: str, message: str) -> None:
    cfg = write(tmp_path / "pyproject.toml", text)
    with pytest.raises(ConfigError) as info:
        Policy.from_file(cfg)
    assert message in str(info.value).replace(str(tmp_path) + "/", "")


def test_cli_exits_2_without_traceback(tmp_path: Path, cli_env: dict[str, str]) -> None:
    write(tmp_path / "pyproject.toml", "[tool.orq-thread-lint.tags]\nmax-cout = 1\n")
    body = write(tmp_path / "b.json", "{}")
    proc = subprocess.run(["orq-thread-lint", "validate", str(body)], cwd=tmp_path, capture_output=True,
                          text=True, env=cli_env)
    assert proc.returncode == 2
    assert "Traceback" not in proc.stderr
    assert "pyproject.toml: [tool.orq-thread-lint.tags] max-cout: unknown key; did you mean 'max-count'?" in proc.stderr


def test_selection_follows_ruff() -> None:
    policy = Policy.preset().with_selection(select=["OTL0"], ignore=["OTL003"], extend_select=["OTL101"])
    assert policy.enabled("OTL004") and policy.enabled("OTL101")
    assert not policy.enabled("OTL003") and not policy.enabled("OTL103")
    # A more specific select beats a broader ignore.
    policy = Policy.from_dict({"ignore": ["OTL0"], "extend-select": ["OTL006"]})
    assert policy.enabled("OTL006") and not policy.enabled("OTL003")


def test_fingerprint_changes_with_settings() -> None:
    assert Policy.preset().fingerprint == Policy.preset().fingerprint
    assert Policy.preset().fingerprint != Policy.preset("strict").fingerprint


def test_thread_id_builds_and_validates() -> None:
    policy = Policy.from_dict({"thread-id": {"patterns": {"user": "user-{user_id}-{session_id}",
                                                          "ticket": "ticket-{ticket_id:int}"}}})
    assert policy.thread_id("user", user_id="42", session_id="s-9") == "user-42-s-9"
    with pytest.raises(ValueError, match="ticket_id='abc' is not digits"):
        policy.thread_id("ticket", ticket_id="abc")
    with pytest.raises(ValueError, match="no thread-id pattern named 'order'"):
        policy.thread_id("order", order_id=1)
    with pytest.raises(ValueError, match="OTL006"):
        policy.thread_id("ticket", ticket_id="4111111111111111")


def test_config_errors_speak_toml_in_file_order(tmp_path: Path, cli_env: dict[str, str]) -> None:
    write(tmp_path / "pyproject.toml", """[tool.orq-thread-lint]
tags = true
thread-placement = "orq.thread"

[tool.orq-thread-lint.thread-id]
max-length = "long"

[tool.orq-thread-lint.runtime]
on-store-error = true
ttl-seconds = 0
""")
    sub = tmp_path / "src"
    sub.mkdir()
    proc = subprocess.run(["orq-thread-lint", "validate", "-"], cwd=sub, capture_output=True, text=True, env=cli_env,
                          input="{}")
    assert proc.returncode == 2
    assert proc.stderr.splitlines() == [
        "orq-thread-lint: error: ../pyproject.toml: [tool.orq-thread-lint] tags: must be a table, not a boolean (true)",
        '../pyproject.toml: [tool.orq-thread-lint] thread-placement: must be "orq", "top-level" or "any", not "orq.thread"',
        '../pyproject.toml: [tool.orq-thread-lint.thread-id] max-length: must be an integer, not a string ("long")',
        '../pyproject.toml: [tool.orq-thread-lint.runtime] on-store-error: must be "open" or "closed", not true',
        "../pyproject.toml: [tool.orq-thread-lint.runtime] ttl-seconds: must be at least 1, not 0",
    ]
    assert "Input should" not in proc.stderr and "TagsConfig" not in proc.stderr and str(tmp_path) not in proc.stderr


def test_standalone_file_with_the_pyproject_header_gets_a_hint(tmp_path: Path) -> None:
    cfg = write(tmp_path / "orq-thread-lint.toml", '[tool.orq-thread-lint]\nselect = ["OTL"]\n')
    with pytest.raises(ConfigError) as info:
        Policy.from_file(cfg)
    assert "drop the [tool.orq-thread-lint] header" in str(info.value)
    assert "unknown key" not in str(info.value)
