"""How names are bound, read from Python's ``ast``: a module, a function, a class body.

The facts are asked for one name at a time. A binding spells its name, so only the statements
on the rows where the name is written (found in the text at C speed, :class:`Words`) are looked
at; ``Words(None)`` looks at every statement (what the gate-free run does).

Kinds: ``assign`` (a plain ``name = value``, with a :class:`Ref` to it), ``with`` (``with x as
name``), ``loop`` (a ``range``/``enumerate`` counter), ``import``, ``declare`` (a module-level
annotation without a value), ``mutate`` (changed in place: ``name.append(...)``, ``name[k] = ...``)
and ``other``. Only a name bound once, by ``assign`` or ``with``, is ever followed.
"""

from __future__ import annotations

import ast
import re
import unicodedata
from bisect import bisect_left
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass

Path = tuple[ast.AST, ...]  # the ancestors of a statement, outermost first (the module not included)

# Methods that change a list or dict in place: a literal bound to a name they are called on is not
# what gets sent (`history.append(...)` makes a one-turn literal a conversation).
MUTATORS = frozenset({"append", "extend", "insert", "pop", "remove", "clear", "update", "setdefault",
                      "sort", "reverse", "popitem", "__setitem__", "__iadd__"})
FUNCTIONS = (ast.FunctionDef, ast.AsyncFunctionDef)
_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass(frozen=True, slots=True)
class Ref:
    """A binding statement and where it sits (for ``with``, which item)."""

    stmt: ast.AST
    path: Path
    item: int = -1


Binding = tuple[str, "Ref | None"]


class Words:
    """The rows each word is written on, from the text. Identifiers are NFKC-normalised by Python
    (``ｕid`` is ``uid``), so a non-ASCII text is searched in its normalised form."""

    def __init__(self, text: str | None) -> None:
        self.text = None if text is None else text if text.isascii() else unicodedata.normalize("NFKC", text)
        self.starts = [0] if self.text is None else [0, *(m.end() for m in _LINE_END.finditer(self.text))]
        self._rows: dict[str, list[int]] = {}

    def rows(self, word: str) -> list[int] | None:
        """Sorted rows holding ``word`` as a whole word (None: every row may)."""
        if self.text is None:
            return None
        found = self._rows.get(word)
        if found is None:
            pattern = re.compile(r"(?<!\w)" + re.escape(word) + r"(?!\w)")
            rows: dict[int, None] = {}
            for m in pattern.finditer(self.text):
                rows[bisect_left(self.starts, m.start() + 1)] = None
            found = self._rows[word] = list(rows)
        return found


    def expr_rows(self, word: str) -> list[int] | None:
        """Sorted rows where ``word`` may be bound or changed by an expression or from another
        scope: ``word :=``, ``word.append(...)`` and the other mutators, ``word[...]``, and
        ``global``/``nonlocal`` lines that name it. A subset of :meth:`rows`."""
        if self.text is None:
            return None
        key = "\0" + word
        found = self._rows.get(key)
        if found is None:
            sep = r"(?:[ \t\r\n\\]|#[^\n]*\n)*"
            pattern = re.compile(r"(?<!\w)" + re.escape(word) + sep + r"(?::=|\[|\." + sep + r"(?:"
                                 + "|".join(sorted(MUTATORS)) + r")(?!\w))")
            rows = {bisect_left(self.starts, m.start() + 1) for m in pattern.finditer(self.text)}
            named = self.rows(word) or []
            for keyword in ("global", "nonlocal"):
                rows.update(set(self.rows(keyword) or ()) & set(named))
            found = self._rows[key] = sorted(rows)
        return found


def touches(node: ast.AST, rows: Sequence[int] | None) -> bool:
    """Whether any of ``rows`` falls within the node's lines (decorators included)."""
    if rows is None:
        return True
    start = first_row(node)
    i = bisect_left(rows, start)
    return i < len(rows) and rows[i] <= (getattr(node, "end_lineno", None) or start)


def first_row(node: ast.AST) -> int:
    decorators: list[ast.expr] = getattr(node, "decorator_list", None) or []
    return min([getattr(node, "lineno", 1), *(d.lineno for d in decorators)])


