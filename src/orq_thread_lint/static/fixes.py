"""Safe fixes, applied with libcst on the segment that holds them and spliced back into the file.

Fixable: OTL002 (``uuid.uuid4()`` -> ``str(uuid.uuid4())``), OTL010 (a bare string tag -> a
one-item list), OTL012 (drop the repeated literal), OTL102 (``orq=`` -> ``extra_body={"orq": ...}``)
and OTL103 (re-nest a literal thread where ``thread-placement`` requires). A fix that would leave
the file unparsable is dropped. ``checker.fix_text`` runs the rounds (until nothing fixable is
left, so a second run changes nothing); this module only knows how to rewrite a segment.
"""

from __future__ import annotations

import ast
import os
import stat
import tempfile
from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from ..report import Edit, Fix
from ..violations import Violation
from .files import Snapshot, unchanged
from .resolve import Anchor
from .segments import Segment

PLACEMENT_FIX = ("orq.thread", "the top-level 'thread'")


@dataclass(frozen=True, slots=True)
class Action:
    code: str
    node: cst.CSTNode
    to: str = ""  # OTL103: "orq" or "top-level"


def action(v: Violation) -> Action | None:
    if not isinstance(v.anchor, Anchor):
        return None
    node = v.anchor.node
    if v.code == "OTL002" and v.suggestion == "str(...)" and isinstance(node, cst.Call):
        return Action("OTL002", node)
    if v.code == "OTL010" and v.suggestion and isinstance(node, (cst.SimpleString, cst.FormattedString,
                                                                  cst.ConcatenatedString)):
        return Action("OTL010", node)
    if v.code == "OTL012":
        return Action("OTL012", node)
    if v.code == "OTL102" and isinstance(node, cst.Arg):
        return Action("OTL102", node)
    if v.code == "OTL103" and v.suggestion in PLACEMENT_FIX and isinstance(node, cst.SimpleString):
        return Action("OTL103", node, "orq" if v.suggestion == "orq.thread" else "top-level")
    return None


def _key(element: cst.BaseDictElement) -> str | None:
    if isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString):
        value = element.key.evaluated_value
        return value if isinstance(value, str) else None
    return None


def _with_elements(node: cst.Dict | cst.List, elements: Sequence[cst.CSTNode]) -> cst.Dict | cst.List:
    """Replace the elements, keeping the separators as the original had them."""
    elements = list(elements)
    if elements:
        last = elements[-1]
        original_last = node.elements[-1] if node.elements else None
        trailing = original_last.comma if original_last is not None else cst.MaybeSentinel.DEFAULT
        elements[-1] = last.with_changes(comma=trailing)
        for i, el in enumerate(elements[:-1]):
            if el.comma is cst.MaybeSentinel.DEFAULT:  # type: ignore[attr-defined]
                elements[i] = el.with_changes(comma=cst.Comma(whitespace_after=_separator(node)))
    return node.with_changes(elements=elements)


def _separator(node: cst.Dict | cst.List) -> cst.BaseParenthesizableWhitespace:
    """The whitespace between two items as this literal writes it (a new line for a multi-line one)."""
    opening = node.lbracket if isinstance(node, cst.List) else node.lbrace
    gaps = [el.comma.whitespace_after for el in node.elements[:-1] if isinstance(el.comma, cst.Comma)]
    for gap in [*gaps, opening.whitespace_after]:
        if isinstance(gap, cst.ParenthesizedWhitespace):  # its line break and indentation, not its comments
            return cst.ParenthesizedWhitespace(cst.TrailingWhitespace(), [], gap.indent, gap.last_line)
        if gaps:
            break
    return cst.SimpleWhitespace(" ")


def _comments(node: cst.CSTNode) -> list[cst.Comment]:
    """The comments inside a node, in source order."""
    out: list[cst.Comment] = []
    stack = [node]
    while stack:
        cur = stack.pop()
        if isinstance(cur, cst.Comment):
            out.append(cur)
        stack.extend(reversed(cur.children))
    return out


