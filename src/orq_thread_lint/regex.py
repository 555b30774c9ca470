"""``re:`` patterns, translated into the automaton templates compile to (so they match in linear time).

Python's ``re`` backtracks: ``(a+)+b`` takes seconds on 30 characters. A ``re:`` pattern is
matched whole (like ``re.fullmatch``), so every construct whose meaning is a set of strings
translates into an automaton: characters, classes, ``.``, groups, alternation and every
quantifier (lazy ones mean the same for a whole match). What needs backtracking or can't be an
automaton is refused with a configuration error that names the construct: backreferences,
lookaround, conditionals, atomic groups, possessive quantifiers, word boundaries, inline flags,
and anchors anywhere but the ends.
"""

from __future__ import annotations

import re
import unicodedata
import warnings
from dataclasses import dataclass

# Character categories of ``\d``, ``\w`` and ``\s`` as Python's re sees them in str patterns.
DIGIT, WORD, SPACE = 1, 2, 4
ALL_CATEGORIES = DIGIT | WORD | SPACE
_MAX_DEPTH = 100  # nested groups
MAX_STATES = 10_000  # automaton states one pattern may expand to
_RANGE_EXPAND = 256  # ranges up to this size become explicit characters
_QUANTIFIER = re.compile(r"\{(\d*)(?:(,)(\d*))?\}")
_SIMPLE_ESCAPES = {"a": "\a", "f": "\f", "n": "\n", "r": "\r", "t": "\t", "v": "\v"}
_CLASS_ESCAPES = {"d": (DIGIT, False), "D": (DIGIT, True), "w": (WORD, False), "W": (WORD, True),
                  "s": (SPACE, False), "S": (SPACE, True)}


def categories(ch: str) -> int:
    """Which of ``\\d``, ``\\w`` and ``\\s`` the character belongs to (re's own definitions)."""
    return ((DIGIT if ch.isdecimal() else 0) | (WORD if ch.isalnum() or ch == "_" else 0)
            | (SPACE if ch.isspace() else 0))


@dataclass(frozen=True, slots=True)
class CharSet:
    """A character class beyond a plain set: ranges, categories (``\\d``; ``\\D`` in ``ncats``),
    negation. ``ch in charset`` is the test the automaton runs."""

    chars: frozenset[str]
    ranges: tuple[tuple[str, str], ...] = ()
    cats: int = 0
    ncats: int = 0
    negated: bool = False

    def __contains__(self, ch: object) -> bool:
        if not isinstance(ch, str):
            return False
        hit = ch in self.chars or any(lo <= ch <= hi for lo, hi in self.ranges)
        if not hit and (self.cats or self.ncats):
            found = categories(ch)
            hit = bool(found & self.cats) or bool(~found & self.ncats)
        return hit != self.negated


Chars = frozenset[str] | CharSet
_NOT_NEWLINE = CharSet(frozenset("\n"), negated=True)


# The syntax tree: ("set", chars) | ("seq", [nodes]) | ("alt", [nodes]) | ("rep", node, lo, hi|None)
Regex = tuple[object, ...]


class RegexError(ValueError):
    """A pattern that isn't a regular expression, or uses a construct an automaton can't match."""


def translate(pattern: str) -> Regex:
    """The syntax tree of a ``re:`` pattern (without the prefix); RegexError names a refused construct."""
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")  # re's FutureWarnings about nested sets: we read them as re does
        try:
            re.compile(pattern)
        except (re.error, OverflowError, RecursionError) as exc:
            raise RegexError(f"invalid regular expression {pattern!r}: {exc}") from None
    tree = _Parser(pattern).parse()
    if size(tree) > MAX_STATES:
        raise RegexError(f"regular expression {pattern!r} expands to more than {MAX_STATES:,} automaton states; "
                         "use smaller repetition counts")
    return tree


