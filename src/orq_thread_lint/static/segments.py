"""The cheap gates before libcst: a byte scan (which also gives the rows it hits), then Python's
``ast`` on the statements of those rows to find the ones that really hold candidates. libcst then
parses only those statements (or a compound statement's header alone), never a whole function.

A candidate is a call to a target (``chat.completions.create`` ...) or an orq SDK call, a call
that may set span attributes (``set_attribute`` ...), a call of an orq SDK thread model
(``Thread(...)``), any call with an ``orq=`` keyword, or a dict literal with an ``"orq"`` key
holding a dict. Everything the visitor looks at is one of these, so a file without any is proved
clean without being parsed by libcst.
"""

from __future__ import annotations

import ast
import re
from bisect import bisect_right
from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Mapping as Mapping_
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, AnyStr, Generic

from .scopes import FUNCTIONS, own_exprs, statements

if TYPE_CHECKING:  # libcst is imported only when a file has a segment to parse (start-up cost)
    import libcst as cst
    from libcst.metadata import CodeRange

ORQ_SDK_CALLS = (
    "deployments.invoke", "deployments.stream", "deployments.get_config",
    "deployments.invoke_async", "deployments.stream_async", "deployments.get_config_async",
    "agents.responses.create", "agents.responses.create_async", "agents.invoke", "agents.run", "agents.stream_run",
)
# OpenTelemetry calls that may set `orq.thread_id` / `orq.tags` on a span.
SPAN_CALLS = ("set_attribute", "set_attributes", "start_span", "start_as_current_span")
# orq SDK thread models (`Thread(...)`, `models.ThreadTypedDict(...)`, `ResponseThread(...)`): a
# model is only known by its import from orq's SDK, so a file that calls one names the SDK and
# either calls a name ending in `Thread`/`ThreadTypedDict` or imports one under an alias.
SDK_MODULE = b"orq_ai_sdk"
THREAD_MODEL = re.compile(r"\w*Thread(?:TypedDict)?\Z")
# Attribute names that sit inside a call chain without changing what is called.
TRANSPARENT = frozenset({"with_options", "with_raw_response", "with_streaming_response", "beta"})
# Whitespace, line continuations and whole comments between the names of a call chain. Each
# iteration consumes one character of the class or one comment up to its newline, so the pattern
# can't backtrack.
_SEP = rb"(?:[ \t\r\n\\]|#[^\n]*\n)*"


class Prefilter:
    """Proves a file holds nothing the visitor would look at, from its bytes alone.

    A candidate needs an ``"orq"`` dict key, an ``orq=`` keyword, a span method's name, a call of
    a name ending in ``Thread``/``ThreadTypedDict`` or an alias of one (in a file naming orq's SDK),
    or the last two names of a target or orq SDK call (split over lines, continuations and
    comments as Python allows). The search
    finds the first name of each pair at C speed and looks at what follows only there.
    """

    def __init__(self, targets: Sequence[str]) -> None:
        follow: dict[bytes, set[bytes]] = {}
        for target in {*targets, *ORQ_SDK_CALLS, *SPAN_CALLS}:
            *head, last = target.split(".")
            follow.setdefault((head[-1] if head else last).encode(), set()).add(last.encode() if head else b"")
        dot = _SEP + rb"\." + _SEP
        # `completions.with_raw_response.create`: the response wrappers may stand between the names.
        wrappers = rb"(?:(?:with_raw_response|with_streaming_response)" + dot + rb")*"
        self.follow = {
            word: re.compile(dot + wrappers + rb"(?:" + b"|".join(sorted(map(re.escape, tails))) + rb")\b")
            if b"" not in tails else None
            for word, tails in follow.items()
        }
        # A word kept on any occurrence makes a longer word holding it redundant (`set_attributes`).
        anywhere = [w for w, p in self.follow.items() if p is None]
        for word in anywhere:
            if any(other != word and other in word for other in anywhere):
                del self.follow[word]
        self._bytes = _patterns(self.follow, text=False)
        # The same search over text, for the rows it hits (the ast gate looks only there).
        self._text = _patterns(self.follow, text=True)

    def may_hold(self, data: bytes) -> bool:
        return next(_hits(data, self._bytes), None) is not None

    def rows(self, text: str, starts: Sequence[int]) -> list[int] | None:
        """The rows where :meth:`may_hold` finds something, sorted; None when any row may hold a
        candidate (a file that imports an orq SDK model under an alias: a call of it has any name)."""
        found: set[int] = set()
        for at in _hits(text, self._text):
            if at < 0:
                return None
            found.add(bisect_right(starts, at))
        return sorted(found)


