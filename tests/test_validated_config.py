"""The cache of validated configs: a config read back is the config pydantic validated, a broken
entry is validated again, and nothing wrong or secret is kept."""

from __future__ import annotations

import pickle
from pathlib import Path

import pytest

from orq_thread_lint.policy import ConfigError, Policy
from orq_thread_lint.settings import show_settings
from orq_thread_lint.validated import Settings, _folder

CONFIG = """\
[tool.orq-thread-lint]
extends = "strict"
ignore = ["OTL01"]
per-file-ignores = {"tests/*" = ["ALL"]}

[tool.orq-thread-lint.tags]
vocabulary = ["billing", "support"]
max-count = 3

[tool.orq-thread-lint.calls]
extend-targets = ["agents.run"]
"""


@pytest.fixture(autouse=True)
def _own_cache(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))


def entries() -> list[Path]:
    folder = _folder()
    assert folder is not None
    return sorted(folder.glob("*.json")) if folder.is_dir() else []


def described(path: Path) -> tuple[str, str, str]:
    policy = Policy.from_file(path)
    return show_settings(policy), policy.fingerprint, repr(sorted(policy.enabled_codes))


def test_a_config_read_back_is_the_one_validated(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    before = set(entries())
    cold = described(tmp_path / "pyproject.toml")
    written = set(entries()) - before
    assert len(written) == 1
    warm_policy = Policy.from_file(tmp_path / "pyproject.toml")
    assert isinstance(warm_policy.config, Settings)
    assert described(tmp_path / "pyproject.toml") == cold
    assert warm_policy.config.tags.vocabulary == ["billing", "support"]
    assert warm_policy.config.per_file_ignores == {"tests/*": ["OTL"]}  # as the validator left it
    assert warm_policy.config.model_config["frozen"]  # the model's own attributes come from the model
    assert warm_policy.model.tags.max_count == 3
    # Workers started by spawn or forkserver get the policy pickled.
    assert pickle.loads(pickle.dumps(warm_policy.config)).dump() == warm_policy.config.dump()
    assert pickle.loads(pickle.dumps(warm_policy.config.calls)).extend_targets == ["agents.run"]


@pytest.mark.parametrize("damage", [b"", b"{not json", b"[]", b'{"key": "x"}', b"\xff\xfe"])
def test_a_broken_entry_is_validated_again_and_rewritten(tmp_path: Path, damage: bytes) -> None:
    (tmp_path / "pyproject.toml").write_text(CONFIG.replace("max-count = 3", "max-count = 4"), encoding="utf-8")
    before = set(entries())
    cold = described(tmp_path / "pyproject.toml")
    (entry,) = set(entries()) - before
    good = entry.read_bytes()
    entry.write_bytes(damage)
    assert described(tmp_path / "pyproject.toml") == cold
    assert entry.read_bytes() == good


def test_an_entry_naming_a_table_that_is_not_one_is_not_read(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(CONFIG.replace("max-count = 3", "max-count = 5"), encoding="utf-8")
    before = set(entries())
    cold = described(tmp_path / "pyproject.toml")
    (entry,) = set(entries()) - before
    entry.write_text(entry.read_text(encoding="utf-8").replace('"tables": [', '"tables": ["select", '),
                     encoding="utf-8")
    assert described(tmp_path / "pyproject.toml") == cold


def test_a_wrong_config_is_never_kept_and_says_the_same_each_time(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.orq-thread-lint.tags]\nmax-count = -1\n", encoding="utf-8")
    before = set(entries())
    messages = set()
    for _ in range(2):
        with pytest.raises(ConfigError) as caught:
            Policy.from_file(tmp_path / "pyproject.toml")
        messages.add(str(caught.value))
    assert len(messages) == 1 and "[tool.orq-thread-lint.tags] max-count: must be at least 0, not -1" in messages.pop()
    assert set(entries()) == before


def test_a_config_with_a_secret_is_not_copied_into_the_cache(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text('[tool.orq-thread-lint.runtime]\nstore-key-secret = "s3cret-s3cret-s3cret"\n',
                                             encoding="utf-8")
    before = set(entries())
    policy = Policy.from_file(tmp_path / "pyproject.toml")
    assert policy.config.runtime.store_key_secret == "s3cret-s3cret-s3cret"
    assert set(entries()) == before
    assert not any(b"s3cret" in e.read_bytes() for e in entries())


def test_an_unwritable_cache_is_only_slower(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("", encoding="utf-8")
    monkeypatch.setenv("XDG_CACHE_HOME", str(blocker))
    (tmp_path / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
    for _ in range(2):
        assert Policy.from_file(tmp_path / "pyproject.toml").config.tags.max_count == 3
