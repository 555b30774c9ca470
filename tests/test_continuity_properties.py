"""OTL008's logic on 10,000 random conversations (hypothesis): the runtime's memory store and
``validate``'s index never report a split when ids are stable, and always catch a changed id on a
continued conversation. Pure logic: no HTTP, no disk."""

from __future__ import annotations

import os
import random
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from orq_thread_lint.rules.continuity import Fingerprinter, Index, LocalFingerprinter, split
from orq_thread_lint.runtime.stores import MemoryStore

BATCH = 50  # conversations per example; 200 examples make 10,000 conversations
EXAMPLES = 200
HASHER = Fingerprinter(os.urandom(32))  # what shared stores get
LOCAL = LocalFingerprinter()  # what validate and the in-memory store use
# Small alphabets on purpose: conversations often open alike and repeat each other's turns.
WORDS = ["hi", "thanks", "invoice 7?", "and 8?", "ok", "", "détails ✓"]


def conversation(rng: random.Random) -> tuple[bool, list[Any]]:
    """A system prompt or not, and 1-6 turns: the user's messages, then the reply (maybe after a tool call)."""
    turns = []
    for _ in range(rng.randint(1, 6)):
        users = [rng.choice(WORDS) for _ in range(rng.randint(1, 2))]
        if rng.random() < 0.3:
            call = {"id": rng.choice(["call_1", "call_2"]), "type": "function",
                    "function": {"name": "find", "arguments": rng.choice(["{}", "{\"n\": 7}"])}}
            reply: list[Any] = [{"role": "assistant", "content": None, "tool_calls": [call]},
                                {"role": "tool", "tool_call_id": call["id"], "content": rng.choice(WORDS)},
                                {"role": "assistant", "content": [{"type": "text", "text": rng.choice(WORDS)}]}]
        else:
            reply = [{"role": "assistant", "content": rng.choice(WORDS)}]
        turns.append((users, reply))
    return rng.random() < 0.5, turns


def requests_of(system: bool, turns: list[Any], opening: str | None = None) -> list[list[Any]]:
    """The requests a conversation sends: each turn resends everything before it."""
    messages: list[Any] = [{"role": "system", "content": "be brief"}] if system else []
    out: list[list[Any]] = []
    for n, (users, reply) in enumerate(turns):
        for i, text in enumerate(users):
            first = opening is not None and n == 0 and i == 0
            messages.append({"role": "user", "content": f"{opening}: {text}" if first else text})
        out.append(list(messages))
        messages.extend(reply)
    return out


def interleave(conversations: list[list[list[Any]]], rng: random.Random) -> list[tuple[int, int, list[Any]]]:
    """(conversation, turn, messages) in a random order that keeps each conversation's turns in order."""
    slots = [c for c, conv in enumerate(conversations) for _ in conv]
    rng.shuffle(slots)
    cursors = [0] * len(conversations)
    out = []
    for c in slots:
        out.append((c, cursors[c], conversations[c][cursors[c]]))
        cursors[c] += 1
    return out


class Both:
    """A store's step (warn mode: every request binds; BLAKE2b fingerprints, as SQLite and Redis get
    them) and validate's index (Python's keyed hash), side by side."""

    def __init__(self) -> None:
        self.store = MemoryStore()
        self.index = Index(capacity=1_000_000)

    def splits(self, messages: list[Any], tid: str, where: str) -> tuple[bool, bool]:
        prints = HASHER.fingerprints(messages)
        owner = HASHER.thread(tid)
        found = self.store.follow(prints.full, prints.prefixes, owner, 60_000, bind_split=True)
        return split(found, owner) is not None, self.index.check(LOCAL.fingerprints(messages), tid, where) is not None


COUNTS = {"conversations": 0, "requests": 0, "switches": 0, "caught": 0}
# Hypothesis draws a seed per batch (drawing every choice through it is 50x slower); a failure
# prints the seed, and random.Random(seed) replays the batch.
SEEDS = st.integers(0, 2**64).map(random.Random)


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(SEEDS)
def stable_ids_never_split(rng: random.Random) -> None:
    sent = [requests_of(*conversation(rng)) for _ in range(BATCH)]
    both = Both()
    for c, t, messages in interleave(sent, rng):
        assert both.splits(messages, f"thread-{c}", f"{c}:{t}") == (False, False), (c, t)
        COUNTS["requests"] += 1
    COUNTS["conversations"] += BATCH


@settings(max_examples=EXAMPLES, deadline=None, database=None)
@given(SEEDS)
def changed_ids_are_caught(rng: random.Random) -> None:
    """Each conversation opens with words of its own (a shared opening proves nothing, by design)
    and switches to a new id at one turn after the first, if it has that many."""
    sent = [requests_of(*conversation(rng), opening=f"conversation {c}") for c in range(BATCH)]
    switch = [rng.randint(1, 5) for _ in sent]
    both = Both()
    for c, t, messages in interleave(sent, rng):
        tid = f"thread-{c}-{'b' if t >= switch[c] else 'a'}"
        # a one-message request starts nothing: a switch right after one can't be seen
        caught = t == switch[c] and len(sent[c][t - 1]) >= 2
        assert both.splits(messages, tid, f"{c}:{t}") == (caught, caught), (c, t, switch[c])
        COUNTS["switches"] += t == switch[c]
        COUNTS["caught"] += caught
    COUNTS["conversations"] += BATCH


def test_stable_ids_never_split_and_changed_ids_are_caught() -> None:
    stable_ids_never_split()
    changed_ids_are_caught()
    assert COUNTS["conversations"] >= 2 * BATCH * EXAMPLES  # 10,000 each way
    assert COUNTS["caught"] > COUNTS["switches"] / 2 > 1000


@settings(max_examples=100, deadline=None, database=None)
@given(SEEDS)
def test_both_fingerprinters_tell_the_same_lists_apart(rng: random.Random) -> None:
    """Same boundaries, and equal fingerprints for exactly the same message lists."""
    sent = [m for _ in range(20) for m in requests_of(*conversation(rng))]
    strong = [HASHER.fingerprints(m) for m in sent]
    local = [LOCAL.fingerprints(m) for m in sent]
    assert [len(p.prefixes) for p in strong] == [len(p.prefixes) for p in local]
    seen: dict[bytes | None, bytes | None] = {}
    for s, loc in zip(strong, local, strict=True):
        for a, b in ((s.full, loc.full), *zip(s.prefixes, loc.prefixes, strict=True)):
            assert seen.setdefault(a, b) == b
    assert len(set(seen.values())) == len(seen)
