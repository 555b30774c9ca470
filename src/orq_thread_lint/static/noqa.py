"""``# noqa`` comments, ruff's way: ``# noqa`` silences every rule on its line, ``# noqa: OTL003,
OTL004`` those codes; only a real comment counts (see ``comments``), and a row inside a
multi-line string or a backslash continuation takes its directive where that construct ends.
``# orq-thread-lint: skip-file`` skips a whole file."""

from __future__ import annotations

SKIP_FILE = b"orq-thread-lint: skip-file"
