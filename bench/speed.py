"""Benchmark `orq-thread-lint check` against ruff (and fixit) on a multi-million-line corpus.

    python bench/speed.py [--rounds 5] [--fixit-part click]

Builds the corpus once (bench/corpus.py), then runs, alternating in one process:
- cold: `orq-thread-lint check --no-cache` vs `ruff check --isolated --no-cache` (ruff's defaults);
- warm: `orq-thread-lint check` with a primed cache, nothing changed;
- scaling: a quarter, a half and all of the corpus, both tools;
- fixit (`fixit lint`) on one package of the corpus, with both other tools on the same files.
It prints medians and ratios, the peak memory of each run's whole process tree, and checks that
the findings are the same with and without the cache and with one or several jobs.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import build, files

OURS = str(Path(sys.executable).parent / "orq-thread-lint")


def _tree_rss(pid: int) -> int:
    """Resident memory of a process and its descendants, in bytes."""
    total = 0
    todo = [pid]
    while todo:
        current = todo.pop()
        try:
            with open(f"/proc/{current}/statm") as fh:
                total += int(fh.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
            with open(f"/proc/{current}/task/{current}/children") as fh:
                todo.extend(int(c) for c in fh.read().split())
        except (OSError, ValueError):
            continue
    return total


def timed(cmd: list[str], cwd: str | None = None) -> tuple[float, int, str]:
    """Wall time, peak memory of the process tree, and stdout."""
    start = time.perf_counter()
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.DEVNULL, text=True, cwd=cwd)
    peak = 0
    done = threading.Event()

    def sample() -> None:
        nonlocal peak
        while not done.is_set():
            peak = max(peak, _tree_rss(proc.pid))
            time.sleep(0.005)

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    out, _ = proc.communicate()
    elapsed = time.perf_counter() - start
    done.set()
    sampler.join()
    return elapsed, peak, out


def median_of(runs: list[tuple[float, int, str]]) -> tuple[float, int]:
    return statistics.median(r[0] for r in runs), max(r[1] for r in runs)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--fixit-part", default="click")
    args = parser.parse_args()

    site = build()
    venv_bin = site.parents[2] / "bin"
    ruff, fixit = str(venv_bin / "ruff"), str(venv_bin / "fixit")
    all_files = files(site)
    lines = sum(p.read_bytes().count(b"\n") for p in all_files)
    print(f"corpus: {site}\n  {len(all_files)} .py files, {lines:,} lines; {os.cpu_count()} cores")

    cache = tempfile.mkdtemp(prefix="otl-bench-cache-")
    ours_cold = [OURS, "check", str(site), "--no-cache", "--exit-zero", "--format", "json"]
    ours_warm = [OURS, "check", str(site), "--cache-dir", cache, "--exit-zero", "--format", "json"]
    ruff_cmd = [ruff, "check", "--isolated", "--no-cache", "--exit-zero", "-q", str(site)]

    primed = timed(ours_warm)[2]
    cold, warm, peer = [], [], []
    for _ in range(args.rounds):
        peer.append(timed(ruff_cmd))
        cold.append(timed(ours_cold))
        warm.append(timed(ours_warm))
    r_t, r_m = median_of(peer)
    c_t, c_m = median_of(cold)
    w_t, w_m = median_of(warm)
    print(f"\nwhole corpus, medians of {args.rounds} alternating runs:")
    print(f"  ruff check --isolated --no-cache   {r_t:6.2f} s   peak {r_m / 2**20:6.0f} MB")
    print(f"  orq-thread-lint check --no-cache   {c_t:6.2f} s   peak {c_m / 2**20:6.0f} MB   {c_t / r_t:5.2f}x ruff")
    print(f"  orq-thread-lint check (warm cache) {w_t:6.2f} s   peak {w_m / 2**20:6.0f} MB   {w_t / r_t:5.2f}x ruff")

    one_job = timed([*ours_cold, "--jobs", "1"])[2]
    same = json.loads(primed) == json.loads(cold[0][2]) == json.loads(warm[0][2]) == json.loads(one_job)
    print(f"  same findings cold / warm / --jobs 1 / parallel: {same} ({len(json.loads(primed))} findings)")

    print("\nscaling (medians, explicit file lists):")
    for label, step in (("1/4", 4), ("1/2", 2), ("all", 1)):
        part = [str(p) for p in all_files[::step]]
        ours_runs, ruff_runs = [], []
        for _ in range(max(3, args.rounds // 2)):
            ruff_runs.append(timed([ruff, "check", "--isolated", "--no-cache", "--exit-zero", "-q", *part]))
            ours_runs.append(timed([OURS, "check", "--no-cache", "--exit-zero", "-q", *part]))
        o_t, _ = median_of(ours_runs)
        f_t, _ = median_of(ruff_runs)
        print(f"  {label:>3} ({len(part):5} files): orq-thread-lint {o_t:5.2f} s, ruff {f_t:5.2f} s, "
              f"ratio {o_t / f_t:4.2f}")

    # fixit skips what git ignores (the corpus is), so the part is copied outside the repository.
    part = Path(tempfile.mkdtemp(prefix="otl-bench-part-")) / args.fixit_part
    shutil.copytree(site / args.fixit_part, part)
    part_lines = sum(p.read_bytes().count(b"\n") for p in files(part))
    fixit_t = timed([fixit, "lint", str(part)], cwd=str(part.parent))[0]
    ours_cmd = [OURS, "check", "--no-cache", "--exit-zero", "-q", str(part)]
    ruff_part = [ruff, "check", "--isolated", "--no-cache", "--exit-zero", "-q", str(part)]
    ours_t = statistics.median(timed(ours_cmd)[0] for _ in range(3))
    ruff_t = statistics.median(timed(ruff_part)[0] for _ in range(3))
    print(f"\nfixit on {args.fixit_part} ({part_lines:,} lines): fixit {fixit_t:.2f} s, ruff {ruff_t:.2f} s, "
          f"orq-thread-lint {ours_t:.2f} s ({fixit_t / ours_t:.0f}x faster than fixit)")


if __name__ == "__main__":
    main()