def _join(before: cst.BaseParenthesizableWhitespace, carried: Sequence[cst.Comment],
          after: cst.BaseParenthesizableWhitespace, closing: bool = False) -> cst.BaseParenthesizableWhitespace:
    """One separator for two that meet when an item between them goes: ``before``'s comments as
    they were, then the item's own (``carried``) and ``after``'s, each on its own line; ``after``
    decides where the next token starts. Without comments, the separator before the removed item
    stays (the one before the closing bracket, when ``closing``)."""
    head = before.first_line if isinstance(before, cst.ParenthesizedWhitespace) else None
    lines = list(before.empty_lines) if isinstance(before, cst.ParenthesizedWhitespace) else []
    tail = list(carried)
    if isinstance(after, cst.ParenthesizedWhitespace) and after.first_line.comment is not None:
        tail.append(after.first_line.comment)
    later = list(after.empty_lines) if isinstance(after, cst.ParenthesizedWhitespace) else []
    if not tail and not lines and not later and (head is None or head.comment is None):
        return after if closing else before
    indent = before if isinstance(before, cst.ParenthesizedWhitespace) else after
    column = indent.last_line if isinstance(indent, cst.ParenthesizedWhitespace) else cst.SimpleWhitespace("")
    lines += [cst.EmptyLine(whitespace=column, comment=c) for c in tail] + later
    first = head or cst.TrailingWhitespace()
    if isinstance(after, cst.ParenthesizedWhitespace):
        return cst.ParenthesizedWhitespace(first, lines, after.indent, after.last_line)
    return cst.ParenthesizedWhitespace(first, lines, True, column)


def _drop(node: cst.Dict | cst.List, index: int, moving: cst.CSTNode | None = None) -> cst.Dict | cst.List:
    """Remove one item, leaving every comment around and inside it where it stood, except those
    inside ``moving`` (the part of the item that goes elsewhere and takes its comments along)."""
    elements = list(node.elements)
    removed = elements.pop(index)
    travelling = {id(c) for c in _comments(moving)} if moving is not None else set()
    carried = [c for c in _comments(removed.with_changes(comma=cst.MaybeSentinel.DEFAULT))
               if id(c) not in travelling]
    comma = removed.comma
    list_like = isinstance(node, cst.List)
    opening = node.lbracket if isinstance(node, cst.List) else node.lbrace
    closing = node.rbracket if isinstance(node, cst.List) else node.rbrace
    if index < len(elements):  # an item follows: it starts where the removed one did
        assert isinstance(comma, cst.Comma)
        if index == 0:
            opening = opening.with_changes(whitespace_after=_join(opening.whitespace_after, carried,
                                                                  comma.whitespace_after))
        else:
            prev = elements[index - 1]
            assert isinstance(prev.comma, cst.Comma)
            elements[index - 1] = prev.with_changes(comma=prev.comma.with_changes(
                whitespace_after=_join(prev.comma.whitespace_after, carried, comma.whitespace_after)))
    elif elements:  # the last item went: the one before it ends the literal as the removed one did
        prev = elements[-1]
        assert isinstance(prev.comma, cst.Comma)
        between = prev.comma.whitespace_after
        trailing = prev.comma.with_changes(whitespace_after=comma.whitespace_after) if isinstance(
            comma, cst.Comma) else cst.MaybeSentinel.DEFAULT
        elements[-1] = prev.with_changes(comma=trailing)
        closing = closing.with_changes(whitespace_before=_join(between, carried, closing.whitespace_before, True))
    else:  # nothing left: the brackets keep what was inside them
        inner = comma.whitespace_after if isinstance(comma, cst.Comma) else cst.SimpleWhitespace("")
        opening = opening.with_changes(whitespace_after=_join(opening.whitespace_after, carried, inner))
    changes = {"lbracket": opening, "rbracket": closing} if list_like else {"lbrace": opening, "rbrace": closing}
    return node.with_changes(elements=elements, **changes)


def _append(node: cst.Dict, key: str, value: cst.BaseExpression) -> cst.Dict:
    return _append_element(node, cst.DictElement(cst.SimpleString(f'"{key}"'), value))


def _append_element(node: cst.Dict, element: cst.BaseDictElement) -> cst.Dict:
    elements = list(node.elements)
    trailing = elements[-1].comma if elements else None
    if isinstance(trailing, cst.Comma):  # a trailing comma now separates two items
        elements[-1] = elements[-1].with_changes(comma=trailing.with_changes(whitespace_after=_separator(node)))
    element = element.with_changes(comma=cst.MaybeSentinel.DEFAULT)
    return _with_elements(node, [*elements, element])  # type: ignore[return-value]


