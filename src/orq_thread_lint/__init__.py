"""orq-thread-lint: keep orq.ai conversation threads correct."""

__version__ = "0.1.0"

from .policy import ConfigError, Policy  # noqa: E402
from .rules.catalog import RULES, Rule  # noqa: E402
from .runtime.guard import OrqThreadWarning, ThreadPolicyError, ThreadStoreError, guard  # noqa: E402
from .runtime.scope import thread_scope  # noqa: E402
from .violations import Violation  # noqa: E402

__all__ = [
    "RULES", "ConfigError", "OrqThreadWarning", "Policy", "Rule", "ThreadPolicyError", "ThreadStoreError",
    "Violation", "__version__", "guard", "thread_scope",
]
