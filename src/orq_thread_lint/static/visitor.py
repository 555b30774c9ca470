"""Find where threads live in a parsed segment and hand them to the rules.

Calls to targets (``chat.completions.create`` ...) become request bodies built the way the
openai SDK builds them (keyword arguments, then ``extra_body`` merged over them); orq SDK calls
give their keyword arguments (``thread=``, ``metadata=``); orq SDK thread models and the
``orq.thread_id``/``orq.tags`` attributes of OpenTelemetry spans are threads; any dict literal with
an ``"orq"`` key holding a dict is an orq payload. Whether a call must carry a thread (OTL101)
depends on its client (static/clients.py).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Sequence
from dataclasses import dataclass

import libcst as cst

from ..rules.code import check_code_id
from ..rules.minted import Mint, check_minted_id
from ..rules.request import HEADER, Api, check_request_node, one_shot
from ..rules.thread import Emitter, check_thread_node
from ..values import Mapping, Node, Text
from .clients import client_of
from .imports import is_thread_model
from .minted import per_request
from .resolve import (
    Anchor,
    CompScope,
    CstMapping,
    FileContext,
    LambdaScope,
    OpaqueScope,
    Resolver,
    Scope,
)
from .segments import ORQ_SDK_CALLS, SPAN_CALLS, THREAD_MODEL, TRANSPARENT, Segment, ends_with

# openai methods that don't take a thread but would still raise on `orq=`.
OPENAI_METHODS = ("embeddings.create", "images.generate", "moderations.create", "audio.speech.create",
                  "audio.transcriptions.create", "audio.translations.create")
_SKIPPED_KWARGS = frozenset({"extra_headers", "extra_query", "extra_body", "timeout"})
# orq SDK calls that send a conversation and take `thread=` (OTL101 applies to them).
SDK_CONVERSATION_CALLS = ("deployments.invoke", "deployments.stream", "deployments.invoke_async",
                          "deployments.stream_async", "agents.responses.create", "agents.responses.create_async")
# OpenTelemetry attributes orq reads from spans.
SPAN_THREAD_ID, SPAN_TAGS = "orq.thread_id", "orq.tags"


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
    kind: str  # "target", "sdk", "span", "orq-keyword", "model", "payload"
    node: cst.CSTNode
    dotted: str
    resolver: Resolver
    method: str = ""  # the target or orq SDK method matched


# Fields of libcst nodes that hold whitespace, brackets and punctuation: nothing is found there.
_SKIP_FIELDS = frozenset({"lpar", "rpar", "comma", "leading_lines", "lines_after_decorators", "semicolon",
                          "equal", "colon", "header", "footer", "operator", "dot", "lbracket", "rbracket",
                          "lbrace", "rbrace", "newline", "asynchronous", "whitespace"})
_FIELDS: dict[type, tuple[str, ...]] = {}
_COMPREHENSIONS = (cst.ListComp, cst.SetComp, cst.DictComp, cst.GeneratorExp)


def _fields(kind: type) -> tuple[str, ...]:
    found = _FIELDS.get(kind)
    if found is None:
        found = _FIELDS[kind] = tuple(f.name for f in dataclasses.fields(kind)
                                      if f.name not in _SKIP_FIELDS and "whitespace" not in f.name)
    return found


class _Collector:
    """Walks a segment in source order (a plain walk over the nodes' fields: libcst's visitor
    costs several times more per node), keeping the scope stack."""

    def __init__(self, ctx: FileContext, segment: Segment, targets: Sequence[str]) -> None:
        self.ctx, self.segment, self.targets = ctx, segment, targets
        self.stack: list[Scope] = list(ctx.outer(segment.path))
        self.sites: list[Site] = []

    def walk(self, root: cst.CSTNode) -> None:
        todo: list[cst.CSTNode | None] = [root]  # None: leave the scope entered last
        while todo:
            node = todo.pop()
            if node is None:
                self.stack.pop()
                continue
            if isinstance(node, cst.Call):
                self.visit_Call(node)
            elif isinstance(node, cst.Dict):
                self.visit_Dict(node)
            elif isinstance(node, (cst.FunctionDef, cst.ClassDef)):
                self.stack.append(self._scope(node))
                todo.append(None)
            elif isinstance(node, cst.Lambda):
                self.stack.append(LambdaScope(node))
                todo.append(None)
            elif isinstance(node, _COMPREHENSIONS):
                self.stack.append(CompScope(node))
                todo.append(None)
            children: list[cst.CSTNode] = []
            for name in _fields(type(node)):
                value = getattr(node, name)
                if isinstance(value, cst.CSTNode):
                    children.append(value)
                elif isinstance(value, (list, tuple)):
                    children.extend(v for v in value if isinstance(v, cst.CSTNode))
            todo.extend(reversed(children))

    def _resolver(self) -> Resolver:
        return Resolver(self.ctx, self.segment, self.stack)

    def _scope(self, node: cst.FunctionDef | cst.ClassDef) -> Scope:
        """The ast scope of a def or class inside the segment (found by its line and name)."""
        found = self.segment.ast_def(self.segment.where(node.name)[0], node.name.value)
        return self.ctx.scope(*found) if found is not None else OpaqueScope()

    def visit_Call(self, node: cst.Call) -> None:
        dotted = cst_chain(node.func)
        if dotted is None:
            return
        keywords = {a.keyword.value for a in node.args if a.keyword is not None}
        last = dotted.rpartition(".")[2]
        if sdk := ends_with(dotted, ORQ_SDK_CALLS):
            self.sites.append(Site("sdk", node, dotted, self._resolver(), sdk))
        elif target := ends_with(dotted, self.targets):
            self.sites.append(Site("target", node, dotted, self._resolver(), target))
        elif last in SPAN_CALLS:
            self.sites.append(Site("span", node, dotted, self._resolver(), last))
        elif THREAD_MODEL.match(last) or is_thread_model(self.ctx.imported(last) or ""):
            self.sites.append(Site("model", node, dotted, self._resolver()))
        elif "orq" in keywords:
            kind = "payload" if dotted == "dict" else "orq-keyword"
            self.sites.append(Site(kind, node, dotted, self._resolver()))

    def visit_Dict(self, node: cst.Dict) -> None:
        for element in node.elements:
            if (isinstance(element, cst.DictElement) and isinstance(element.key, cst.SimpleString)
                    and element.key.evaluated_value == "orq" and isinstance(element.value, cst.Dict)):
                self.sites.append(Site("payload", node, "", self._resolver()))
                return


def collect(ctx: FileContext, segment: Segment, targets: Sequence[str]) -> list[Site]:
    """The places in a segment where threads live."""
    collector = _Collector(ctx, segment, targets)
    collector.walk(segment.module)
    return collector.sites


def check_sites(sites: Sequence[Site], emit: Emitter) -> None:
    """Hand every site of a file to the rules: calls first, so a payload or model a call sends
    is checked as part of the request, not again alone."""
    handled: set[int] = set()
    for site in sorted(sites, key=lambda s: s.kind in ("payload", "model")):
        if site.kind in ("target", "sdk"):
            _target(site, emit, handled)
        elif site.kind == "span":
            _span(site, emit)
        elif site.kind == "model":
            if id(site.node) not in handled:
                _model(site, emit)
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


def _request(body: Mapping, emit: Emitter, handled: set[int], *, header: Node | None = None,
             require_thread: bool, api: Api, minted: Callable[[Mint], bool]) -> None:
    found = check_request_node(body, emit, header=header, require_thread=require_thread, api=api)
    for item in found:
        check_code_id(item.node, emit)
        check_minted_id(item.node, emit, minted)
        anchor = item.node.anchor
        if isinstance(anchor, Anchor):
            handled.add(id(anchor.node))  # an orq SDK model checked here isn't checked again alone


def _minted(site: Site) -> Callable[[Mint], bool]:
    assert isinstance(site.node, cst.Call)
    return per_request(site.node, site.resolver)


def _requires_thread(site: Site, body: Mapping, client: str | None, emit: Emitter) -> bool:
    """Whether OTL101 applies, by `[calls] require-thread`: with "orq-clients", only to a call on a
    client traced to orq whose request isn't provably one-shot."""
    mode = emit.policy.config.calls.require_thread
    if site.kind == "sdk" and not ends_with(site.dotted, SDK_CONVERSATION_CALLS):
        return False  # get_config and the deprecated agent calls send no conversation to group
    if mode == "all":
        return True
    return mode == "orq-clients" and client in ("openai-orq", "orq-sdk") and not one_shot(body)


