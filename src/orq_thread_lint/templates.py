"""The template language shared by thread ids and tags.

A template is literal text with placeholders (``user-{user_id}-{session_id:int}``); the whole
string must match. Templates are compiled into one automaton per set and matched by a lazily
built DFA, so matching is linear in the input length whatever the templates look like (Python's
backtracking ``re`` is not: ``{a}-{b}`` over a class that contains ``-`` would be quadratic).
``re:`` patterns are translated into the same automaton (see :mod:`orq_thread_lint.regex`).
The DFA's table is bounded: past a budget of cached entries (:data:`DFA_BUDGET`, or a few times
the NFA's size for a large set) it starts over, so a stream of new ids can't grow it, and one
character never costs more than one pass over the NFA.
"""

from __future__ import annotations

import re
import string
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from .regex import Chars, CharSet, Regex, RegexError, categories, translate

_DEFAULT = frozenset(string.ascii_letters + string.digits + "_.:-")
_DIGITS = frozenset(string.digits)
_HEX = frozenset(string.hexdigits)
_SLUG_WORD = frozenset(string.ascii_lowercase + string.digits)
_ULID_HEAD = frozenset("01234567")
_ULID_BODY = frozenset("0123456789ABCDEFGHJKMNPQRSTVWXYZabcdefghjkmnpqrstvwxyz")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*\Z")
_WORD = re.compile(r"[A-Za-z0-9_.:-]+\Z")
KINDS = ("str", "int", "uuid", "hex", "slug", "ulid")
_KIND_REGEX = {
    "str": r"[A-Za-z0-9_.:\-]+",
    "int": r"[0-9]+",
    "uuid": r"[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}",
    "hex": r"[0-9a-fA-F]+",
    "slug": r"[a-z0-9]+(?:-[a-z0-9]+)*",
    "ulid": r"[0-7][0-9A-HJKMNP-TV-Za-hjkmnp-tv-z]{25}",
}
# Cached DFA entries (NFA states in each DFA state, plus transitions) per template set; a large set
# gets a few times its NFA's size, so its warm table fits and matching stops depending on it.
DFA_BUDGET = 200_000


class TemplateError(ValueError):
    """A template that can't be compiled; the message says where."""


@dataclass(frozen=True, slots=True)
class Placeholder:
    name: str
    kind: str  # one of KINDS, or "choice"
    choices: tuple[str, ...] = ()

    def regex(self) -> str:
        if self.kind == "choice":
            return "(?:" + "|".join(re.escape(c) for c in self.choices) + ")"
        return _KIND_REGEX[self.kind]

    def describe(self) -> str:
        if self.kind == "choice":
            return "one of " + ", ".join(self.choices)
        return {
            "str": "letters, digits, '_', '.', ':' or '-'",
            "int": "digits",
            "uuid": "a canonical UUID",
            "hex": "hexadecimal digits",
            "slug": "lowercase words joined by '-'",
            "ulid": "a ULID",
        }[self.kind]


Token = str | Placeholder


@dataclass(frozen=True, slots=True)
class Template:
    """One compiled template: its source text, a name, and either tokens or a translated ``re:``."""

    source: str
    name: str
    tokens: tuple[Token, ...] = ()
    raw: Regex | None = None

    @property
    def placeholders(self) -> tuple[Placeholder, ...]:
        return tuple(t for t in self.tokens if isinstance(t, Placeholder))

    @property
    def prefix(self) -> str:
        """The literal text before the first placeholder."""
        head = []
        for tok in self.tokens:
            if isinstance(tok, Placeholder):
                break
            head.append(tok)
        return "".join(head)

    def build(self, parts: dict[str, object]) -> str:
        """Fill the placeholders; a missing, extra or ill-formed part raises ValueError naming it."""
        if self.raw is not None:
            raise ValueError(f"template {self.name!r} is a raw regular expression; it can't build ids")
        names = {p.name for p in self.placeholders}
        extra = sorted(set(parts) - names)
        if extra:
            raise ValueError(f"template {self.name!r} has no placeholder {extra[0]!r}")
        out = []
        for tok in self.tokens:
            if isinstance(tok, str):
                out.append(tok)
                continue
            if tok.name not in parts:
                raise ValueError(f"template {self.name!r} needs a value for {tok.name!r}")
            text = str(parts[tok.name])
            if not re.fullmatch(tok.regex(), text):
                raise ValueError(f"{tok.name}={text!r} is not {tok.describe()} (template {self.source!r})")
            out.append(text)
        return "".join(out)


