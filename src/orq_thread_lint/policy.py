"""The policy: discovery, presets and configuration errors.

One policy, written once in ``[tool.orq-thread-lint]``, drives the static checker, the runtime
guard and ``validate``. Its settings are validated by the frozen pydantic models of
:mod:`.config`, and read back from the cache of validated configs when it has them
(:mod:`.validated`); :class:`Policy` adds what is compiled from them once (template automata, the
selected rule set).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import sys
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from .rules.catalog import RULES
from .templates import TemplateSet
from .toml_values import show_value
from .validated import Settings, settings, validated
from .values import from_json

if TYPE_CHECKING:  # the rules import the policy; the policy reaches them only when asked to check
    from .config import Config
    from .rules.engine import Memoised
    from .violations import Violation

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib

TABLE = "tool.orq-thread-lint"
STANDALONE_NAMES = (".orq-thread-lint.toml", "orq-thread-lint.toml")
PRESETS = ("recommended", "strict")

DEFAULT_TARGETS = (
    "chat.completions.create",
    "chat.completions.parse",
    "chat.completions.stream",
    "responses.create",
    "responses.parse",
    "responses.stream",
    "completions.create",
)


class ConfigError(Exception):
    """A configuration problem; the message names the file, the key and the problem."""


# Upper bounds of numeric settings: every value in range works in every store and on every
# platform (no OverflowError in SQLite, Redis or the clock), and none makes a check unbounded.
MAX_ID_LENGTH = 4096
MAX_TAG_LENGTH = 4096
MAX_TAG_COUNT = 1000
MAX_TTL_SECONDS = 10 * 365 * 86400
MAX_STORE_TIMEOUT_MS = 60_000
MAX_MEMORY_CAPACITY = 10_000_000


def code_problem(code: str) -> str | None:
    """Why ``code`` selects nothing (None when it is ``ALL``, a rule code or a prefix of one)."""
    if code == "ALL" or (code.startswith("OTL") and any(c.startswith(code) for c in RULES)):
        return None
    prefixes = sorted({c[:n] for c in RULES for n in range(3, len(c) + 1)})
    upper = code.upper()
    if upper.startswith("OTL"):
        upper = "OTL" + upper[3:].replace("O", "0")  # the letter O for a zero
    same_length = [p for p in prefixes if len(p) == len(upper)] or prefixes
    close = [upper] if upper in prefixes else difflib.get_close_matches(upper, same_length, n=1, cutoff=0.6)
    hint = f"; did you mean {show_value(close[0])}?" if close else " (`orq-thread-lint rules` lists them)"
    return f"matches no rule code or prefix{hint}"


_STRICT: dict[str, Any] = {
    "thread-placement": "orq",
    "tags": {"required": True},
    "thread-id": {
        "patterns": {
            "user": "user-{userId}-{sessionId}",
            "ticket": "ticket-{ticketId}",
            "test": "test-{variant}-{userId}",
            "workflow": "workflow-{processId}",
            "conversation": "conversation-{uuid:uuid}",
            "thread": "thread_{ulid:ulid}",
        }
    },
}
_PRESETS: dict[str, dict[str, Any]] = {"recommended": {}, "strict": _STRICT}


def _merge(base: Mapping[str, Any], over: Mapping[str, Any]) -> dict[str, Any]:
    out = dict(base)
    for key, value in over.items():
        if isinstance(value, dict) and isinstance(out.get(key), dict):
            out[key] = _merge(out[key], value)
        else:
            out[key] = value
    return out


def display_path(path: Path) -> str:
    """A path as messages show it: relative to the working directory when it lies below it (or in
    a folder above it, as ``../pyproject.toml``), absolute when it is elsewhere."""
    if not path.is_absolute():
        return path.as_posix()
    here = Path.cwd()
    for ups, folder in enumerate((here, *here.parents)):
        if ups > 3 or folder == folder.parent:
            break
        if path.is_relative_to(folder):
            return ("../" * ups) + path.relative_to(folder).as_posix()
    return path.as_posix()


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
            return data
    except OSError as exc:
        raise ConfigError(f"{display_path(path)}: can't read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{display_path(path)}: not valid TOML: {exc}") from None
    except ValueError:  # tomllib lets int()'s digit limit through (Python 3.11+)
        raise ConfigError(f"{display_path(path)}: not valid TOML: a number has more digits than can be read") from None


def _table_of(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The raw settings in a config file, and the TOML table they live in (None at top level)."""
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        section: object = data.get("tool", {}).get("orq-thread-lint")
        if section is not None and not isinstance(section, dict):
            raise ConfigError(f"{display_path(path)}: [{TABLE}] must be a table")
        return section, TABLE
    return data, None


