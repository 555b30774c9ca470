"""Where a call's client sends it: traced back to the client's construction in the same file.

A client is routed to orq when it is built by ``OpenAI``/``AsyncOpenAI``/``AzureOpenAI``/
``AsyncAzureOpenAI`` with a ``base_url`` whose known text holds one of ``[calls] orq-base-urls``,
or with a ``base_url`` or ``api_key`` read from an environment variable whose name holds ``ORQ``;
orq's SDK client (``Orq(...)``) is its own kind. Followed: names bound once (in the function, an
enclosing one, or the module; ``with ... as name`` too), ``self.x`` assigned once in the class's
``__init__``, ``.with_options(...)``, and functions of the same file that return such a client.
Everything else (parameters, imports, ``a or b``, factories elsewhere) is unknown.
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence
from typing import Literal, TypeVar

import libcst as cst

from ..values import Partial, Text
from .imports import is_openai_client, is_orq_client
from .resolve import FunctionScope, Resolver, statements_of
from .scopes import statements
from .segments import TRANSPARENT, Segment

Client = Literal["openai-orq", "openai", "orq-sdk"]
_MAX_DEPTH = 8
# Names between the client and the method that don't change where the request goes.
_SDK_GROUPS = frozenset({"router", "agents"})


def receiver(func: cst.BaseExpression, method: str) -> cst.BaseExpression | None:
    """The client expression of ``<client>.chat.completions.create``, wrappers skipped."""
    node: cst.BaseExpression = func
    names = method.split(".")
    while names:
        if isinstance(node, cst.Call):
            node = node.func
        elif isinstance(node, cst.Attribute):
            if node.attr.value not in TRANSPARENT:
                if node.attr.value != names[-1]:
                    return None
                names.pop()
            node = node.value
        else:
            return None
    while True:
        if isinstance(node, cst.Call) and isinstance(node.func, cst.Attribute) \
                and node.func.attr.value in TRANSPARENT:
            node = node.func.value
        elif isinstance(node, cst.Attribute) and (node.attr.value in TRANSPARENT or node.attr.value in _SDK_GROUPS):
            node = node.value
        else:
            return node


def client_of(call: cst.Call, method: str, resolver: Resolver, orq_urls: Sequence[str]) -> Client | None:
    """What ``call`` (a call of ``method``) is made on, or None when that can't be proved."""
    node = receiver(call.func, method)
    return None if node is None else _Tracer(resolver, tuple(orq_urls)).trace(node, resolver, 0)