def parse(source: str, name: str | None = None) -> Template:
    """Parse one template (or ``re:`` pattern). Raises TemplateError with the position of a problem."""
    if source.startswith("re:"):
        try:
            raw = translate(source[3:])
        except RegexError as exc:
            raise TemplateError(str(exc)) from None
        return Template(source, name or source, raw=raw)
    tokens: list[Token] = []
    literal: list[str] = []
    i, n = 0, len(source)
    while i < n:
        ch = source[i]
        if ch == "{" and source.startswith("{{", i):
            literal.append("{")
            i += 2
        elif ch == "}" and source.startswith("}}", i):
            literal.append("}")
            i += 2
        elif ch == "}":
            raise TemplateError(f"unmatched '}}' at position {i} in {source!r} (write '}}}}' for a literal brace)")
        elif ch == "{":
            end = source.find("}", i)
            if end < 0:
                raise TemplateError(f"unclosed '{{' at position {i} in {source!r}")
            if literal:
                tokens.append("".join(literal))
                literal = []
            if tokens and isinstance(tokens[-1], Placeholder):
                raise TemplateError(
                    f"placeholders at position {i} in {source!r} touch; put literal text between them"
                )
            tokens.append(_placeholder(source[i + 1 : end], source, i))
            i = end + 1
        else:
            literal.append(ch)
            i += 1
    if literal:
        tokens.append("".join(literal))
    if not tokens:
        raise TemplateError("empty template")
    tpl = Template(source, "", tuple(tokens))
    return Template(source, name or tpl.prefix.rstrip("-_.:/ ") or source, tpl.tokens)


def _placeholder(body: str, source: str, pos: int) -> Placeholder:
    pname, _, kind = body.partition(":")
    if not _NAME.match(pname):
        raise TemplateError(f"bad placeholder name {pname!r} at position {pos} in {source!r}")
    if not kind:
        return Placeholder(pname, "str")
    if "|" in kind:
        words = tuple(kind.split("|"))
        bad = [w for w in words if not _WORD.match(w)]
        if bad:
            raise TemplateError(f"bad choice {bad[0]!r} in {{{body}}} in {source!r}")
        return Placeholder(pname, "choice", words)
    if kind not in KINDS:
        raise TemplateError(
            f"unknown placeholder type {kind!r} in {{{body}}} in {source!r}; "
            f"use one of {', '.join(KINDS[1:])} or words separated by '|'"
        )
    return Placeholder(pname, kind)


class _NFA:
    """A small epsilon-NFA over characters; edges carry a set of characters."""

    def __init__(self) -> None:
        self.edges: list[list[tuple[Chars, int]]] = []
        self.eps: list[list[int]] = []

    def state(self) -> int:
        self.edges.append([])
        self.eps.append([])
        return len(self.edges) - 1

    def edge(self, a: int, chars: Chars, b: int) -> None:
        self.edges[a].append((chars, b))

    def chain(self, s: int, sets: Iterable[frozenset[str]]) -> int:
        for chars in sets:
            t = self.state()
            self.edge(s, chars, t)
            s = t
        return s

    def plus(self, s: int, chars: frozenset[str]) -> int:
        t = self.state()
        self.edge(s, chars, t)
        self.edge(t, chars, t)
        return t

    def add(self, s: int, tok: Token) -> int:
        if isinstance(tok, str):
            return self.chain(s, (frozenset(c) for c in tok))
        if tok.kind == "str":
            return self.plus(s, _DEFAULT)
        if tok.kind == "int":
            return self.plus(s, _DIGITS)
        if tok.kind == "hex":
            return self.plus(s, _HEX)
        if tok.kind == "uuid":
            for i, width in enumerate((8, 4, 4, 4, 12)):
                if i:
                    s = self.chain(s, [frozenset("-")])
                s = self.chain(s, [_HEX] * width)
            return s
        if tok.kind == "ulid":
            return self.chain(s, [_ULID_HEAD] + [_ULID_BODY] * 25)
        if tok.kind == "slug":
            word = self.plus(s, _SLUG_WORD)
            dash = self.state()
            self.edge(word, frozenset("-"), dash)
            self.edge(dash, _SLUG_WORD, word)
            return word
        end = self.state()
        for choice in tok.choices:
            self.eps[self.chain(s, (frozenset(c) for c in choice))].append(end)
        return end

    def regex(self, s: int, node: Regex) -> int:
        """The fragment of a translated ``re:`` pattern from ``s``; returns its end state.

        Every loop and branch starts at a fresh state, so fragments never share an entry."""
        kind = node[0]
        if kind == "set":
            t = self.state()
            self.edge(s, node[1], t)  # type: ignore[arg-type]
            return t
        if kind == "seq":
            for child in node[1]:  # type: ignore[attr-defined]
                s = self.regex(s, child)
            return s
        if kind == "alt":
            end = self.state()
            for child in node[1]:  # type: ignore[attr-defined]
                head = self.state()
                self.eps[s].append(head)
                self.eps[self.regex(head, child)].append(end)
            return end
        inner, lo, hi = node[1], node[2], node[3]
        assert isinstance(lo, int)
        for _ in range(lo):
            s = self.regex(s, inner)  # type: ignore[arg-type]
        if hi is None:
            loop = self.state()
            self.eps[s].append(loop)
            self.eps[self.regex(loop, inner)].append(loop)  # type: ignore[arg-type]
            return loop
        assert isinstance(hi, int)
        end = self.state()
        for _ in range(hi - lo):
            self.eps[s].append(end)
            head = self.state()
            self.eps[s].append(head)
            s = self.regex(head, inner)  # type: ignore[arg-type]
        self.eps[s].append(end)
        return end

    def closure(self, states: Iterable[int]) -> frozenset[int]:
        seen = set(states)
        todo = list(seen)
        while todo:
            for t in self.eps[todo.pop()]:
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        return frozenset(seen)


