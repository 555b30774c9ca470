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
import tempfile
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path

import libcst as cst

from ..report import Edit, Fix
from ..violations import Violation
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
                elements[i] = el.with_changes(comma=cst.Comma(whitespace_after=cst.SimpleWhitespace(" ")))
    return node.with_changes(elements=elements)


def _append(node: cst.Dict, key: str, value: cst.BaseExpression) -> cst.Dict:
    element = cst.DictElement(cst.SimpleString(f'"{key}"'), value)
    return _with_elements(node, [*node.elements, element])  # type: ignore[return-value]


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
        keep = [new for old, new in zip(original_node.elements, updated_node.elements, strict=False)
                if not self._take(old.value, "OTL012")]
        if len(keep) == len(updated_node.elements):
            return updated_node
        return _with_elements(updated_node, keep)

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
        rest = [e for e in body.elements if e is not thread]
        orq = [e for e in rest if _key(e) == "orq"]
        if orq:
            target = orq[0]
            if not isinstance(target, cst.DictElement) or not isinstance(target.value, cst.Dict) or any(
                    _key(e) == "thread" for e in target.value.elements):
                return None
            rest = [e.with_changes(value=_append(target.value, "thread", thread.value)) if e is target else e
                    for e in rest]
        else:
            rest.append(cst.DictElement(cst.SimpleString('"orq"'),
                                        cst.Dict([cst.DictElement(cst.SimpleString('"thread"'), thread.value)])))
        assert isinstance(thread.key, cst.SimpleString)
        self._take(next(o.key for o in original.elements if isinstance(o, cst.DictElement)
                        and _key(o) == "thread"), "OTL103")
        return _with_elements(body, rest)  # type: ignore[return-value]

    def _lift(self, body: cst.Dict, orq: cst.BaseDictElement, inner_old: cst.DictElement) -> cst.Dict | None:
        """Move ``"thread"`` out of the ``"orq"`` dict to the body's top level."""
        if any(_key(e) == "thread" for e in body.elements):
            return None
        assert isinstance(orq, cst.DictElement) and isinstance(orq.value, cst.Dict)
        thread = next(e for e in orq.value.elements if _key(e) == "thread")
        assert isinstance(thread, cst.DictElement)
        left = [e for e in orq.value.elements if e is not thread]
        rest = [e for e in body.elements if e is not orq]
        if left:
            index = body.elements.index(orq)
            rest.insert(index, orq.with_changes(value=_with_elements(orq.value, left)))
        rest.append(cst.DictElement(cst.SimpleString('"thread"'), thread.value))
        self._take(inner_old.key, "OTL103")
        return _with_elements(body, rest)  # type: ignore[return-value]


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
    code = segment.module.visit(fixer).code
    if not fixer.applied or not parses(code):
        return None
    if segment.wrapped:
        code = code.split("\n", 1)[1]
    edit = Edit(code, segment.start, 1, segment.end + 1, 1)
    return Fix(FIX_MESSAGES[act.code], (edit,))


def rewrite(segment: Segment, actions: Sequence[Action]) -> tuple[str, list[Action]]:
    """A segment's code with the actions applied (without the ``if 1:`` wrapper), and the actions
    that took."""
    fixer = _Fixer(actions)
    code = segment.module.visit(fixer).code
    if segment.wrapped:
        code = code.split("\n", 1)[1]
    return code, fixer.applied


def parses(text: str) -> bool:
    try:
        ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    return True


def write_atomically(path: Path, text: str, encoding: str) -> None:
    """Write through a temporary file and a rename, keeping the file's mode."""
    data = text.encode(encoding)  # "utf-8-sig" writes the BOM back itself
    mode = os.stat(path).st_mode
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.chmod(tmp, mode & 0o7777)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise
