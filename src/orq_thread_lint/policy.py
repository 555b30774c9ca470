"""The policy: configuration models, discovery, presets and configuration errors.

One policy, written once in ``[tool.orq-thread-lint]``, drives the static checker, the runtime
guard and ``validate``. The models are frozen pydantic models; :class:`Policy` adds what is
compiled from them once (template automata, the selected rule set).
"""

from __future__ import annotations

import difflib
import hashlib
import json
import os
import re
import sys
from collections.abc import Iterable, Mapping
from functools import cached_property
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .rules.catalog import RULES
from .templates import TemplateError, TemplateSet, parse
from .values import from_json

if TYPE_CHECKING:  # the rules import the policy; the policy reaches them only when asked to check
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


def _alias(name: str) -> str:
    return name.replace("_", "-")


class _Model(BaseModel):
    model_config = ConfigDict(
        frozen=True, extra="forbid", strict=True, alias_generator=_alias, populate_by_name=True
    )


Patterns = list[str] | dict[str, str]


def _check_templates(value: Patterns) -> Patterns:
    items = value.items() if isinstance(value, dict) else ((None, v) for v in value)
    for name, source in items:
        try:
            parse(source, name)
        except TemplateError as exc:
            raise ValueError(str(exc)) from None
    return value


# Upper bounds of numeric settings: every value in range works in every store and on every
# platform (no OverflowError in SQLite, Redis or the clock), and none makes a check unbounded.
MAX_ID_LENGTH = 4096
MAX_TAG_LENGTH = 4096
MAX_TAG_COUNT = 1000
MAX_TTL_SECONDS = 10 * 365 * 86400
MAX_STORE_TIMEOUT_MS = 60_000
MAX_MEMORY_CAPACITY = 10_000_000


class ThreadIdConfig(_Model):
    patterns: Patterns = Field(default_factory=list)
    generic: list[str] = Field(default_factory=list)
    max_length: int = Field(128, ge=1, le=MAX_ID_LENGTH)

    _templates = field_validator("patterns", "generic")(_check_templates)


class TagsConfig(_Model):
    vocabulary: list[str] = Field(default_factory=list)
    patterns: Patterns = Field(default_factory=list)
    max_count: int = Field(10, ge=0, le=MAX_TAG_COUNT)
    max_length: int = Field(64, ge=1, le=MAX_TAG_LENGTH)
    required: bool = False

    _templates = field_validator("patterns")(_check_templates)


class RuntimeConfig(_Model):
    mode: Literal["enforce", "warn", "repair", "off"] = "enforce"
    uniqueness: Literal["scope", "single-use", "off"] = "scope"
    store: str = "memory"
    ttl_seconds: int = Field(86400, ge=1, le=MAX_TTL_SECONDS)
    on_store_error: Literal["open", "closed"] = "open"
    # What a request the guard fails to check (a bug of ours) gets: sent ("open") or refused
    # ("closed"). Unset: closed in enforce and repair, open in warn.
    on_internal_error: Literal["open", "closed"] | None = None
    store_timeout_ms: int = Field(2000, ge=1, le=MAX_STORE_TIMEOUT_MS)  # runtime.stores.DEFAULT_TIMEOUT_MS
    memory_capacity: int = Field(100_000, ge=1, le=MAX_MEMORY_CAPACITY)
    continuity: bool = True  # OTL008: check that follow-ups keep their conversation's thread id
    # Keys shared stores hash ids and scopes with; ORQ_THREAD_LINT_STORE_KEY wins over it.
    store_key_secret: str | None = Field(None, min_length=16)

    @field_validator("store")
    @classmethod
    def _store_url(cls, value: str) -> str:
        if value == "memory" or re.match(r"(sqlite:///.+|rediss?://.*)\Z", value):
            return value
        raise ValueError("expected 'memory', 'sqlite:///path' or 'redis://host:port/db'")


class CallsConfig(_Model):
    targets: list[str] = Field(default_factory=lambda: list(DEFAULT_TARGETS))
    extend_targets: list[str] = Field(default_factory=list)


