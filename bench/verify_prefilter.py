"""Show that the byte prefilter is exact on the whole corpus.

    python bench/verify_prefilter.py

For every corpus file the prefilter rules out, Python's ast must find no candidate at all (no
target call, orq SDK call, span attribute call, orq SDK thread model, orq= keyword or orq payload
dict): the full check would have reported nothing there. For every file it keeps, the rows it hits
must lead the ast gate to every statement holding a candidate. Prints the counts; exits 1 if any
file was wrongly skipped or a statement missed.
"""

from __future__ import annotations

import ast
import sys
import time
import warnings
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import build, files

from orq_thread_lint.policy import Policy
from orq_thread_lint.static.checker import decode, gate, targets
from orq_thread_lint.static.scopes import Words
from orq_thread_lint.static.segments import line_starts, plan, source_lines


def main() -> int:
    policy = Policy.preset()
    prefilter, calls = gate(policy), targets(policy)
    kept = skipped = unparsable = 0
    wrong: list[str] = []
    start = time.perf_counter()
    for path in files(build()):
        data = path.read_bytes()
        held = prefilter.may_hold(data)
        kept += held
        skipped += not held
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                text, _ = decode(data)
                tree = ast.parse(text)
        except (SyntaxError, ValueError, UnicodeDecodeError, LookupError):
            unparsable += not held
            continue
        every = {id(stmt) for stmt, _, _ in plan(tree, calls, None, None)}
        if not held:
            if every:
                wrong.append(f"{path}: ruled out, holds candidates")
            continue
        # the rows the byte scan hits must lead to every statement that holds a candidate
        words = Words(text)
        rows = prefilter.rows(text, line_starts(source_lines(text)))
        if {id(stmt) for stmt, _, _ in plan(tree, calls, rows, words.rows("orq_ai_sdk"))} != every:
            wrong.append(f"{path}: its rows miss a statement")
    print(f"{kept} files kept, {skipped} ruled out ({unparsable} of them not parsable by this Python); "
          f"ruled out wrongly: {len(wrong)}  [{time.perf_counter() - start:.0f} s]")
    for name in wrong:
        print("  ", name)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
