"""Jupyter notebooks: the code cells as one virtual module, checked by the checker that checks a
``.py`` file, with findings mapped back to (cell, row) and fixes spliced back into the cells.

The code cells are joined in order, as the kernel runs them: a name bound in one cell is
followed in a later one, and a cell that rebinds it makes it unknown. IPython's own syntax (line
magics ``%pip``, shell escapes ``!ls`` and ``x = !ls``, help ``obj?``, cell magics ``%%bash``)
is replaced line for line by placeholders that parse and bind nothing known, so every row maps
back. The notebook's bytes are never serialised again: a fix replaces only the ``source`` value
of the cells it changed, in the layout the file already uses (list of lines or one string, item
separators, ASCII escaping), and every other byte stays where it was.
"""

from __future__ import annotations

import ast
import difflib
import json
import re
from bisect import bisect_left
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, replace
from json.decoder import scanstring as _scanstring  # type: ignore[attr-defined]  # not in typeshed
from typing import Any

from ..policy import Policy
from ..report import Edit, Finding, Fix
from . import unused_noqa
from .checker import FileResult, _invalid, analyse, fix_text, gate, place
from .comments import Comments, scan
from .noqa import SKIP_FILE
from .segments import source_lines

SUFFIX = ".ipynb"
# Cell magics whose body IPython runs as Python; any other cell magic (%%bash, %%html,
# %%writefile, ...) holds something else and its cell is skipped.
PYTHON_CELL_MAGICS = frozenset({"capture", "debug", "prun", "pypy", "python", "python3", "time", "timeit"})
_TARGETS = r"[A-Za-z_][\w.]*(?:[ \t]*,[ \t]*[A-Za-z_][\w.]*)*"
# `x = !ls`, `x = %sx ls`: the names are bound to something unknown.
_ASSIGNED_ESCAPE = re.compile(rf"([ \t]*)({_TARGETS})[ \t]*=[ \t]*[!%]")
# `%time x = f()`: IPython runs the statement, so its names are rebound.
_TIMED_ASSIGNMENT = re.compile(rf"([ \t]*)%(?:time|timeit|prun)[ \t]+({_TARGETS})[ \t]*=(?!=)")
_ESCAPES = ("%", "!", "?", "/", ";", ",")
# Line magics IPython runs without their `%` (automagic, on by default): `pip install x`. Such a
# line counts as a magic only when it isn't Python by itself.
_AUTOMAGIC_NAMES = """
    aimport alias alias_magic autoawait autocall automagic autoreload bookmark cat cd clear colors conda
    config cp cpaste debug dhist dirs doctest_mode ed edit env gui hist history killbgscripts ldir less
    load load_ext loadpy logoff logon logstart logstate logstop ls lsmagic macro magic man matplotlib
    mkdir more mv notebook page pastebin pdb pdef pdoc pfile pinfo pinfo2 pip popd pprint precision
    prun psearch psource pushd pwd pycat pylab qtconsole quickref recall rehashx reload_ext rep rerun
    reset reset_selective rm rmdir run save sc set_env store sx system tb time timeit unalias
    unload_ext who who_ls whos xdel xmode
"""
AUTOMAGICS = frozenset(_AUTOMAGIC_NAMES.split())
# As IPython decides: a name followed by an operator (`config = ...`, `run(...)`) is Python.
_AUTOMAGIC = re.compile(r"[ \t]*([a-z_0-9]+)[ \t]+(?![=(\[{.,:;)\]}+*/%<>!&|^@]|\s)")
_WS = re.compile(r"[ \t\n\r]*")
_DECODER = json.JSONDecoder()


def is_notebook(name: str) -> bool:
    return name.endswith(SUFFIX)


class NotNotebook(ValueError):
    """Text that json or the notebook format refuses; ``row``/``column`` in the file."""

    def __init__(self, message: str, row: int = 1, column: int = 1) -> None:
        super().__init__(message)
        self.row, self.column = row, column


