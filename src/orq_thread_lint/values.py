"""What the rules see: known, partly known and unknown values.

Every front end turns its input into these nodes and hands them to the same rules:
the runtime guard and ``validate`` wrap JSON (always known, converted lazily, one level at a
time as the rules read it, so a large ``messages`` list costs nothing and a value nested
100,000 levels deep is never walked), the static checker builds them from the syntax tree.
``anchor`` is the front end's own handle on where a value came from (a libcst node); rules
pass it through untouched. ``path`` is the logical place in the request (``orq.thread.id``).
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from typing import Any, overload


class Node:
    __slots__ = ("anchor", "path")

    def __init__(self, path: str, anchor: object = None) -> None:
        self.path = path
        self.anchor = anchor


class Unknown(Node):
    """A value nothing can be proved about (a parameter, a call, ``**kwargs``)."""

    __slots__ = ()


class Text(Node):
    """A known string."""

    __slots__ = ("value",)

    def __init__(self, value: str, path: str, anchor: object = None) -> None:
        self.path = path
        self.anchor = anchor
        self.value = value


class Hole:
    """An unknown piece of a partly known string; ``loop`` marks a loop counter. ``source`` is the
    front end's handle on the expression that fills it (``init`` names placeholders after it)."""

    __slots__ = ("loop", "source")

    def __init__(self, loop: bool = False, source: object = None) -> None:
        self.loop = loop
        self.source = source


class Partial(Node):
    """A string with literal pieces and holes: ``f"user-{uid}"`` is ``("user-", Hole())``."""

    __slots__ = ("parts",)

    def __init__(self, parts: Sequence[str | Hole], path: str, anchor: object = None) -> None:
        super().__init__(path, anchor)
        self.parts = tuple(parts)

    @property
    def literals(self) -> list[str]:
        return [p for p in self.parts if isinstance(p, str) and p]

    @property
    def holes(self) -> list[Hole]:
        return [p for p in self.parts if isinstance(p, Hole)]

    def shape(self) -> list[str | None]:
        """Literal pieces, with ``None`` for each hole (what template intersection reads)."""
        return [None if isinstance(p, Hole) else p for p in self.parts]


class Scalar(Node):
    """A known value that is not a string: a number, a bool, null, or an object of a known type."""

    __slots__ = ("kind", "value")

    def __init__(self, value: object, path: str, anchor: object = None, kind: str | None = None) -> None:
        self.path = path
        self.anchor = anchor
        self.value = value
        self.kind = kind or ("null" if value is None else type(value).__name__)


class Mapping(Node):
    """A dict. ``open`` says it may hold more keys than are known (``**spread``)."""

    __slots__ = ()
    open: bool = False

    def keys(self) -> list[str]:
        raise NotImplementedError

    def get(self, key: str) -> Node | None:
        raise NotImplementedError

    def key_anchor(self, key: str) -> object:
        """Where the key itself sits (findings about a key start there)."""
        return self.anchor

    def value_anchor(self, key: str) -> object:
        """Where the expression of a key's value is written (it may resolve to a value elsewhere)."""
        return self.key_anchor(key)

    def items(self) -> Iterator[tuple[str, Node]]:
        for key in self.keys():
            node = self.get(key)
            if node is not None:
                yield key, node


class List(Node):
    """A list or tuple. ``open`` says it may hold more items than are known (``*spread``)."""

    __slots__ = ("items", "open")

    def __init__(self, items: Sequence[Node], path: str, anchor: object = None, open: bool = False) -> None:
        self.path = path
        self.anchor = anchor
        self.items = items
        self.open = open


def child_path(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


class JsonMapping(Mapping):
    """A JSON object (or any Python dict), converted one key at a time on demand."""

    __slots__ = ("_data", "_keys")

    def __init__(self, data: dict[object, object], path: str) -> None:
        self.path = path
        self.anchor = None
        self._data = data
        self._keys: list[str] | None = None

    def keys(self) -> list[str]:
        keys = self._keys
        if keys is None:
            raw: list[Any] = list(self._data)
            keys = self._keys = raw if {*map(type, raw)} <= _STR else [k for k in raw if isinstance(k, str)]
        return keys

    def get(self, key: str) -> Node | None:
        value = self._data.get(key, _ABSENT)
        if value is _ABSENT:
            return None
        return from_json(value, f"{self.path}.{key}" if self.path else key)

    def key_anchor(self, key: str) -> object:
        return child_path(self.path, key)


class JsonItems(Sequence[Node]):
    """The items of a JSON array (or a Python list or tuple), each converted when it is read."""

    __slots__ = ("_data", "_prefix")

    def __init__(self, data: Sequence[object], path: str) -> None:
        self._data = data
        self._prefix = path + "["

    def __len__(self) -> int:
        return len(self._data)

    @overload
    def __getitem__(self, index: int) -> Node: ...
    @overload
    def __getitem__(self, index: slice) -> Sequence[Node]: ...
    def __getitem__(self, index: int | slice) -> Node | Sequence[Node]:
        if isinstance(index, slice):
            return [self[i] for i in range(*index.indices(len(self._data)))]
        if index < 0:
            index += len(self._data)
        return _item(self._data[index], f"{self._prefix}{index}]")

    def __iter__(self) -> Iterator[Node]:
        prefix = self._prefix
        for i, v in enumerate(self._data):
            yield _item(v, f"{prefix}{i}]")


def _item(value: object, path: str) -> Node:
    return Text(value, path) if type(value) is str else from_json(value, path)


def from_json(value: object, path: str = "") -> Node:
    """Wrap a decoded JSON value (or the Python objects a client is about to serialise)."""
    kind = type(value)  # exact types first: they are almost all a request holds
    if kind is str or (kind is not dict and isinstance(value, str)):
        return Text(value, path)  # type: ignore[arg-type]
    if kind is dict or isinstance(value, dict):
        return JsonMapping(value, path)  # type: ignore[arg-type]
    if isinstance(value, (list, tuple)):
        return List(JsonItems(value, path), path)
    return Scalar(value, path)


_ABSENT = object()


_STR = {str}
