"""Whether a fresh-per-evaluation call (a :class:`~orq_thread_lint.rules.minted.Mint`) runs once per
request: OTL106's question about code.

Yes when, in a function, it is evaluated in the call's own arguments, or in a binding of the same
function whose only use is that call (directly or through other such bindings). No when it is
minted once and reused: at module level, in an enclosing function (a caller's closure), in a
binding used again elsewhere (stored on ``self``, returned, sent twice), or when the call sits in a
loop or comprehension (one thread per item is the batch pattern; a mint before the loop is reused).
"""

from __future__ import annotations

import ast
from collections.abc import Callable, Sequence

import libcst as cst

from ..rules.minted import Mint
from .resolve import Anchor, FileContext, FunctionScope, LambdaScope, Resolver
from .segments import Segment

_LOOPS = (cst.For, cst.While, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
_FUNCTIONS = (cst.FunctionDef, cst.Lambda)
_AST_LOOPS = (ast.For, ast.AsyncFor, ast.While)
_MAX_CHAIN = 8


def per_request(call: cst.Call, resolver: Resolver) -> Callable[[Mint], bool]:
    """The OTL106 predicate for one call site (seen from ``resolver``)."""
    anchor, scopes, ctx = resolver.anchor(call), resolver.scopes, resolver.ctx

    def decide(mint: Mint) -> bool:
        where = mint.where
        if not (isinstance(where, tuple) and len(where) == 2 and isinstance(where[0], Anchor)):
            return False
        minted, minted_scopes = where
        if not scopes or not isinstance(scopes[-1], (FunctionScope, LambdaScope)):
            return False  # at module level, in a class body or a comprehension: not once per request
        if not minted_scopes or minted_scopes[-1] is not scopes[-1]:
            return False  # minted in another function (a caller), at module level or per item
        if _looped(anchor.segment, call):
            return False
        if minted.segment is anchor.segment and _contains(call, minted.node):
            return True
        function = scopes[-1]
        return isinstance(function, FunctionScope) and _bound_for_this_call_only(ctx, function, anchor, minted)

    return decide


def _looped(segment: Segment, node: cst.CSTNode) -> bool:
    """Whether a loop or comprehension runs ``node`` again in its innermost function."""
    path = _path(segment.module, node)
    inner = next((i for i in range(len(path) - 1, -1, -1) if isinstance(path[i], _FUNCTIONS)), None)
    if inner is not None:
        return any(isinstance(n, _LOOPS) for n in path[inner:])
    if any(isinstance(n, _LOOPS) for n in path):
        return True
    outer = segment.path
    last = next((i for i in range(len(outer) - 1, -1, -1)
                 if isinstance(outer[i], (ast.FunctionDef, ast.AsyncFunctionDef))), -1)
    return any(isinstance(n, _AST_LOOPS) for n in outer[last + 1 :])


def _path(root: cst.CSTNode, target: cst.CSTNode) -> list[cst.CSTNode]:
    """The nodes from ``root`` down to ``target`` (both included), or ``[]``."""
    stack: list[tuple[cst.CSTNode, int]] = [(root, 0)]
    trail: list[cst.CSTNode] = []
    while stack:
        node, depth = stack.pop()
        del trail[depth:]
        trail.append(node)
        if node is target:
            return trail
        stack.extend((child, depth + 1) for child in reversed(node.children))
    return []


def _contains(root: cst.CSTNode, target: cst.CSTNode) -> bool:
    return bool(_path(root, target))


def _bound_for_this_call_only(ctx: FileContext, function: FunctionScope, call: Anchor, minted: Anchor) -> bool:
    """Whether the mint is the value of a binding in the function whose only use is the call,
    directly or through other such bindings."""
    path = _path(minted.segment.module, minted.node)
    at = next((i for i in range(len(path) - 1, -1, -1) if isinstance(path[i], (cst.Assign, cst.AnnAssign))), None)
    if at is None or any(isinstance(n, (*_LOOPS, *_FUNCTIONS)) for n in path[at:]) or _looped(minted.segment, path[at]):
        return False
    binding = path[at]
    name = _target_name(binding)
    binding_row = minted.segment.where(binding)[0]
    span = call.segment.where(call.node)
    seen: set[str] = set()
    names = [name] if name else []
    while names:
        name = names.pop()
        if name in seen or len(seen) >= _MAX_CHAIN:
            return False
        seen.add(name)
        for use, via in _uses(function.node, name):
            row, col = use.lineno, ctx.char_col(use.lineno, use.col_offset) + 1
            if (span[0], span[1]) <= (row, col) < (span[2], span[3]):
                continue
            # the use feeds another binding (`extra = {"orq": ... tid}`): that one must serve the call only
            other = _ast_target_name(via) if via is not None else None
            if other is None or via is None or via.lineno == binding_row:
                return False
            names.append(other)
    return bool(seen)


def _target_name(stmt: cst.CSTNode) -> str | None:
    if isinstance(stmt, cst.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0].target, cst.Name):
        return stmt.targets[0].target.value
    if isinstance(stmt, cst.AnnAssign) and isinstance(stmt.target, cst.Name):
        return stmt.target.value
    return None


def _ast_target_name(stmt: ast.stmt) -> str | None:
    if isinstance(stmt, ast.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0], ast.Name):
        return stmt.targets[0].id
    if isinstance(stmt, ast.AnnAssign) and isinstance(stmt.target, ast.Name):
        return stmt.target.id
    return None


def _uses(root: ast.AST, name: str) -> Sequence[tuple[ast.Name, ast.stmt | None]]:
    """Where ``name`` is read under ``root`` (a function), each with the assignment it is part of."""
    out: list[tuple[ast.Name, ast.stmt | None]] = []
    stack: list[tuple[ast.AST, ast.stmt | None]] = [(root, None)]
    while stack:
        node, via = stack.pop()
        if isinstance(node, (ast.Assign, ast.AnnAssign)):
            via = node
        elif isinstance(node, ast.stmt):
            via = None
        if isinstance(node, ast.Name) and node.id == name and not isinstance(node.ctx, ast.Store):
            out.append((node, via))
        elif isinstance(node, ast.AugAssign) and isinstance(node.target, ast.Name) and node.target.id == name:
            out.append((node.target, via))  # `name += ...` reads it
        stack.extend((child, via) for child in ast.iter_child_nodes(node))
    return out