def load(text: str) -> dict[str, Any]:
    """The notebook as json gives it, checked for what this module reads (nbformat 4)."""
    try:
        nb = json.loads(text)
    except json.JSONDecodeError as exc:
        raise NotNotebook(f"not a notebook: invalid JSON: {exc.msg}", exc.lineno, exc.colno) from None
    except RecursionError:
        raise NotNotebook("not a notebook: JSON nested too deeply") from None
    if not isinstance(nb, dict):
        raise NotNotebook("not a notebook: the top level is not a JSON object")
    version = nb.get("nbformat")
    if "worksheets" in nb or (isinstance(version, int) and version < 4):
        raise NotNotebook("not a notebook this tool reads: nbformat 3 or older "
                          "(convert it with `jupyter nbconvert --to notebook`)")
    cells = nb.get("cells")
    if not isinstance(cells, list):
        raise NotNotebook("not a notebook: no 'cells' list")
    for n, cell in enumerate(cells, 1):
        if not isinstance(cell, dict) or not isinstance(cell.get("cell_type"), str):
            raise NotNotebook(f"not a notebook: cell {n} has no 'cell_type'")
        source = cell.get("source", "")
        if not isinstance(source, str) and not (
                isinstance(source, list) and all(isinstance(s, str) for s in source)):
            raise NotNotebook(f"not a notebook: cell {n}: 'source' is neither a string nor a list of strings")
    return nb


def is_python(nb: dict[str, Any]) -> bool:
    """Whether the notebook's kernel runs Python (a notebook that doesn't say is taken as Python)."""
    meta = nb.get("metadata")
    if not isinstance(meta, dict):
        return True
    for key, field in (("language_info", "name"), ("kernelspec", "language")):
        info = meta.get(key)
        if isinstance(info, dict) and isinstance(info.get(field), str):
            return bool(info[field].lower() == "python")
    return True


def cell_source(cell: dict[str, Any]) -> str:
    source = cell.get("source", "")
    return source if isinstance(source, str) else "".join(source)


# Where each cell's source lies in the file ------------------------------------------------------

@dataclass(frozen=True, slots=True)
class SourceSpan:
    start: int  # the value's first and past-last index in the notebook text
    end: int
    items: tuple[tuple[int, int], ...] | None  # a list's string items; None: one string


def scanstring(text: str, after_quote: int) -> tuple[str, int]:
    """The JSON string whose opening quote is just before ``after_quote``, and its end."""
    value, end = _scanstring(text, after_quote)
    return str(value), int(end)


def _skip(text: str, i: int) -> int:
    match = _WS.match(text, i)
    assert match is not None
    return match.end()


def _members(text: str, i: int, visit: Callable[[str, int], int | None]) -> int:
    """Walk the JSON object at ``i``; ``visit(key, value_start)`` returns the value's end when
    it read the value itself. Returns the object's end."""
    i = _skip(text, i + 1)
    if text[i] == "}":
        return i + 1
    while True:
        key, i = scanstring(text, i + 1)
        i = _skip(text, _skip(text, i) + 1)
        end = visit(key, i)
        if end is None:
            end = _DECODER.raw_decode(text, i)[1]
        i = _skip(text, end)
        if text[i] == "}":
            return i + 1
        i = _skip(text, i + 1)


def _items(text: str, i: int, visit: Callable[[int, int], int | None]) -> int:
    """Walk the JSON array at ``i``; ``visit(index, item_start)`` as for ``_members``."""
    i = _skip(text, i + 1)
    if text[i] == "]":
        return i + 1
    n = 0
    while True:
        end = visit(n, i)
        if end is None:
            end = _DECODER.raw_decode(text, i)[1]
        n += 1
        i = _skip(text, end)
        if text[i] == "]":
            return i + 1
        i = _skip(text, i + 1)


def source_spans(text: str) -> list[SourceSpan | None]:
    """Each cell's ``source`` value in a text ``load`` accepted (linear: one pass, C scanners)."""
    spans: list[SourceSpan | None] = []

    def cell(_: int, start: int) -> int | None:
        spans.append(None)

        def member(key: str, at: int) -> int | None:
            if key != "source":
                return None
            if text[at] == '"':
                end = scanstring(text, at + 1)[1]
                spans[-1] = SourceSpan(at, end, None)
                return end
            found: list[tuple[int, int]] = []

            def item(_: int, begin: int) -> int:
                stop = scanstring(text, begin + 1)[1]
                found.append((begin, stop))
                return stop

            end = _items(text, at, item)
            spans[-1] = SourceSpan(at, end, tuple(found))
            return end

        return _members(text, start, member)

    def top(key: str, at: int) -> int | None:
        if key != "cells":
            return None
        spans.clear()  # a repeated key: json keeps the last, and so do we
        return _items(text, at, cell)

    try:
        _members(text, _skip(text, 0), top)
    except RecursionError:  # json.loads just managed a value this deep, a few frames up
        return []
    return spans