class TemplateSet:
    """A set of templates matched together in one linear pass."""

    __slots__ = ("_accept", "_alphabet", "_budget", "_hit", "_ids", "_nfa", "_sets", "_start", "_trans", "_used",
                 "_wide", "templates")

    def __init__(self, templates: Sequence[Template]) -> None:
        self.templates = tuple(templates)
        nfa = _NFA()
        start = nfa.state()
        self._accept: dict[int, int] = {}
        for index, tpl in enumerate(self.templates):
            s = nfa.state()
            nfa.eps[start].append(s)
            if tpl.raw is not None:
                s = nfa.regex(s, tpl.raw)
            else:
                for tok in tpl.tokens:
                    s = nfa.add(s, tok)
            self._accept.setdefault(s, index)
        self._nfa = nfa
        sets = [c for edges in nfa.edges for c, _ in edges]
        self._alphabet = frozenset().union(*(c.chars if isinstance(c, CharSet) else c for c in sets))
        # Outside the alphabet a character is told apart only by its \d \w \s categories, unless a
        # class holds a wide range: then it is its own key (the table stays bounded either way).
        self._wide = any(isinstance(c, CharSet) and c.ranges for c in sets)
        self._start = nfa.closure([start])
        self._ids: dict[frozenset[int], int] = {}
        self._sets: list[frozenset[int]] = []
        self._trans: list[dict[str | int, int]] = []
        self._hit: list[int] = []  # per DFA state: the first template it accepts, or -1
        self._budget = max(DFA_BUDGET, 8 * len(nfa.edges))
        self._used = 0
        self._reset()

    def __bool__(self) -> bool:
        return bool(self.templates)

    def __len__(self) -> int:
        return len(self.templates)

    @classmethod
    def compile(cls, sources: Iterable[str] | dict[str, str]) -> TemplateSet:
        if isinstance(sources, dict):
            return cls([parse(src, name) for name, src in sources.items()])
        return cls([parse(src) for src in sources])

    def _reset(self) -> None:
        """Forget every cached DFA state but the dead (0) and start (1) ones (in place: a running
        match holds these lists)."""
        self._ids.clear()
        self._sets.clear()
        self._trans.clear()
        self._hit.clear()
        self._used = 0
        self._intern(frozenset())
        self._intern(self._start)

    def _intern(self, states: frozenset[int]) -> int:
        found = self._ids.get(states)
        if found is None:
            found = self._ids[states] = len(self._sets)
            self._sets.append(states)
            self._trans.append({})
            self._hit.append(min((self._accept[s] for s in states if s in self._accept), default=-1))
            self._used += len(states) + 1
        return found

    def _step(self, dfa: int, ch: str) -> int:
        key: str | int = ch if ch in self._alphabet or self._wide else categories(ch)
        nxt = self._trans[dfa].get(key)
        if nxt is None:
            edges = self._nfa.edges
            targets = self._nfa.closure([b for a in self._sets[dfa] for chars, b in edges[a] if ch in chars])
            if self._used + len(targets) >= self._budget:
                self._reset()
                return self._intern(targets)
            nxt = self._trans[dfa][key] = self._intern(targets)
            self._used += 1
        return nxt

    def match(self, text: str) -> Template | None:
        """The first template (in configuration order) that matches the whole of ``text``."""
        dfa = 1
        trans = self._trans
        for ch in text:
            nxt = trans[dfa].get(ch)
            dfa = self._step(dfa, ch) if nxt is None else nxt
            if not dfa:
                return None
        hit = self._hit[dfa]
        return self.templates[hit] if hit >= 0 else None

    def matches(self, text: str) -> bool:
        return self.match(text) is not None

    def could_match(self, parts: Sequence[str | None]) -> bool:
        """Whether some filling of the holes (``None`` parts, any text) makes the whole match.

        This is the intersection of the templates with ``lit (.*) lit ...``.
        """
        states = self._start
        edges = self._nfa.edges
        for part in parts:
            if part is None:
                states = self._reach_any(states)
                continue
            for ch in part:
                states = self._nfa.closure(b for a in states for chars, b in edges[a] if ch in chars)
                if not states:
                    return False
        return any(s in self._accept for s in states)

    def _reach_any(self, states: frozenset[int]) -> frozenset[int]:
        seen = set(states)
        todo = list(seen)
        nfa = self._nfa
        while todo:
            a = todo.pop()
            for t in [b for _, b in nfa.edges[a]] + nfa.eps[a]:
                if t not in seen:
                    seen.add(t)
                    todo.append(t)
        return frozenset(seen)

    def by_name(self, name: str) -> Template | None:
        for tpl in self.templates:
            if tpl.name == name:
                return tpl
        return None
