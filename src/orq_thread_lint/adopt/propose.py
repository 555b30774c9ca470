"""From what code and logs use to a proposed ``[tool.orq-thread-lint]`` table.

Every value first goes through the rules themselves (with no patterns or vocabulary, so only
what is wrong in any policy can fire): a generic id, personal data or a malformed value is never
proposed; it is listed as a finding instead, by location and code, never by its text.
"""

from __future__ import annotations

import json
from collections import Counter
from dataclasses import dataclass, field

from ..policy import Policy
from ..rules.thread import Emitter, check_id, check_tag
from ..violations import Violation
from .collect import Collected, Seen, hole_name
from .generalise import of_value, valid

# Findings that make a value unfit to learn from, whatever the policy.
_UNFIT = {"id": frozenset({"OTL001", "OTL002", "OTL003", "OTL005", "OTL006"}),
          "tag": frozenset({"OTL006", "OTL013"})}
_WHERE_SHOWN = 3


@dataclass
class Entry:
    template: str
    count: int = 0
    where: list[str] = field(default_factory=list)

    def comment(self) -> str:
        places = ", ".join(self.where[:_WHERE_SHOWN])
        more = f" and {len(self.where) - _WHERE_SHOWN} more" if len(self.where) > _WHERE_SHOWN else ""
        return f"{self.count} use{'s' if self.count != 1 else ''}: {places}{more}"


@dataclass(frozen=True, slots=True)
class Rejected:
    where: str
    kind: str
    code: str
    message: str


@dataclass
class Proposal:
    id_patterns: list[Entry]
    vocabulary: list[Entry]
    tag_patterns: list[Entry]
    placement: tuple[str, str] | None  # (value, why)
    base_urls: list[Entry]
    rejected: list[Rejected]
    files: int
    records: int


def _learning_policy(policy: Policy) -> Policy:
    """The user's policy without the parts init proposes (so every value is judged afresh)."""
    config = policy.config.model_copy(update={
        "thread_id": policy.config.thread_id.model_copy(update={"patterns": []}),
        "tags": policy.config.tags.model_copy(update={"vocabulary": [], "patterns": []}),
    })
    return Policy(config, policy.source)


def _problems(item: Seen, policy: Policy) -> list[Violation]:
    out: list[Violation] = []
    emit = Emitter(policy, out)
    (check_id if item.kind == "id" else check_tag)(item.value, emit)
    return [v for v in out if v.code in _UNFIT[item.kind]]


def _add(entries: dict[str, Entry], template: str, where: str) -> None:
    entry = entries.setdefault(template, Entry(template))
    entry.count += 1
    if where not in entry.where:
        entry.where.append(where)


def propose(found: Collected, policy: Policy) -> Proposal:
    judge = _learning_policy(policy)
    ids: dict[str, Entry] = {}
    words: dict[str, Entry] = {}
    tag_patterns: dict[str, Entry] = {}
    rejected: list[Rejected] = []
    placements: Counter[str] = Counter()
    for item in found.seen:
        problems = _problems(item, judge)
        if problems:
            first = problems[0]
            rejected.append(Rejected(item.where, item.kind, first.code, first.message))
            continue
        template = of_value(item.value, hole_name)
        if not valid(template):
            continue
        if item.kind == "id":
            placements[item.placement] += 1
            _add(ids, template, item.where)
        elif "{" in template.replace("{{", ""):
            _add(tag_patterns, template, item.where)
        else:
            _add(words, template.replace("{{", "{").replace("}}", "}"), item.where)
    return Proposal(
        id_patterns=_ordered(ids), vocabulary=_ordered(words), tag_patterns=_ordered(tag_patterns),
        placement=_placement(placements), base_urls=_base_urls(found, policy), rejected=rejected,
        files=found.files, records=found.records,
    )


def _ordered(entries: dict[str, Entry]) -> list[Entry]:
    return sorted(entries.values(), key=lambda e: (-e.count, e.template))


def _placement(placements: Counter[str]) -> tuple[str, str] | None:
    total = sum(placements.values())
    if not total:
        return None
    if len(placements) == 1:
        where = next(iter(placements))
        label = "orq.thread" if where == "orq" else "a top-level thread"
        return where, (f"the one thread seen uses {label}" if total == 1 else f"all {total} threads seen use {label}")
    detail = ", ".join(f"{n} {'orq.thread' if k == 'orq' else 'top-level'}" for k, n in placements.most_common())
    return "any", f"both placements are in use ({detail})"


def _base_urls(found: Collected, policy: Policy) -> list[Entry]:
    """The configured orq base URLs plus the hosts of clients they don't cover (none to propose
    when every client is covered already)."""
    known = getattr(policy.config.calls, "orq_base_urls", None)
    if known is None:  # a policy version without the setting
        return []
    new = [Entry(host, count) for host, count in found.base_urls.most_common() if not any(k in host for k in known)]
    if not new:
        return []
    return [Entry(k, 0, ["already configured"]) for k in known] + new


def render(proposal: Proposal, *, standalone: bool) -> str:
    """The proposed table as TOML text (a standalone file has its keys at the top level)."""
    prefix = "" if standalone else "tool.orq-thread-lint"
    lines = [
        f"# Proposed by `orq-thread-lint init` from {proposal.files} file{'s' if proposal.files != 1 else ''}"
        f" and {proposal.records} log record{'s' if proposal.records != 1 else ''}; review before committing.",
    ]
    if not standalone:
        lines.append(f"[{prefix}]")
    if proposal.placement is not None:
        value, why = proposal.placement
        lines.append(f"thread-placement = {_string(value)}  # {why}")
    sections = [
        ("thread-id", [("patterns", proposal.id_patterns)]),
        ("tags", [("vocabulary", proposal.vocabulary), ("patterns", proposal.tag_patterns)]),
        ("calls", [("orq-base-urls", proposal.base_urls)]),
    ]
    for table, keys in sections:
        keys = [(k, entries) for k, entries in keys if entries]
        if not keys:
            continue
        lines.append("")
        lines.append(f"[{prefix + '.' if prefix else ''}{table}]")
        for key, entries in keys:
            lines.append(f"{key} = [")
            for entry in entries:
                note = (f"  # {entry.comment()}" if entry.count else f"  # {entry.where[0]}") if entry.where else (
                    f"  # {entry.count} client{'s' if entry.count != 1 else ''} built with it")
                lines.append(f"    {_string(entry.template)},{note}")
            lines.append("]")
    return "\n".join(lines) + "\n"


def _string(value: str) -> str:
    """A TOML basic string (JSON's escapes are TOML's, as long as non-ASCII stays as it is)."""
    return json.dumps(value, ensure_ascii=False)
