"""``install()``: one switch that guards every openai and orq SDK client in the process.

It hooks the step each SDK runs for every request, on the SDK's classes rather than on clients:
``_prepare_options`` of ``openai.OpenAI`` and ``openai.AsyncOpenAI`` (their Azure subclasses and
``with_options`` copies run it too) and ``before_request`` of orq's ``SDKHooks``. So clients built
anywhere, before or after ``install()``, inside LangChain, LiteLLM or any other library, are
checked, and building a client costs nothing more. An SDK not imported yet is hooked when it is
imported (nothing is imported for it). A client with its own :func:`~.guard.guard` keeps its own
guard and is not checked twice. ``uninstall()`` restores the SDKs' own methods.

The pytest plugin uses the same hooks, with a guard per test.
"""

from __future__ import annotations

import importlib.abc
import importlib.machinery
import inspect
import logging
import os
import sys
import sysconfig
import threading
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from types import ModuleType
from typing import Any, NamedTuple

from ..policy import Policy
from ..violations import Violation
from .guard import Guard, resolve
from .orq_sdk import OrqChecks
from .stores import Store

log = logging.getLogger("orq_thread_lint")


class Active(NamedTuple):
    """What hooked clients run: a guard for openai clients, checks for orq's SDK, and the store to
    close when they are replaced (``None`` if someone else owns it)."""

    guard: Guard
    orq: OrqChecks
    owned: Store | None


_ACTIVE: list[Active] = []  # the current one is the last; `installed()` nests
# The current one, read by every request in one step (a pop in another thread can't race it).
_CURRENT: list[Active | None] = [None]
_PATCHED: list[tuple[type, str, Any]] = []
_LOCK = threading.RLock()


def checks(policy: Policy, mode: str, store: Store, scope: Callable[[], object] | None = None,
           sink: list[Violation] | None = None, owned: Store | None = None) -> Active:
    """The checks hooked clients run with this policy, mode and store."""
    g = Guard(policy, mode, store, scope, sink)
    g.internal += _LIBRARIES
    return Active(g, OrqChecks(policy, mode, store, scope, sink, internal=_LIBRARIES), owned)


# Clients are built inside libraries here: a warning points at the first frame outside them.
_LIBRARIES = tuple(dict.fromkeys(os.path.join(sysconfig.get_paths()[k], "") for k in ("purelib", "platlib")))


def push(active: Active) -> None:
    """Make hooked clients run ``active`` (hooking the SDKs first if needed)."""
    with _LOCK:
        hook_sdks()
        _ACTIVE.append(active)
        _CURRENT[0] = active


def pop() -> None:
    """Back to what was active before the last :func:`push`; closes the store it opened."""
    with _LOCK:
        if not _ACTIVE:
            return
        active = _ACTIVE.pop()
        _CURRENT[0] = _ACTIVE[-1] if _ACTIVE else None
    if active.owned is not None and all(a.owned is not active.owned for a in _ACTIVE):
        active.owned.close()


def install(policy: Policy | None = None, *, mode: str | None = None, store: str | Store | None = None,
            scope: Callable[[], object] | None = None) -> None:
    """Guard every openai and orq SDK client in this process with one policy.

    Arguments as for :func:`~orq_thread_lint.guard`; the policy defaults to the one found from the
    working directory. Installing again replaces the policy (requests are never checked twice).
    """
    policy, mode, backend, owns = resolve(policy, mode, store)
    active = checks(policy, mode, backend, scope, owned=backend if owns else None)
    with _LOCK:
        while _ACTIVE:
            pop()
        push(active)


def uninstall() -> None:
    """Undo :func:`install`: clients are no longer checked and the SDKs' methods are restored."""
    with _LOCK:
        while _ACTIVE:
            pop()
        unhook_sdks()


@contextmanager
def installed(policy: Policy | None = None, *, mode: str | None = None, store: str | Store | None = None,
              scope: Callable[[], object] | None = None) -> Iterator[None]:
    """:func:`install` for a block; what was installed before comes back afterwards."""
    policy, mode, backend, owns = resolve(policy, mode, store)
    push(checks(policy, mode, backend, scope, owned=backend if owns else None))
    try:
        yield
    finally:
        pop()
        with _LOCK:
            if not _ACTIVE:
                unhook_sdks()


def is_installed() -> bool:
    return bool(_ACTIVE)


# Hooking the SDKs -------------------------------------------------------------------------------
def _own_guard(client_or_hooks: object) -> bool:
    """A client (or orq hooks object) guarded with guard() runs its own guard only."""
    return getattr(type(client_or_hooks), "_orq_thread_guard", None) is not None


