"""Whether a fresh-per-evaluation call (a :class:`~orq_thread_lint.rules.minted.Mint`) runs once per
request: OTL106's question about code.

Yes when, in a function, it is evaluated in the call's own arguments, or in a binding of the same
function whose only use is that call (directly or through other such bindings). No when it is
minted once and reused: at module level, in an enclosing function (a caller's closure), in a
binding used again elsewhere (stored on ``self``, returned, sent twice), or when the call sits in a
loop or comprehension (one thread per item is the batch pattern; a mint before the loop is reused).
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Sequence

import libcst as cst

from ..rules.minted import Mint
from .resolve import Anchor, FunctionScope, Scope

_LOOPS = (cst.For, cst.While, cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)
_FUNCTIONS = (cst.FunctionDef, cst.Lambda)
_MAX_CHAIN = 8


def per_request(call: cst.Call, anchor: Anchor, scopes: Sequence[Scope]) -> Callable[[Mint], bool]:
    """The OTL106 predicate for one call site (``anchor`` is the call, ``scopes`` its scope chain)."""

    def decide(mint: Mint) -> bool:
        where = mint.where
        if not (isinstance(where, tuple) and len(where) == 2 and isinstance(where[0], Anchor)):
            return False
        minted, minted_scopes = where
        if not scopes or not isinstance(scopes[-1], FunctionScope) or minted.segment is not anchor.segment:
            return False  # at module level, in a class body or a comprehension: not once per request
        if not minted_scopes or minted_scopes[-1] is not scopes[-1]:
            return False  # minted in another function (a caller), at module level or per item
        path = _path(anchor.segment.module, call)
        function = _innermost_function(path)
        if function is None or any(isinstance(n, _LOOPS) for n in path[path.index(function):]):
            return False
        if _contains(call, minted.node):
            return True
        return _bound_for_this_call_only(function, call, minted.node)

    return decide


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


def _innermost_function(path: Sequence[cst.CSTNode]) -> cst.CSTNode | None:
    return next((n for n in reversed(path) if isinstance(n, _FUNCTIONS)), None)


def _contains(root: cst.CSTNode, target: cst.CSTNode) -> bool:
    return bool(_path(root, target))


def _bound_for_this_call_only(function: cst.CSTNode, call: cst.Call, minted: cst.CSTNode) -> bool:
    path = _path(function, minted)
    binding = next((n for n in reversed(path) if isinstance(n, (cst.Assign, cst.AnnAssign))), None)
    if binding is None or any(isinstance(n, (*_LOOPS, *_FUNCTIONS)) for n in path[1:]):
        return False
    name = _target_name(binding)
    seen: set[str] = set()
    names = [name] if name else []
    while names:
        name = names.pop()
        if name in seen or len(seen) >= _MAX_CHAIN:
            return False
        seen.add(name)
        for use in _uses(function, name):
            if _contains(call, use):
                continue
            # the use feeds another binding (`extra = {"orq": ... tid}`): that one must serve the call only
            via = next((n for n in reversed(_path(function, use)) if isinstance(n, (cst.Assign, cst.AnnAssign))), None)
            other = _target_name(via) if via is not None else None
            if other is None or via is binding:
                return False
            names.append(other)
    return bool(seen)


def _target_name(stmt: cst.CSTNode) -> str | None:
    if isinstance(stmt, cst.Assign) and len(stmt.targets) == 1 and isinstance(stmt.targets[0].target, cst.Name):
        return stmt.targets[0].target.value
    if isinstance(stmt, cst.AnnAssign) and isinstance(stmt.target, cst.Name):
        return stmt.target.value
    return None


def _uses(root: cst.CSTNode, name: str) -> Iterator[cst.Name]:
    """Where ``name`` is read under ``root`` (attribute names, keywords and targets are not reads)."""
    stack: list[cst.CSTNode] = [root]
    while stack:
        node = stack.pop()
        if isinstance(node, cst.Name):
            if node.value == name:
                yield node
            continue
        if isinstance(node, (cst.Attribute, cst.Arg)):
            stack.append(node.value)
        elif isinstance(node, cst.AssignTarget):
            if not isinstance(node.target, cst.Name):
                stack.append(node.target)
        elif isinstance(node, cst.AnnAssign):
            stack.extend(n for n in (node.annotation, node.value) if n is not None)
        elif isinstance(node, cst.Param):
            stack.extend(n for n in (node.annotation, node.default) if n is not None)
        elif isinstance(node, cst.FunctionDef):
            stack.extend([node.params, node.body, *node.decorators])
        else:
            stack.extend(node.children)
