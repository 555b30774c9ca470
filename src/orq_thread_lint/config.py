"""The configuration's schema: frozen pydantic models, the one place the settings' names, types,
defaults and bounds are written, and pydantic's errors in the words of the config file.

Only :func:`validate` is used from outside, and only when a config is not already in the cache of
validated configs (see :mod:`.validated`): importing pydantic and building these models costs more
than a clean-file ``check`` may take."""

from __future__ import annotations

import difflib
import re
from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator

from .policy import (
    DEFAULT_TARGETS,
    MAX_ID_LENGTH,
    MAX_MEMORY_CAPACITY,
    MAX_STORE_TIMEOUT_MS,
    MAX_TAG_COUNT,
    MAX_TAG_LENGTH,
    MAX_TTL_SECONDS,
    ConfigError,
    code_problem,
)
from .templates import TemplateError, parse
from .toml_values import key as toml_key
from .toml_values import show_value, type_name


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
        raise ValueError(f'must be "memory", "sqlite:///path" or "redis://host:port/db", not {show_value(value, 40)}')


class CallsConfig(_Model):
    targets: list[str] = Field(default_factory=lambda: list(DEFAULT_TARGETS))
    extend_targets: list[str] = Field(default_factory=list)
    # OTL101 in code: only calls on clients traced to orq ("orq-clients"), every target call ("all"),
    # or none ("off").
    require_thread: Literal["orq-clients", "all", "off"] = "orq-clients"
    orq_base_urls: list[str] = Field(default_factory=lambda: ["orq.ai"])


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
    # ruff's file selection: which files a folder's walk checks (`*.ipynb`: notebooks).
    include: list[str] = Field(default_factory=lambda: ["*.py", "*.pyi", "*.ipynb"])
    extend_include: list[str] = Field(default_factory=list)
    exclude: list[str] = Field(default_factory=list)
    extend_exclude: list[str] = Field(default_factory=list)
    per_file_ignores: dict[str, list[str]] = Field(default_factory=dict)
    respect_gitignore: bool = True

    @field_validator("select", "ignore", "extend_select")
    @classmethod
    def _codes(cls, value: list[str]) -> list[str]:
        problems = [f"{show_value(code)} {problem}" for code in value if (problem := code_problem(code))]
        if problems:
            raise ValueError("; ".join(problems))
        return value

    @field_validator("per_file_ignores")
    @classmethod
    def _file_codes(cls, value: dict[str, list[str]]) -> dict[str, list[str]]:
        for pattern, codes in value.items():
            for code in codes:
                problem = code_problem(code)
                if problem:
                    raise ValueError(f"{show_value(code)} (for {show_value(pattern)}) {problem}")
        return {pattern: ["OTL" if c == "ALL" else c for c in codes] for pattern, codes in value.items()}


def _setting_keys(raw: Mapping[str, Any], prefix: str = "") -> list[str]:
    """The dotted keys a raw config sets: into sub-tables that are settings tables (``tags``),
    not into values that are tables themselves (``per-file-ignores``, named ``patterns``)."""
    out = []
    for name, value in raw.items():
        dotted = f"{prefix}{name}"
        if isinstance(value, Mapping) and _model_at(dotted.split(".")) is not None:
            out.extend(_setting_keys(value, f"{dotted}."))
        else:
            out.append(dotted)
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


_EXPECTED = {
    "int_type": "an integer", "int_parsing": "an integer", "float_type": "a number", "string_type": "a string",
    "bool_type": "true or false", "list_type": "an array", "dict_type": "a table", "model_type": "a table",
    "model_attributes_type": "a table",
}
_BOUNDS = {"greater_than_equal": ("ge", "at least"), "less_than_equal": ("le", "at most"),
           "greater_than": ("gt", "more than"), "less_than": ("lt", "less than")}


