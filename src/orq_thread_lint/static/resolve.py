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
from collections.abc import Iterator, Sequence
from dataclasses import dataclass

import libcst as cst

from ..rules.minted import Mint, Minted, MintedHole, MintedUUID, mint_of
from ..values import Hole, List, Mapping, Node, Partial, Scalar, Text, Unknown
from .fresh import fresh_call, keeps_fresh
from .segments import Bindings, Segment

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
    """Names bound in one scope: name -> [(kind, value expression or None)]."""

    def __init__(self, segment: Segment) -> None:
        self.segment = segment
        self.names: dict[str, list[tuple[str, cst.BaseExpression | None]]] = {}
        self.memo: dict[str, Node] = {}  # the values of names assigned once, as far as they were followed

    def bind(self, name: str, kind: str, value: cst.BaseExpression | None = None) -> None:
        self.names.setdefault(name, []).append((kind, value))

    def bind_target(self, target: cst.CSTNode, kind: str = "other", value: cst.BaseExpression | None = None) -> None:
        if isinstance(target, cst.Name):
            self.bind(target.value, kind, value)
            return
        for sub in _walk(target):
            if isinstance(sub, cst.Name) and not isinstance(sub, cst.Attribute):
                self.bind(sub.value, "other")


def _walk(node: cst.CSTNode) -> Iterator[cst.CSTNode]:
    stack = [node]
    while stack:
        cur = stack.pop()
        yield cur
        if isinstance(cur, (cst.Attribute, cst.Subscript)):
            continue  # `a.b = ...` and `a[0] = ...` bind no name
        stack.extend(cur.children)


def _iter_kind(iterable: cst.BaseExpression) -> str:
    if isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Name):
        return iterable.func.value
    return ""


def _bind_loop(scope: Scope, target: cst.BaseExpression, iterable: cst.BaseExpression) -> None:
    kind = _iter_kind(iterable)
    if kind == "range" and isinstance(target, cst.Name):
        scope.bind(target.value, "loop")
    elif kind == "enumerate" and isinstance(target, cst.Tuple) and target.elements:
        first = target.elements[0].value
        if isinstance(first, cst.Name):
            scope.bind(first.value, "loop")
        for element in target.elements[1:]:
            scope.bind_target(element.value)
    else:
        scope.bind_target(target)


class FunctionScope(Scope):
    def __init__(self, node: cst.FunctionDef | cst.Lambda, segment: Segment) -> None:
        super().__init__(segment)
        params = node.params
        for param in (*params.posonly_params, *params.params, *params.kwonly_params):
            self.bind(param.name.value, "other")
        for star in (params.star_arg, params.star_kwarg):
            if isinstance(star, cst.Param):
                self.bind(star.name.value, "other")
        if isinstance(node, cst.FunctionDef):
            self._collect(node.body)

    def _collect(self, root: cst.CSTNode) -> None:
        stack: list[cst.CSTNode] = list(root.children)
        while stack:
            node = stack.pop()
            if isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                self.bind(node.name.value, "other")
                stack.extend(node.decorators)
                self._rebound_inside(node, cst.Nonlocal)
                continue
            if isinstance(node, cst.Lambda):
                continue
            if isinstance(node, (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)):
                self._rebound_inside(node, cst.NamedExpr)
                continue
            if isinstance(node, cst.Assign):
                for tgt in node.targets:
                    self.bind_target(tgt.target, "assign", node.value)
            elif isinstance(node, cst.AnnAssign):
                if node.value is not None:
                    self.bind_target(node.target, "assign", node.value)
            elif isinstance(node, cst.AugAssign):
                self.bind_target(node.target)
            elif isinstance(node, cst.For):
                _bind_loop(self, node.target, node.iter)
            elif isinstance(node, cst.WithItem) and node.asname is not None:
                self.bind_target(node.asname.name)
            elif isinstance(node, cst.ExceptHandler) and node.name is not None:
                self.bind_target(node.name.name)
            elif isinstance(node, (cst.Import, cst.ImportFrom)) and not isinstance(node.names, cst.ImportStar):
                for alias in node.names:
                    name = alias.asname.name if alias.asname else alias.name
                    self.bind(cst.helpers.get_full_name_for_node(name).split(".")[0]  # type: ignore[union-attr]
                              if not isinstance(name, cst.Name) else name.value, "other")
            elif isinstance(node, (cst.Global, cst.Nonlocal)):
                for item in node.names:
                    self.bind(item.name.value, "other")
            elif isinstance(node, (cst.NamedExpr, cst.Del)):
                self.bind_target(node.target)
            elif isinstance(node, (cst.MatchAs, cst.MatchStar)) and node.name is not None:
                self.bind(node.name.value, "other")
            stack.extend(node.children)

    def _rebound_inside(self, node: cst.CSTNode, kind: type[cst.Nonlocal] | type[cst.NamedExpr]) -> None:
        """Names a nested scope rebinds in this one: ``nonlocal`` in a nested function, ``:=`` in a
        comprehension (whose other names stay its own)."""
        stack = [node]
        while stack:
            sub = stack.pop()
            stack.extend(sub.children)
            if kind is cst.Nonlocal and isinstance(sub, cst.Nonlocal):
                for item in sub.names:
                    self.bind(item.name.value, "other")
            elif kind is cst.NamedExpr and isinstance(sub, cst.NamedExpr):
                self.bind_target(sub.target)


