"""``thread_scope(value)``: the scope (a user or session id) of the requests made inside it.

A context variable, so threads and asyncio tasks each keep their own."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

_SCOPE: ContextVar[str | None] = ContextVar("orq_thread_scope", default=None)


@contextmanager
def thread_scope(value: object) -> Iterator[None]:
    token = _SCOPE.set(None if value is None else str(value))
    try:
        yield
    finally:
        _SCOPE.reset(token)


def current_scope() -> str | None:
    return _SCOPE.get()
