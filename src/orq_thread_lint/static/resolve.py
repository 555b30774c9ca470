"""Turn libcst expressions into the values the rules read (known, partly known, unknown).

Followed: literals, dict literals and ``dict(...)``, lists and tuples, f-strings, ``+``,
``"...".format(...)`` and ``%`` with a literal template, and names assigned exactly once in the
same function (or an enclosing one) or at module level, in any order. Everything else
(parameters, attributes, calls, subscripts, ``**kwargs``) is unknown, and unknown is never a
finding.
"""

from __future__ import annotations

import ast
import re
import string
from bisect import bisect_right
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import libcst as cst

from ..rules.minted import Mint, Minted, MintedHole, MintedUUID, mint_of
from ..values import Hole, List, Mapping, Node, Partial, Scalar, Text, Unknown
from .fresh import fresh_call, keeps_fresh
from .imports import imported_names, is_thread_model
from .scopes import (
    Binding,
    Path,
    Ref,
    Words,
    child_bodies,
    class_facts,
    first_row,
    function_body_facts,
    module_facts,
    parameters,
)
from .segments import Segment

_MAX_DEPTH = 24
# Bounds that keep value following linear in the file (names can refer to names many times over,
# as in `a2 = f"{a1}{a1}"`): a built string longer than _MAX_CHARS, or with more than _MAX_PARTS
# pieces, is unknown; a file gets _STEPS_BASE + _STEPS_PER_LINE steps per line of following in
# all, and everything past that is unknown. Ordinary code stays far below them.
_MAX_CHARS = 65_536
_MAX_PARTS = 512
_STEPS_BASE = 20_000
_STEPS_PER_LINE = 100
_UUID_CALLS = frozenset({"uuid1", "uuid3", "uuid4", "uuid5", "uuid6", "uuid7", "UUID"})
_PERCENT = re.compile(r"%(?:\(([^)]*)\))?[#0\- +]*(?:\*|\d+)?(?:\.(?:\*|\d+))?[hlL]?([diouxXeEfFgGcrsa%])")


class _OutOfSteps(Exception):
    """The file's steps of value following are spent."""


class Counter(Unknown):
    """A loop counter (``for i in range(...)``, the index of ``enumerate``): an unknown int."""

    __slots__ = ()


@dataclass(frozen=True, slots=True)
class Anchor:
    """Where a value sits: a libcst node in a parsed segment."""

    node: cst.CSTNode
    segment: Segment

    @property
    def position(self) -> tuple[int, int]:
        row, col, _, _ = self.segment.where(self.node)
        return row, col


# Scopes ---------------------------------------------------------------------------------------

class Scope:
    """Names bound in one scope, asked for one at a time: name -> [(kind, binding)]."""

    def __init__(self) -> None:
        self.memo: dict[str, Node] = {}  # the values of names assigned once, as far as they were followed

    def lookup(self, name: str) -> list[Binding]:
        raise NotImplementedError


class FunctionScope(Scope):
    """A function's scope, from its ast (static/scopes.py)."""

    def __init__(self, node: ast.FunctionDef | ast.AsyncFunctionDef, path: Path, words: Words) -> None:
        super().__init__()
        self.node, self.path, self.words = node, path, words
        self.params = frozenset(parameters(node))
        self._known: dict[str, list[Binding]] = {}
        self._all: dict[str, list[Binding]] | None = None

    def lookup(self, name: str) -> list[Binding]:
        known = self._known.get(name)
        if known is None:
            rows = self.words.rows(name)
            if rows is None:
                if self._all is None:
                    self._all = function_body_facts(self.node.body, (*self.path, self.node), None, None)
                body = self._all.get(name, [])
            else:
                body = function_body_facts(self.node.body, (*self.path, self.node), rows,
                                           self.words.expr_rows(name)).get(name, [])
            known = self._known[name] = ([("other", None)] if name in self.params else []) + body
        return known


class ClassScope(Scope):
    """Names bound in a class body; seen only by code directly in that body."""

    def __init__(self, node: ast.ClassDef, words: Words) -> None:
        super().__init__()
        self.node, self.words = node, words
        self._known: dict[str, list[Binding]] = {}

    def lookup(self, name: str) -> list[Binding]:
        known = self._known.get(name)
        if known is None:
            known = self._known[name] = class_facts(self.node, self.words.rows(name)).get(name, [])
        return known


class OpaqueScope(Scope):
    """A scope whose facts couldn't be read: every name in it is unknown."""

    def lookup(self, name: str) -> list[Binding]:
        return [("other", None)]


