"""``--show-settings``: the resolved policy as TOML, each value with where it came from (the
config file, a preset, the command line or the built-in default), and the rules it enables."""

from __future__ import annotations

from typing import Any

from pydantic import BaseModel

from .policy import TABLE, Policy, display_path
from .toml_values import key, show_value

_SECRET = frozenset({"store-key-secret"})


def show_settings(policy: Policy) -> str:
    source = display_path(policy.source) if policy.source else "none (the built-in \"recommended\" preset)"
    lines = [f"# Settings file: {source}", f"[{TABLE}]"]
    tables: list[tuple[str, BaseModel]] = []
    _fields(policy.model, "", policy.origins, lines, tables)
    for name, model in tables:
        lines += ["", f"[{TABLE}.{name}]"]
        _fields(model, f"{name}.", policy.origins, lines, [])
    lines += ["", f"# Enabled rules ({len(policy.enabled_codes)}): {', '.join(sorted(policy.enabled_codes))}"]
    return "\n".join(lines) + "\n"


def _fields(model: BaseModel, prefix: str, origins: dict[str, str], lines: list[str],
            tables: list[tuple[str, BaseModel]]) -> None:
    width = 44
    for name, info in type(model).model_fields.items():
        alias = info.alias or name
        value: Any = getattr(model, name)
        if isinstance(value, BaseModel):
            tables.append((alias, value))
            continue
        origin = origins.get(f"{prefix}{alias}", "default")
        if alias in _SECRET and value is not None:
            entry = f"# {key(alias)} = (set, not shown)"
        elif value is None:  # TOML has no null: an unset key is shown as a comment
            entry = f"# {key(alias)} (not set)"
        else:
            entry = f"{key(alias)} = {show_value(value)}"
        lines.append(f"{entry:<{width}} # {origin}")