# The virtual module -------------------------------------------------------------------------------

# What changes the scanner's state: an escape, a quote, a comment, a bracket.
_SPECIAL = re.compile(r"""\\[\s\S]?|'''|\"\"\"|['"#()\[\]{}]""")


def _escape(line: str) -> re.Match[str] | bool:
    """Whether a line that begins a logical line is IPython's: the match of `x = !ls` (its indent
    and names), True for any other escape, False for Python."""
    if "!" in line or "%" in line:
        assigned = _ASSIGNED_ESCAPE.match(line) or _TIMED_ASSIGNMENT.match(line)
        if assigned:
            return assigned
    if line.lstrip(" \t").startswith(_ESCAPES):
        return True
    match = _AUTOMAGIC.match(line)
    if match is None or match.group(1) not in AUTOMAGICS:
        return False
    try:
        ast.parse(line.strip())
    except (SyntaxError, ValueError):
        return True
    return False


def escapes(lines: Sequence[str]) -> dict[int, re.Match[str] | bool | None]:
    """A cell's lines that are IPython's, by index (a backslash-continued escape's next lines map to
    None). Python's brackets, strings and backslashes are followed, so a line inside a string or a
    call is never one, and an escape line's own quotes open no string."""
    out: dict[int, re.Match[str] | bool | None] = {}
    depth, quote, continued, escape_open = 0, "", False, False
    for i, line in enumerate(lines):
        backslash = line.rstrip("\r\n").endswith("\\")
        starts = depth == 0 and not quote and not continued
        found = _escape(line) if starts and not escape_open else False
        if found or escape_open:
            out[i] = None if escape_open else found
            escape_open = backslash
            continue
        code_end, escaped_newline = len(line), False
        for match in _SPECIAL.finditer(line):
            token = match.group()
            if token[0] == "\\":
                escaped_newline = token[1:] in ("", "\n", "\r")
            elif quote:
                if token in (quote, quote * 3):  # three quotes end a one-quote string (and open an empty one)
                    quote = ""
            elif token == "#":
                code_end = match.start()
                break
            elif token in "([{":
                depth += 1
            elif token in ")]}":
                depth = max(0, depth - 1)
            else:
                quote = token
        if quote in ("'", '"') and not escaped_newline:
            quote = ""  # an unterminated one-line string: the parser will say so
        continued = code_end == len(line) and not quote and escaped_newline
        if starts and depth == 0 and not quote and line[:code_end].rstrip().endswith("?"):
            out[i] = True  # help: `obj?`, `obj??`
    return out


def _newline(line: str) -> str:
    return line[len(line.rstrip("\r\n")):] or "\n"


@dataclass
class Virtual:
    """The code cells as one module, and the way back to each cell."""

    text: str
    origin: list[tuple[int, int]]  # per virtual row: (cell number over all cells, row in it); (0, 0) between
    placeholders: dict[str, str]  # placeholder line -> the cell line it stands for
    marker: str  # the comment line that ends each code cell
    cells: dict[int, str]  # cell number -> its source, for the code cells joined
    skipped: frozenset[int]  # cells of another language (%%bash ...): never edited

    def cell_sources(self, text: str) -> dict[int, str] | None:
        """The cells' sources from a (fixed) virtual text; None when it can't be mapped back."""
        chunks = text.split(self.marker)
        numbers = list(self.cells)
        if len(chunks) != len(numbers) + 1 or chunks[-1]:
            return None
        out = {}
        for number, chunk in zip(numbers, chunks, strict=False):
            lines = [self.placeholders.get(line, line) for line in source_lines(chunk)]
            source = "".join(lines)
            if not self.cells[number].endswith(("\n", "\r")) and source.endswith("\n"):
                source = source[:-1]
            out[number] = source
        if any(out[n] != self.cells[n] for n in self.skipped):
            return None
        return out


def _cell_language(cell: dict[str, Any]) -> str | None:
    meta = cell.get("metadata")
    vscode = meta.get("vscode") if isinstance(meta, dict) else None
    language = vscode.get("languageId") if isinstance(vscode, dict) else None
    return language if isinstance(language, str) else None


def _token(text: str) -> str:
    token, n = "orq_thread_lint_ipython", 0
    while token in text:
        n += 1
        token = f"orq_thread_lint_ipython_{n}"
    return token