@dataclass(frozen=True)
class _Patterns(Generic[AnyStr]):
    """What the byte scan looks for, as bytes (files) or as text (rows)."""

    orq: AnyStr
    quotes: tuple[AnyStr, AnyStr]
    sdk: AnyStr
    class_kw: AnyStr
    newline: AnyStr
    underscore: AnyStr
    key: re.Pattern[AnyStr]  # after a quoted "orq": a dict key
    equals: re.Pattern[AnyStr]  # after orq: a keyword
    model_call: re.Pattern[AnyStr]
    model_alias: re.Pattern[AnyStr]
    follow: dict[AnyStr, re.Pattern[AnyStr] | None]


def _patterns(follow: dict[bytes, re.Pattern[bytes] | None], text: bool) -> _Patterns[Any]:
    def make(p: bytes) -> re.Pattern[Any]:
        return re.compile(p.decode() if text else p)

    def word(w: bytes) -> Any:
        return w.decode() if text else w

    return _Patterns(word(b"orq"), (word(b'"'), word(b"'")), word(SDK_MODULE), word(b"class "), word(b"\n"),
                     word(b"_"),
                     make(_SEP + b":"), make(_SEP + b"="), make(rb"Thread(?:TypedDict)?" + _SEP + rb"\("),
                     make(rb"Thread\w*[ \t\\\r\n]+as\b"),
                     {word(w): None if p is None else make(p.pattern) for w, p in follow.items()})


def _hits(data: AnyStr, p: _Patterns[AnyStr]) -> Iterator[int]:
    """Offsets where a candidate may start (-1: anywhere), in the order found."""
    if p.sdk in data:
        if p.model_alias.search(data):
            yield -1
        for m in p.model_call.finditer(data):
            line = data.rfind(p.newline, 0, m.start()) + 1
            if not data[line : m.start()].lstrip().startswith(p.class_kw):  # a model's own class
                yield m.start()
    i = data.find(p.orq)
    while i >= 0:
        before, after = data[i - 1 : i], data[i + 3 : i + 4]
        if (before in p.quotes and after == before and p.key.match(data, i + 4)) or (
                not (before.isalnum() or before == p.underscore) and p.equals.match(data, i + 3)):
            yield i
        i = data.find(p.orq, i + 3)
    for word, pattern in p.follow.items():
        i = data.find(word)
        while i >= 0:
            if pattern is None or pattern.match(data, i + len(word)):
                yield i
            i = data.find(word, i + len(word))


def chain(func: ast.expr) -> list[str] | None:
    """The attribute names of a call chain (``a.b().c.d`` -> ``[a, b, c, d]``), calls skipped."""
    names: list[str] = []
    node = func
    while True:
        if isinstance(node, ast.Attribute):
            names.append(node.attr)
            node = node.value
        elif isinstance(node, ast.Call):
            node = node.func
        elif isinstance(node, ast.Await):
            node = node.value
        elif isinstance(node, ast.Name):
            names.append(node.id)
            return names[::-1]
        else:
            return names[::-1] if names else None


def normal(names: Iterable[str]) -> str:
    return ".".join(n for n in names if n not in TRANSPARENT)


def ends_with(dotted: str, suffixes: Iterable[str]) -> str | None:
    for suffix in suffixes:
        if dotted == suffix or dotted.endswith("." + suffix):
            return suffix
    return None


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def source_lines(text: str) -> list[str]:
    """Lines as Python counts them (only \\n, \\r\\n and \\r end one; str.splitlines also
    splits on form feeds and other separators, which would shift every row after them)."""
    return _LINE.findall(text)




def line_starts(lines: Sequence[str]) -> list[int]:
    """The offset of each line in the text (0-based), for rows of offsets."""
    out, at = [], 0
    for line in lines:
        out.append(at)
        at += len(line)
    return out


