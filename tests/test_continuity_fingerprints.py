"""``validate``'s fingerprints (LocalFingerprinter's hash chain) give exactly the OTL008 findings
of the definitions they stand in for: BLAKE2b's ``Fingerprinter`` (what shared stores get), and
the list-hashing LocalFingerprinter of before the chain. Generated logs (hypothesis draws the seeds) with interleaved conversations, id switches,
requests without an id, retries, tool calls, content parts and messages with empty fields."""

from __future__ import annotations

import json
import os
import random
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from orq_thread_lint import Policy, timeline
from orq_thread_lint.audit import validate
from orq_thread_lint.rules import continuity
from orq_thread_lint.rules.continuity import MAX_PREFIXES, NOTHING, Fingerprinter, Fingerprints, LocalFingerprinter
from test_continuity_properties import conversation, interleave, requests_of

SEEDS = st.integers(0, 2**64).map(random.Random)


class _ListHashing:
    """The LocalFingerprinter of before the chain (verbatim): each boundary hashes its own list."""

    def fingerprints(self, messages: Sequence[Any] | None) -> Fingerprints:
        if messages is None or len(messages) < 2:
            return NOTHING
        items: list[object] = []
        cuts: list[int] = []
        before = False
        for message in messages:
            if type(message) is dict and len(message) == 2:
                role, content = message.get("role"), message.get("content")
                if type(role) is str and type(content) is str:
                    output = role == "assistant"
                    if output and not before and len(items) >= 2:
                        cuts.append(len(items))
                    before = output
                    items.append((role, content))
                    continue
            output = continuity._is_output(message)
            if output and not before and len(items) >= 2:
                cuts.append(len(items))
            before = output
            items.append(continuity._encode(message))
        prefixes = tuple(_local(items[:cut]) for cut in cuts[:-MAX_PREFIXES - 1:-1])
        return Fingerprints(_local(items), prefixes)


def _local(items: list[object]) -> bytes:
    return hash(tuple(items)).to_bytes(8, "little", signed=True)


def _with_empty_fields(message: dict[str, Any], rng: random.Random) -> dict[str, Any]:
    """The same message as some loggers write it: an empty field more (same identity)."""
    return {**message, rng.choice(["name", "tool_calls", "refusal"]): rng.choice([None, []])}


def _log(path: Path, rng: random.Random, empty_fields: bool) -> None:
    sent = [requests_of(*conversation(rng), opening=f"c{c}" if rng.random() < 0.7 else None) for c in range(40)]
    switch = [rng.randint(1, 5) if rng.random() < 0.4 else 99 for _ in sent]
    lines = []
    for c, t, messages in interleave(sent, rng):
        if empty_fields:
            messages = [_with_empty_fields(m, rng) if rng.random() < 0.2 else m for m in messages]
        body: dict[str, Any] = {"model": "m", "messages": messages}
        if rng.random() < 0.9:  # else no thread id: a follow-up without one is a split
            body["orq"] = {"thread": {"id": f"thread-{c}-{'b' if t >= switch[c] else 'a'}"}}
        lines.append(json.dumps(body))
        if rng.random() < 0.1:
            lines.append(lines[-1])  # a retry: an identical re-send
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _splits(path: Path, make: Any, monkeypatch: pytest.MonkeyPatch) -> list[tuple[int, str]]:
    with monkeypatch.context() as m:
        m.setattr(timeline, "LocalFingerprinter", make)
        found = validate([str(path)], Policy.preset())
    return [(f.row, f.violation.message) for f in found if f.violation.code == "OTL008"]


@settings(max_examples=30, deadline=None, database=None)
@given(SEEDS, st.booleans())
def test_the_chain_finds_what_the_definitions_find(tmp_path_factory: pytest.TempPathFactory,
                                                   rng: random.Random, empty_fields: bool) -> None:
    path = tmp_path_factory.mktemp("logs") / "requests.jsonl"
    _log(path, rng, empty_fields)
    with pytest.MonkeyPatch.context() as mp:
        chained = _splits(path, LocalFingerprinter, mp)
        assert chained == _splits(path, lambda: Fingerprinter(os.urandom(32)), mp)
        if not empty_fields:  # which the list-hashing one told apart from the message without them
            assert chained == _splits(path, _ListHashing, mp)
    assert chained or not path.read_text()  # 40 conversations with switches: some splits


def test_an_empty_field_does_not_change_a_messages_fingerprint() -> None:
    """A message and the same message with an empty field are one message to both fingerprinters
    (before the chain, the local one told them apart, and so missed splits)."""
    plain = [{"role": "system", "content": "s"}, {"role": "user", "content": "q"}]
    logged = [plain[0], {"role": "user", "content": "q", "name": None}]
    strong = Fingerprinter(os.urandom(32))
    assert strong.fingerprints(plain) == strong.fingerprints(logged)
    assert LocalFingerprinter().fingerprints(plain) == LocalFingerprinter().fingerprints(logged)
    assert _ListHashing().fingerprints(plain) != _ListHashing().fingerprints(logged)