def child_bodies(stmt: ast.AST) -> Iterator[list[ast.stmt]]:
    """The statement lists nested in a statement."""
    for name in ("body", "orelse", "finalbody"):
        body = getattr(stmt, name, None)
        if isinstance(body, list) and body and isinstance(body[0], ast.stmt):
            yield body
    for handler in getattr(stmt, "handlers", None) or ():
        yield handler.body
    for case in getattr(stmt, "cases", None) or ():
        yield case.body


def own_exprs(stmt: ast.AST) -> Iterator[ast.AST]:
    """The expressions that belong to the statement itself, not to the statements nested in it."""
    for name, value in ast.iter_fields(stmt):
        if name in ("body", "orelse", "finalbody", "handlers", "cases"):
            continue
        if isinstance(value, list):
            yield from (v for v in value if isinstance(v, ast.AST))
        elif isinstance(value, ast.AST):
            yield value
    for handler in getattr(stmt, "handlers", None) or ():
        if handler.type is not None:
            yield handler.type
    for case in getattr(stmt, "cases", None) or ():
        yield case.pattern
        if case.guard is not None:
            yield case.guard


def statements(body: Sequence[ast.stmt], rows: Sequence[int] | None, path: Path = (),
               into_defs: bool = True) -> Iterator[tuple[ast.stmt, Path]]:
    """Statements under ``body`` that touch ``rows``, outermost first, each with its path."""
    stack: list[tuple[ast.stmt, Path]] = [(s, path) for s in reversed(body) if touches(s, rows)]
    while stack:
        stmt, where = stack.pop()
        yield stmt, where
        if not into_defs and isinstance(stmt, (*FUNCTIONS, ast.ClassDef)):
            continue
        inner = (*where, stmt)
        for sub in reversed(list(child_bodies(stmt))):
            stack.extend((s, inner) for s in reversed(sub) if touches(s, rows))


def _names(target: ast.AST) -> Iterator[str]:
    """Names a target binds (not those under an attribute or subscript: ``a.b = ...`` binds none)."""
    stack = [target]
    while stack:
        node = stack.pop()
        if isinstance(node, ast.Name):
            yield node.id
        elif isinstance(node, (ast.Tuple, ast.List)):
            stack.extend(node.elts)
        elif isinstance(node, ast.Starred):
            stack.append(node.value)


def _mutated(node: ast.AST) -> str | None:
    if (isinstance(node, ast.Call) and isinstance(node.func, ast.Attribute) and node.func.attr in MUTATORS
            and isinstance(node.func.value, ast.Name)):
        return node.func.value.id
    if isinstance(node, ast.Subscript) and isinstance(node.ctx, (ast.Store, ast.Del)):
        base = node.value
        while isinstance(base, ast.Subscript):
            base = base.value
        if isinstance(base, ast.Name):
            return base.id
    return None


_COMPREHENSIONS = (ast.ListComp, ast.SetComp, ast.DictComp, ast.GeneratorExp)


def _expr_facts(roots: Iterable[ast.AST], out: dict[str, list[Binding]], walrus: bool = True) -> None:
    """Bindings made inside expressions: ``:=`` (not inside a lambda, which has its own scope),
    and names changed in place (anywhere)."""
    stack: list[tuple[ast.AST, bool]] = [(r, walrus) for r in roots]
    while stack:
        node, binds = stack.pop()
        mutated = _mutated(node)
        if mutated is not None:
            out.setdefault(mutated, []).append(("mutate", None))
        if binds and isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
            out.setdefault(node.target.id, []).append(("other", None))
        inner = binds and not isinstance(node, ast.Lambda)
        stack.extend((child, inner) for child in ast.iter_child_nodes(node))


def _loop(out: dict[str, list[Binding]], target: ast.AST, iterable: ast.AST) -> None:
    kind = iterable.func.id if isinstance(iterable, ast.Call) and isinstance(iterable.func, ast.Name) else ""
    if kind == "range" and isinstance(target, ast.Name):
        out.setdefault(target.id, []).append(("loop", None))
    elif kind == "enumerate" and isinstance(target, ast.Tuple) and target.elts:
        first, *rest = target.elts
        for name in _names(first):
            out.setdefault(name, []).append(("loop" if isinstance(first, ast.Name) else "other", None))
        for element in rest:
            for name in _names(element):
                out.setdefault(name, []).append(("other", None))
    else:
        for name in _names(target):
            out.setdefault(name, []).append(("other", None))