def virtual_module(nb: dict[str, Any], raw: str) -> Virtual:
    token = _token(raw)
    marker = f"# {token} end of cell\n"
    parts: list[str] = []
    origin: list[tuple[int, int]] = []
    placeholders: dict[str, str] = {}
    cells: dict[int, str] = {}
    skipped: set[int] = set()

    def stand_in(original: str, line: str) -> str:
        placeholders[line] = original
        return line

    for number, cell in enumerate(nb["cells"], 1):
        if cell["cell_type"] != "code":
            continue
        source = cell_source(cell)
        cells[number] = source
        lines = source_lines(source)
        first = next((line.strip() for line in lines if line.strip()), "")
        out = list(lines)
        handled: set[int] = set()
        if _cell_language(cell) not in (None, "python"):  # VS Code's polyglot cells: `shellscript`, `sql`
            skipped.add(number)
            out = [_newline(line) for line in lines]
        elif first.startswith("%%"):
            name = first[2:].split(maxsplit=1)
            head = next(i for i, line in enumerate(lines) if line.strip())
            if name and name[0] in PYTHON_CELL_MAGICS:
                out[head] = stand_in(lines[head], f"# {token} {len(placeholders)}{_newline(lines[head])}")
                handled.add(head)
            else:
                skipped.add(number)
                out = [_newline(line) for line in lines]
        if number not in skipped:
            for i, found in escapes(lines).items():
                if i in handled:
                    continue
                line, n = lines[i], len(placeholders)
                if isinstance(found, re.Match):
                    out[i] = stand_in(line, f"{found.group(1)}{found.group(2)} = {token}({n}){_newline(line)}")
                elif found is None:  # a comment: its indentation can't matter
                    out[i] = stand_in(line, f"# {token} {n}{_newline(line)}")
                else:
                    indent = line[: len(line) - len(line.lstrip(" \t"))]
                    out[i] = stand_in(line, f"{indent}pass  # {token} {n}{_newline(line)}")
        if out and not out[-1].endswith(("\n", "\r")):
            out[-1] += "\n"
        parts.extend(out)
        origin.extend((number, row) for row in range(1, len(out) + 1))
        parts.append(marker)
        origin.append((0, 0))
    return Virtual("".join(parts), origin, placeholders, marker, cells, frozenset(skipped))


# Findings back in the cells -------------------------------------------------------------------------

class Places:
    """Maps virtual rows to cells, and cell positions to the notebook file's own lines."""

    def __init__(self, now: _Notebook) -> None:
        self.text, self.nb, self.virtual = now.text, now.nb, now.virtual
        self.spans = source_spans(self.text)
        self.newlines = [m.start() for m in re.finditer("\n", self.text)]

    def cell_of(self, row: int) -> tuple[int, int]:
        origin = self.virtual.origin
        number, cell_row = origin[min(max(row, 1), len(origin)) - 1]
        if number == 0:  # a cell's end: the last row of the cell before it
            number, cell_row = origin[max(min(row, len(origin)) - 2, 0)]
            cell_row += 1
        return number, cell_row

    def in_file(self, number: int, row: int, column: int) -> tuple[int, int]:
        """The notebook file's line and column that hold a cell's row and column."""
        span = self.spans[number - 1] if number - 1 < len(self.spans) else None
        if span is None:
            return 1, 1
        lines = source_lines(self.virtual.cells.get(number, cell_source(self.nb["cells"][number - 1])))
        offset = sum(len(line) for line in lines[: row - 1]) + column - 1
        start = span.start
        if span.items:
            values = self.nb["cells"][number - 1]["source"]
            for (begin, _), value in zip(span.items, values, strict=False):
                start = begin
                if offset < len(value):
                    break
                offset -= len(value)
            else:
                offset = len(values[-1])  # past the end: the end
        at = _raw_index(self.text, start, max(offset, 0))
        line = bisect_left(self.newlines, at)
        return line + 1, at - (self.newlines[line - 1] if line else -1)

    def finding(self, f: Finding) -> Finding:
        number, row = self.cell_of(f.row)
        end_number, end_row = self.cell_of(f.end_row or f.row)
        if end_number != number:
            end_row = row
        where = (*self.in_file(number, row, f.column), *self.in_file(number, end_row, f.end_column or f.column))
        return replace(f, row=row, end_row=end_row, fix=self.fix(f.fix), cell=number, file_location=where)

    def fix(self, fix: Fix | None) -> Fix | None:
        if fix is None:
            return None
        edits = []
        for e in fix.edits:
            if self.virtual.marker in e.content:
                return None  # an edit across cells: --fix may still do it, one cell at a time
            content = "".join(self.virtual.placeholders.get(line, line) for line in source_lines(e.content))
            number, row = self.cell_of(e.row)
            end_number, end_row = self.cell_of(e.end_row)
            if end_number != number:
                return None
            end_column = e.end_column
            cell_lines = source_lines(self.virtual.cells.get(number, ""))
            if end_row > len(cell_lines) and cell_lines and not cell_lines[-1].endswith(("\n", "\r")):
                # To the end of a cell without a final newline: the newline was ours, not the cell's.
                end_row, end_column = len(cell_lines), len(cell_lines[-1]) + 1
                content = content[:-1] if content.endswith("\n") else content
            edits.append(Edit(content, row, e.column, end_row, end_column))
        return replace(fix, edits=tuple(edits))


