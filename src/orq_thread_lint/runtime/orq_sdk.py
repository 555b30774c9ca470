"""The runtime guard inside orq's own SDK (``orq-ai-sdk``, ``from orq_ai_sdk import Orq``).

The SDK runs its before-request hooks (``SDKHooks.before_request``) on every attempt of every
operation, retries included, sync and async (async ones in a worker thread), on the
``httpx.Request`` about to be sent. The guard wraps that step: the SDK's own hooks run first, then
the guard checks the JSON body they produced with the same :class:`~.guard.Guard` as openai
clients (policy, modes, repairs, uniqueness, stores). A refusal raised there goes through the SDK's
``after_error`` hooks and is re-raised as it is: the retry loop treats it as permanent and raises
the original, never wrapped.

Each operation carries its thread in one place: a top-level ``thread`` (deployments, agents,
router responses) or ``orq.thread`` (router chat completions and completions). The policy's
``thread-placement`` applies where a caller can choose; here the operation chooses.

Nothing here imports ``orq_ai_sdk``: the SDK's objects arrive as arguments.
"""

from __future__ import annotations

import copy
import itertools
import json
import os
import sys
import threading
import uuid
import weakref
from collections.abc import Callable
from typing import Any

from ..policy import Policy
from ..rules.request import HEADER
from .guard import Guard
from .stores import Store

# Operation ids (the SDK's ``hook_ctx.operation_id``) that carry a thread, and where it sits.
THREADED_OPERATIONS: dict[str, str] = {
    "DeploymentInvoke": "top-level",  # deployments.invoke
    "DeploymentStream": "top-level",  # deployments.stream
    "CreateAgentResponseRequest": "top-level",  # agents.responses.create
    "RunAgent": "top-level",  # agents.run
    "StreamRunAgent": "top-level",  # agents.stream_run
    "InvokeAgent": "top-level",  # agents.invoke (deprecated)
    "StreamAgent": "top-level",  # agents.stream (deprecated)
    "create-router-response": "top-level",  # responses.create
    "createChatCompletion": "orq",  # router.chat.completions.create
    "createCompletion": "orq",  # router.completions.create
}


class _Attempt:
    """One attempt of a call, as the guard reads it: the request the hooks produced, the one the
    SDK built (the same object on every retry of the call), and the decoded body once read (where
    the continuity step finds the messages, as in openai's options)."""

    __slots__ = ("extra_json", "json_data", "original", "request")

    def __init__(self, request: Any, original: Any, body: dict[str, Any] | None = None) -> None:
        self.request = request
        self.original = original
        self.json_data = body
        self.extra_json = None


class _Calls:
    """A token per call: retries of a call reuse its request object, a second call has another."""

    def __init__(self) -> None:
        self._tokens: weakref.WeakKeyDictionary[Any, str] = weakref.WeakKeyDictionary()
        self._lock = threading.Lock()
        self._prefix = uuid.uuid4().hex  # unique across processes sharing a store
        self._count = itertools.count()

    def token(self, request: Any) -> str:
        with self._lock:
            found = self._tokens.get(request)
            if found is None:
                found = self._tokens[request] = f"orq-sdk-{self._prefix}-{next(self._count)}"
            return found


_CALLS = _Calls()


class OrqGuard(Guard):
    """The guard's check, reading an orq SDK request (an ``httpx.Request`` with a JSON body)."""

    def _read(self, options: Any) -> tuple[dict[str, Any], str | None] | None:
        request = options.request
        body = json.loads(request.content)
        if type(body) is not dict:
            return None
        options.json_data = body
        return body, request.headers.get(HEADER)

    def _rebuilt(self, options: Any, body: dict[str, Any]) -> Any:
        request = options.request
        content = json.dumps(body, ensure_ascii=False, separators=(",", ":")).encode()
        # A new request (the SDK reuses its own for retries); httpx sets the new content-length.
        headers = [(k, v) for k, v in request.headers.multi_items() if k.lower() != "content-length"]
        fresh = type(request)(request.method, request.url, headers=headers, content=content,
                              extensions=request.extensions)
        return _Attempt(fresh, options.original, body)

    def _call_key(self, options: Any) -> str | None:
        return _CALLS.token(options.original)


