"""The one finding type every rule returns and every front end reports."""

from __future__ import annotations

from dataclasses import dataclass, field


@dataclass(frozen=True, slots=True)
class Violation:
    code: str
    name: str
    message: str
    path: str
    severity: str
    suggestion: str | None = None
    # Front-end handles: where the value came from (a libcst node) and how to fix it.
    anchor: object = field(default=None, compare=False, repr=False)
    fix: object = field(default=None, compare=False, repr=False)

    def __str__(self) -> str:
        # The place first, as ruff does ("OTL103 thread: ..."): a message that names places itself
        # still reads as one sentence.
        return f"{self.code} {self.path}: {self.message}" if self.path else f"{self.code} {self.message}"
