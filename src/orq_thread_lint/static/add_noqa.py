"""``check --add-noqa``: silence every current finding with a ``# noqa: CODE`` on its line, so a
large codebase can adopt the checker at once and new code is held to the policy (ruff's
``--add-noqa``). Codes are merged into a directive the line already has; a row inside a
multi-line string or a backslash continuation gets the directive where that construct ends."""

from __future__ import annotations

import ast
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from ..report import Finding
from .checker import decode
from .comments import Comments, scan
from .fixes import write_atomically
from .segments import source_lines

# Not silenced: a file that can't be read or parsed, and a stale directive (that one is removed).
_NEVER = frozenset({"OTL000", "OTL900"})


@dataclass
class Added:
    directives: int = 0
    files: int = 0
    skipped: list[tuple[str, str]] = field(default_factory=list)  # (file, why)


def _with_codes(line: str, comments: Comments, row: int, codes: Iterable[str]) -> str:
    body = line.rstrip("\r\n")
    ending = line[len(body):]
    for d in comments.directives.get(row, ()):
        if d.codes is not None:
            merged = list(d.codes) + sorted(c for c in set(codes) if c not in d.codes)
            return body[: d.start] + "# noqa: " + ", ".join(merged) + body[d.end :] + ending
    return body.rstrip(" \t") + "  # noqa: " + ", ".join(sorted(set(codes))) + ending


def add_noqa(findings: Iterable[Finding]) -> Added:
    by_file: dict[str, set[tuple[int, str]]] = defaultdict(set)
    for f in findings:
        if f.code not in _NEVER:
            by_file[f.filename].add((f.row, f.code))
    done = Added()
    for filename, found in sorted(by_file.items()):
        path = Path(filename)
        if path.suffix == ".ipynb":
            done.skipped.append((filename, "notebooks are not edited by --add-noqa yet"))
            continue
        try:
            text, encoding = decode(path.read_bytes())
        except (OSError, SyntaxError, UnicodeDecodeError, LookupError) as exc:
            done.skipped.append((filename, f"can't read: {exc}"))
            continue
        comments = scan(text)
        if comments is None:
            done.skipped.append((filename, "doesn't tokenize"))
            continue
        rows: dict[int, set[str]] = defaultdict(set)
        for row, code in found:
            rows[comments.comment_row(row)].add(code)
        lines = source_lines(text)
        for row, codes in rows.items():
            if row <= len(lines):
                lines[row - 1] = _with_codes(lines[row - 1], comments, row, codes)
        new = "".join(lines)
        if new == text:
            continue
        try:
            ast.parse(new)
        except (SyntaxError, ValueError):
            done.skipped.append((filename, "adding the comments would break the file; left unchanged"))
            continue
        write_atomically(path, new, encoding)
        done.directives += len(rows)
        done.files += 1
    return done