def _bind(out: dict[str, list[Binding]], target: ast.AST, kind: str, ref: Ref | None) -> None:
    if isinstance(target, ast.Name):
        out.setdefault(target.id, []).append((kind, ref))
        return
    for name in _names(target):
        out.setdefault(name, []).append(("other", None))


def _pattern_names(pattern: ast.AST) -> Iterator[str]:
    for sub in ast.walk(pattern):
        for attr in ("name", "rest"):
            name = getattr(sub, attr, None)
            if isinstance(name, str):
                yield name


def _import_names(stmt: ast.Import | ast.ImportFrom) -> Iterator[str]:
    for alias in stmt.names:
        if alias.name != "*":
            yield alias.asname or alias.name.split(".")[0]


def function_body_facts(body: Sequence[ast.stmt], path: Path, rows: Sequence[int] | None,
                        expr_rows: Sequence[int] | None) -> dict[str, list[Binding]]:
    """Bindings made in a function's own scope by the statements of its body that touch ``rows``
    (``expr_rows``: where expressions and nested scopes may bind or change a name)."""
    out: dict[str, list[Binding]] = {}
    for stmt, where in statements(body, rows, path, into_defs=False):
        if isinstance(stmt, (*FUNCTIONS, ast.ClassDef)):
            out.setdefault(stmt.name, []).append(("other", None))
            _expr_facts(stmt.decorator_list, out)
            # a nested scope rebinds this one's names only by `nonlocal`; it can change them in place
            for inner, _ in statements(stmt.body, expr_rows):
                if isinstance(inner, ast.Nonlocal):
                    for name in inner.names:
                        out.setdefault(name, []).append(("other", None))
                _expr_facts(own_exprs(inner), out, walrus=False)
            continue
        ref = Ref(stmt, where)
        if isinstance(stmt, ast.Assign):
            for target in stmt.targets:
                _bind(out, target, "assign", ref)
        elif isinstance(stmt, ast.AnnAssign):
            if stmt.value is not None:
                _bind(out, stmt.target, "assign", ref)
        elif isinstance(stmt, ast.AugAssign):
            _bind(out, stmt.target, "other", None)
        elif isinstance(stmt, (ast.For, ast.AsyncFor)):
            _loop(out, stmt.target, stmt.iter)
        elif isinstance(stmt, (ast.With, ast.AsyncWith)):
            for i, item in enumerate(stmt.items):
                if item.optional_vars is not None:
                    _bind(out, item.optional_vars, "with", Ref(stmt, where, i))
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for name in _import_names(stmt):
                out.setdefault(name, []).append(("import", None))
        elif isinstance(stmt, (ast.Global, ast.Nonlocal)):
            for name in stmt.names:
                out.setdefault(name, []).append(("other", None))
        elif isinstance(stmt, ast.Delete):
            for target in stmt.targets:
                _bind(out, target, "other", None)
        for handler in getattr(stmt, "handlers", None) or ():
            if handler.name:
                out.setdefault(handler.name, []).append(("other", None))
        for case in getattr(stmt, "cases", None) or ():
            for name in _pattern_names(case.pattern):
                out.setdefault(name, []).append(("other", None))
        if touches(stmt, expr_rows):
            _expr_facts(own_exprs(stmt), out)
    return out


def parameters(node: ast.FunctionDef | ast.AsyncFunctionDef | ast.Lambda) -> Iterator[str]:
    args = node.args
    for arg in (*args.posonlyargs, *args.args, *args.kwonlyargs, args.vararg, args.kwarg):
        if arg is not None:
            yield arg.arg