def find_config(start: Path | None = None) -> Path | None:
    """The nearest config file upward from ``start`` (a pyproject.toml counts only with our table)."""
    here = (start or Path.cwd()).resolve()
    for folder in (here, *here.parents):
        for name in STANDALONE_NAMES:
            if (folder / name).is_file():
                return folder / name
        pyproject = folder / "pyproject.toml"
        if pyproject.is_file():
            try:
                if _table_of(pyproject)[0] is not None:
                    return pyproject
            except ConfigError:
                return pyproject  # a broken pyproject nearest to us is an error to report, not skip
    return None


class Policy:
    """A compiled, immutable policy."""

    def __init__(self, config: Config | Settings, source: Path | None = None,
                 origins: Mapping[str, str] | None = None) -> None:
        # Settings read back stand in for the model: the same fields, and the model's methods.
        self.config = cast("Config", config)
        self.source = source
        # Where each setting set explicitly came from (dotted keys); see settings.py.
        self.origins: dict[str, str] = dict(origins or {})
        self.root = source.parent if source else Path.cwd()
        tid, tags = config.thread_id, config.tags
        self.id_patterns = TemplateSet.compile(tid.patterns)
        self.generic = TemplateSet.compile(tid.generic)
        self.tag_patterns = TemplateSet.compile(tags.patterns)
        self.vocabulary = frozenset(tags.vocabulary)
        self.enabled_codes = _resolve_selection(config.select + config.extend_select, config.ignore)
        # Findings per known id and tag text (pure in the text and this policy); see rules.thread.
        self.id_verdicts: dict[str, tuple[tuple[str, str, str | None], ...]] = {}
        self.tag_verdicts: dict[str, tuple[tuple[str, str, str | None], ...]] = {}
        # Verdicts per JSON request, keyed on what the request rules read; see rules.engine.
        self.request_verdicts: dict[bytes, Memoised] = {}

    @cached_property
    def tags_allowed(self) -> TemplateSet:
        """Vocabulary words and tag patterns as one set (for partly known tags)."""
        words = [w.replace("{", "{{").replace("}", "}}") for w in self.config.tags.vocabulary]
        return TemplateSet.compile([*words, *(t.source for t in self.tag_patterns.templates)])

    # construction -----------------------------------------------------------------------------
    @classmethod
    def from_dict(cls, raw: Mapping[str, Any], source: str = "<config>", *, table: str | None = None,
                  path: Path | None = None) -> Policy:
        if not isinstance(raw, Mapping):
            raise ConfigError(f"{source}: settings must be a table")
        where = f"[{table}] " if table else ""
        nested = raw.get("tool")
        if table is None and isinstance(nested, Mapping) and "orq-thread-lint" in nested:
            raise ConfigError(f"{source}: [{TABLE}]: this file holds only orq-thread-lint's settings, at the top "
                              f"level; drop the [{TABLE}] header (and the '{TABLE}.' of its sub-tables)")
        extends = raw.get("extends", "recommended")
        if extends not in _PRESETS:
            raise ConfigError(f"{source}: {where}extends: unknown preset {show_value(extends, 40)}; "
                              f"use one of {', '.join(map(show_value, PRESETS))}")
        config, preset_keys, raw_keys = validated(_merge(_PRESETS[extends], raw), raw, source, table,
                                                  _PRESETS[extends])
        origins = {k: f"preset {show_value(extends)}" for k in preset_keys}
        origins.update((k, f"{source} {where}".rstrip()) for k in raw_keys)
        return cls(config, path, origins)

    @classmethod
    def preset(cls, name: str = "recommended") -> Policy:
        if name not in _PRESETS:
            raise ConfigError(f"unknown preset {name!r}; use one of {', '.join(PRESETS)}")
        return cls.from_dict({"extends": name}, f"preset {name!r}")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Policy:
        file = Path(path)
        raw, table = _table_of(file)
        return cls.from_dict(raw or {}, display_path(file), table=table, path=file.resolve())

    @classmethod
    def load(cls, config: str | os.PathLike[str] | None = None, start: Path | None = None) -> Policy:
        """``--config`` if given, else the nearest config file upward, else the default preset."""
        if config is not None:
            return cls.from_file(config)
        found = find_config(start)
        return cls.from_file(found) if found else cls.preset()

    def with_selection(self, select: Iterable[str] = (), ignore: Iterable[str] = (),
                       extend_select: Iterable[str] = ()) -> Policy:
        """The same policy with command-line selection applied on top (ruff's semantics)."""
        select, ignore, extend_select = list(select), list(ignore), list(extend_select)
        if not (select or ignore or extend_select):
            return self
        problems = [f"--{flag} {code}: {problem}" for flag, codes in
                    (("select", select), ("ignore", ignore), ("extend-select", extend_select))
                    for code in codes if (problem := code_problem(code))]
        if problems:
            raise ConfigError("\n".join(problems))
        update: dict[str, Any] = {"ignore": self.config.ignore + ignore,
                                  "extend_select": self.config.extend_select + extend_select}
        if select:
            update.update(select=select, extend_select=extend_select)
        config = validated({**settings(self.config), **update}, {}, "command line", None, {})[0]
        origins = dict(self.origins)
        given_on_line = (("select", select, True), ("extend-select", select or extend_select, bool(select)),
                         ("ignore", ignore, False))
        for name, given, replaces in given_on_line:
            if given:
                before = origins.get(name)
                origins[name] = f"{before} + command line" if before and not replaces else "command line"
        return Policy(config, self.source, origins)

    @property
    def model(self) -> Config:
        """The settings as their pydantic model (built when they were read back from the cache)."""
        config: Config | Settings = self.config
        return cast("Config", config.model()) if isinstance(config, Settings) else config

    # queries ----------------------------------------------------------------------------------
    def enabled(self, code: str) -> bool:
        return code in self.enabled_codes

    @cached_property
    def fingerprint(self) -> str:
        """A hash of everything that changes findings (for caches)."""
        blob = json.dumps(settings(self.config), sort_keys=True)
        return hashlib.sha256(blob.encode()).hexdigest()[:16]

    def check_thread(self, thread: object) -> list[Violation]:
        """Check one thread object (``{"id": ..., "tags": [...]}``)."""
        from .rules.engine import check_thread

        return check_thread(from_json(thread, "thread"), self)

    def check_request(self, body: object) -> list[Violation]:
        """Check a whole request body: where its thread sits, and the thread itself."""
        from .rules.engine import check_request

        return check_request(from_json(body, ""), self)

    def thread_id(self, name: str, **parts: object) -> str:
        """Build an id from the named ``thread-id.patterns`` template; bad parts raise ValueError."""
        tpl = self.id_patterns.by_name(name)
        if tpl is None:
            known = ", ".join(t.name for t in self.id_patterns.templates) or "none configured"
            raise ValueError(f"no thread-id pattern named {name!r} (known: {known})")
        built = tpl.build(parts)
        problems = [v for v in self.check_thread({"id": built}) if v.path == "thread.id"]
        if problems:
            raise ValueError(f"thread id {built!r} built from {name!r} breaks the policy: {problems[0]}")
        return built


def _resolve_selection(select: Iterable[str], ignore: Iterable[str]) -> frozenset[str]:
    sel = ["OTL" if s == "ALL" else s for s in select]
    ign = ["OTL" if s == "ALL" else s for s in ignore]
    enabled = set()
    for code, rule in RULES.items():
        best_sel = max((len(p) for p in sel if code.startswith(p)), default=-1)
        if rule.explicit and best_sel <= len("OTL"):
            continue
        best_ign = max((len(p) for p in ign if code.startswith(p)), default=-1)
        if best_sel >= 0 and best_sel > best_ign:
            enabled.add(code)
    return frozenset(enabled)
