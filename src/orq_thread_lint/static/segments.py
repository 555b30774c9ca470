"""The cheap gates before libcst: a byte scan, then Python's ``ast`` to find the statements that
really hold candidates. libcst then parses only those statements (an outermost function, or a
module-level statement), never the whole file.

A candidate is a call to a target (``chat.completions.create`` ...), an orq SDK call with a
``thread=`` keyword, any call with an ``orq=`` keyword, or a dict literal with an ``"orq"`` key
holding a dict. Everything the visitor looks at is one of these, so a file without any is proved
clean without being parsed by libcst.
"""

from __future__ import annotations

import ast
import re
from collections.abc import Iterable, Iterator, Sequence
from collections.abc import Mapping as Mapping_
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # libcst is imported only when a file has a segment to parse (start-up cost)
    import libcst as cst
    from libcst.metadata import CodeRange

ORQ_SDK_CALLS = (
    "deployments.invoke", "deployments.stream", "deployments.get_config",
    "agents.responses.create", "agents.invoke", "agents.run", "agents.stream_run",
)
# Attribute names that sit inside a call chain without changing what is called.
TRANSPARENT = frozenset({"with_options", "with_raw_response", "with_streaming_response", "beta"})
# Whitespace, line continuations and whole comments between the names of a call chain. Each
# iteration consumes one character of the class or one comment up to its newline, so the pattern
# can't backtrack.
_SEP = rb"(?:[ \t\r\n\\]|#[^\n]*\n)*"


_EQUALS = re.compile(_SEP + b"=")


class Prefilter:
    """Proves a file holds nothing the visitor would look at, from its bytes alone.

    A candidate needs an ``"orq"`` key, an ``orq=`` keyword, or the last two names of a target or
    orq SDK call (split over lines, continuations and comments as Python allows). The search
    finds the first name of each pair at C speed and looks at what follows only there.
    """

    def __init__(self, targets: Sequence[str]) -> None:
        follow: dict[bytes, set[bytes]] = {}
        for target in {*targets, *ORQ_SDK_CALLS}:
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

    def may_hold(self, data: bytes) -> bool:
        i = data.find(b"orq")
        while i >= 0:
            before, after = data[i - 1 : i], data[i + 3 : i + 4]
            if before in (b'"', b"'") and after == before:
                return True
            if not (before.isalnum() or before == b"_") and _EQUALS.match(data, i + 3):
                return True
            i = data.find(b"orq", i + 3)
        for word, pattern in self.follow.items():
            i = data.find(word)
            while i >= 0:
                if pattern is None or pattern.match(data, i + len(word)):
                    return True
                i = data.find(word, i + len(word))
        return False


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


@dataclass
class Bindings:
    """How each name is bound in one scope: ``assign`` (with its value) or anything else."""

    kinds: dict[str, list[tuple[str, ast.AST]]] = field(default_factory=dict)

    def add(self, name: str, kind: str, node: ast.AST) -> None:
        self.kinds.setdefault(name, []).append((kind, node))


def module_bindings(tree: ast.Module) -> Bindings:
    """Module-level bindings, looking into if/try/with/for blocks but not into defs or classes."""
    out = Bindings()

    def targets(node: ast.AST, kind: str, stmt: ast.AST) -> None:
        for sub in ast.walk(node):
            if isinstance(sub, ast.Name):
                out.add(sub.id, kind, stmt)

    def visit(body: Sequence[ast.stmt]) -> None:
        for stmt in body:
            if isinstance(stmt, ast.Assign):
                for tgt in stmt.targets:
                    targets(tgt, "assign" if isinstance(tgt, ast.Name) else "other", stmt)
            elif isinstance(stmt, ast.AnnAssign):
                targets(stmt.target, "assign" if stmt.value is not None else "declare", stmt)
            elif isinstance(stmt, (ast.AugAssign, ast.Delete)):
                for tgt in stmt.targets if isinstance(stmt, ast.Delete) else [stmt.target]:
                    targets(tgt, "other", stmt)
            elif isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)):
                out.add(stmt.name, "other", stmt)
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                for alias in stmt.names:
                    out.add((alias.asname or alias.name).split(".")[0], "other", stmt)
            elif isinstance(stmt, (ast.For, ast.AsyncFor)):
                targets(stmt.target, "other", stmt)
                visit(stmt.body)
                visit(stmt.orelse)
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                for item in stmt.items:
                    if item.optional_vars is not None:
                        targets(item.optional_vars, "other", stmt)
                visit(stmt.body)
            elif isinstance(stmt, (ast.If, ast.While)):
                visit(stmt.body)
                visit(stmt.orelse)
            elif isinstance(stmt, ast.Try) or type(stmt).__name__ == "TryStar":
                visit(stmt.body)  # type: ignore[attr-defined]
                for handler in stmt.handlers:  # type: ignore[attr-defined]
                    if handler.name:
                        out.add(handler.name, "other", stmt)
                    visit(handler.body)
                visit(stmt.orelse)  # type: ignore[attr-defined]
                visit(stmt.finalbody)  # type: ignore[attr-defined]
            elif type(stmt).__name__ == "Match":
                for case in stmt.cases:  # type: ignore[attr-defined]
                    for sub in ast.walk(case.pattern):
                        name = getattr(sub, "name", None)
                        if isinstance(name, str):
                            out.add(name, "other", stmt)
                    visit(case.body)
            for sub in ast.walk(stmt):
                if isinstance(sub, ast.NamedExpr) and isinstance(sub.target, ast.Name):
                    out.add(sub.target.id, "other", stmt)

    visit(tree.body)
    # `global NAME` anywhere (a function, a method, a class body) rebinds the module's NAME there.
    for node in ast.walk(tree):
        if isinstance(node, ast.Global):
            for name in node.names:
                out.add(name, "other", node)
    return out


