"""orq-thread-lint: keep orq.ai conversation threads correct."""

__version__ = "0.1.0"

from .policy import ConfigError, Policy
from .rules.catalog import RULES, Rule
from .runtime.guard import OrqThreadWarning, ThreadCheckError, ThreadPolicyError, ThreadStoreError, guard
from .runtime.scope import thread_scope
from .violations import Violation

__all__ = [
    "RULES", "ConfigError", "OrqThreadWarning", "Policy", "Rule", "ThreadCheckError", "ThreadPolicyError",
    "ThreadStoreError",
    "Violation", "__version__", "guard", "thread_scope",
]
