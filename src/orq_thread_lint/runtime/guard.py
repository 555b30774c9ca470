"""The runtime guard: the policy applied to every request an openai client prepares.

The guard hooks ``_prepare_options``, the step the SDK runs for every request (every method,
``with_options`` copies, raw and streaming responses, sync and async, each retry) before any
byte is sent; openai's own Azure client overrides the same step. An exception raised there
propagates unchanged and is never retried. Method wrappers would miss ``.parse`` and lose
themselves on ``with_options``; a transport hook would see bytes only and can't raise safely.
"""

from __future__ import annotations

import copy
import inspect
import logging
import os
import sys
import warnings
from collections.abc import Callable, Sequence
from types import FrameType
from typing import Any, TypeVar

from ..policy import Policy
from ..rules.catalog import RULES
from ..rules.engine import check_json_request
from ..rules.overlap import overlap, request_scope
from ..rules.request import HEADER, Api
from ..values import from_json
from ..violations import Violation
from .checkable import uncheckable
from .continuity import Continuity, Plan
from .repair import repair_body
from .scope import current_scope
from .stores import Follow, Store, StoreError, open_store

log = logging.getLogger("orq_thread_lint")

THREADED_PATHS = ("/chat/completions", "/responses", "/completions")
MODES = ("enforce", "warn", "repair", "off", "collect")
_PLAIN = {str, list, dict, int, float, bool, type(None)}
SUPPORTED = "OpenAI, AsyncOpenAI, AzureOpenAI or AsyncAzureOpenAI"
C = TypeVar("C")
# violations, (thread id, where it sits) for each id to bind, their owner, the options to send
Inspected = tuple[list[Violation], tuple[tuple[str, str], ...], str | None, Any]
# the store's answer for a request: per thread id, whether another owner holds it; per prefix, its thread
Admitted = tuple[list[bool], list[str | None]]
_HEADER_LOWER = HEADER.lower()
_PACKAGE = os.path.dirname(os.path.dirname(os.path.abspath(__file__))) + os.sep


class ThreadPolicyError(Exception):
    """A request broke the thread policy; nothing was sent. ``.violations`` lists why."""

    def __init__(self, violations: Sequence[Violation]) -> None:
        self.violations = list(violations)
        codes = ", ".join(dict.fromkeys(v.code for v in self.violations))
        details = "; ".join(str(v) for v in self.violations)
        super().__init__(f"orq thread policy violated ({codes}): {details}")


class ThreadStoreError(ThreadPolicyError):
    """The uniqueness store failed and ``on-store-error = "closed"``."""


class ThreadCheckError(ThreadPolicyError):
    """The guard failed to check a request (a bug of ours) and ``on-internal-error = "closed"``;
    the exception it met is the ``__cause__``."""


class OrqThreadWarning(UserWarning):
    """A request broke the thread policy and was sent anyway (``mode = "warn"``)."""