class Segment:
    """One stretch of source parsed by libcst on its own: statements, or a compound statement's
    header alone (its body replaced by ``pass``, the ``tail``).

    Indented code is parsed behind an ``if 1:`` line, which keeps every column as it is in the
    file; ``start`` maps rows back. ``roots`` are the ast statements it holds and ``path`` their
    ancestors: what the scopes around it are read from.
    """

    def __init__(self, lines: Sequence[str], start: int, end: int, tail: str = "",
                 roots: Sequence[ast.stmt] = (), path: tuple[ast.AST, ...] = ()) -> None:
        self.start, self.end = start, end  # 1-based, inclusive, in the file
        self.tail = tail
        self.roots, self.path = tuple(roots), path
        text = "".join(lines[start - 1 : end]) + tail
        self.wrapped = bool(text) and text[0] in " \t\f"
        import libcst as cst

        self.module = cst.parse_module(("if 1:\n" if self.wrapped else "") + text)
        self._positions: Mapping_[cst.CSTNode, CodeRange] | None = None
        self._defs: dict[tuple[int, str], tuple[ast.AST, tuple[ast.AST, ...]]] | None = None

    @property
    def positions(self) -> Mapping_[cst.CSTNode, CodeRange]:
        if self._positions is None:
            from libcst.metadata import MetadataWrapper, PositionProvider

            wrapper = MetadataWrapper(self.module, unsafe_skip_copy=True)
            self._positions = wrapper.resolve(PositionProvider)
        return self._positions

    def where(self, node: cst.CSTNode) -> tuple[int, int, int, int]:
        """(row, column, end row, end column) in the file, 1-based like ruff's."""
        rng = self.positions[node]
        shift = self.start - 1 - (1 if self.wrapped else 0)
        return rng.start.line + shift, rng.start.column + 1, rng.end.line + shift, rng.end.column + 1

    def body(self) -> Sequence[cst.BaseStatement]:
        """The statements of the segment (inside the ``if 1:`` wrapper when there is one)."""
        import libcst as cst

        first = self.module.body[0]
        if self.wrapped and isinstance(first, cst.If):
            return list(first.body.body)  # type: ignore[arg-type]
        return list(self.module.body)

    def code_of(self, module: cst.Module) -> str | None:
        """The file's text for this segment after ``module`` (this one, rewritten) replaced it;
        None when a rewrite touched the tail, which isn't in the file."""
        code = module.code
        if self.wrapped:
            code = code.split("\n", 1)[1]
        if self.tail:
            if not code.endswith(self.tail):
                return None
            code = code[: len(code) - len(self.tail)]
        return code

    def ast_def(self, row: int, name: str) -> tuple[ast.AST, tuple[ast.AST, ...]] | None:
        """The ast def or class of this segment named ``name`` whose ``def``/``class`` line is ``row``."""
        if self._defs is None:
            self._defs = {}
            for stmt, path in statements(self.roots, None, self.path):
                if isinstance(stmt, (*FUNCTIONS, ast.ClassDef)):
                    self._defs[(stmt.lineno, stmt.name)] = (stmt, path)
        return self._defs.get((row, name))


def thread_model_aliases(tree: ast.Module, rows: Sequence[int] | None) -> frozenset[str] | None:
    """Local names of orq SDK thread models (``import Thread as T``), for the gate, which sees no
    scopes; None when the file imports nothing from orq's SDK (then no call is a model). ``rows``:
    where the SDK's name is written (an import of it names it)."""
    out: set[str] = set()
    seen = False
    for node, _ in statements(tree.body, rows):
        if isinstance(node, ast.ImportFrom) and node.module and node.module.split(".")[0] == "orq_ai_sdk":
            seen = True
            out.update(a.asname or a.name for a in node.names if THREAD_MODEL.match(a.name))
        elif isinstance(node, ast.Import) and any(a.name.split(".")[0] == "orq_ai_sdk" for a in node.names):
            seen = True
    return frozenset(out) if seen else None


COMPOUND = (ast.If, ast.For, ast.AsyncFor, ast.While, ast.With, ast.AsyncWith, *FUNCTIONS, ast.ClassDef)


def plan(tree: ast.Module, targets: Sequence[str], rows: Sequence[int] | None, sdk_rows: Sequence[int] | None,
         outermost: bool = False) -> list[tuple[ast.stmt, tuple[ast.AST, ...], bool]]:
    """The statements holding candidates, each with its path and whether only its header does
    (a compound statement's test, items, decorators...). Only statements on ``rows`` are looked
    at (None: all); ``sdk_rows`` are where orq's SDK is named. ``outermost`` asks for the
    module-level statements instead (the gate-free run)."""
    models = thread_model_aliases(tree, sdk_rows) if sdk_rows is None or sdk_rows else None

    def is_candidate(node: ast.AST) -> bool:
        if isinstance(node, ast.Call):
            if any(k.arg == "orq" for k in node.keywords):
                return True
            names = chain(node.func)
            if names is None:
                return False
            dotted = normal(names)
            if ends_with(dotted, (*targets, *ORQ_SDK_CALLS)) or names[-1] in SPAN_CALLS:
                return True
            return models is not None and (THREAD_MODEL.match(names[-1]) is not None or names[-1] in models)
        if isinstance(node, ast.Dict):
            return any(isinstance(k, ast.Constant) and k.value == "orq" and isinstance(v, ast.Dict)
                       for k, v in zip(node.keys, node.values, strict=False))
        return False

    found: dict[int, tuple[ast.stmt, tuple[ast.AST, ...], bool]] = {}
    for stmt, path in statements(tree.body, rows):
        if any(is_candidate(node) for expr in own_exprs(stmt) for node in ast.walk(expr)):
            if outermost and path:
                top = path[0]
                assert isinstance(top, ast.stmt)
                found[id(top)] = (top, (), False)
            else:
                found[id(stmt)] = (stmt, path, isinstance(stmt, COMPOUND) and not outermost)
    return list(found.values())