_LINE = re.compile(r"[^\r\n]*(?:\r\n|\r|\n)|[^\r\n]+\Z")


def source_lines(text: str) -> list[str]:
    """Lines as Python counts them (only \\n, \\r\\n and \\r end one; str.splitlines also
    splits on form feeds and other separators, which would shift every row after them)."""
    return _LINE.findall(text)


class Segment:
    """One stretch of source parsed by libcst on its own: an outermost function, or a statement.

    Indented code is parsed behind an ``if 1:`` line, which keeps every column as it is in
    the file; ``first_line`` maps rows back.
    """

    def __init__(self, lines: Sequence[str], start: int, end: int) -> None:
        self.start, self.end = start, end  # 1-based, inclusive, in the file
        text = "".join(lines[start - 1 : end])
        self.wrapped = bool(text) and text[0] in " \t"
        import libcst as cst

        self.module = cst.parse_module(("if 1:\n" if self.wrapped else "") + text)
        self._positions: Mapping_[cst.CSTNode, CodeRange] | None = None

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


@dataclass
class Plan:
    """What the ast gate found in a file: the segments to parse and the module's bindings."""

    spans: list[tuple[int, int]]
    bindings: Bindings


def _start(node: ast.stmt) -> int:
    decorators: list[ast.expr] = getattr(node, "decorator_list", None) or []
    return min([node.lineno, *(d.lineno for d in decorators)])


def plan(tree: ast.Module, targets: Sequence[str]) -> Plan | None:
    """The spans (outermost function or module-level statement) that hold candidates."""
    spans: dict[tuple[int, int], None] = {}

    def is_candidate(node: ast.AST) -> bool:
        if isinstance(node, ast.Call):
            if any(k.arg == "orq" for k in node.keywords):
                return True
            names = chain(node.func)
            if names is None:
                return False
            dotted = normal(names)
            if ends_with(dotted, targets):
                return True
            return bool(ends_with(dotted, ORQ_SDK_CALLS)) and any(k.arg == "thread" for k in node.keywords)
        if isinstance(node, ast.Dict):
            return any(isinstance(k, ast.Constant) and k.value == "orq" and isinstance(v, ast.Dict)
                       for k, v in zip(node.keys, node.values, strict=False))
        return False

    def walk(node: ast.AST, span: tuple[int, int] | None) -> None:
        for child in ast.iter_child_nodes(node):
            here = span
            if here is None and isinstance(child, (ast.FunctionDef, ast.AsyncFunctionDef)):
                here = (_start(child), child.end_lineno or child.lineno)
            if is_candidate(child):
                spans[here or top] = None
            walk(child, here)

    for stmt in tree.body:
        top = (_start(stmt), stmt.end_lineno or stmt.lineno)
        if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef)):
            if is_candidate(stmt):
                spans[top] = None
            walk(stmt, top)
        elif isinstance(stmt, ast.ClassDef):
            for item in stmt.body:  # each method (or class-level statement) on its own
                if any(is_candidate(sub) for sub in ast.walk(item)):
                    spans[(_start(item), item.end_lineno or item.lineno)] = None
        else:
            if is_candidate(stmt):
                spans[top] = None
            walk(stmt, None)
    if not spans:
        return None
    return Plan(sorted(spans), module_bindings(tree))


def merge(spans: Iterable[tuple[int, int]]) -> Iterator[tuple[int, int]]:
    """Spans without overlaps (a function span already holds the statements inside it)."""
    last: tuple[int, int] | None = None
    for start, end in sorted(spans):
        if last and start <= last[1]:
            last = (last[0], max(last[1], end))
            continue
        if last:
            yield last
        last = (start, end)
    if last:
        yield last