class OrqChecks:
    """The guards of one policy for each place an operation holds its thread; they share the
    mode, store, scope and sink."""

    def __init__(self, policy: Policy, mode: str, store: Store, scope: Callable[[], object] | None = None,
                 sink: list[Any] | None = None, internal: tuple[str, ...] = ()) -> None:
        self.policy = policy
        self.store = store
        self.guards: dict[str, OrqGuard] = {}
        for place in ("top-level", "orq"):
            g = OrqGuard(_placed(policy, place), mode, store, scope, sink)
            # Advice in the SDK's terms: `thread=` for its own operations, `orq=` for the router's.
            g.api = "orq-sdk" if place == "top-level" else "orq-router"
            g.internal += internal
            self.guards[place] = g

    def check(self, hook_ctx: Any, original: Any, request: Any) -> Any:
        """The request to send (``request``, or a repaired copy); raises ThreadPolicyError."""
        place = THREADED_OPERATIONS.get(getattr(hook_ctx, "operation_id", None) or "")
        if place is None:
            return request
        return self.guards[place].check_options(_Attempt(request, original)).request


def _placed(policy: Policy, place: str) -> Policy:
    """The policy for operations whose thread can only sit at ``place``."""
    if policy.config.thread_placement in ("any", place):
        return policy
    return Policy(policy.config.model_copy(update={"thread_placement": place}), policy.source)


def sdk_dirs(module: object) -> tuple[str, ...]:
    """The folder of the SDK a module belongs to (warnings are attributed outside it)."""
    root = str(getattr(module, "__module__", "")).partition(".")[0]
    file = getattr(sys.modules.get(root), "__file__", None)
    return (os.path.dirname(file) + os.sep,) if file else ()


def guarded_hooks_class(base: type, checks: OrqChecks) -> type:
    """A subclass of the SDK's hooks whose ``before_request`` runs the SDK's hooks, then the check."""
    chain: Any = base.before_request  # type: ignore[attr-defined]

    def before_request(self: Any, hook_ctx: Any, request: Any) -> Any:
        return checks.check(hook_ctx, request, chain(self, hook_ctx, request))

    return type(base.__name__, (base,), {
        "before_request": before_request,
        "_orq_thread_guard": checks,
        "__module__": base.__module__,
        "__qualname__": base.__qualname__,
    })


def _own_hooks(hooks: Any, checks: OrqChecks) -> Any:
    """A copy of an SDK instance's hooks with its own hook lists, running ``checks``."""
    base = type(hooks)
    if getattr(base, "_orq_thread_guard", None) is not None:
        base = base.__mro__[1]  # re-guarding replaces the old guard instead of stacking two
    fresh = copy.copy(hooks)
    for name, value in vars(hooks).items():
        if isinstance(value, list):
            setattr(fresh, name, list(value))  # hooks registered later on either side stay there
    fresh.__class__ = guarded_hooks_class(base, checks)
    return fresh


def _guarded_client_class(base: type, checks: OrqChecks, owns_store: bool) -> type:
    """A subclass of the client's class; leaving ``with``/``async with`` closes the store the
    guard opened."""
    original_exit: Any = base.__exit__  # type: ignore[attr-defined]
    original_aexit: Any = base.__aexit__  # type: ignore[attr-defined]
    store = checks.store

    def __exit__(self: Any, *exc: object) -> None:
        original_exit(self, *exc)
        if owns_store:
            store.close()

    async def __aexit__(self: Any, *exc: object) -> None:
        await original_aexit(self, *exc)
        if owns_store:
            await store.aclose()

    return type(base.__name__, (base,), {
        "__exit__": __exit__,
        "__aexit__": __aexit__,
        "_orq_thread_guard": checks,
        "__module__": base.__module__,
        "__qualname__": base.__qualname__,
    })


def guard_orq(client: Any, policy: Policy, mode: str, store: Store, scope: Callable[[], object] | None,
              *, owns_store: bool) -> Any:
    """A guarded copy of an ``Orq`` client; see :func:`~.guard.guard`.

    The copy has its own SDK configuration and hooks (hooks registered on the original later are
    not on the copy, nor the reverse) and shares the original's HTTP clients. It keeps the
    original alive: the SDK closes those clients when the original is collected.
    """
    checks = OrqChecks(policy, mode, store, scope, internal=sdk_dirs(type(client)))
    base = type(client)
    if getattr(base, "_orq_thread_guard", None) is not None:
        base = base.__mro__[1]
    config = copy.copy(client.sdk_configuration)  # a dataclass; its __dict__ also holds the hooks
    config.__dict__["_hooks"] = _own_hooks(client.sdk_configuration.__dict__["_hooks"], checks)
    fresh: Any = object.__new__(_guarded_client_class(base, checks, owns_store))
    # Sub-SDKs (client.deployments, ...) are built on first use from the configuration; those the
    # original has built point at its configuration, so the copy builds its own.
    fresh.__dict__.update({k: v for k, v in vars(client).items() if not hasattr(v, "sdk_configuration")})
    fresh.sdk_configuration = config
    fresh.parent_ref = fresh
    fresh.__dict__["_orq_thread_original"] = getattr(client, "_orq_thread_original", client)
    return fresh