class _Fixer(cst.CSTTransformer):
    def __init__(self, actions: Sequence[Action]) -> None:
        self.by_node = {id(a.node): a for a in actions}
        self.applied: list[Action] = []

    def _take(self, node: cst.CSTNode, code: str) -> Action | None:
        found = self.by_node.get(id(node))
        if found is not None and found.code == code:
            self.applied.append(found)
            return found
        return None

    def leave_Call(self, original_node: cst.Call, updated_node: cst.Call) -> cst.BaseExpression:
        if self._take(original_node, "OTL002"):
            return cst.Call(func=cst.Name("str"), args=[cst.Arg(updated_node)])
        for index, arg in enumerate(original_node.args):
            if id(arg) in self.by_node and self.by_node[id(arg)].code == "OTL102":
                return self._move_orq(original_node, updated_node, index) or updated_node
        return updated_node

    def _move_orq(self, original: cst.Call, updated: cst.Call, index: int) -> cst.Call | None:
        value = updated.args[index].value
        extra = [i for i, a in enumerate(updated.args) if a.keyword is not None and a.keyword.value == "extra_body"]
        args = list(updated.args)
        if extra:
            body = args[extra[0]].value
            if not isinstance(body, cst.Dict) or any(_key(e) == "orq" for e in body.elements):
                return None  # not mechanical: leave it to a person
            args[extra[0]] = args[extra[0]].with_changes(value=_append(body, "orq", value))
            del args[index]
            if args and index == len(args):
                args[-1] = args[-1].with_changes(comma=updated.args[index].comma)
        else:
            args[index] = args[index].with_changes(
                keyword=cst.Name("extra_body"),
                value=cst.Dict([cst.DictElement(cst.SimpleString('"orq"'), value)]),
            )
        self._take(original.args[index], "OTL102")
        return updated.with_changes(args=args)

    def leave_SimpleString(self, original_node: cst.SimpleString, updated_node: cst.SimpleString) -> cst.BaseExpression:
        if self._take(original_node, "OTL010"):
            return cst.List([cst.Element(updated_node)])
        return updated_node

    def leave_FormattedString(self, original_node: cst.FormattedString,
                              updated_node: cst.FormattedString) -> cst.BaseExpression:
        if self._take(original_node, "OTL010"):
            return cst.List([cst.Element(updated_node)])
        return updated_node

    def leave_List(self, original_node: cst.List, updated_node: cst.List) -> cst.BaseExpression:
        drop = [i for i, old in enumerate(original_node.elements) if self._take(old.value, "OTL012")]
        node: cst.List | cst.Dict = updated_node
        for index in reversed(drop):
            node = _drop(node, index)
        return node

    def leave_Dict(self, original_node: cst.Dict, updated_node: cst.Dict) -> cst.BaseExpression:
        pairs = list(zip(original_node.elements, updated_node.elements, strict=False))
        for old, new in pairs:
            act = self.by_node.get(id(old.key)) if isinstance(old, cst.DictElement) else None
            if act is not None and act.code == "OTL103" and act.to == "orq" and _key(new) == "thread":
                return self._nest(original_node, updated_node, new) or updated_node
        for old, new in pairs:
            if _key(new) == "orq" and isinstance(old, cst.DictElement) and isinstance(old.value, cst.Dict):
                for inner in old.value.elements:
                    act = self.by_node.get(id(inner.key)) if isinstance(inner, cst.DictElement) else None
                    if act is not None and act.code == "OTL103" and act.to == "top-level" and isinstance(
                            inner, cst.DictElement):
                        return self._lift(updated_node, new, inner) or updated_node
        return updated_node

    def _nest(self, original: cst.Dict, body: cst.Dict, thread: cst.BaseDictElement) -> cst.Dict | None:
        """Move ``"thread"`` from the body into its ``"orq"`` dict."""
        assert isinstance(thread, cst.DictElement)
        moving = thread.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        rest = _drop(body, list(body.elements).index(thread), moving=moving)
        assert isinstance(rest, cst.Dict)
        orq = [e for e in rest.elements if _key(e) == "orq"]
        if orq:
            target = orq[0]
            if not isinstance(target, cst.DictElement) or not isinstance(target.value, cst.Dict) or any(
                    _key(e) == "thread" for e in target.value.elements):
                return None
            moved = [e.with_changes(value=_append_element(target.value, thread)) if e is target else e
                     for e in rest.elements]
            rest = rest.with_changes(elements=moved)
        else:
            rest = _append(rest, "orq", cst.Dict([thread.with_changes(comma=cst.MaybeSentinel.DEFAULT)]))
        self._take(next(o.key for o in original.elements if isinstance(o, cst.DictElement)
                        and _key(o) == "thread"), "OTL103")
        return rest

    def _lift(self, body: cst.Dict, orq: cst.BaseDictElement, inner_old: cst.DictElement) -> cst.Dict | None:
        """Move ``"thread"`` out of the ``"orq"`` dict to the body's top level."""
        if any(_key(e) == "thread" for e in body.elements):
            return None
        assert isinstance(orq, cst.DictElement) and isinstance(orq.value, cst.Dict)
        thread = next(e for e in orq.value.elements if _key(e) == "thread")
        assert isinstance(thread, cst.DictElement)
        thread = thread.with_changes(comma=cst.MaybeSentinel.DEFAULT)
        rest: cst.Dict | cst.List
        if len(orq.value.elements) > 1:
            left = _drop(orq.value, [_key(e) for e in orq.value.elements].index("thread"), moving=thread)
            rest = body.with_changes(elements=[orq.with_changes(value=left) if e is orq else e for e in body.elements])
        else:
            rest = _drop(body, list(body.elements).index(orq), moving=thread)
        assert isinstance(rest, cst.Dict)
        self._take(inner_old.key, "OTL103")
        return _append_element(rest, thread)


