"""Request records in JSON documents, JSON arrays and JSONL logs, streamed.

Records are found with their position (the line of a JSONL record, the line and column where
an array element starts) so findings point at them. A JSONL log is read line by line and a
top-level array element by element, so memory holds one record, never the file. A record that
can't be read (not JSON, not UTF-8, nested too deeply, a number with too many digits, longer
than :data:`MAX_RECORD`) is one OTL000 finding; the next one is still read.
"""

from __future__ import annotations

import codecs
import json
import re
import shutil
import sys
import tempfile
from collections.abc import Iterator
from dataclasses import dataclass
from typing import IO

from .report import Finding
from .rules.catalog import RULES
from .violations import Violation

MAX_RECORD = 32 * 1024 * 1024  # bytes (characters in an array) of one record; a longer one is skipped
_CHUNK = 1 << 20
_WS = " \t\r\n"
_STRUCTURE = re.compile(r'["\[\]{},]')
_BLANK = re.compile(r"[ \t\r\n]*")
_DECODER = json.JSONDecoder()
_NOTHING = object()
_STRING_BODY = re.compile(r'[^"\\]*(?:\\.[^"\\]*)*', re.DOTALL)  # up to an unescaped quote


@dataclass(frozen=True, slots=True)
class Record:
    row: int
    column: int
    body: object


def invalid(filename: str, message: str, row: int = 1, column: int = 1) -> Finding:
    rule = RULES["OTL000"]
    return Finding(filename, row, column, Violation(rule.code, rule.name, message, "", rule.severity))


def _loads(text: str) -> object:
    """``json.loads``; every way it can fail is a ValueError (JSONDecodeError for bad syntax)."""
    try:
        return json.loads(text)
    except RecursionError:
        raise ValueError("is nested too deeply to read") from None
    except json.JSONDecodeError:
        raise
    except ValueError as exc:  # Python 3.11+ refuses ints of more digits than it converts
        if "digits" not in str(exc):
            raise ValueError(f"can't be read: {exc}") from None
        limit = getattr(sys, "get_int_max_str_digits", lambda: 0)()
        raise ValueError(f"holds a number of more than {limit:,} digits") from None


def _problem(exc: ValueError, what: str) -> str:
    """What is wrong with a record: ``what`` ("line", "array element") or, for a whole document, ""."""
    if isinstance(exc, json.JSONDecodeError):
        return f"{what} is not valid JSON: {exc.msg}" if what else f"not valid JSON: {exc.msg}"
    return f"{what or 'document'} {exc}"


def _record(text: str, filename: str, row: int, column: int, what: str) -> Record | Finding:
    """The record in ``text`` (which starts at ``row``, ``column``), or OTL000 where it breaks."""
    try:
        return Record(row, column, _loads(text))
    except ValueError as exc:
        if isinstance(exc, json.JSONDecodeError):
            at_row = row + exc.lineno - 1
            at_col = exc.colno + (column - 1 if exc.lineno == 1 else 0)
            return invalid(filename, _problem(exc, what), at_row, at_col)
        return invalid(filename, _problem(exc, what), row, column)


def _lines(stream: IO[bytes]) -> Iterator[tuple[int, bytes | None]]:
    """The lines of a binary stream with their numbers; ``None`` for a line longer than
    :data:`MAX_RECORD` (skipped without being kept)."""
    row = 0
    pieces: list[bytes] = []
    size = 0
    too_long = False
    while chunk := stream.read(_CHUNK):
        start = 0
        while (end := chunk.find(b"\n", start)) >= 0:
            row += 1
            if too_long or size + end - start > MAX_RECORD:
                yield row, None
            else:
                pieces.append(chunk[start:end])
                yield row, b"".join(pieces)
            pieces, size, too_long = [], 0, False
            start = end + 1
        if not too_long:
            size += len(chunk) - start
            if size > MAX_RECORD:
                pieces, too_long = [], True
            else:
                pieces.append(chunk[start:])
    if too_long or size:
        yield row + 1, None if too_long else b"".join(pieces)


def _jsonl(stream: IO[bytes], filename: str) -> Iterator[Record | Finding]:
    for row, raw in _lines(stream):
        if raw is None:
            yield invalid(filename, f"line is longer than {MAX_RECORD:,} bytes; it was skipped", row)
            continue
        if row == 1 and raw.startswith(codecs.BOM_UTF8):
            raw = raw[len(codecs.BOM_UTF8):]
        try:
            line = raw.decode("utf-8").removesuffix("\r")
        except UnicodeDecodeError as exc:
            yield invalid(filename, f"line is not UTF-8 text: {exc.reason} at byte {exc.start}", row)
            continue
        if not line.strip():
            continue
        found = _record(line, filename, row, 1, "line")
        yield Record(row, 1, found.body) if isinstance(found, Record) else found