class CstScope(Scope):
    """A scope inside a segment without statements of its own (a lambda, a comprehension)."""

    def __init__(self) -> None:
        super().__init__()
        self.names: dict[str, list[Binding]] = {}

    def bind(self, name: str, kind: str) -> None:
        self.names.setdefault(name, []).append((kind, None))

    def bind_target(self, target: cst.CSTNode) -> None:
        for sub in _walk(target):
            if isinstance(sub, cst.Name):
                self.bind(sub.value, "other")

    def lookup(self, name: str) -> list[Binding]:
        return self.names.get(name, [])


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [node]
    while stack:
        cur = stack.pop()
        yield cur
        if isinstance(cur, (cst.Attribute, cst.Subscript)):
            continue  # `a.b = ...` and `a[0] = ...` bind no name
        stack.extend(cur.children)


class LambdaScope(CstScope):
    def __init__(self, node: cst.Lambda) -> None:
        super().__init__()
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            self.bind(param.name.value, "other")
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                self.bind(star.name.value, "other")


class CompScope(CstScope):
    def __init__(self, node: cst.CSTNode) -> None:
        super().__init__()
        comp = getattr(node, "for_in", None)
        while isinstance(comp, cst.CompFor):
            target, iterable = comp.target, comp.iter
            kind = iterable.func.value if isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name) else ""
            if kind == "range" and isinstance(target, cst.Name):
                self.bind(target.value, "loop")
            elif kind == "enumerate" and isinstance(target, cst.Tuple) and target.elements:
                first = target.elements[0].value
                if isinstance(first, cst.Name):
                    self.bind(first.value, "loop")
                for element in target.elements[1:]:
                    self.bind_target(element.value)
            else:
                self.bind_target(target)
            comp = comp.inner_for_in


# The file ---------------------------------------------------------------------------------------