class ClassScope(Scope):
    """Names bound in a class body; seen only by code directly in that body."""

    def __init__(self, node: cst.ClassDef, segment: Segment) -> None:
        super().__init__(segment)
        for stmt in node.body.body:
            for sub in _walk(stmt):
                if isinstance(sub, (cst.FunctionDef, cst.ClassDef)):
                    self.bind(sub.name.value, "other")
                elif isinstance(sub, (cst.AssignTarget, cst.AnnAssign, cst.AugAssign, cst.For, cst.NamedExpr,
                                      cst.Del)):
                    self.bind_target(sub.target)
                elif isinstance(sub, cst.WithItem) and sub.asname is not None:
                    self.bind_target(sub.asname.name)
                elif isinstance(sub, cst.ExceptHandler) and sub.name is not None:
                    self.bind_target(sub.name.name)
                elif isinstance(sub, cst.ImportAlias):
                    name = sub.asname.name if sub.asname else sub.name
                    if isinstance(name, cst.Name):
                        self.bind(name.value, "other")
                    elif isinstance(name, cst.Attribute):
                        self.bind((cst.helpers.get_full_name_for_node(name) or "").split(".")[0], "other")


class CompScope(Scope):
    def __init__(self, node: cst.CSTNode, segment: Segment) -> None:
        super().__init__(segment)
        comp = getattr(node, "for_in", None)
        while isinstance(comp, cst.CompFor):
            _bind_loop(self, comp.target, comp.iter)
            comp = comp.inner_for_in


# The resolver -----------------------------------------------------------------------------------

class FileContext:
    """Per-file state: its lines, module bindings, and module constants parsed on demand."""

    def __init__(self, lines: Sequence[str], bindings: Bindings) -> None:
        self.lines = lines
        self.bindings = bindings
        self._constants: dict[str, tuple[cst.BaseExpression, Segment] | None] = {}
        self.memo: dict[str, Node] = {}  # module constants' values
        self.steps = 0
        self.max_steps = _STEPS_BASE + _STEPS_PER_LINE * len(lines)
        self.cut = 0  # how often following stopped at the depth or step bound (results then aren't kept)
        self.active = 0  # evaluations under way (the outermost one answers "unknown" when steps run out)

    def constant(self, name: str) -> tuple[cst.BaseExpression, Segment] | None:
        """The value of a module-level name bound exactly once by a plain assignment."""
        if name in self._constants:
            return self._constants[name]
        found = None
        kinds = [k for k in self.bindings.kinds.get(name, []) if k[0] != "declare"]
        if len(kinds) == 1 and kinds[0][0] == "assign":
            stmt = kinds[0][1]
            assert isinstance(stmt, (ast.Assign, ast.AnnAssign))
            try:
                segment = Segment(self.lines, stmt.lineno, stmt.end_lineno or stmt.lineno)
                found = _assigned_value(segment, name)
            except cst.ParserSyntaxError:
                found = None
        self._constants[name] = found
        return found


def _assigned_value(segment: Segment, name: str) -> tuple[cst.BaseExpression, Segment] | None:
    for stmt in segment.body():
        if not isinstance(stmt, cst.SimpleStatementLine):
            continue
        for small in stmt.body:
            if isinstance(small, cst.Assign) and any(
                    isinstance(t.target, cst.Name) and t.target.value == name for t in small.targets):
                return small.value, segment
            if isinstance(small, cst.AnnAssign) and isinstance(small.target, cst.Name) and small.value is not None:
                return small.value, segment
    return None


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
        for index in range(len(self.scopes) - 1, -1, -1):
            scope = self.scopes[index]
            if isinstance(scope, ClassScope) and index != len(self.scopes) - 1:
                continue
            bound = scope.names.get(name)
            if not bound:
                continue
            if len(bound) == 1 and bound[0][0] == "loop":
                return Counter(path, anchor)
            kind, value = bound[0]
            if len(bound) == 1 and kind == "assign" and value is not None:
                return self._followed(scope.memo, name, path, self.at(scope.segment, self.scopes[: index + 1]), value)
            return Unknown(path, anchor)
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