def _raw_index(text: str, start: int, count: int) -> int:
    """The index in ``text`` of character ``count`` of the JSON string whose quote is at ``start``."""
    i = start + 1
    for _ in range(count):
        if text[i] == '"':
            break  # the string's end
        if text[i] != "\\":
            i += 1
        elif text[i + 1] != "u":
            i += 2
        else:
            high = int(text[i + 2 : i + 6], 16)
            i += 6
            if 0xD800 <= high < 0xDC00 and text.startswith("\\u", i):
                i += 6  # a surrogate pair is one character
    return i


# Fixes back in the file ----------------------------------------------------------------------------

def _lines_of(source: str) -> list[str]:
    """A cell's source as nbformat stores a list: split after each newline."""
    return re.findall(r"[^\n]*\n|[^\n]+", source)


def splice(text: str, nb: dict[str, Any], spans: list[SourceSpan | None], sources: dict[int, str]) -> str | None:
    """The notebook text with the changed cells' sources replaced in place; None if it can't be."""
    ascii_only = text.isascii()
    pieces, last = [], 0
    for number in sorted(sources):
        cell = nb["cells"][number - 1]
        new = sources[number]
        if new == cell_source(cell):
            continue
        span = spans[number - 1] if number - 1 < len(spans) else None
        if span is None:
            return None
        if span.items is None:
            value = json.dumps(new, ensure_ascii=ascii_only)
        elif not span.items:
            value = json.dumps(_lines_of(new), ensure_ascii=ascii_only)
        else:
            raw = {decoded: text[b:e] for (b, e), decoded in zip(span.items, cell["source"], strict=False)}
            lead = text[span.start + 1 : span.items[0][0]]
            tail = text[span.items[-1][1] : span.end - 1]
            sep = text[span.items[0][1] : span.items[1][0]] if len(span.items) > 1 else "," + lead
            new_lines = _lines_of(new) + ([""] if cell["source"][-1] == "" else [])  # a kept empty last item
            encoded = [raw.get(line) or json.dumps(line, ensure_ascii=ascii_only) for line in new_lines]
            value = "[" + lead + sep.join(encoded) + tail + "]" if encoded else "[]"
        pieces += [text[last : span.start], value]
        last = span.end
    pieces.append(text[last:])
    return "".join(pieces)


def cell_diff(filename: str, old: str, new: str, number: int) -> str:
    def lines(s: str) -> list[str]:
        out = source_lines(s)
        if out and not out[-1].endswith(("\n", "\r")):
            out[-1] += "\n"
        return out

    return "".join(difflib.unified_diff(lines(old), lines(new), f"a/{filename}:cell {number}",
                                        f"b/{filename}:cell {number}"))


# The front end --------------------------------------------------------------------------------------

@dataclass(frozen=True, slots=True)
class _Notebook:
    """A notebook as it stands: its text, what json read, its virtual module."""

    text: str
    nb: dict[str, Any]
    virtual: Virtual


def _rewrite(result: FileResult, now: _Notebook, fixed_text: str, counts: Counter[str]) -> _Notebook:
    """Write a fixed virtual module back into the cells; the notebook as it is afterwards (as it
    was, when the change can't be mapped back exactly)."""
    sources = now.virtual.cell_sources(fixed_text)
    new = splice(now.text, now.nb, source_spans(now.text), sources) if sources is not None else None
    if new is None or sources is None:
        return now
    try:
        new_nb = load(new)
    except NotNotebook:
        return now
    if any(cell_source(new_nb["cells"][n - 1]) != s for n, s in sources.items()):
        return now
    if result.original is None:
        result.original = now.text
    result.source = new
    result.fixed.update(counts)
    return _Notebook(new, new_nb, virtual_module(new_nb, new))


