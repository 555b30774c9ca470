"""``# noqa`` comments, ruff's way: ``# noqa`` silences every rule on its line, ``# noqa: OTL003,
OTL004`` those codes. ``# orq-thread-lint: skip-file`` skips a whole file."""

from __future__ import annotations

import re

SKIP_FILE = b"orq-thread-lint: skip-file"
_NOQA = re.compile(r"#\s*noqa(?::[\s]?(?P<codes>[A-Z]+[0-9]+(?:[,\s]+[A-Z]+[0-9]+)*))?", re.IGNORECASE)


def suppressed(line: str, code: str) -> bool:
    if "#" not in line:
        return False
    for m in _NOQA.finditer(line):
        codes = m.group("codes")
        if codes is None:
            return True
        if code in {c.upper() for c in re.split(r"[,\s]+", codes) if c}:
            return True
    return False