class Config(_Model):
    extends: Literal["recommended", "strict"] = "recommended"
    select: list[str] = Field(default_factory=lambda: ["OTL"])
    ignore: list[str] = Field(default_factory=list)
    extend_select: list[str] = Field(default_factory=list)
    thread_placement: Literal["orq", "top-level", "any"] = "any"
    thread_id: ThreadIdConfig = Field(default_factory=ThreadIdConfig)
    tags: TagsConfig = Field(default_factory=TagsConfig)
    runtime: RuntimeConfig = Field(default_factory=RuntimeConfig)
    calls: CallsConfig = Field(default_factory=CallsConfig)
    exclude: list[str] = Field(default_factory=list)
    extend_exclude: list[str] = Field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = Field(default_factory=dict)
    respect_gitignore: bool = True

    @field_validator("select", "ignore", "extend_select")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        for code in value:
            _check_code(code)
        return value

    @field_validator("per_file_ignores")
    @classmethod
    def _file_codes(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for codes in value.values():
            for code in codes:
                _check_code(code)
        return {pattern: ["OTL" if c == "ALL" else c for c in codes] for pattern, codes in value.items()}


def _check_code(code: str) -> None:
    if not re.fullmatch(r"OTL\d{0,3}|ALL", code):
        raise ValueError(f"{code!r} is not a rule code or prefix (like 'OTL003' or 'OTL0')")


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


def _model_at(loc: Iterable[object]) -> type[BaseModel] | None:
    model: type[BaseModel] | None = Config
    for part in loc:
        if model is None or not isinstance(part, str):
            return None
        field = next((f for n, f in model.model_fields.items() if _alias(n) == part), None)
        ann = field.annotation if field else None
        model = ann if isinstance(ann, type) and issubclass(ann, BaseModel) else None
    return model


def _describe(error: Mapping[str, Any], source: str, table: str | None) -> str:
    loc = [p for p in error["loc"] if not (isinstance(p, str) and (p.startswith(("list[", "dict[")) or p == "str"))]
    keys: list[str] = []
    for part in loc:
        if isinstance(part, int):
            keys[-1] = f"{keys[-1]}[{part}]" if keys else f"[{part}]"
        else:
            keys.append(str(part))
    if error["type"] == "extra_forbidden":
        parent = keys[:-1]
        model = _model_at(loc[:-1])
        known = [_alias(n) for n in model.model_fields] if model else []
        close = difflib.get_close_matches(keys[-1], known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f" (known keys: {', '.join(known)})"
        problem = f"unknown key{hint}"
    else:
        parent = keys[:-1]
        problem = error["msg"].removeprefix("Value error, ")
        secret = keys[-1:] == ["store-key-secret"]  # never echoed
        if "input" in error and error["type"] not in ("missing",) and not isinstance(error["input"], dict) \
                and not secret:
            try:
                got = repr(error["input"])
            except ValueError:  # an int of more digits than Python converts (3.11+)
                got = "a number of more digits than can be shown"
            problem = f"{problem} (got {got})"
    tables = [t for t in (table, *parent) if t]
    where = f"[{'.'.join(tables)}] " if tables else ""
    return f"{source}: {where}{keys[-1] if keys else ''}: {problem}"


def _read_toml(path: Path) -> dict[str, Any]:
    try:
        with path.open("rb") as fh:
            data: dict[str, Any] = tomllib.load(fh)
            return data
    except OSError as exc:
        raise ConfigError(f"{path}: can't read: {exc.strerror or exc}") from None
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: not valid TOML: {exc}") from None
    except ValueError:  # tomllib lets int()'s digit limit through (Python 3.11+)
        raise ConfigError(f"{path}: not valid TOML: a number has more digits than can be read") from None


def _table_of(path: Path) -> tuple[dict[str, Any] | None, str | None]:
    """The raw settings in a config file, and the TOML table they live in (None at top level)."""
    data = _read_toml(path)
    if path.name == "pyproject.toml":
        section: object = data.get("tool", {}).get("orq-thread-lint")
        if section is not None and not isinstance(section, dict):
            raise ConfigError(f"{path}: [{TABLE}] must be a table")
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

    def __init__(self, config: Config, source: Path | None = None) -> None:
        self.config = config
        self.source = source
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
        extends = raw.get("extends", "recommended")
        if extends not in _PRESETS:
            where = f"[{table}] " if table else ""
            raise ConfigError(f"{source}: {where}extends: unknown preset {extends!r}; use one of {', '.join(PRESETS)}")
        merged = _merge(_PRESETS[extends], raw)
        try:
            config = Config.model_validate(merged)
        except ValidationError as exc:
            raise ConfigError("\n".join(_describe(e, source, table) for e in exc.errors())) from None
        return cls(config, path)

    @classmethod
    def preset(cls, name: str = "recommended") -> Policy:
        if name not in _PRESETS:
            raise ConfigError(f"unknown preset {name!r}; use one of {', '.join(PRESETS)}")
        return cls.from_dict({"extends": name}, f"preset {name!r}")

    @classmethod
    def from_file(cls, path: str | os.PathLike[str]) -> Policy:
        file = Path(path)
        raw, table = _table_of(file)
        return cls.from_dict(raw or {}, str(file), table=table, path=file.resolve())

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
        update: dict[str, Any] = {"ignore": self.config.ignore + ignore,
                                  "extend_select": self.config.extend_select + extend_select}
        if select:
            update.update(select=select, extend_select=extend_select)
        try:
            config = Config.model_validate({**self.config.model_dump(), **update})
        except ValidationError as exc:
            raise ConfigError("\n".join(_describe(e, "command line", None) for e in exc.errors())) from None
        return Policy(config, self.source)

    # queries ----------------------------------------------------------------------------------
    def enabled(self, code: str) -> bool:
        return code in self.enabled_codes

    @cached_property
    def fingerprint(self) -> str:
        """A hash of everything that changes findings (for caches)."""
        blob = json.dumps(self.config.model_dump(mode="json"), sort_keys=True)
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