class FileContext:
    """Per-file state: its lines and ast, the scopes and segments read so far, and the bounds of
    value following. ``words`` says where names are written (``Words(None)``: look everywhere)."""

    def __init__(self, lines: Sequence[str], tree: ast.Module, words: Words) -> None:
        self.lines = lines
        self.tree = tree  # the whole file's ast, where clients and imports are traced
        self.words = words
        self._module: dict[str, list[Binding]] = {}
        self._imports: dict[str, str | None] | None = None
        self._scopes: dict[int, Scope] = {}
        self._segments: dict[tuple[int, int, str], Segment | None] = {}
        self._covering: list[Segment] = []
        self._covering_starts: list[int] = []
        self._indexes: dict[int, dict[int, int]] = {}  # a statement list -> where each statement is in it
        self.memo: dict[str, Node] = {}  # module constants' values
        self.steps = 0
        self.max_steps = _STEPS_BASE + _STEPS_PER_LINE * len(lines)
        self.cut = 0  # how often following stopped at the depth or step bound (results then aren't kept)
        self.active = 0  # evaluations under way (the outermost one answers "unknown" when steps run out)

    # names ------------------------------------------------------------------------------------
    def _module_facts(self, name: str) -> list[Binding]:
        found = self._module.get(name)
        if found is None:
            found = self._module[name] = module_facts(
                self.tree, self.words.rows(name), self.words.expr_rows(name)).get(name, [])
        return found

    def module_kinds(self, name: str) -> list[Binding]:
        """How ``name`` is bound at module level (annotations without a value left out)."""
        return [k for k in self._module_facts(name) if k[0] != "declare"]

    def imported(self, name: str) -> str | None:
        """What a module-level name was imported as, when imports are all that bind it."""
        if self._imports is None:
            self._imports = imported_names(self.tree, self.words.rows("import"))
        qualified = self._imports.get(name)
        if qualified is None:
            return None
        ok = all(ref is not None and isinstance(ref.stmt, (ast.Import, ast.ImportFrom))
                 for _, ref in self._module_facts(name))
        return qualified if ok else None

    def scope(self, node: ast.AST, path: Path) -> Scope:
        """The scope of a def or class (one object per node: identity is compared)."""
        found = self._scopes.get(id(node))
        if found is None:
            if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)):
                found = FunctionScope(node, path, self.words)
            elif isinstance(node, ast.ClassDef):
                found = ClassScope(node, self.words)
            else:
                found = OpaqueScope()
            self._scopes[id(node)] = found
        return found

    def outer(self, path: Path) -> tuple[Scope, ...]:
        """The scopes around statements whose ancestors are ``path``."""
        return tuple(self.scope(node, path[:i]) for i, node in enumerate(path)
                     if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)))

    # segments ---------------------------------------------------------------------------------
    def char_col(self, row: int, byte_col: int) -> int:
        """ast columns count UTF-8 bytes; libcst's and ours count characters."""
        line = self.lines[row - 1] if 0 < row <= len(self.lines) else ""
        return byte_col if line.isascii() else len(line.encode("utf-8", "surrogatepass")[:byte_col].decode(
            "utf-8", "ignore"))

    def _starts_line(self, stmt: ast.stmt) -> bool:
        row = first_row(stmt)
        line = self.lines[row - 1] if 0 < row <= len(self.lines) else ""
        if row != stmt.lineno:  # decorated: nothing comes before a decorator on its line
            return line.lstrip(" \t\f").startswith("@")
        return not line[: self.char_col(row, stmt.col_offset)].strip(" \t\f")

    def _siblings(self, stmt: ast.stmt, path: Path) -> list[ast.stmt]:
        if not path:
            return self.tree.body
        row = first_row(stmt)
        for body in child_bodies(path[-1]):
            if first_row(body[0]) <= row <= (body[-1].end_lineno or row) and any(s is stmt for s in body):
                return body
        return [stmt]

    def cover(self, segments: Sequence[Segment]) -> None:
        """The plan's segments (sorted, none overlapping): a statement inside one is read there."""
        self._covering = [s for s in segments if not s.tail]
        self._covering_starts = [s.start for s in self._covering]

    def segment_for(self, stmt: ast.stmt, path: Path, header: bool = False) -> Segment | None:
        """The segment that holds ``stmt`` (``header``: only its header, when it is compound):
        one of the plan's when one holds it, else the statement and those sharing its lines,
        widened to the enclosing statement when its lines don't parse on their own."""
        start, end = first_row(stmt), stmt.end_lineno or stmt.lineno
        at = bisect_right(self._covering_starts, start) - 1  # the plan's segments don't overlap
        if at >= 0 and end <= self._covering[at].end:
            return self._covering[at]
        if not self._starts_line(stmt):
            return self._widen(path)
        tail = ""
        roots: list[ast.stmt] = [stmt]
        body = getattr(stmt, "body", None)
        if header and isinstance(body, list) and body and self._starts_line(body[0]):
            row = first_row(body[0])
            line = self.lines[row - 1]
            tail = line[: len(line) - len(line.lstrip(" \t\f"))] + "pass\n"
            end = row - 1
        else:
            siblings = self._siblings(stmt, path)
            index = self._indexes.get(id(siblings))
            if index is None:
                index = self._indexes[id(siblings)] = {id(s): k for k, s in enumerate(siblings)}
            i = j = index[id(stmt)]
            while i > 0 and (siblings[i - 1].end_lineno or 0) >= first_row(siblings[i]):
                i -= 1
            while j + 1 < len(siblings) and first_row(siblings[j + 1]) <= (siblings[j].end_lineno or 0):
                j += 1
            roots = siblings[i : j + 1]
            if not self._starts_line(roots[0]):
                return self._widen(path)
            start, end = first_row(roots[0]), max(s.end_lineno or s.lineno for s in roots)
        key = (start, end, tail)
        if key not in self._segments:
            try:
                self._segments[key] = Segment(self.lines, start, end, tail, roots, path)
            except cst.ParserSyntaxError:
                self._segments[key] = None
        found = self._segments[key]
        return found if found is not None else self._widen(path)

    def _widen(self, path: Path) -> Segment | None:
        if not path:
            return None  # syntax CPython accepts and libcst doesn't know yet: nothing can be proved
        parent = path[-1]
        assert isinstance(parent, ast.stmt)
        return self.segment_for(parent, path[:-1])

    # bindings' values ---------------------------------------------------------------------------
    def assigned(self, ref: Ref, name: str) -> tuple[cst.BaseExpression, Segment] | None:
        """The value of ``name = value`` (or ``name: T = value``) that ``ref`` points at."""
        segment = self.segment_for(ref.stmt, ref.path)  # type: ignore[arg-type]
        if segment is None:
            return None
        found = [n for n in statements_of(segment) if isinstance(n, (cst.Assign, cst.AnnAssign))
                 and _assigns(n, name)]
        node = _at_row(segment, found, getattr(ref.stmt, "lineno", 0))
        if isinstance(node, (cst.Assign, cst.AnnAssign)) and node.value is not None:
            return node.value, segment
        return None

    def with_value(self, ref: Ref, name: str) -> tuple[cst.BaseExpression, Segment] | None:
        """The item of ``with item as name:`` that ``ref`` points at."""
        segment = self.segment_for(ref.stmt, ref.path, header=True)  # type: ignore[arg-type]
        if segment is None:
            return None
        found = [n for n in statements_of(segment) if isinstance(n, cst.With)]
        node = _at_row(segment, found, getattr(ref.stmt, "lineno", 0))
        if isinstance(node, cst.With) and 0 <= ref.item < len(node.items):
            item = node.items[ref.item]
            if item.asname is not None and isinstance(item.asname.name, cst.Name) and item.asname.name.value == name:
                return item.item, segment
        return None

    def constant(self, name: str) -> tuple[cst.BaseExpression, Segment] | None:
        """The value of a module-level name bound exactly once by a plain assignment."""
        kinds = self.module_kinds(name)
        if len(kinds) == 1 and kinds[0][0] == "assign" and kinds[0][1] is not None:
            return self.assigned(kinds[0][1], name)
        return None

    def with_item(self, name: str) -> tuple[cst.BaseExpression, Segment] | None:
        """The item of a module-level ``with ... as name:`` that is the name's only binding."""
        kinds = self.module_kinds(name)
        if len(kinds) == 1 and kinds[0][0] == "with" and kinds[0][1] is not None:
            return self.with_value(kinds[0][1], name)
        return None