def check_notebook(data: bytes, filename: str, policy: Policy, ignored: frozenset[str] = frozenset(),
                   fix: bool = False, prefilter: bool = True) -> FileResult:
    """Check one notebook's bytes, as ``check_bytes`` checks a Python file's."""
    result = FileResult(filename)
    if SKIP_FILE in data:
        return result
    report_invalid = policy.enabled("OTL000") and not "OTL000".startswith(tuple(ignored))
    stale_noqa = policy.enabled(unused_noqa.CODE) and not unused_noqa.CODE.startswith(tuple(ignored))
    result.encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        text = data.decode(result.encoding)
        nb = load(text)
    except UnicodeDecodeError as exc:
        if report_invalid:
            result.findings.append(_invalid(filename, f"can't decode: {exc}"))
        return result
    except NotNotebook as exc:
        if report_invalid:
            result.findings.append(_invalid(filename, str(exc), exc.row, exc.column))
        return result
    if not is_python(nb):
        return result
    now = first = _Notebook(text, nb, virtual_module(nb, text))
    code = now.virtual.text.encode("utf-8", "surrogatepass")
    if prefilter and not gate(policy).may_hold(code) and not (stale_noqa and b"noqa" in code.lower()):
        return result
    if fix:
        fixed_text, counts = fix_text(now.virtual.text, "utf-8", filename, policy, ignored)
        if counts:
            now = _rewrite(result, now, fixed_text, counts)
    parsed = analyse(now.virtual.text, "utf-8", filename, policy)
    if isinstance(parsed, Finding):
        if report_invalid:
            result.findings.append(Places(now).finding(parsed))
        return result
    used: set[tuple[int, str]] = set()
    found = place(parsed, filename, ignored, used=used) if parsed is not None else []
    if stale_noqa:
        lines = parsed.lines if parsed is not None else source_lines(now.virtual.text)
        stale = unused_noqa.find(filename, lines, scan(now.virtual.text) or Comments({}, {}), used,
                                 policy.enabled_codes)
        before = now
        if fix and stale:
            lines = list(lines)
            done = unused_noqa.apply(lines, stale)
            now = _rewrite(result, now, "".join(lines), Counter({unused_noqa.CODE: done}))
        if now is before:  # not fixing, or the fix can't be written back: report them
            found.extend(stale)
    if result.source is not None:
        result.diff = "".join(cell_diff(filename, old, now.virtual.cells[n], n)
                              for n, old in first.virtual.cells.items() if old != now.virtual.cells[n])
    places = Places(now)
    result.findings = [places.finding(replace(f, violation=replace(f.violation, anchor=None))) for f in found]
    return result


def annotate_cells(data: bytes, found: Iterable[tuple[int | None, int, str]],
                   annotate: Callable[[str, Iterable[tuple[int, str]]], tuple[str, int] | str],
                   ) -> tuple[str, str, str, int] | str:
    """``--add-noqa`` in a notebook: ``annotate`` edits the virtual module at the rows of the
    (cell, row, code) findings, and the cells it changed are spliced back. Returns (old text, new
    text, encoding, directives added), or why the notebook is left as it is."""
    encoding = "utf-8-sig" if data.startswith(b"\xef\xbb\xbf") else "utf-8"
    try:
        text = data.decode(encoding)
        nb = load(text)
    except (UnicodeDecodeError, NotNotebook) as exc:
        return f"can't read: {exc}"
    virtual = virtual_module(nb, text)
    rows: dict[tuple[int | None, int], int] = {place: row for row, place in enumerate(virtual.origin, 1) if place[0]}
    annotated = annotate(virtual.text, {(rows[(cell, row)], code) for cell, row, code in found
                                        if (cell, row) in rows})
    if isinstance(annotated, str):
        return annotated
    sources = virtual.cell_sources(annotated[0])
    new = splice(text, nb, source_spans(text), sources) if sources is not None else None
    if new is None:
        return "the comments can't be written back into the cells; left unchanged"
    return text, new, encoding, annotated[1]