class Guard:
    """The check every guarded client runs; shared by the client and all its copies."""

    api: Api = "body"  # whose terms a finding's advice uses; front ends with their own say so

    def __init__(self, policy: Policy, mode: str, store: Store, scope: Callable[[], object] | None = None,
                 sink: list[Violation] | None = None) -> None:
        if mode not in MODES:
            raise ValueError(f"unknown mode {mode!r}; use one of {', '.join(MODES[:4])}")
        self.policy = policy
        self.mode = mode
        self.store = store
        self.scope = scope
        self.sink = sink
        cfg = policy.config.runtime
        self.uniqueness = cfg.uniqueness
        self.ttl_ms = cfg.ttl_seconds * 1000
        self.closed = cfg.on_store_error == "closed"
        internal = cfg.on_internal_error or ("closed" if mode in ("enforce", "repair") else "open")
        self.internal_closed = internal == "closed"
        self.binds_ids = self.uniqueness != "off" and policy.enabled("OTL007")
        self.refuse = mode in ("enforce", "repair")  # a refused request binds nothing in the store
        self.internal: tuple[str, ...] = (_PACKAGE,)  # where warnings are not attributed
        self.continuity = Continuity.of(policy, store, mode)

    # What to check -----------------------------------------------------------------------------
    def _inspect(self, options: Any) -> Inspected | None:
        """The violations of a request about to be sent, the thread ids uniqueness must bind (with
        where they sit) and their owner; ``None`` when there is nothing to check. Enforcing modes
        raise here, before any binding: a refused request claims no id."""
        read = self._read(options)
        if read is None:
            return None
        body, header = read
        found, thread_ids, checked = self.inspect_body(body, header)
        if checked is not body:
            options, body = self._rebuilt(options, checked), checked
        owner = self._owner(body, options) if self.binds_ids and thread_ids else None
        return found, thread_ids, owner, options

    def inspect_body(self, body: dict[str, Any], header: str | None = None) -> tuple[
            list[Violation], tuple[tuple[str, str], ...], dict[str, Any]]:
        """The guard's check of one request body (decoded JSON) and its thread header, whatever
        the client: the violations, each thread id to bind with where it sits, and the body to
        send (a repaired copy in repair mode). Enforcing modes raise :class:`ThreadPolicyError`
        here. A body the rules can't be given (too deep, too large) is one OTL000 violation."""
        refused = uncheckable(body, header)
        if refused is not None:
            found: tuple[Violation, ...] = (refused,)
            thread_ids: tuple[tuple[str, str], ...] = ()
        else:
            found, thread_ids = check_json_request(body, self.policy, header, self.api)
            if found and self.mode == "repair":
                fixed = repair_body(body, self.policy)
                if fixed is not None:
                    body = fixed
                    found, thread_ids = check_json_request(body, self.policy, header, self.api)
        if found and self.mode in ("enforce", "repair"):
            raise ThreadPolicyError(found)
        return list(found), thread_ids, body

    def _owner(self, body: dict[str, Any], options: Any) -> str | None:
        """Who a request's thread ids are bound to; ``None``: nothing to compare."""
        if self.uniqueness == "single-use":
            return self._call_key(options)
        owner: object = current_scope()
        if owner is None and self.scope is not None:
            owner = self.scope()
        return request_scope(from_json(body)) if owner is None else str(owner)

    # The client's side: what the rules read from its request, how a repaired one is sent, and
    # what tells a retry from a second call. This is openai's; other front ends override these.
    def _read(self, options: Any) -> tuple[dict[str, Any], str | None] | None:
        body = _threaded_body(options)
        return None if body is None else (body, _thread_header(options.headers))

    def _rebuilt(self, options: Any, body: dict[str, Any]) -> Any:
        return _with_body(options, body)

    def _call_key(self, options: Any) -> str | None:
        # Retries of one call share its idempotency key; a second call has another.
        key = getattr(options, "idempotency_key", None)
        return str(key) if key else None

    # Modes ---------------------------------------------------------------------------------------
    def _conclude(self, options: Any, violations: list[Violation]) -> Any:
        if self.mode == "collect":
            if self.sink is not None:
                self.sink.extend(violations)
            return options
        if self.mode == "warn":
            for v in violations:
                log.warning("orq-thread-lint: %s %s at %s", v.code, v.name, v.path or "the request")
                log.debug("orq-thread-lint: %s", v)
            self._warn(str(ThreadPolicyError(violations)))
            return options
        raise ThreadPolicyError(violations)

    def _warn(self, message: str) -> None:
        """Warn at the line that sent the request: the first frame outside this package and the
        client's SDK (how deep that is depends on the SDK version and on how the call was made)."""
        frame: FrameType | None = sys._getframe(1)
        level = 2
        while frame is not None and frame.f_code.co_filename.startswith(self.internal):
            frame, level = frame.f_back, level + 1
        warnings.warn(OrqThreadWarning(message), stacklevel=level)

    def _uniqueness_failed(self, exc: StoreError) -> None:
        if self.closed:
            raise ThreadStoreError([_store_violation(exc)]) from exc
        self._warn(f"uniqueness store failed; request sent unchecked: {exc}")  # one report, not a log line too

    def _internal_error(self, exc: Exception) -> None:
        """A bug of ours met while checking: refuse (closed) or send unchecked and log it (open)."""
        if self.internal_closed:
            raise ThreadCheckError([_internal_violation(exc)]) from exc
        log.error("orq-thread-lint: internal error while checking a request; on-internal-error is 'open', "
                  "so it was sent unchecked", exc_info=exc)

    def _step(self, thread_ids: tuple[tuple[str, str], ...], owner: str | None,
              plan: Plan | None) -> tuple[list[str], str, Follow | None]:
        """What the store's one step is given: the ids to claim (none without an owner), their
        owner, the continuity look-up and bind."""
        claims = [tid for tid, _ in thread_ids] if owner is not None else []
        return claims, owner or "", None if plan is None else plan.follow

    def _verdict(self, violations: list[Violation], plan: Plan | None, step: Admitted | None) -> list[bool]:
        """OTL008 joins the other findings (refusing modes raise: the store claimed and bound
        nothing); returns, per thread id, whether another owner holds it."""
        if step is None:
            return []
        taken, found = step
        if plan is not None and self.continuity is not None:
            split = self.continuity.verdict(plan, found)
            violations += split
            if split and self.refuse:
                raise ThreadPolicyError(violations)
        return taken

    def _settle(self, options: Any, violations: list[Violation], thread_ids: tuple[tuple[str, str], ...],
                taken: list[bool], failed: StoreError | None) -> Any:
        if failed is not None:  # one report, whatever the step was to do
            self._uniqueness_failed(failed)
        if taken:
            violations += [overlap(path, uniqueness=self.uniqueness)
                           for (_, path), other in zip(thread_ids, taken, strict=True) if other]
        return self._conclude(options, violations) if violations else options

    def check_options(self, options: Any) -> Any:
        if self.mode == "off":
            return options
        failed: StoreError | None = None
        try:
            inspected = self._inspect(options)
            if inspected is None:
                return options
            violations, thread_ids, owner, options = inspected
            plan: Plan | None = None
            step: Admitted | None = None
            try:
                if self.continuity is not None:
                    plan = self.continuity.prepare(options, thread_ids)
                claims, me, follow = self._step(thread_ids, owner, plan)
                if claims or follow is not None:  # last, in one step: a refused request binds nothing
                    step = self.store.admit(claims, me, self.ttl_ms, follow, self.refuse)
            except StoreError as exc:
                failed = exc
            taken = self._verdict(violations, plan, step)
        except ThreadPolicyError:
            raise
        except Exception as exc:
            self._internal_error(exc)
            return options
        return self._settle(options, violations, thread_ids, taken, failed)

    async def acheck_options(self, options: Any) -> Any:
        """The same check for async clients; only the store round trip is awaited."""
        if self.mode == "off":
            return options
        failed: StoreError | None = None
        try:
            inspected = self._inspect(options)
            if inspected is None:
                return options
            violations, thread_ids, owner, options = inspected
            plan: Plan | None = None
            step: Admitted | None = None
            try:
                if self.continuity is not None:
                    plan = await self.continuity.aprepare(options, thread_ids)
                claims, me, follow = self._step(thread_ids, owner, plan)
                if claims or follow is not None:
                    step = await self.store.aadmit(claims, me, self.ttl_ms, follow, self.refuse)
            except StoreError as exc:
                failed = exc
            taken = self._verdict(violations, plan, step)
        except ThreadPolicyError:
            raise
        except Exception as exc:
            self._internal_error(exc)
            return options
        return self._settle(options, violations, thread_ids, taken, failed)