def _target(site: Site, emit: Emitter, handled: set[int]) -> None:
    call = site.node
    assert isinstance(call, cst.Call)
    resolver = site.resolver
    body = CstMapping("", resolver.anchor(call))
    router = "router" in site.dotted.split(".")
    client = client_of(call, site.method, resolver, emit.policy.config.calls.orq_base_urls)
    api: Api = ("orq-router" if router else "orq-sdk") if client == "orq-sdk" or site.kind == "sdk" else "openai"
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
            if key == "orq" and not router and site.kind == "target":
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
    _request(body, emit, handled, header=header, require_thread=_requires_thread(site, body, client, emit), api=api,
             minted=_minted(site))


def _model(site: Site, emit: Emitter) -> None:
    """An orq SDK thread model built where its use can't be followed: its values are checked."""
    call = site.node
    assert isinstance(call, cst.Call)
    thread = site.resolver.value(call, "thread")
    if isinstance(thread, Mapping):  # the name is an orq SDK model (the resolver proved the import)
        check_thread_node(thread, emit)


def _span(site: Site, emit: Emitter) -> None:
    """``orq.thread_id`` and ``orq.tags`` set on an OpenTelemetry span, read as a thread."""
    call = site.node
    assert isinstance(call, cst.Call)
    resolver = site.resolver
    thread = CstMapping("", resolver.anchor(call))
    thread.open = True  # a span sets the id and the tags apart: neither is missing
    positional = [a.value for a in call.args if a.keyword is None and not a.star]
    keywords = {a.keyword.value: a.value for a in call.args if a.keyword is not None}
    if site.method == "set_attribute":
        key = positional[0] if positional else keywords.get("key")
        value = positional[1] if len(positional) > 1 else keywords.get("value")
        if key is not None and value is not None:
            _span_attribute(thread, resolver.value(key, ""), value, resolver)
    else:
        expr = (positional[0] if positional else keywords.get("attributes")) if site.method == "set_attributes" \
            else keywords.get("attributes")
        attributes = resolver.value(expr, "attributes") if expr is not None else None
        if isinstance(attributes, CstMapping):
            for name, (_, value) in attributes.entries.items():
                _span_attribute(thread, Text(name, ""), value, attributes.resolvers[name])
    if thread.entries:
        check_thread_node(thread, emit)
        check_code_id(thread, emit)


def _span_attribute(thread: CstMapping, key: Node, value: cst.BaseExpression, resolver: Resolver) -> None:
    if isinstance(key, Text) and key.value in (SPAN_THREAD_ID, SPAN_TAGS):
        thread.put("id" if key.value == SPAN_THREAD_ID else "tags", resolver.anchor(value), value, resolver)
