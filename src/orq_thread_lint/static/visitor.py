"""Find where threads live in a parsed segment and hand them to the rules.

Calls to targets (``chat.completions.create`` ...) become request bodies built the way the
openai SDK builds them (keyword arguments, then ``extra_body`` merged over them); orq SDK calls
give their ``thread=``; any dict literal with an ``"orq"`` key holding a dict is an orq payload.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass

import libcst as cst

from ..rules.code import check_code_id
from ..rules.minted import Mint, check_minted_id
from ..rules.request import HEADER, check_request_node
from ..rules.thread import Emitter, check_thread_node
from ..values import Mapping, Node
from .minted import per_request
from .resolve import (
    Anchor,
    ClassScope,
    CompScope,
    CstMapping,
    FileContext,
    FunctionScope,
    Resolver,
    Scope,
)
from .segments import ORQ_SDK_CALLS, TRANSPARENT, Segment, ends_with

# openai methods that don't take a thread but would still raise on `orq=`.
OPENAI_METHODS = ("embeddings.create", "images.generate", "moderations.create", "audio.speech.create",
                  "audio.transcriptions.create", "audio.translations.create")
_SKIPPED_KWARGS = frozenset({"extra_headers", "extra_query", "extra_body", "timeout"})


def cst_chain(func: cst.BaseExpression) -> str | None:
    names: list[str] = []
    node: cst.BaseExpression = func
    while True:
        if isinstance(node, cst.Attribute):
            names.append(node.attr.value)
            node = node.value
        elif isinstance(node, cst.Call):
            node = node.func
        elif isinstance(node, cst.Await):
            node = node.expression
        elif isinstance(node, cst.Name):
            names.append(node.value)
            break
        else:
            if not names:
                return None
            break
    return ".".join(n for n in reversed(names) if n not in TRANSPARENT)


@dataclass(frozen=True, slots=True)
class Site:
    kind: str  # "target", "sdk", "orq-keyword", "payload"
    node: cst.CSTNode
    dotted: str
    resolver: Resolver


class _Collector(cst.CSTVisitor):
    def __init__(self, ctx: FileContext, segment: Segment, targets: Sequence[str]) -> None:
        self.ctx, self.segment, self.targets = ctx, segment, targets
        self.stack: list[Scope] = []
        self.sites: list[Site] = []

    def _resolver(self) -> Resolver:
        return Resolver(self.ctx, self.segment, self.stack)

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        self.stack.append(FunctionScope(node, self.segment))

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self.stack.pop()

    def visit_Lambda(self, node: cst.Lambda) -> None:
        self.stack.append(FunctionScope(node, self.segment))

    def leave_Lambda(self, original_node: cst.Lambda) -> None:
        self.stack.pop()

    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        self.stack.append(ClassScope(node, self.segment))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self.stack.pop()

    def _comp(self, node: cst.CSTNode) -> None:
        self.stack.append(CompScope(node, self.segment))

    def _leave_comp(self, node: cst.CSTNode) -> None:
        self.stack.pop()

    visit_ListComp = visit_SetComp = visit_DictComp = visit_GeneratorExp = _comp
    leave_ListComp = leave_SetComp = leave_DictComp = leave_GeneratorExp = _leave_comp  # type: ignore[assignment]

    def visit_Call(self, node: cst.Call) -> None:
        dotted = cst_chain(node.func)
        if dotted is None:
            return
        keywords = {a.keyword.value for a in node.args if a.keyword is not None}
        if ends_with(dotted, ORQ_SDK_CALLS) and "thread" in keywords:
            self.sites.append(Site("sdk", node, dotted, self._resolver()))
        elif ends_with(dotted, self.targets):
            self.sites.append(Site("target", node, dotted, self._resolver()))
        elif "orq" in keywords:
            kind = "payload" if dotted == "dict" else "orq-keyword"
            self.sites.append(Site(kind, node, dotted, self._resolver()))

    def visit_Dict(self, node: cst.Dict) -> None:
        for element in node.elements:
            if (isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString)
                    and element.key.evaluated_value == "orq" and isinstance(element.value, cst.Dict)):
                self.sites.append(Site("payload", node, "", self._resolver()))
                return


def check_segment(ctx: FileContext, segment: Segment, emit: Emitter, targets: Sequence[str]) -> None:
    collector = _Collector(ctx, segment, targets)
    segment.module.visit(collector)
    handled: set[int] = set()
    for site in sorted(collector.sites, key=lambda s: s.kind == "payload"):
        if site.kind == "target":
            _target(site, emit, handled)
        elif site.kind == "sdk":
            _sdk(site, emit)
        elif site.kind == "orq-keyword":
            if ends_with(site.dotted, OPENAI_METHODS) and "router" not in site.dotted.split("."):
                assert isinstance(site.node, cst.Call)
                for arg in site.node.args:
                    if arg.keyword is not None and arg.keyword.value == "orq":
                        _orq_keyword(arg, site, emit)
        elif id(site.node) not in handled:
            node = site.node
            body = (CstMapping.of_dict(node, site.resolver, "") if isinstance(node, cst.Dict)
                    else CstMapping.of_dict_call(node, site.resolver, "") if isinstance(node, cst.Call) else None)
            if body is not None:
                # A payload whose use can't be followed: its values are checked, but nothing proves
                # it is sent by every call, so OTL104/OTL105 stay for threads reached from calls.
                check_request_node(body, emit, require_thread=False)


def _orq_keyword(arg: cst.Arg, site: Site, emit: Emitter) -> None:
    emit("OTL102", "orq= is not a keyword of the openai SDK (TypeError at run time); "
                   "pass it inside extra_body={'orq': ...}", path="orq",
         anchor=site.resolver.anchor(arg), suggestion="extra_body={'orq': ...}")


def _request(body: Mapping, emit: Emitter, *, header: Node | None = None, require_thread: bool,
             minted: Callable[[Mint], bool]) -> None:
    found = check_request_node(body, emit, header=header, require_thread=require_thread)
    for item in found:
        check_code_id(item.node, emit)
        check_minted_id(item.node, emit, minted)


def _minted(site: Site) -> Callable[[Mint], bool]:
    assert isinstance(site.node, cst.Call)
    return per_request(site.node, site.resolver.anchor(site.node), site.resolver.scopes)


def _target(site: Site, emit: Emitter, handled: set[int]) -> None:
    call = site.node
    assert isinstance(call, cst.Call)
    resolver = site.resolver
    body = CstMapping("", resolver.anchor(call))
    router = "router" in site.dotted.split(".")
    extra_body: cst.BaseExpression | None = None
    extra_headers: cst.BaseExpression | None = None
    for arg in call.args:
        if arg.star:
            body.open = True
            continue
        if arg.keyword is None:
            continue
        key = arg.keyword.value
        if key == "extra_body":
            extra_body = arg.value
        elif key == "extra_headers":
            extra_headers = arg.value
        elif key not in _SKIPPED_KWARGS:
            if key == "orq" and not router:
                _orq_keyword(arg, site, emit)
            body.put(key, resolver.anchor(arg), arg.value, resolver)
    if extra_body is not None:
        merged = resolver.value(extra_body, "extra_body")
        body.merge(merged)
        if isinstance(merged, CstMapping) and isinstance(merged.anchor, Anchor):
            handled.add(id(merged.anchor.node))
    header: Node | None = None
    if extra_headers is not None:
        headers = resolver.value(extra_headers, "extra_headers")
        if isinstance(headers, Mapping):
            name = next((k for k in headers.keys() if k.lower() == HEADER.lower()), None)
            header = headers.get(name) if name else None
            if header is None and headers.open:
                body.open = True  # the header may be among the unknown entries
        else:
            body.open = True
    _request(body, emit, header=header, require_thread=True, minted=_minted(site))


def _sdk(site: Site, emit: Emitter) -> None:
    call = site.node
    assert isinstance(call, cst.Call)
    resolver = site.resolver
    meta = CstMapping("", resolver.anchor(call))
    for arg in call.args:
        if arg.keyword is None:
            continue
        if arg.keyword.value == "thread":
            thread = resolver.value(arg.value, "thread")
            check_thread_node(thread, emit)
            check_code_id(thread, emit)
            check_minted_id(thread, emit, _minted(site))
        elif arg.keyword.value == "metadata":
            meta.put("metadata", resolver.anchor(arg), arg.value, resolver)
    _request(meta, emit, require_thread=False, minted=_minted(site))