def size(node: Regex) -> int:
    """How many automaton states the tree expands to (at most; counts stop growing past the limit)."""
    kind = node[0]
    if kind == "set":
        return 1
    if kind in ("seq", "alt"):
        total = 0
        for child in node[1]:  # type: ignore[attr-defined]
            total += size(child) + (2 if kind == "alt" else 0)
            if total > MAX_STATES:
                break
        return total + 1
    inner, lo, hi = size(node[1]), node[2], node[3]  # type: ignore[arg-type]
    assert isinstance(lo, int)
    extra = (inner + 2) if hi is None else (hi - lo) * (inner + 3)  # type: ignore[operator]
    return min(lo * inner + extra, MAX_STATES + 1)


class _Parser:
    def __init__(self, src: str) -> None:
        self.src = src
        self.i = 0
        self.depth = 0

    def refuse(self, what: str, at: int | None = None) -> RegexError:
        pos = self.i if at is None else at
        return RegexError(f"regular expression {self.src!r} uses {what} at position {pos}, which can't be matched "
                          "in linear time; rewrite the pattern without it")

    def misplaced_anchor(self, at: int) -> RegexError:
        return RegexError(f"regular expression {self.src!r} has an anchor at position {at} inside the pattern; "
                          "a re: pattern always matches the whole value, so '^', '$', '\\A' and '\\Z' "
                          "may only start or end it")

    def peek(self, k: int = 0) -> str:
        j = self.i + k
        return self.src[j] if j < len(self.src) else ""

    def parse(self) -> Regex:
        return self.alternation(top=True)

    def alternation(self, top: bool) -> Regex:
        branches = [self.sequence(top)]
        while self.peek() == "|":
            self.i += 1
            branches.append(self.sequence(top))
        return branches[0] if len(branches) == 1 else ("alt", branches)

    def sequence(self, top: bool) -> Regex:
        items: list[Regex] = []
        while self.i < len(self.src) and self.peek() not in "|)":
            start = self.i
            anchor = self.anchor()
            if anchor == "start":
                if not top or items:
                    raise self.misplaced_anchor(start)
                continue
            if anchor == "end":
                if not top or self.peek() not in ("", "|"):
                    raise self.misplaced_anchor(start)
                continue
            atom = self.atom()
            if atom is None:
                continue
            items.append(self.quantified(atom))
        return items[0] if len(items) == 1 else ("seq", items)

    def anchor(self) -> str | None:
        ch = self.peek()
        if ch == "^" or (ch == "\\" and self.peek(1) == "A"):
            self.i += 1 if ch == "^" else 2
            return "start"
        if ch == "$" or (ch == "\\" and self.peek(1) == "Z"):
            self.i += 1 if ch == "$" else 2
            return "end"
        return None

    def quantified(self, atom: Regex) -> Regex:
        ch = self.peek()
        start = self.i
        if ch in ("*", "+", "?"):
            self.i += 1
            lo, hi = {"*": (0, None), "+": (1, None), "?": (0, 1)}[ch]
        elif ch == "{" and (m := _QUANTIFIER.match(self.src, self.i)) and m.group(0) != "{}":
            self.i = m.end()
            lo = int(m.group(1) or 0)
            hi = (None if not m.group(3) else int(m.group(3))) if m.group(2) else lo
        else:
            return atom
        if self.peek() == "+":
            raise self.refuse("a possessive quantifier", start)
        if self.peek() == "?":
            self.i += 1  # lazy: the same strings match whole
        return ("rep", atom, lo, hi)

    def atom(self) -> Regex | None:
        ch = self.peek()
        if ch == "(":
            return self.group()
        if ch == "[":
            return ("set", self.char_class())
        if ch == ".":
            self.i += 1
            return ("set", _NOT_NEWLINE)
        if ch == "\\":
            return ("set", self.escape(in_class=False))
        self.i += 1
        return ("set", frozenset(ch))

    def group(self) -> Regex | None:
        start = self.i
        self.i += 1
        if self.peek() == "?":
            nxt = self.peek(1)
            if nxt == ":":
                self.i += 2
            elif nxt == "P" and self.peek(2) == "<":
                self.i = self.src.index(">", self.i) + 1
            elif nxt == "P" and self.peek(2) == "=":
                raise self.refuse("a backreference", start)
            elif nxt == "#":
                self.i = self.src.index(")", self.i) + 1
                return None
            elif nxt in ("=", "!"):
                raise self.refuse("a lookahead", start)
            elif nxt == "<":
                raise self.refuse("a lookbehind", start)
            elif nxt == "(":
                raise self.refuse("a conditional group", start)
            elif nxt == ">":
                raise self.refuse("an atomic group", start)
            else:
                raise self.refuse("inline flags", start)
        self.depth += 1
        if self.depth > _MAX_DEPTH:
            raise RegexError(f"regular expression {self.src!r} nests groups more than {_MAX_DEPTH} deep")
        inner = self.alternation(top=False)
        self.depth -= 1
        self.i += 1  # the ")" (re.compile has checked it is there)
        return inner

    def escape(self, in_class: bool) -> Chars | tuple[int, bool]:
        """One escape: a character set outside a class; inside one, a set or a category."""
        start = self.i
        ch = self.peek(1)
        self.i += 2
        if ch in _CLASS_ESCAPES:
            cat, negated = _CLASS_ESCAPES[ch]
            if in_class:
                return cat, negated
            return CharSet(frozenset(), cats=0 if negated else cat, ncats=cat if negated else 0)
        if ch == "b":
            if in_class:
                return frozenset("\b")
            raise self.refuse("a word boundary (\\b)", start)
        if ch == "B":
            raise self.refuse("a word boundary (\\B)", start)
        if ch in _SIMPLE_ESCAPES:
            return frozenset(_SIMPLE_ESCAPES[ch])
        if ch in ("x", "u", "U"):
            width = {"x": 2, "u": 4, "U": 8}[ch]
            code = self.src[self.i:self.i + width]
            self.i += width
            return frozenset(chr(int(code, 16)))
        if ch == "N":
            end = self.src.index("}", self.i)
            name = self.src[self.i + 1:end]
            self.i = end + 1
            return frozenset(unicodedata.lookup(name))
        if ch.isdigit():
            digits = re.match(r"[0-7]{1,3}", self.src[start + 1:])
            octal = digits.group(0) if digits else ""
            if ch == "0" or (len(octal) == 3) or in_class:
                self.i = start + 1 + len(octal)
                return frozenset(chr(int(octal, 8)))
            raise self.refuse("a backreference", start)
        return frozenset(ch)

    def class_char(self) -> str | tuple[int, bool]:
        if self.peek() == "\\":
            found = self.escape(in_class=True)
            if isinstance(found, tuple):
                return found
            assert isinstance(found, frozenset) and len(found) == 1
            return next(iter(found))
        ch = self.peek()
        self.i += 1
        return ch

    def char_class(self) -> Chars:
        self.i += 1
        negated = self.peek() == "^"
        if negated:
            self.i += 1
        chars: set[str] = set()
        ranges: list[tuple[str, str]] = []
        cats = ncats = 0
        first = True
        while True:
            if self.peek() == "]" and not first:
                self.i += 1
                break
            first = False
            item = self.class_char()
            if isinstance(item, tuple):
                cat, neg = item
                if neg:
                    ncats |= cat
                else:
                    cats |= cat
                continue
            if self.peek() == "-" and self.peek(1) not in ("]", ""):
                self.i += 1
                hi = self.class_char()
                assert isinstance(hi, str)  # re.compile refuses a class as a range's end
                if ord(hi) - ord(item) < _RANGE_EXPAND:
                    chars.update(map(chr, range(ord(item), ord(hi) + 1)))
                else:
                    ranges.append((item, hi))
                continue
            chars.add(item)
        if not (ranges or cats or ncats or negated):
            return frozenset(chars)
        return CharSet(frozenset(chars), tuple(ranges), cats, ncats, negated)