def statements_of(segment: Segment) -> Iterator[cst.CSTNode]:
    """The statements of a segment, small ones and nested ones included."""
    stack: list[cst.CSTNode] = list(reversed(segment.body()))
    while stack:
        node = stack.pop()
        yield node
        if isinstance(node, cst.SimpleStatementLine):
            stack.extend(reversed(node.body))
        elif isinstance(node, cst.BaseCompoundStatement):
            stack.extend(reversed(list(_nested_statements(node))))


def _nested_statements(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    for child in node.children:
        if isinstance(child, (cst.BaseSuite, cst.Else, cst.ExceptHandler, cst.ExceptStarHandler, cst.Finally,
                              cst.MatchCase, cst.If)):
            if isinstance(child, cst.If):
                yield child  # an `elif`
            elif isinstance(child, cst.BaseSuite):
                yield from child.body
            else:
                yield from _nested_statements(child)


def _assigns(node: cst.Assign | cst.AnnAssign, name: str) -> bool:
    targets = [t.target for t in node.targets] if isinstance(node, cst.Assign) else [node.target]
    return any(isinstance(t, cst.Name) and t.value == name for t in targets)


def _at_row(segment: Segment, nodes: Sequence[cst.CSTNode], row: int) -> cst.CSTNode | None:
    if len(nodes) == 1:
        return nodes[0]
    at = [n for n in nodes if segment.where(n)[0] == row]
    return at[0] if len(at) == 1 else None


class Resolver:
    """Values of expressions seen from one place in a segment (its scope chain)."""

    def __init__(self, ctx: FileContext, segment: Segment, scopes: Sequence[Scope]) -> None:
        self.ctx = ctx
        self.segment = segment
        self.scopes = tuple(scopes)
        self._depth = 0

    def anchor(self, node: cst.CSTNode) -> Anchor:
        return Anchor(node, self.segment)

    def at(self, segment: Segment, scopes: Sequence[Scope]) -> Resolver:
        other = Resolver(self.ctx, segment, scopes)
        other._depth = self._depth
        return other

    def value(self, expr: cst.BaseExpression, path: str) -> Node:
        ctx = self.ctx
        ctx.steps += 1
        if ctx.steps > ctx.max_steps:
            if ctx.active:
                raise _OutOfSteps  # unwinds the whole evaluation at once: no loop goes on after it
            ctx.cut += 1
            return Unknown(path, self.anchor(expr))
        if self._depth > _MAX_DEPTH:
            ctx.cut += 1
            return Unknown(path, self.anchor(expr))
        self._depth += 1
        ctx.active += 1
        try:
            return self._value(expr, path)
        except _OutOfSteps:
            if ctx.active > 1:
                raise
            ctx.cut += 1
            return Unknown(path, self.anchor(expr))
        finally:
            self._depth -= 1
            ctx.active -= 1

    def _value(self, expr: cst.BaseExpression, path: str) -> Node:
        anchor = self.anchor(expr)
        if isinstance(expr, (cst.SimpleString, cst.ConcatenatedString, cst.FormattedString)):
            return self._string(expr, path, anchor)
        if isinstance(expr, cst.Integer | cst.Float):
            return Scalar(ast.literal_eval(expr.value), path, anchor)
        if isinstance(expr, cst.Name):
            return self._name(expr, path, anchor)
        if isinstance(expr, cst.Dict):
            return CstMapping.of_dict(expr, self, path)
        if isinstance(expr, cst.List | cst.Tuple):
            items = [self.value(e.value, f"{path}[{i}]") for i, e in enumerate(expr.elements)
                     if not isinstance(e, cst.StarredElement)]
            return List(items, path, anchor, open=any(isinstance(e, cst.StarredElement) for e in expr.elements))
        if isinstance(expr, cst.Set):
            return Scalar(None, path, anchor, kind="set")
        if isinstance(expr, cst.BinaryOperation):
            return self._binary(expr, path, anchor)
        if isinstance(expr, cst.Call):
            return self._call(expr, path, anchor)
        if isinstance(expr, cst.Attribute):
            return self._derived(expr.value, expr.attr.value, path, anchor)
        if isinstance(expr, cst.Subscript):
            return self._derived(expr.value, "[]", path, anchor)
        return Unknown(path, anchor)

    def _derived(self, base: cst.BaseExpression, step: str, path: str, anchor: Anchor) -> Node:
        """A value computed from a fresh one (``uuid4().hex``) is fresh when the step keeps it so."""
        mint = mint_of(self.value(base, path))
        if mint is None or not keeps_fresh(mint.origin, step):
            return Unknown(path, anchor)
        return Minted(mint, path, anchor)

    def _name(self, expr: cst.Name, path: str, anchor: Anchor) -> Node:
        name = expr.value
        if name in ("None", "True", "False"):
            return Scalar(ast.literal_eval(name), path, anchor)
        local = self._scope_of(name)
        if local is not None:
            index, bound = local
            if len(bound) == 1 and bound[0][0] == "loop":
                return Counter(path, anchor)
            kind, ref = bound[0]
            found = self.ctx.assigned(ref, name) if len(bound) == 1 and kind == "assign" and ref is not None else None
            if found is None:
                return Unknown(path, anchor)
            return self._followed(self.scopes[index].memo, name, path, self.at(found[1], self.scopes[: index + 1]),
                                  found[0])
        found = self.ctx.constant(name)
        if found is None:
            return Unknown(path, anchor)
        value, segment = found
        return self._followed(self.ctx.memo, name, path, self.at(segment, ()), value)

    def _followed(self, memo: dict[str, Node], name: str, path: str, where: Resolver,
                  expr: cst.BaseExpression) -> Node:
        """A name's value (``expr`` seen from ``where``), followed once: a string, scalar or unknown
        is shared by every use (each use gets its own path), so names built from names cost one
        step per use, not one per expansion. A value cut short by a bound is not kept: another use
        may follow it further."""
        known = memo.get(name)
        if known is not None:
            return _at_path(known, path)
        cut = self.ctx.cut
        found = where.value(expr, path)
        if self.ctx.cut == cut and type(found) in _SHAREABLE:
            memo[name] = found
        return found

    def _scope_of(self, name: str) -> tuple[int, list[Binding]] | None:
        """The innermost scope seen from here that binds ``name`` (a class body only from inside it)."""
        for index in range(len(self.scopes) - 1, -1, -1):
            scope = self.scopes[index]
            if isinstance(scope, ClassScope) and index != len(self.scopes) - 1:
                continue
            bound = scope.lookup(name)
            if bound:
                return index, bound
        return None

    def binding(self, name: str) -> tuple[str, cst.BaseExpression, Resolver] | None:
        """The one binding of ``name`` seen from here with its expression (``assign`` or ``with``),
        and the resolver of the scope it was made in; None when it is bound otherwise or twice."""
        local = self._scope_of(name)
        if local is not None:
            index, bound = local
            kind, ref = bound[0]
            if len(bound) != 1 or ref is None:
                return None
            found = self.ctx.assigned(ref, name) if kind == "assign" else \
                self.ctx.with_value(ref, name) if kind == "with" else None
            return None if found is None else (kind, found[0], self.at(found[1], self.scopes[: index + 1]))
        constant = self.ctx.constant(name)
        if constant is not None:
            return "assign", constant[0], self.at(constant[1], ())
        item = self.ctx.with_item(name)
        if item is not None:
            return "with", item[0], self.at(item[1], ())
        return None

    def qualified(self, expr: cst.BaseExpression) -> str | None:
        """What an imported name (or an attribute of one) is, e.g. ``openai.OpenAI``."""
        if isinstance(expr, cst.Attribute):
            base = self.qualified(expr.value)
            return f"{base}.{expr.attr.value}" if base else None
        if not isinstance(expr, cst.Name):
            return None
        local = self._scope_of(expr.value)
        if local is not None and any(kind != "import" for kind, _ in local[1]):
            return None  # a local name, not the import
        return self.ctx.imported(expr.value)

    # strings ------------------------------------------------------------------------------------
    def _string(self, expr: cst.BaseExpression, path: str, anchor: Anchor) -> Node:
        parts = self._string_parts(expr)
        if parts is None:
            return Unknown(path, anchor)
        if isinstance(expr, cst.SimpleString):  # a literal is as long as the file lets it be
            return Text(parts[0], path, anchor) if isinstance(parts[0], str) else Unknown(path, anchor)
        return _string_node(parts, path, anchor)

    def _string_parts(self, expr: cst.BaseExpression) -> list[str | Hole] | None:
        if isinstance(expr, cst.SimpleString):
            value = expr.evaluated_value
            return [value] if isinstance(value, str) else None
        if isinstance(expr, cst.ConcatenatedString):
            left, right = self._string_parts(expr.left), self._string_parts(expr.right)
            return None if left is None or right is None else left + right
        if isinstance(expr, cst.FormattedString):
            prefix = expr.prefix.lower()
            quote = expr.start[len(expr.prefix):]
            if "b" in prefix:
                return None
            parts: list[str | Hole] = []
            for piece in expr.parts:
                if isinstance(piece, cst.FormattedStringText):
                    parts.append(_unescape(piece.value, quote, raw="r" in prefix))
                elif isinstance(piece, cst.FormattedStringExpression):
                    parts.append(self._hole(piece.expression, plain=piece.format_spec is None
                                            and piece.conversion is None))
            return parts
        return None

    def _hole(self, expr: cst.BaseExpression, plain: bool = True) -> str | Hole:
        value = self.value(expr, "")
        if isinstance(value, Text) and plain:
            return value.value
        return _hole_for(value, "str()" if plain else "spec", expr)

    def _binary(self, expr: cst.BinaryOperation, path: str, anchor: Anchor) -> Node:
        if isinstance(expr.operator, cst.Add):
            left, right = self.value(expr.left, path), self.value(expr.right, path)
            if not any(isinstance(v, (Text, Partial)) for v in (left, right)):
                return Unknown(path, anchor)
            parts: list[str | Hole] = []
            for side in (left, right):
                if isinstance(side, Text):
                    parts.append(side.value)
                elif isinstance(side, Partial):
                    parts.extend(side.parts)
                elif isinstance(side, Unknown):
                    source = side.anchor.node if isinstance(side.anchor, Anchor) else None
                    parts.append(_hole_for(side, "str()", source))
                else:
                    return Unknown(path, anchor)
            return _string_node(parts, path, anchor)
        if isinstance(expr.operator, cst.Multiply):  # `time.time() * 1000`
            left = self._derived(expr.left, "*", path, anchor)
            return left if isinstance(left, Minted) else self._derived(expr.right, "*", path, anchor)
        if isinstance(expr.operator, cst.Modulo) and isinstance(expr.left, cst.SimpleString):
            template = expr.left.evaluated_value
            if isinstance(template, str):
                return self._percent(template, expr.right, path, anchor)
        return Unknown(path, anchor)

    def _percent(self, template: str, right: cst.BaseExpression, path: str, anchor: Anchor) -> Node:
        args: list[cst.BaseExpression] = []
        named: dict[str, cst.BaseExpression] = {}
        if isinstance(right, cst.Tuple):
            args = [e.value for e in right.elements]
        elif isinstance(right, cst.Dict):
            for el in right.elements:
                if isinstance(el, cst.DictElement) and isinstance(el.key, cst.SimpleString):
                    key = el.key.evaluated_value
                    if isinstance(key, str):
                        named[key] = el.value
        else:
            args = [right]
        parts: list[str | Hole] = []
        pos, index = 0, 0
        for m in _PERCENT.finditer(template):
            parts.append(template[pos:m.start()])
            pos = m.end()
            if m.group(2) == "%":
                parts.append("%")
                continue
            arg = named.get(m.group(1)) if m.group(1) is not None else (args[index] if index < len(args) else None)
            index += m.group(1) is None
            plain = m.group(0) in ("%s", f"%({m.group(1)})s")
            parts.append(self._hole(arg, plain) if arg is not None else Hole())
        parts.append(template[pos:])
        return _string_node(parts, path, anchor)

    def _call(self, expr: cst.Call, path: str, anchor: Anchor) -> Node:
        func = expr.func
        if isinstance(func, cst.Attribute) and func.attr.value == "format" and isinstance(func.value, cst.SimpleString):
            template = func.value.evaluated_value
            if isinstance(template, str):
                return self._format(template, expr, path, anchor)
        name = func.attr.value if isinstance(func, cst.Attribute) else func.value if isinstance(func, cst.Name) else ""
        if is_thread_model(self.qualified(func) or ""):
            return CstMapping.of_dict_call(expr, self, path)
        if name in ("get", "getattr") and path.rpartition(".")[2] == "id":
            empty = _empty_default(expr, name)
            if empty is not None:
                # `d.get("id", "")`: whenever the key is missing, an empty id is sent.
                return Text(empty.evaluated_value, path, self.anchor(empty))  # type: ignore[arg-type]
        fresh = fresh_call(expr)
        if fresh is not None:
            mint = Mint(fresh, (anchor, self.scopes))  # where it is evaluated: static/minted.py reads it
            return MintedUUID(mint, path, anchor) if name in _UUID_CALLS else Minted(mint, path, anchor)
        if name in _UUID_CALLS:
            return Scalar(None, path, anchor, kind="UUID")
        if name == "dict" and isinstance(func, cst.Name):
            return CstMapping.of_dict_call(expr, self, path)
        if name == "str" and isinstance(func, cst.Name) and len(expr.args) == 1 and not expr.args[0].star:
            inner = self.value(expr.args[0].value, path)
            if isinstance(inner, (Text, Partial)):
                return inner
            minted = mint_of(inner)
            return Partial([MintedHole(minted) if minted is not None else Hole()], path, anchor)
        if isinstance(func, cst.Name) and name in ("int", "float", "round") and len(expr.args) == 1:
            return self._derived(expr.args[0].value, f"{name}()", path, anchor)
        if isinstance(func, cst.Attribute):  # a method of a fresh value: `uuid4().hex.upper()`
            return self._derived(func.value, f"{name}()", path, anchor)
        return Unknown(path, anchor)

    def _format(self, template: str, call: cst.Call, path: str, anchor: Anchor) -> Node:
        positional = [a.value for a in call.args if a.keyword is None and not a.star]
        keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        parts: list[str | Hole] = []
        auto = 0
        try:
            fields = list(string.Formatter().parse(template))
        except ValueError:
            return Unknown(path, anchor)
        for literal, field, spec, conversion in fields:
            parts.append(literal)
            if field is None:
                continue
            arg: cst.BaseExpression | None
            if field == "":
                arg = positional[auto] if auto < len(positional) else None
                auto += 1
            elif field.isdigit():
                arg = positional[int(field)] if int(field) < len(positional) else None
            else:
                arg = keywords.get(field)
            parts.append(self._hole(arg, plain=not spec and not conversion) if arg is not None else Hole())
        return _string_node(parts, path, anchor)


def _empty_default(call: cst.Call, name: str) -> cst.SimpleString | None:
    """The literal empty or blank default of ``m.get(key, "")`` / ``getattr(x, name, "")``."""
    args = call.args
    if (name == "get" and not isinstance(call.func, cst.Attribute)) or (name == "getattr" and not (
            isinstance(call.func, cst.Name))):
        return None
    if len(args) != (2 if name == "get" else 3) or any(a.star or a.keyword for a in args):
        return None
    default = args[-1].value
    if isinstance(default, cst.SimpleString) and isinstance(default.evaluated_value, str) \
            and not default.evaluated_value.strip():
        return default
    return None
def _hole_for(value: Node, step: str, source: object = None) -> Hole:
    """The hole a value leaves in a string: a loop counter's, a fresh value's, or a plain one."""
    mint = mint_of(value)
    if mint is not None and keeps_fresh(mint.origin, step):
        return MintedHole(mint, source)
    return Hole(loop=isinstance(value, Counter), source=source)


def _join(parts: list[str | Hole]) -> list[str | Hole]:
    out: list[str | Hole] = []
    for part in parts:
        if isinstance(part, str) and out and isinstance(out[-1], str):
            out[-1] += part
        elif part != "":
            out.append(part)
    return out


def _string_node(parts: list[str | Hole], path: str, anchor: Anchor) -> Node:
    if len(parts) > 2 * _MAX_PARTS or sum(len(p) for p in parts if isinstance(p, str)) > _MAX_CHARS:
        return Unknown(path, anchor)
    joined = _join(parts)
    if len(joined) > _MAX_PARTS:
        return Unknown(path, anchor)
    if any(isinstance(p, Hole) for p in joined):
        return Partial(joined, path, anchor)
    return Text("".join(p for p in joined if isinstance(p, str)), path, anchor)


_SHAREABLE = (Text, Partial, Scalar, Unknown)


def _at_path(node: Node, path: str) -> Node:
    """A shared value (one of ``_SHAREABLE``) as seen at another path."""
    if isinstance(node, Text):
        return Text(node.value, path, node.anchor)
    if isinstance(node, Partial):
        return Partial(node.parts, path, node.anchor)
    if isinstance(node, Scalar):
        return Scalar(node.value, path, node.anchor, node.kind)
    return Unknown(path, node.anchor)


def _unescape(text: str, quote: str, raw: bool) -> str:
    text = text.replace("{{", "{").replace("}}", "}")
    if raw or "\\" not in text:
        return text
    try:
        value = ast.literal_eval(quote + text + quote)
    except (SyntaxError, ValueError):
        return text
    return value if isinstance(value, str) else text


# Mappings ---------------------------------------------------------------------------------------

class CstMapping(Mapping):
    """A dict in code: literal keys with their expressions, resolved when read."""

    __slots__ = ("entries", "open", "resolvers")

    def __init__(self, path: str, anchor: Anchor | None) -> None:
        super().__init__(path, anchor)
        # key -> (key anchor, value expression, resolver); later entries win, like a dict.
        self.entries: dict[str, tuple[Anchor, cst.BaseExpression]] = {}
        self.resolvers: dict[str, Resolver] = {}
        self.open = False

    def put(self, key: str, key_anchor: Anchor, value: cst.BaseExpression, resolver: Resolver) -> None:
        self.entries.pop(key, None)
        self.entries[key] = (key_anchor, value)
        self.resolvers[key] = resolver

    def keys(self) -> list[str]:
        return list(self.entries)

    def get(self, key: str) -> Node | None:
        entry = self.entries.get(key)
        if entry is None:
            return None
        return self.resolvers[key].value(entry[1], f"{self.path}.{key}" if self.path else key)

    def expr(self, key: str) -> cst.BaseExpression | None:
        entry = self.entries.get(key)
        return entry[1] if entry else None

    def key_anchor(self, key: str) -> object:
        entry = self.entries.get(key)
        return entry[0] if entry else self.anchor

    def value_anchor(self, key: str) -> object:
        entry = self.entries.get(key)
        return Anchor(entry[1], self.resolvers[key].segment) if entry else self.anchor

    def merge(self, other: Node) -> None:
        """Shallow-merge another mapping into this one (``extra_body`` over keyword arguments)."""
        if isinstance(other, CstMapping):
            for key, (key_anchor, value) in other.entries.items():
                self.put(key, key_anchor, value, other.resolvers[key])
            self.open |= other.open
        elif isinstance(other, Mapping) or not (isinstance(other, Scalar) and other.kind == "null"):
            self.open = True

    @classmethod
    def of_dict(cls, node: cst.Dict, resolver: Resolver, path: str) -> CstMapping:
        out = cls(path, resolver.anchor(node))
        for element in node.elements:
            if isinstance(element, cst.DictElement):
                key = element.key
                text = key.evaluated_value if isinstance(key, (cst.SimpleString, cst.ConcatenatedString)) else None
                if isinstance(text, str):
                    out.put(text, resolver.anchor(key), element.value, resolver)
                else:
                    out.open = True
            else:
                out.merge(resolver.value(element.value, path))
        return out

    @classmethod
    def of_dict_call(cls, call: cst.Call, resolver: Resolver, path: str) -> CstMapping:
        out = cls(path, resolver.anchor(call))
        for arg in call.args:
            if arg.keyword is not None:
                out.put(arg.keyword.value, resolver.anchor(arg), arg.value, resolver)
            else:
                out.merge(resolver.value(arg.value, path))
        return out
