"""Benchmark: ``orq-thread-lint validate`` on generated JSONL logs and JSON arrays at 1x and 4x
size (peak memory of the process and wall time, medians of alternating runs), and one ``re:``
pattern that backtracking takes exponential time on, next to Python's ``re`` on the same input.

    python bench/validate_limits.py             # 64 MB and 256 MB files, 3 rounds
    python bench/validate_limits.py --mb 256    # 256 MB and 1 GB

Linear means: 4x the file takes about 4x the time and the same memory.
"""

from __future__ import annotations

import argparse
import json
import re
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent / "orq-thread-lint"


def _write(path: Path, megabytes: int, array: bool) -> None:
    target = megabytes * 1024 * 1024
    with path.open("w", encoding="utf-8") as out:
        out.write("[\n" if array else "")
        done, i = 0, 0
        while done < target:
            line = json.dumps({"model": "m", "messages": [{"role": "user", "content": f"question {i} 😀 " * 20}],
                               "orq": {"identity": {"id": f"u{i % 1000}"},
                                       "thread": {"id": f"user-{i % 1000}-a93f", "tags": ["support"]}}})
            out.write(("," if array and i else "") + line + "\n")
            done += len(line) + 1
            i += 1
        out.write("]\n" if array else "")


# Runs a command and prints its peak resident memory (a fresh parent per run, so peaks don't mix).
_PEAK = ("import resource, subprocess, sys; p = subprocess.run(sys.argv[1:], capture_output=True); "
         "print(p.returncode, resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss)")


def _run(path: Path) -> tuple[float, float]:
    """Wall seconds and peak resident MB of one ``validate`` process."""
    start = time.perf_counter()
    out = subprocess.run([sys.executable, "-c", _PEAK, str(BIN), "validate", str(path), "-q"],
                         capture_output=True, text=True, check=True).stdout.split()
    elapsed = time.perf_counter() - start
    if out[0] not in ("0", "1"):
        raise SystemExit(f"validate exited {out[0]}")
    return elapsed, int(out[1]) / 1024


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--mb", type=int, default=64, help="size of the 1x file (the 4x one is four times that)")
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as folder:
        for array in (False, True):
            files = [Path(folder) / f"{n}.{'json' if array else 'jsonl'}" for n in (args.mb, 4 * args.mb)]
            for path, mb in zip(files, (args.mb, 4 * args.mb), strict=True):
                _write(path, mb, array)
            times: dict[Path, list[float]] = {p: [] for p in files}
            peaks: dict[Path, list[float]] = {p: [] for p in files}
            for _ in range(args.rounds):
                for path in files:
                    elapsed, peak = _run(path)
                    times[path].append(elapsed)
                    peaks[path].append(peak)
            small, large = (statistics.median(times[p]) for p in files)
            kind = "JSON array" if array else "JSONL"
            low, high = (statistics.median(peaks[p]) for p in files)
            print(f"{kind}: {args.mb} MB {small:.1f} s, {4 * args.mb} MB {large:.1f} s (ratio {large / small:.2f}); "
                  f"peak RSS {low:.0f} MB, then {high:.0f} MB")
    sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "src"))
    from orq_thread_lint.templates import TemplateSet

    pattern = "(a+)+b"
    automaton = TemplateSet.compile(["re:" + pattern])
    for n in (20, 22, 24):
        text = "a" * n + "!"
        start = time.perf_counter()
        re.fullmatch(pattern, text)
        backtracking = time.perf_counter() - start
        start = time.perf_counter()
        automaton.matches(text)
        print(f"re:{pattern} on {n + 1} characters: Python re {backtracking * 1e3:.1f} ms, "
              f"automaton {(time.perf_counter() - start) * 1e3:.3f} ms")


if __name__ == "__main__":
    main()
