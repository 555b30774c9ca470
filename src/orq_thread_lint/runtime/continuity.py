"""OTL008 at run time: the guard's continuity step (rules/continuity.py holds the rule).

For each request the guard fingerprints its messages (:meth:`Continuity.prepare`); the store's
``admit`` looks the prefixes up and binds the request's own fingerprint in the step that claims
its thread ids, and :meth:`Continuity.verdict` hands the answers to
:func:`~orq_thread_lint.rules.continuity.split`. Contents never leave this process: the store sees
keyed hashes of messages and of thread ids, under the store's own secret (the one its uniqueness
keys use: ``ORQ_THREAD_LINT_STORE_KEY``, ``store-key-secret``, else the one kept in the store).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any, NamedTuple

from ..policy import Policy
from ..rules.continuity import Fingerprinter, LocalFingerprinter, messages_of, split, thread_split
from ..violations import Violation
from .stores import Follow, MemoryStore, Store

log = logging.getLogger("orq_thread_lint")


class Plan(NamedTuple):
    """What the store is asked for a request, and what its finding would name."""

    follow: Follow
    thread_id: str | None
    path: str  # where the thread id sits


class Continuity:
    """The continuity step of one guard. ``refuse``: a split request is refused (enforce and
    repair), so it binds nothing; otherwise it is sent and binds its thread."""

    def __init__(self, store: Store, refuse: bool) -> None:
        self.store = store
        self.refuse = refuse
        # An in-process store is never read by anyone else: Python's own keyed hash is enough there.
        # A shared one's secret may live in the store, read on first use (see ``_ready``).
        self.hasher: Fingerprinter | LocalFingerprinter | None = (
            LocalFingerprinter() if isinstance(store, MemoryStore) else None)

    @classmethod
    def of(cls, policy: Policy, store: Store, mode: str) -> Continuity | None:
        """The step for a guard, or ``None`` when the policy turns it off."""
        if not (policy.config.runtime.continuity and policy.enabled("OTL008")) or mode == "off":
            return None
        return cls(store, refuse=mode in ("enforce", "repair"))

    def _ready(self) -> Fingerprinter | LocalFingerprinter:
        if self.hasher is None:
            self.hasher = Fingerprinter(self.store.load_secret())
        return self.hasher

    async def _aready(self) -> Fingerprinter | LocalFingerprinter:
        if self.hasher is None:
            self.hasher = Fingerprinter(await self.store.aload_secret())
        return self.hasher

    def plan(self, hasher: Fingerprinter | LocalFingerprinter, options: Any,
             thread_ids: Sequence[tuple[str, str]]) -> Plan | None:
        try:
            prints = hasher.fingerprints(_messages(options))
        except Exception:  # a bug of ours, or messages no SDK could send: the value rules decide alone
            log.exception("orq-thread-lint: internal error while fingerprinting a request; continuity not checked")
            return None
        if thread_ids:
            if prints.full is None:
                return None
            tid, path = thread_ids[0]
            return Plan(Follow(prints.full, prints.prefixes, hasher.thread(tid)), tid, path)
        if not prints.prefixes:
            return None
        # No thread id: it continues (a split, if the conversation had one) but binds nothing.
        return Plan(Follow(None, prints.prefixes, ""), None, "orq.thread")

    def prepare(self, options: Any, thread_ids: Sequence[tuple[str, str]]) -> Plan | None:
        """What the store's ``admit`` is to look up and bind for a request (``None``: nothing,
        e.g. one message). Reading a shared store's secret may raise StoreError (first use only)."""
        if self.hasher is None and not _has_turns(options):
            return None
        return self.plan(self._ready(), options, thread_ids)

    async def aprepare(self, options: Any, thread_ids: Sequence[tuple[str, str]]) -> Plan | None:
        if self.hasher is None and not _has_turns(options):
            return None
        return self.plan(await self._aready(), options, thread_ids)

    @staticmethod
    def verdict(plan: Plan, found: list[str | None]) -> list[Violation]:
        """The OTL008 finding of a request, from what its prefixes were found bound to."""
        if split(found, plan.follow.thread) is None:
            return []
        return [thread_split(plan.path, plan.thread_id)]


def _has_turns(options: Any) -> bool:
    """Whether a request may have a conversation to fingerprint (one message has none): a shared
    store's secret is read only for one, so a one-message request never waits on the store."""
    try:
        messages = _messages(options)
    except Exception:  # plan reports it
        return True
    return messages is not None and len(messages) >= 2


def _messages(options: Any) -> list[Any] | None:
    """The conversation of a request about to be sent (``extra_body`` wins, as the SDK merges it)."""
    extra = options.extra_json
    if isinstance(extra, dict) and extra:
        found = messages_of(extra)
        if found is not None:
            return found
    data = options.json_data
    return messages_of(data) if isinstance(data, dict) else None
