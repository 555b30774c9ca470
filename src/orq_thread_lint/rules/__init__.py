"""The value rules, written once: catalog (codes and names) and one module per family."""

from .catalog import RULES, Rule

__all__ = ["RULES", "Rule"]
