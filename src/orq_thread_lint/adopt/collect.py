"""Gather the thread ids and tags that code and request logs use, where, and how often.

Code goes through the static checker's own analysis (the same value following the rules see);
logs through the same request rules ``validate`` runs. Both report every thread they check to an
observer, so ``init`` sees exactly the values the checker will later judge.
"""

from __future__ import annotations

import ast
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import libcst as cst

from ..policy import Policy
from ..records import records
from ..report import Finding
from ..rules.request import check_request_node
from ..rules.thread import Emitter
from ..static.checker import analyse, decode, gate
from ..static.discover import Selector
from ..static.resolve import Anchor
from ..values import List, Mapping, Node, Partial, Text, from_json
from .generalise import identifier

_CLIENTS = ("OpenAI", "AsyncOpenAI", "AzureOpenAI", "AsyncAzureOpenAI", "Orq")
_URL_KEYWORDS = ("base_url", "server_url", "azure_endpoint")
_WRAPPERS = frozenset({"str", "int", "repr", "format", "f"})


@dataclass(frozen=True, slots=True)
class Seen:
    kind: str  # "id" or "tag"
    value: Text | Partial
    where: str  # "path:row"
    placement: str  # "orq" (orq.thread) or "top-level" (thread)


@dataclass
class Collected:
    seen: list[Seen] = field(default_factory=list)
    files: int = 0
    records: int = 0
    base_urls: Counter[str] = field(default_factory=Counter)
    problems: list[Finding] = field(default_factory=list)  # files and lines that couldn't be read


def _placement(thread: Node) -> str:
    return "orq" if thread.path.endswith("orq.thread") else "top-level"


def _observer(out: Collected, where: Callable[[Node], str]) -> Callable[[Node], None]:
    def seen(thread: Node) -> None:
        if not isinstance(thread, Mapping):
            return
        placement = _placement(thread)
        ident = thread.get("id")
        if isinstance(ident, (Text, Partial)):
            out.seen.append(Seen("id", ident, where(ident), placement))
        tags = thread.get("tags")
        if isinstance(tags, List):
            for tag in tags.items:
                if isinstance(tag, (Text, Partial)):
                    out.seen.append(Seen("tag", tag, where(tag), placement))

    return seen


def hole_name(source: object) -> str | None:
    """A placeholder name for the expression that fills a hole in code."""
    node = source
    while isinstance(node, cst.Call):
        func = node.func
        if isinstance(func, cst.Name) and func.value in _WRAPPERS and len(node.args) == 1:
            node = node.args[0].value
            continue
        node = func
        break
    if isinstance(node, cst.Subscript) and len(node.slice) == 1:
        index = node.slice[0].slice
        if isinstance(index, cst.Index) and isinstance(index.value, cst.SimpleString):
            key = index.value.evaluated_value
            return identifier(key) if isinstance(key, str) else None
    if isinstance(node, (cst.Name, cst.Attribute)):
        return identifier(cst.Module([]).code_for_node(node))
    return None


def collect_code(paths: Iterable[str], policy: Policy, out: Collected) -> None:
    selector = Selector(policy)
    prefilter = gate(policy)
    for path in selector.files(paths):
        name = path.as_posix()
        try:
            data = path.read_bytes()
        except OSError:
            continue
        out.files += 1
        if not prefilter.may_hold(data):
            continue
        try:
            text, encoding = decode(data)
        except (SyntaxError, UnicodeDecodeError, LookupError):
            continue

        def where(node: Node, name: str = name) -> str:
            anchor = node.anchor
            return f"{name}:{anchor.position[0]}" if isinstance(anchor, Anchor) else name

        before = len(out.seen)
        result = analyse(text, encoding, name, policy, seen=_observer(out, where))
        if isinstance(result, Finding):
            out.problems.append(result)
        elif len(out.seen) > before:
            _base_urls(text, out.base_urls)


def _base_urls(text: str, found: Counter[str]) -> None:
    """Hosts of the clients built in a file that sends threads (literal URLs only)."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return
    for node in ast.walk(tree):
        if not isinstance(node, ast.Call):
            continue
        func = node.func
        called = func.attr if isinstance(func, ast.Attribute) else func.id if isinstance(func, ast.Name) else ""
        if called not in _CLIENTS:
            continue
        for kw in node.keywords:
            if kw.arg in _URL_KEYWORDS and isinstance(kw.value, ast.Constant) and isinstance(kw.value.value, str):
                host = urlsplit(kw.value.value).hostname
                if host and host != "api.openai.com":
                    found[host] += 1


def collect_logs(paths: Iterable[str], policy: Policy, out: Collected) -> None:
    for source in paths:
        for item in records(source, source):
            if isinstance(item, Finding):
                out.problems.append(item)
                continue
            if not isinstance(item.body, dict):
                continue
            out.records += 1
            here = f"{source}:{item.row}"

            def where(_node: Node, here: str = here) -> str:
                return here

            check_request_node(from_json(item.body), Emitter(policy, [], _observer(out, where)))
