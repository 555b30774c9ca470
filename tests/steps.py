"""Counting the work an automaton does, so linear-time claims are tested without a clock."""

from __future__ import annotations

from orq_thread_lint.templates import TemplateSet


class _Counting:
    __slots__ = ("chars", "counter")

    def __init__(self, chars: object, counter: list[int]) -> None:
        self.chars = chars
        self.counter = counter

    def __contains__(self, ch: object) -> bool:
        self.counter[0] += 1
        return ch in self.chars  # type: ignore[operator]


def count_steps(ts: TemplateSet) -> list[int]:
    """Make ``ts`` count every edge test from now on (``[n]``), starting from an empty DFA table."""
    counter = [0]
    ts._nfa.edges = [[(_Counting(c, counter), b) for c, b in edges] for edges in ts._nfa.edges]  # type: ignore[misc]
    ts._reset()
    return counter