def _text_chunks(stream: IO[bytes], filename: str) -> Iterator[str | Finding]:
    """Decoded text of a stream, chunk by chunk; an OTL000 (and the end) where it isn't UTF-8."""
    decoder = codecs.getincrementaldecoder("utf-8-sig")()
    done = 0
    while True:
        data = stream.read(_CHUNK)
        try:
            text = decoder.decode(data, final=not data)
        except UnicodeDecodeError as exc:
            yield invalid(filename, f"not UTF-8 text: {exc.reason} at byte {done + exc.start}")
            return
        done += len(data)
        if text:
            yield text
        if not data:
            return


class _ArrayScanner:
    """Splits a top-level JSON array into its elements' texts without parsing them: it follows
    strings and brackets only, in one pass, so each element is found in time linear in its size
    and a broken element doesn't hide the next one."""

    def __init__(self, filename: str) -> None:
        self.filename = filename
        self.row, self.col = 1, 1  # position of the next character to pass
        self.depth = 0
        self.in_string = self.escaped = False
        self.pieces: list[str] = []
        self.size = 0
        self.too_long = False
        self.start: tuple[int, int] = (1, 1)  # where the current element's text begins
        self.closed = self.trailing = False
        self.fresh = False  # just past '[' or ',': the next element may be parsed in place

    def _advance(self, chunk: str, done: int, upto: int) -> None:
        """Move the position from ``chunk[done]`` to ``chunk[upto]``."""
        lines = chunk.count("\n", done, upto)
        if lines:
            self.row += lines
            self.col = upto - chunk.rfind("\n", done, upto)
        else:
            self.col += upto - done

    def feed(self, chunk: str) -> Iterator[Record | Finding]:
        i = done = 0
        taken = 0  # where the current element's text in this chunk begins
        n = len(chunk)
        if self.escaped and n:
            self.escaped, i = False, 1
        while i < n and not self.closed:
            if self.fresh:
                # The common case: the whole element is in this chunk; json parses it in place and
                # says where it ends. Anything else (cut by the chunk, broken) takes the scan.
                self.fresh = False
                k = _BLANK.match(chunk, i).end()  # type: ignore[union-attr]  # it matches ""
                try:
                    value, end = _DECODER.raw_decode(chunk, k)
                except (ValueError, RecursionError):
                    value, end = _NOTHING, n
                e = _BLANK.match(chunk, end).end() if value is not _NOTHING else n  # type: ignore[union-attr]
                if e < n and chunk[e] in ",]":
                    self._advance(chunk, done, k)
                    yield Record(self.row, self.col, value)
                    self._advance(chunk, k, e)
                    done, i, taken = e, e + 1, e + 1
                    self.pieces, self.size = [], 0
                    self.start = (self.row, self.col + 1)
                    if chunk[e] == "]":
                        self.depth, self.closed = 0, True
                    else:
                        self.fresh = True
                    continue
            if self.in_string:
                end = _STRING_BODY.match(chunk, i).end()  # type: ignore[union-attr]  # it matches ""
                if end == n:
                    break
                if chunk[end] == "\\":  # the chunk ends inside an escape
                    self.escaped = True
                    break
                self.in_string = False
                i = end + 1
                continue
            m = _STRUCTURE.search(chunk, i)
            if m is None:
                break
            j, c = m.start(), m.group()
            i = j + 1
            if c == '"':
                self.in_string = True
            elif c in "[{":
                self.depth += 1
                if self.depth == 1:  # the array itself: its first element starts after the bracket
                    self._advance(chunk, done, j)
                    done, taken = j, i
                    self.pieces, self.size = [], 0  # what came before the array is no element
                    self.start = (self.row, self.col + 1)
                    self.fresh = True
            elif self.depth == 1 and c in ",]":
                self._advance(chunk, done, j)
                done = j
                self._take(chunk[taken:j])
                record = self._element(last=c == "]")
                if record is not None:
                    yield record
                taken = i
                self.start = (self.row, self.col + 1)
                if c == "]":
                    self.depth, self.closed = 0, True
                else:
                    self.fresh = True
            elif c in "]}" and self.depth > 1:
                self.depth -= 1
        if not self.closed:
            self._take(chunk[taken:])
            self.fresh = self.fresh and not chunk[taken:].strip(_WS)
        elif not self.trailing and (rest := chunk[i:].lstrip(_WS)):
            self.trailing = True
            self._advance(chunk, done, n - len(rest))
            yield invalid(self.filename, "not valid JSON: Extra data after the array", self.row, self.col)
            return
        self._advance(chunk, done, n)

    def _take(self, text: str) -> None:
        if self.too_long or not text:
            return
        self.size += len(text)
        if self.size > MAX_RECORD:
            self.pieces, self.too_long = [], True
        else:
            self.pieces.append(text)

    def _element(self, last: bool) -> Record | Finding | None:
        text = "".join(self.pieces)
        too_long = self.too_long
        self.pieces, self.size, self.too_long = [], 0, False
        row, col = self.start
        body = text.lstrip(_WS)
        lead = text[:len(text) - len(body)]
        if "\n" in lead:
            row, col = row + lead.count("\n"), len(lead) - lead.rfind("\n")
        else:
            col += len(lead)
        if too_long:
            return invalid(self.filename, f"array element is longer than {MAX_RECORD:,} characters; it was skipped",
                           row, col)
        if last and not body:  # "[]" or the end after an element
            return None
        return _record(body.rstrip(_WS), self.filename, row, col, "array element")

    def finish(self) -> Iterator[Finding]:
        if not self.closed:
            yield invalid(self.filename, "not valid JSON: the array is not closed", self.row, self.col + 1)