def _threaded_body(options: Any) -> dict[str, Any] | None:
    """The JSON body of a request to an endpoint that carries threads (else ``None``)."""
    url = options.url
    if not (type(url) is str and url.endswith(THREADED_PATHS)):
        return None
    method = options.method
    if not (isinstance(method, str) and method.lower() == "post"):
        return None
    data = options.json_data
    if type(data) is not dict:
        data = data if isinstance(data, dict) else {}
    extra = options.extra_json
    if not isinstance(extra, dict) or not extra:
        return data
    merged = {**data, **extra}
    if {*map(type, merged.values())} <= _PLAIN:
        return merged
    return {k: v for k, v in merged.items() if type(v).__name__ != "Omit"}  # the SDK leaves `omit` out too


def _thread_header(headers: object) -> str | None:
    if not isinstance(headers, dict) or not headers:  # usually the SDK's `not_given`
        return None
    for key, value in headers.items():
        if isinstance(key, str) and key.lower() == _HEADER_LOWER and isinstance(value, str):
            return value
    return None


def _store_violation(exc: StoreError) -> Violation:
    v = overlap("")
    return Violation(v.code, v.name, f"uniqueness could not be checked ({exc}); on-store-error is 'closed'",
                     "", v.severity)


def _internal_violation(exc: Exception) -> Violation:
    rule = RULES["OTL000"]
    # The exception's type only: its text may quote the request.
    return Violation(rule.code, rule.name, f"the request couldn't be checked (internal error: "
                     f"{type(exc).__name__}); on-internal-error is 'closed'", "", rule.severity)


