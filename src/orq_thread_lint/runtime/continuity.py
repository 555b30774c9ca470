"""OTL008 at run time: the guard's continuity step (rules/continuity.py holds the rule).

For each request the guard fingerprints its messages, asks the store in one step what the
prefixes were sent under and binds the request's own fingerprint, then hands the answers to
:func:`~orq_thread_lint.rules.continuity.split`. Contents never leave this process: the store sees
keyed hashes of messages and of thread ids, under the store's own secret (the one its uniqueness
keys use: ``ORQ_THREAD_LINT_STORE_KEY``, ``store-key-secret``, else the one kept in the store).
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from ..policy import Policy
from ..rules.continuity import Fingerprinter, Fingerprints, LocalFingerprinter, messages_of, split, thread_split
from ..violations import Violation
from .stores import MemoryStore, Store

log = logging.getLogger("orq_thread_lint")

# (fingerprints, the hash stored for the request's thread, its thread id and where it sits)
Plan = tuple[Fingerprints, str, str | None, str]
# (a request's own fingerprint, the hash of its thread): bound once the request is accepted
Pending = tuple[bytes, str]


class Continuity:
    """The continuity step of one guard. ``refuse``: a split request is refused (enforce and
    repair), so it binds nothing; otherwise it is sent and binds its thread."""

    def __init__(self, policy: Policy, store: Store, refuse: bool) -> None:
        self.store = store
        self.ttl_ms = policy.config.runtime.ttl_seconds * 1000
        self.bind_split = not refuse
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
        return cls(policy, store, refuse=mode in ("enforce", "repair"))

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
        if not prints.prefixes and prints.full is None:
            return None
        if thread_ids:
            tid, path = thread_ids[0]
            return prints, hasher.thread(tid), tid, path
        # No thread id: it continues (a split, if the conversation had one) but binds nothing.
        return Fingerprints(None, prints.prefixes), "", None, "orq.thread"

    def verdict(self, plan: Plan, found: list[str | None]) -> list[Violation]:
        _, owner, tid, path = plan
        if split(found, owner) is None:
            return []
        return [thread_split(path, tid)]

    def check(self, options: Any, thread_ids: Sequence[tuple[str, str]],
              defer: bool = False) -> tuple[list[Violation], Pending | None]:
        """The OTL008 findings of a request (raises StoreError when the store fails). ``defer``:
        look up only, and return the binding for the store's ``claim`` to make once the request's
        ids are claimed; else it is made in the same step."""
        if self.hasher is None and not _has_turns(options):
            return [], None
        plan = self.plan(self._ready(), options, thread_ids)
        if plan is None:
            return [], None
        full, pending = self._deferred(plan, defer)
        found = self.store.follow(full, plan[0].prefixes, plan[1], self.ttl_ms, self.bind_split)
        return self.verdict(plan, found), pending

    async def acheck(self, options: Any, thread_ids: Sequence[tuple[str, str]],
                     defer: bool = False) -> tuple[list[Violation], Pending | None]:
        if self.hasher is None and not _has_turns(options):
            return [], None
        plan = self.plan(await self._aready(), options, thread_ids)
        if plan is None:
            return [], None
        full, pending = self._deferred(plan, defer)
        found = await self.store.afollow(full, plan[0].prefixes, plan[1], self.ttl_ms, self.bind_split)
        return self.verdict(plan, found), pending

    @staticmethod
    def _deferred(plan: Plan, defer: bool) -> tuple[bytes | None, Pending | None]:
        full = plan[0].full
        if defer and full is not None:
            return None, (full, plan[1])
        return full, None


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