def module_facts(tree: ast.Module, rows: Sequence[int] | None,
                 expr_rows: Sequence[int] | None) -> dict[str, list[Binding]]:
    """Module-level bindings made by the statements that touch ``rows``: blocks (if, try, with,
    for) are looked into, defs and classes only for what they do to module names (``global``,
    ``:=`` and changes in place)."""
    out: dict[str, list[Binding]] = {}

    def add(name: str, kind: str, ref: Ref | None) -> None:
        out.setdefault(name, []).append((kind, ref))

    for stmt, where in statements(tree.body, rows):
        inside = any(isinstance(p, (*FUNCTIONS, ast.ClassDef)) for p in where)
        if inside and not touches(stmt, expr_rows):
            continue  # in a def or class, only expressions and `global` can bind a module name
        ref = Ref(stmt, where)
        if isinstance(stmt, ast.Global):
            for name in stmt.names:
                add(name, "other", ref)
        if not inside:
            if isinstance(stmt, ast.Assign):
                for target in stmt.targets:
                    if isinstance(target, ast.Name):
                        add(target.id, "assign", ref)
                    else:  # `a, b = ...`, and `config.x = ...` changes config
                        for sub in ast.walk(target):
                            if isinstance(sub, ast.Name):
                                add(sub.id, "other", ref)
            elif isinstance(stmt, ast.AnnAssign):
                for sub in ast.walk(stmt.target):
                    if isinstance(sub, ast.Name):
                        add(sub.id, "assign" if stmt.value is not None else "declare", ref)
            elif isinstance(stmt, (ast.AugAssign, ast.Delete)):
                for target in stmt.targets if isinstance(stmt, ast.Delete) else [stmt.target]:
                    for sub in ast.walk(target):
                        if isinstance(sub, ast.Name):
                            add(sub.id, "other", ref)
            elif isinstance(stmt, (*FUNCTIONS, ast.ClassDef)):
                add(stmt.name, "other", ref)
            elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
                for name in _import_names(stmt):
                    add(name, "other", ref)
            elif isinstance(stmt, (ast.For, ast.AsyncFor)):
                for sub in ast.walk(stmt.target):
                    if isinstance(sub, ast.Name):
                        add(sub.id, "other", ref)
            elif isinstance(stmt, (ast.With, ast.AsyncWith)):
                for i, item in enumerate(stmt.items):
                    if item.optional_vars is not None:
                        if isinstance(item.optional_vars, ast.Name):
                            add(item.optional_vars.id, "with", Ref(stmt, where, i))
                        else:
                            for sub in ast.walk(item.optional_vars):
                                if isinstance(sub, ast.Name):
                                    add(sub.id, "other", ref)
            for handler in getattr(stmt, "handlers", None) or ():
                if handler.name:
                    add(handler.name, "other", ref)
            for case in getattr(stmt, "cases", None) or ():
                for name in _pattern_names(case.pattern):
                    add(name, "other", ref)
        if not touches(stmt, expr_rows):
            continue
        found: dict[str, list[Binding]] = {}
        _expr_facts(own_exprs(stmt), found, walrus=False)
        for sub in own_exprs(stmt):  # `:=` anywhere below a module statement, defs included
            for node in ast.walk(sub):
                if isinstance(node, ast.NamedExpr) and isinstance(node.target, ast.Name):
                    add(node.target.id, "other", ref)
        for name, kinds in found.items():
            for kind, _ in kinds:
                if kind == "mutate":
                    add(name, "other", ref)
    return out


def class_facts(node: ast.ClassDef, rows: Sequence[int] | None) -> dict[str, list[Binding]]:
    """Names bound anywhere in a class body (seen only by code directly in that body)."""
    out: dict[str, list[Binding]] = {}
    for stmt, _ in statements(node.body, rows):
        if isinstance(stmt, (*FUNCTIONS, ast.ClassDef)):
            out.setdefault(stmt.name, []).append(("other", None))
        elif isinstance(stmt, (ast.Import, ast.ImportFrom)):
            for name in _import_names(stmt):
                out.setdefault(name, []).append(("other", None))
        for handler in getattr(stmt, "handlers", None) or ():
            if handler.name:
                out.setdefault(handler.name, []).append(("other", None))
        for sub in own_exprs(stmt):
            for n in ast.walk(sub):
                if isinstance(n, ast.Name) and isinstance(n.ctx, (ast.Store, ast.Del)):
                    out.setdefault(n.id, []).append(("other", None))
                elif isinstance(n, ast.NamedExpr) and isinstance(n.target, ast.Name):
                    out.setdefault(n.target.id, []).append(("other", None))
        for case in getattr(stmt, "cases", None) or ():
            for name in _pattern_names(case.pattern):
                out.setdefault(name, []).append(("other", None))
    return out
