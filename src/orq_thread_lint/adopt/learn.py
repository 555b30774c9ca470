"""``orq-thread-lint init`` as a library call: collect, propose, and write the policy."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

from ..policy import Policy
from .collect import Collected, collect_code, collect_logs
from .propose import Proposal, propose, render
from .write import check, merged, write


@dataclass(frozen=True, slots=True)
class Learned:
    proposal: Proposal
    table: str  # the TOML text proposed
    target: Path
    text: str  # the target file's whole new text
    problems: Collected


def learn(paths: Sequence[str], logs: Sequence[str], policy: Policy, target: Path, *, force: bool) -> Learned:
    """What init would write to ``target``; raises ConfigError when it mustn't (a table exists
    without ``force``)."""
    found = Collected()
    if paths:
        collect_code(paths, policy, found)
    if logs:
        collect_logs(logs, policy, found)
    proposal = propose(found, policy)
    standalone = target.name != "pyproject.toml"
    table = render(proposal, standalone=standalone)
    text = merged(target, table, standalone=standalone, force=force)
    check(text, target)
    return Learned(proposal, table, target, text, found)


def save(learned: Learned) -> None:
    write(learned.target, learned.text)
