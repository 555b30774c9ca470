"""orq-thread-lint: keep orq.ai conversation threads correct."""

from .policy import ConfigError, Policy
from .rules.catalog import RULES, Rule
from .violations import Violation

__version__ = "0.1.0"

__all__ = ["RULES", "ConfigError", "Policy", "Rule", "Violation", "__version__"]
