"""Show that the byte prefilter is exact on the whole corpus.

    python bench/verify_prefilter.py

For every corpus file the prefilter rules out, Python's ast must find no candidate at all (no
target call, orq SDK call, span attribute call, orq SDK thread model, orq= keyword or orq payload
dict): the full check would have reported nothing there. Prints the counts; exits 1 if any file was wrongly skipped.
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
from orq_thread_lint.static.checker import gate, targets
from orq_thread_lint.static.segments import plan


def main() -> int:
    policy = Policy.preset()
    prefilter, calls = gate(policy), targets(policy)
    kept = skipped = unparsable = 0
    wrong: list[str] = []
    start = time.perf_counter()
    for path in files(build()):
        data = path.read_bytes()
        if prefilter.may_hold(data):
            kept += 1
            continue
        skipped += 1
        try:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                tree = ast.parse(data)
        except (SyntaxError, ValueError):
            unparsable += 1
            continue
        if plan(tree, calls) is not None:
            wrong.append(str(path))
    print(f"{kept} files kept, {skipped} ruled out ({unparsable} of them not parsable by this Python); "
          f"ruled out wrongly: {len(wrong)}  [{time.perf_counter() - start:.0f} s]")
    for name in wrong:
        print("  ", name)
    return 1 if wrong else 0


if __name__ == "__main__":
    sys.exit(main())