FIX_MESSAGES = {
    "OTL002": "Wrap the id in `str(...)`",
    "OTL010": "Make the tag a one-item list",
    "OTL012": "Remove the repeated tag",
    "OTL102": "Move `orq=` into `extra_body`",
    "OTL103": "Move the thread where `thread-placement` requires",
}


def single_fix(v: Violation) -> Fix | None:
    """The fix for one finding, as an edit that replaces its segment (None if not fixable)."""
    act = action(v)
    if act is None or not isinstance(v.anchor, Anchor):
        return None
    segment = v.anchor.segment
    fixer = _Fixer([act])
    fixed = segment.module.visit(fixer)
    if not fixer.applied or not _keeps_comments(segment.module, fixed) or not parses(fixed.code):
        return None
    code = segment.code_of(fixed)
    if code is None:
        return None
    edit = Edit(code, segment.start, 1, segment.end + 1, 1)
    return Fix(FIX_MESSAGES[act.code], (edit,))


def rewrite(segment: Segment, actions: Sequence[Action]) -> tuple[str, list[Action]]:
    """A segment's code with the actions applied (without the ``if 1:`` wrapper), and the actions
    that took."""
    fixer = _Fixer(actions)
    fixed = segment.module.visit(fixer)
    code = segment.code_of(fixed) if _keeps_comments(segment.module, fixed) else None
    if code is None:  # a fix must never lose a comment (nor touch the tail): none is made here
        return segment.code_of(segment.module) or "", []
    return code, fixer.applied


def _keeps_comments(before: cst.Module, after: cst.Module) -> bool:
    """Whether every comment of ``before`` is still in ``after`` (as many times)."""
    kept = Counter(c.value for c in _comments(after))
    kept.subtract(c.value for c in _comments(before))
    return all(n >= 0 for n in kept.values())


def parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True


class NotWritten(Exception):
    """A fixed file that was deliberately left as it is; the message says why."""


def write_atomically(path: Path, text: str, encoding: str, expected: Snapshot | None = None) -> None:
    """Write through a temporary file and a rename, keeping the file's mode.

    A symbolic link is written through: its target is replaced and the link stays a link. A
    read-only file is left alone, and so is a file that no longer matches ``expected`` (what it
    held when it was read): both raise ``NotWritten``. The last check runs just before the rename.
    """
    data = text.encode(encoding)  # "utf-8-sig" writes the BOM back itself
    target = Path(os.path.realpath(path))
    st = os.stat(target)
    if not stat.S_ISREG(st.st_mode):
        raise NotWritten("not fixed: not a regular file")
    if not st.st_mode & 0o222 or not os.access(target, os.W_OK):
        raise NotWritten("not fixed: the file is read-only")
    fd, tmp = tempfile.mkstemp(dir=target.parent, prefix=f".{target.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, st.st_mode & 0o7777)
        if expected is not None and not unchanged(target, expected):
            raise NotWritten("not fixed: the file changed while it was being checked; run again")
        os.replace(tmp, target)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
