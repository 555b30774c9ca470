"""orq-thread-lint: keep orq.ai conversation threads correct.

The public names are imported on first use (PEP 562), so ``import orq_thread_lint`` and the
command line pay for the runtime guard, its stores and asyncio only when they use them."""

from __future__ import annotations

from importlib import import_module
from typing import TYPE_CHECKING, Any

__version__ = "0.1.0"

_WHERE = {
    "ConfigError": "policy", "Policy": "policy",
    "RULES": "rules.catalog", "Rule": "rules.catalog",
    "OrqThreadWarning": "runtime.guard", "ThreadCheckError": "runtime.guard", "ThreadPolicyError": "runtime.guard",
    "ThreadStoreError": "runtime.guard", "guard": "runtime.guard",
    "install": "runtime.install", "installed": "runtime.install", "uninstall": "runtime.install",
    "thread_scope": "runtime.scope",
    "Violation": "violations",
}

__all__ = [
    "RULES", "ConfigError", "OrqThreadWarning", "Policy", "Rule", "ThreadCheckError", "ThreadPolicyError",
    "ThreadStoreError", "Violation", "__version__", "guard", "install", "installed", "thread_scope", "uninstall",
]

if TYPE_CHECKING:
    from .policy import ConfigError, Policy
    from .rules.catalog import RULES, Rule
    from .runtime.guard import OrqThreadWarning, ThreadCheckError, ThreadPolicyError, ThreadStoreError, guard
    from .runtime.install import install, installed, uninstall
    from .runtime.scope import thread_scope
    from .violations import Violation


def __getattr__(name: str) -> Any:
    module = _WHERE.get(name)
    if module is None:
        raise AttributeError(f"module 'orq_thread_lint' has no attribute {name!r}")
    value = getattr(import_module(f".{module}", __name__), name)
    globals()[name] = value
    return value


def __dir__() -> list[str]:
    return sorted(__all__)