def _hook_openai(module: ModuleType) -> None:
    # Azure's clients override the step, calling the base one or not depending on the version:
    # every class that has its own is hooked, and only the most derived of them checks.
    for name in ("OpenAI", "AsyncOpenAI", "AzureOpenAI", "AsyncAzureOpenAI"):
        cls = getattr(module, name, None)
        original: Any = getattr(cls, "__dict__", {}).get("_prepare_options")
        if cls is None or original is None:
            continue
        if inspect.iscoroutinefunction(original):
            async def hooked_async(self: Any, options: Any, _original: Any = original, _cls: type = cls) -> Any:
                options = await _original(self, options)
                active = _CURRENT[0]
                if active is None or _own_guard(self) or _checker(type(self)) is not _cls:
                    return options
                return await active.guard.acheck_options(options)
            _replace(cls, "_prepare_options", hooked_async, original)
        else:
            def hooked(self: Any, options: Any, _original: Any = original, _cls: type = cls) -> Any:
                options = _original(self, options)
                active = _CURRENT[0]
                if active is None or _own_guard(self) or _checker(type(self)) is not _cls:
                    return options
                return active.guard.check_options(options)
            _replace(cls, "_prepare_options", hooked, original)


_checkers: dict[type, type | None] = {}


def _checker(cls: type) -> type | None:
    """The hooked class whose hook checks the requests of ``cls``'s clients: its most derived."""
    found = _checkers.get(cls)
    if found is None:
        hooked = {c for c, name, _ in _PATCHED if name == "_prepare_options"}
        found = _checkers[cls] = next((c for c in cls.__mro__ if c in hooked), None)
    return found


def _hook_orq(module: ModuleType) -> None:
    cls = module.SDKHooks
    original: Any = cls.__dict__["before_request"]

    def before_request(self: Any, hook_ctx: Any, request: Any) -> Any:
        out = original(self, hook_ctx, request)
        active = _CURRENT[0]
        if active is None or _own_guard(self):
            return out
        return active.orq.check(hook_ctx, request, out)

    _replace(cls, "before_request", before_request, original)


def _replace(cls: type, name: str, new: Any, original: Any) -> None:
    setattr(cls, name, new)
    _PATCHED.append((cls, name, original))


# module whose import defines the classes to hook -> how to hook them
_HOOKS: dict[str, Callable[[ModuleType], None]] = {"openai": _hook_openai, "orq_ai_sdk._hooks.sdkhooks": _hook_orq}
_hooked: set[str] = set()


def hook_sdks() -> None:
    """Hook the SDKs already imported, and the others when they are imported. Idempotent."""
    with _LOCK:
        for name, hook in _HOOKS.items():
            module = sys.modules.get(name)
            if module is not None and name not in _hooked:
                _run_hook(name, module, hook)
        if not any(isinstance(f, _HookOnImport) for f in sys.meta_path) and len(_hooked) < len(_HOOKS):
            sys.meta_path.insert(0, _HookOnImport())


def unhook_sdks() -> None:
    with _LOCK:
        while _PATCHED:
            cls, name, original = _PATCHED.pop()
            setattr(cls, name, original)
        _hooked.clear()
        _checkers.clear()
        sys.meta_path[:] = [f for f in sys.meta_path if not isinstance(f, _HookOnImport)]


def _run_hook(name: str, module: ModuleType, hook: Callable[[ModuleType], None]) -> None:
    _hooked.add(name)
    try:
        hook(module)
    except Exception:  # an SDK version we don't know must still import and run
        log.exception("orq-thread-lint: could not hook %s; its clients are not checked", name)


class _HookOnImport(importlib.abc.MetaPathFinder):
    """Finds nothing itself: for an SDK module about to be imported, it wraps the real loader so
    the SDK is hooked right after the module has run."""

    def find_spec(self, fullname: str, path: Sequence[str] | None, target: ModuleType | None = None,
                  ) -> importlib.machinery.ModuleSpec | None:
        hook = _HOOKS.get(fullname)
        if hook is None or fullname in _hooked:
            return None
        for finder in sys.meta_path:
            if finder is self or not hasattr(finder, "find_spec"):
                continue
            spec = finder.find_spec(fullname, path, target)
            if spec is not None:
                break
        else:
            return None
        if spec.loader is not None and hasattr(spec.loader, "exec_module"):
            spec.loader = _HookingLoader(spec.loader, fullname, hook)  # type: ignore[assignment]
        return spec


class _HookingLoader:
    def __init__(self, inner: Any, name: str, hook: Callable[[ModuleType], None]) -> None:
        self._inner, self._name, self._hook = inner, name, hook

    def create_module(self, spec: importlib.machinery.ModuleSpec) -> ModuleType | None:
        return self._inner.create_module(spec)  # type: ignore[no-any-return]

    def exec_module(self, module: ModuleType) -> None:
        self._inner.exec_module(module)
        with _LOCK:
            if self._name not in _hooked:
                _run_hook(self._name, module, self._hook)

    def __getattr__(self, name: str) -> Any:  # resources, is_package, get_code ...
        return getattr(self._inner, name)