def _problem(error: Mapping[str, Any]) -> str:
    """pydantic's error in the words of the config file: TOML's types and syntax."""
    kind, given = error["type"], error.get("input")
    got = type_name(given) if isinstance(given, (Mapping, list)) and len(show_value(given)) > 40 else (
        f"{type_name(given)} ({show_value(given, 40)})")
    if kind in _EXPECTED:
        return f"must be {_EXPECTED[kind]}, not {got}"
    if kind == "literal_error":
        choices = re.sub(r"'([^']*)'", r'"\1"', str(error.get("ctx", {}).get("expected", "")))
        return f"must be {choices}, not {show_value(given, 40)}"
    if kind in _BOUNDS:
        name, words = _BOUNDS[kind]
        return f"must be {words} {error.get('ctx', {}).get(name)}, not {show_value(given, 40)}"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    message = str(error["msg"]).replace("Input should be", "must be")
    return f"{message}, not {got}"


def _where(loc: Iterable[object]) -> list[str | int]:
    """The keys of an error's location (pydantic's type markers such as ``list[str]`` left out)."""
    return [p for p in loc if isinstance(p, int) or (
        isinstance(p, str) and not (p.startswith(("list[", "dict[")) or p == "str"))]


def _describe(error: Mapping[str, Any], source: str, table: str | None) -> str:
    loc = _where(error["loc"])
    keys: list[str] = []
    for part in loc:
        if isinstance(part, int):
            keys[-1] = f"{keys[-1]}[{part}]" if keys else f"[{part}]"
        else:
            keys.append(toml_key(str(part)))
    parent = keys[:-1]
    if error["type"] == "extra_forbidden":
        model = _model_at(loc[:-1])
        known = [_alias(n) for n in model.model_fields] if model else []
        close = difflib.get_close_matches(str(loc[-1]), known, n=1)
        hint = f"; did you mean '{close[0]}'?" if close else f" (known keys: {', '.join(known)})"
        problem = f"unknown key{hint}"
    else:
        problem = _problem(error)
        if keys[-1:] == ["store-key-secret"]:  # a secret is never echoed, not even a wrong one
            problem = re.sub(r",? not .*\Z", "", problem, flags=re.S)
    tables = [t for t in (table, *parent) if t]
    where = f"[{'.'.join(tables)}] " if tables else ""
    return f"{source}: {where}{keys[-1] if keys else ''}: {problem}"


def _file_order(loc: Iterable[object], raw: object) -> list[int]:
    """Where an error's key sits in the file: TOML tables keep their keys in file order."""
    node, order = raw, []
    for part in loc:
        if isinstance(node, Mapping) and isinstance(part, str):
            names = list(node)
            order.append(names.index(part) if part in node else len(names))
            node = node.get(part)
        elif isinstance(node, list) and isinstance(part, int):
            order.append(part)
            node = node[part] if part < len(node) else None
        else:
            break
    return order


def _errors(exc: ValidationError, raw: Mapping[str, Any], source: str, table: str | None) -> ConfigError:
    found = sorted(exc.errors(), key=lambda e: _file_order(_where(e["loc"]), raw))
    return ConfigError("\n".join(_describe(e, source, table) for e in found))


def validate(merged: Mapping[str, Any], raw: Mapping[str, Any], source: str, table: str | None,
             preset: Mapping[str, Any]) -> dict[str, Any]:
    """``merged`` (a preset with ``raw`` on top) validated, as the cache of validated configs keeps it:
    the model's dump, which of its fields are tables, the keys the preset and ``raw`` set, and whether
    it holds a secret (a config that does is not kept: a secret is not copied out of its file)."""
    try:
        config = Config.model_validate(merged)
    except ValidationError as exc:
        raise _errors(exc, raw, source, table) from None
    return {"values": config.model_dump(), "tables": _tables(config),
            "preset_keys": _setting_keys(preset), "raw_keys": _setting_keys(raw),
            "secret": config.runtime.store_key_secret is not None}


def _tables(model: BaseModel, prefix: str = "") -> list[str]:
    out = []
    for name in type(model).model_fields:
        value = getattr(model, name)
        if isinstance(value, BaseModel):
            out += [f"{prefix}{name}", *_tables(value, f"{prefix}{name}.")]
    return out