def _with_body(options: Any, body: dict[str, Any]) -> Any:
    """The options with a repaired body (and no separate extra_json, which the body now holds)."""
    repaired = options.model_copy() if hasattr(options, "model_copy") else copy.copy(options)
    repaired.json_data = body
    repaired.extra_json = None
    return repaired


def _guarded_class(base: type, guard: Guard, owns_store: bool) -> type:
    """A subclass of the client's class whose ``_prepare_options`` runs the guard.

    One subclass per guard: copies made by ``with_options`` are built from ``self.__class__`` and
    so share it. If the guard opened its store, closing the client (``close()``, ``with``,
    ``async with``) closes the store too."""
    original: Any = base._prepare_options  # type: ignore[attr-defined]
    original_close: Any = base.close  # type: ignore[attr-defined]
    store = guard.store
    if inspect.iscoroutinefunction(original):
        async def _prepare_options(self: Any, options: Any) -> Any:
            options = await original(self, options)  # the client's own step first (Azure has one)
            return await guard.acheck_options(options)

        async def close(self: Any) -> None:
            await original_close(self)
            if owns_store:
                await store.aclose()
    else:
        def _prepare_options(self: Any, options: Any) -> Any:  # type: ignore[misc]
            options = original(self, options)  # the client's own step first (Azure has one)
            return guard.check_options(options)

        def close(self: Any) -> None:  # type: ignore[misc]
            original_close(self)
            if owns_store:
                store.close()
    return type(base.__name__, (base,), {
        "_prepare_options": _prepare_options,
        "close": close,
        "_orq_thread_guard": guard,
        "__module__": base.__module__,
        "__qualname__": base.__qualname__,
    })


def guard(client: C, policy: Policy | None = None, *, mode: str | None = None, store: str | Store | None = None,
          scope: Callable[[], object] | None = None) -> C:
    """A guarded copy of an openai client (``OpenAI``, ``AsyncOpenAI`` or their Azure variants) or
    of orq's SDK client (``orq_ai_sdk.Orq``, see :mod:`.orq_sdk`).

    The copy is still an instance of the client's class, shares its HTTP client, and leaves the
    original untouched. ``mode`` and ``store`` default to the policy's ``[runtime]`` table;
    ``scope`` is an optional callable returning the current scope (a user or session id).
    """
    base = type(client)
    orq = base.__module__.partition(".")[0] == "orq_ai_sdk"
    if not orq and not (callable(getattr(base, "_prepare_options", None))
                        and callable(getattr(client, "with_options", None))):
        raise TypeError(f"guard() takes an openai client ({SUPPORTED}) or orq's Orq, "
                        f"not {base.__module__}.{base.__qualname__}")
    policy, mode, backend, owns_store = resolve(policy, mode, store)
    if orq:
        from .orq_sdk import guard_orq

        return guard_orq(client, policy, mode, backend, scope, owns_store=owns_store)  # type: ignore[no-any-return]
    g = Guard(policy, mode, backend, scope)
    sdk = getattr(sys.modules.get(type(client).__module__.partition(".")[0]), "__file__", None)
    if sdk:
        g.internal += (os.path.dirname(sdk) + os.sep,)
    existing = getattr(base, "_orq_thread_guard", None)
    if existing is not None:
        base = base.__mro__[1]  # re-guarding replaces the old guard instead of stacking two
    fresh = client.with_options()  # type: ignore[attr-defined]
    fresh.__class__ = _guarded_class(base, g, owns_store=owns_store)
    return fresh  # type: ignore[no-any-return]


def resolve(policy: Policy | None, mode: str | None, store: str | Store | None) -> tuple[Policy, str, Store, bool]:
    """The policy, mode and store a guard runs with (the policy's ``[runtime]`` table fills in what
    isn't given), and whether the guard opened the store (and so closes it)."""
    policy = policy if policy is not None else Policy.load()
    cfg = policy.config.runtime
    chosen = store if store is not None else cfg.store
    if isinstance(chosen, Store):
        return policy, mode or cfg.mode, chosen, False
    return policy, mode or cfg.mode, open_store(chosen, timeout_ms=cfg.store_timeout_ms,
                                                capacity=cfg.memory_capacity, secret=cfg.store_key_secret), True