def _array(chunks: Iterator[str | Finding], filename: str) -> Iterator[Record | Finding]:
    scanner = _ArrayScanner(filename)
    for chunk in chunks:
        if isinstance(chunk, Finding):
            yield chunk
            return
        yield from scanner.feed(chunk)
    yield from scanner.finish()


def _looks_jsonl(text: str) -> bool:
    """Whether any of the first few lines is a JSON object on its own."""
    lines = [ln for ln in text.splitlines()[:20] if ln.strip()][:5]
    for line in lines:
        try:
            if isinstance(_loads(line), dict):
                return True
        except ValueError:
            continue
    return False


def _first_character(stream: IO[bytes]) -> int | None:
    """The offset of the first byte that is neither whitespace nor the BOM, or None."""
    done = 0
    blank = _WS.encode()
    while chunk := stream.read(_CHUNK):
        if not done and chunk.startswith(codecs.BOM_UTF8):
            done, chunk = len(codecs.BOM_UTF8), chunk[len(codecs.BOM_UTF8):]
        rest = chunk.lstrip(blank)
        if rest:
            return done + len(chunk) - len(rest)
        done += len(chunk)
    return None


def read_records(stream: IO[bytes], filename: str, jsonl: bool) -> Iterator[Record | Finding]:
    """Records of a seekable binary stream (with where each starts), or OTL000 findings where it
    can't be read: JSONL line by line, a top-level array element by element, else one document."""
    if jsonl:
        yield from _jsonl(stream, filename)
        return
    start = _first_character(stream)
    if start is None:
        return
    stream.seek(start)
    first = stream.readline(_CHUNK)
    stream.seek(0)
    if first.startswith(b"["):
        yield from _array(_text_chunks(stream, filename), filename)
        return
    try:
        one_line = isinstance(_loads(first.decode("utf-8")), dict)
    except ValueError:
        one_line = False
    if one_line:  # a one-line document or a log: both are read line by line
        yield from _jsonl(stream, filename)
        return
    yield from _document(stream, filename)


def _document(stream: IO[bytes], filename: str) -> Iterator[Record | Finding]:
    """One JSON document (at most :data:`MAX_RECORD` bytes), or a log whose first line is broken."""
    data = stream.read(MAX_RECORD + 1)
    if len(data) > MAX_RECORD:
        yield invalid(filename, f"document is longer than {MAX_RECORD:,} bytes and is not an array or JSONL; "
                                "it was skipped")
        return
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        yield invalid(filename, f"not UTF-8 text: {exc.reason} at byte {exc.start}")
        return
    start = len(text) - len(text.lstrip(_WS))
    try:
        value = _loads(text)
    except ValueError as exc:
        syntax = isinstance(exc, json.JSONDecodeError)
        if syntax and (exc.msg == "Extra data" or _looks_jsonl(text)):  # type: ignore[attr-defined]
            stream.seek(0)
            yield from _jsonl(stream, filename)
            return
        row = exc.lineno if syntax else 1  # type: ignore[attr-defined]
        col = exc.colno if syntax else 1  # type: ignore[attr-defined]
        yield invalid(filename, _problem(exc, ""), row, col)
        return
    row = text.count("\n", 0, start) + 1
    yield Record(row, start - (text.rfind("\n", 0, start) + 1) + 1, value)


def _open(source: str) -> tuple[IO[bytes] | None, str | None]:
    """A seekable binary stream of a file, or why it can't be read. Stdin and pipes are spooled to
    a temporary file (disk, not memory), as telling a document from a log may read its start twice."""
    try:
        if source == "-":
            return _spool(sys.stdin.buffer), None
        stream = open(source, "rb")  # noqa: SIM115 - the caller closes it
        if stream.seekable():
            return stream, None
        with stream:
            return _spool(stream), None
    except OSError as exc:
        return None, f"can't read: {exc.strerror or exc}"


def _spool(stream: IO[bytes]) -> IO[bytes]:
    spool = tempfile.TemporaryFile()  # noqa: SIM115 - returned open; the caller closes it
    shutil.copyfileobj(stream, spool)
    spool.seek(0)
    return spool


def records(source: str, name: str) -> Iterator[Record | Finding]:
    """Every record of one input (a path or ``-``) in order, or OTL000 where it can't be read."""
    stream, error = _open(source)
    if stream is None:
        yield invalid(name, error or "can't read")
        return
    with stream:
        try:
            yield from read_records(stream, name, source.endswith((".jsonl", ".ndjson")))
        except OSError as exc:
            yield invalid(name, f"can't read: {exc.strerror or exc}")
