"""Every rule's code, name, summary and where it applies. Codes are a contract."""

from __future__ import annotations

from dataclasses import dataclass

CODE = "code"
RUNTIME = "runtime"
VALIDATE = "validate"
_ALL = frozenset({CODE, RUNTIME, VALIDATE})
_STATIC = frozenset({CODE})


@dataclass(frozen=True, slots=True)
class Rule:
    code: str
    name: str
    summary: str
    severity: str = "error"
    applies: frozenset[str] = _ALL
    fixable: bool = False  # `check --fix` can rewrite the code
    repairable: bool = False  # the runtime guard's repair mode can mend the request
    explicit: bool = False  # enabled only when selected by its own code or a prefix longer than "OTL"

    @property
    def url(self) -> str:
        return f"https://github.com/orq-thread-lint/orq-thread-lint/blob/main/rules/{self.code}.md"


RULES: dict[str, Rule] = {
    r.code: r
    for r in (
        Rule("OTL000", "invalid-input", "An input can't be read or parsed."),
        Rule("OTL001", "thread-id-missing", "A thread has no id, or it is empty, blank or null."),
        Rule("OTL002", "thread-id-not-string", "The thread id is not a string.", fixable=True),
        Rule("OTL003", "generic-thread-id", "The thread id is generic and will be shared by unrelated conversations."),
        Rule("OTL004", "thread-id-pattern", "The thread id matches none of the configured patterns.", "warning"),
        Rule(
            "OTL005",
            "thread-id-format",
            "The thread id is too long or holds whitespace, control or non-ASCII characters.",
            repairable=True,
        ),
        Rule("OTL006", "pii-in-thread", "A thread id or tag holds personal data or a secret."),
        Rule(
            "OTL007",
            "thread-overlap",
            "The same thread id is used under two different scopes.",
            applies=frozenset({RUNTIME, VALIDATE}),
        ),
        Rule(
            "OTL008",
            "thread-split",
            "A request continues an earlier request's conversation under another thread id, or none.",
            applies=frozenset({RUNTIME, VALIDATE}),
        ),
        Rule("OTL010", "tags-not-list", "Thread tags are not a list of strings.", fixable=True),
        Rule("OTL011", "unknown-tag", "A tag is outside the configured vocabulary and patterns.", "warning"),
        Rule("OTL012", "duplicate-tag", "A tag appears twice.", "warning", fixable=True, repairable=True),
        Rule("OTL013", "tag-format", "A tag is empty, too long, or holds whitespace or control characters.", "warning"),
        Rule("OTL014", "too-many-tags", "A thread has more tags than tags.max-count.", "warning"),
        Rule("OTL015", "unknown-thread-field", "A thread field or the thread key itself is misspelt."),
        Rule("OTL016", "missing-tags", "tags.required is set and the thread has no tags.", "warning"),
        Rule("OTL101", "missing-thread", "A request that should carry a thread carries none.", "warning"),
        Rule(
            "OTL102",
            "orq-keyword-argument",
            "orq= is passed as a keyword to an openai SDK method (a TypeError at run time).",
            applies=_STATIC,
            fixable=True,
        ),
        Rule(
            "OTL103",
            "thread-placement",
            "The thread is where the router won't read it, not where thread-placement requires, or given twice.",
            fixable=True,
            repairable=True,
        ),
        Rule(
            "OTL104",
            "constant-thread-id",
            "One constant thread id is used for every call, so all sessions share a thread.",
            applies=_STATIC,
        ),
        Rule(
            "OTL105",
            "loop-index-thread-id",
            "The thread id is built only from a loop counter, so separate runs collide.",
            "warning",
            applies=_STATIC,
        ),
        Rule(
            "OTL106",
            "minted-thread-id",
            "The thread id is minted inside the request (uuid4(), time.time() ...), so follow-ups never group.",
            "warning",
            applies=_STATIC,
        ),
        Rule(
            "OTL900",
            "unused-noqa",
            "A `# noqa: OTL...` code silences nothing on its line.",
            "warning",
            applies=_STATIC,
            fixable=True,
            explicit=True,
        ),
    )
}


def rule(code: str) -> Rule:
    return RULES[code]