class _Tracer:
    def __init__(self, origin: Resolver, orq_urls: tuple[str, ...]) -> None:
        self.origin = origin
        self.ctx = origin.ctx
        self.orq_urls = orq_urls

    def trace(self, expr: cst.BaseExpression, resolver: Resolver, depth: int) -> Client | None:
        if depth > _MAX_DEPTH:
            return None
        if isinstance(expr, cst.Await):
            return self.trace(expr.expression, resolver, depth + 1)
        if isinstance(expr, cst.Name):
            found = resolver.binding(expr.value)
            return None if found is None else self.trace(found[1], found[2], depth + 1)
        if isinstance(expr, cst.Attribute) and isinstance(expr.value, cst.Name) and expr.value.value == "self":
            attribute = self._self_attribute(resolver, expr.attr.value)
            return None if attribute is None else self.trace(attribute[0], attribute[1], depth + 1)
        if isinstance(expr, cst.Call):
            if isinstance(expr.func, cst.Attribute) and expr.func.attr.value in TRANSPARENT:
                return self.trace(expr.func.value, resolver, depth + 1)
            qualified = resolver.qualified(expr.func) or ""
            if is_orq_client(qualified):
                return "orq-sdk"
            if is_openai_client(qualified):
                return "openai-orq" if self._routed(expr, resolver) else "openai"
            if isinstance(expr.func, cst.Name):
                return self._factory(expr.func.value, resolver, depth)
        return None

    # openai clients -----------------------------------------------------------------------------
    def _routed(self, call: cst.Call, resolver: Resolver) -> bool:
        args = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
        if "base_url" in args:
            value = resolver.value(args["base_url"], "base_url")
            texts = [value.value] if isinstance(value, Text) else (
                value.literals if isinstance(value, Partial) else [])
            if any(url in text for text in texts for url in self.orq_urls):
                return True
            if isinstance(value, Text):
                return False  # a known address elsewhere, whatever key it is given
        return any(self._from_orq_env(args[k], resolver, 0) for k in ("base_url", "api_key") if k in args)

    def _from_orq_env(self, expr: cst.BaseExpression, resolver: Resolver, depth: int) -> bool:
        """Whether the value is read from an ``ORQ`` environment variable (inside ``+``, f-strings,
        ``.rstrip(...)`` and names bound once included)."""
        if depth > _MAX_DEPTH:
            return False
        if isinstance(expr, cst.Name):
            found = resolver.binding(expr.value)
            return found is not None and found[0] == "assign" and self._from_orq_env(found[1], found[2], depth + 1)
        if isinstance(expr, cst.BinaryOperation) and isinstance(expr.operator, cst.Add):
            return any(self._from_orq_env(side, resolver, depth + 1) for side in (expr.left, expr.right))
        if isinstance(expr, cst.FormattedString):
            return any(isinstance(p, cst.FormattedStringExpression)
                       and self._from_orq_env(p.expression, resolver, depth + 1) for p in expr.parts)
        if isinstance(expr, cst.Subscript):
            return self._is_environ(expr.value, resolver) and len(expr.slice) == 1 and isinstance(
                expr.slice[0].slice, cst.Index) and self._orq_name(expr.slice[0].slice.value, resolver)
        if isinstance(expr, cst.Call):
            func = expr.func
            if self._is_env_call(func, resolver):
                return bool(expr.args) and not expr.args[0].keyword and self._orq_name(expr.args[0].value, resolver)
            if isinstance(func, cst.Attribute) and func.attr.value in ("rstrip", "strip", "lstrip", "removesuffix"):
                return self._from_orq_env(func.value, resolver, depth + 1)
            if isinstance(func, cst.Name) and func.value == "str" and len(expr.args) == 1:
                return self._from_orq_env(expr.args[0].value, resolver, depth + 1)
        return False

    @staticmethod
    def _orq_name(expr: cst.BaseExpression, resolver: Resolver) -> bool:
        value = resolver.value(expr, "")
        return isinstance(value, Text) and "ORQ" in value.value.upper()

    @staticmethod
    def _is_environ(expr: cst.BaseExpression, resolver: Resolver) -> bool:
        return resolver.qualified(expr) in ("os.environ",)

    @staticmethod
    def _is_env_call(func: cst.BaseExpression, resolver: Resolver) -> bool:
        return resolver.qualified(func) in ("os.getenv", "os.environ.get")

    # self.x and factories ---------------------------------------------------------------------------
    def _class_init(self, row: int) -> ast.FunctionDef | ast.AsyncFunctionDef | None:
        """The ``__init__`` of the module-level class whose method holds ``row``."""
        if self.ctx.tree is None:
            return None
        for stmt in self.ctx.tree.body:
            if isinstance(stmt, ast.ClassDef) and stmt.lineno <= row <= (stmt.end_lineno or stmt.lineno):
                inits = [f for f in stmt.body if isinstance(f, (ast.FunctionDef, ast.AsyncFunctionDef))
                         and f.name == "__init__"]
                return inits[0] if len(inits) == 1 else None
        return None

    def _self_attribute(self, resolver: Resolver, attr: str) -> tuple[cst.BaseExpression, Resolver] | None:
        """The value of ``self.<attr>`` when the class assigns it once, in ``__init__``."""
        if not resolver.scopes or not isinstance(resolver.scopes[-1], FunctionScope):
            return None
        init = self._class_init(resolver.segment.start)
        if init is None or self.ctx.tree is None:
            return None
        cls = next(s for s in self.ctx.tree.body if isinstance(s, ast.ClassDef) and init in s.body)
        stores = [n for n in ast.walk(cls) if isinstance(n, ast.Attribute) and isinstance(n.ctx, (ast.Store, ast.Del))
                  and n.attr == attr and isinstance(n.value, ast.Name) and n.value.id == "self"]
        if len(stores) != 1 or not (init.lineno <= stores[0].lineno <= (init.end_lineno or init.lineno)):
            return None
        path = (cls, init)
        for stmt, where in statements(init.body, None, path, into_defs=False):
            if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and stmt.targets[0] is stores[0]:
                segment = self.ctx.segment_for(stmt, where)
                node = _own_node(segment, cst.Assign, stmt.lineno, lambda n: isinstance(
                    n.targets[0].target, cst.Attribute) and n.targets[0].target.attr.value == attr) \
                    if segment is not None else None
                if segment is None or node is None:
                    return None
                return node.value, resolver.at(segment, (self.ctx.scope(init, (cls,)),))
        return None

    def _factory(self, name: str, resolver: Resolver, depth: int) -> Client | None:
        """The client a module-level function of this file returns, if every return gives the same."""
        if any(scope.lookup(name) for scope in resolver.scopes):
            return None  # a local or nested function: not followed
        kinds = self.ctx.module_kinds(name)
        func = kinds[0][1].stmt if len(kinds) == 1 and kinds[0][1] is not None else None
        if not isinstance(func, (ast.FunctionDef, ast.AsyncFunctionDef)):
            return None
        scope = self.ctx.scope(func, ())
        kinds_seen: set[Client | None] = set()
        for stmt, where in statements(func.body, None, (func,), into_defs=False):
            if isinstance(stmt, (ast.FunctionDef, ast.AsyncFunctionDef, ast.ClassDef)) or not isinstance(
                    stmt, ast.Return):
                continue
            if stmt.value is None:
                kinds_seen.add(None)
                continue
            segment = self.ctx.segment_for(stmt, where)
            node = _own_node(segment, cst.Return, stmt.lineno, lambda n: n.value is not None) \
                if segment is not None else None
            if segment is None or node is None or node.value is None:
                return None
            kinds_seen.add(self.trace(node.value, resolver.at(segment, (scope,)), depth + 1))
        if len(kinds_seen) != 1:
            return None
        return next(iter(kinds_seen))


_N = TypeVar("_N", bound=cst.CSTNode)


def _own_node(segment: Segment, kind: type[_N], row: int, test: Callable[[_N], bool]) -> _N | None:
    """The one statement of ``kind`` in the segment that passes ``test`` (on ``row`` when several do)."""
    found = [n for n in statements_of(segment) if isinstance(n, kind) and test(n)]
    if len(found) == 1:
        return found[0]
    at = [n for n in found if segment.where(n)[0] == row]
    return at[0] if len(at) == 1 else None
