"""Speed where orq code is dense, next to ruff (and fixit) in the same run.

    python bench/dense_speed.py [--rounds 5] [--sdk PATH] [--lines 7500,15000,30000,60000]

Prints, from medians of alternating runs:
- the orq-dense corpus (bench/dense.py: Django with a call in every function): cold
  `check --no-cache` against `ruff check --isolated --no-cache`, default jobs against `--jobs 1`;
- `--sdk PATH`: a checkout of orq's Python SDK (fetched by you, never committed), cold and warm;
- one generated file of module-level orq calls at several sizes (linearity);
- fixit on one package of the dense corpus, as a second peer.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import build, corpus_dir
from dense import build_dense, generated_file
from speed import OURS, timed


def medians(cmds: dict[str, list[str]], rounds: int, cwd: str | None = None) -> dict[str, float]:
    runs: dict[str, list[float]] = {k: [] for k in cmds}
    for _ in range(rounds):
        for label, cmd in cmds.items():
            runs[label].append(timed(cmd, cwd)[0])
    return {k: statistics.median(v) for k, v in runs.items()}


def show(title: str, results: dict[str, float], peer: str = "ruff") -> None:
    print(f"\n{title}")
    for label, t in results.items():
        ratio = f"   {t / results[peer]:5.2f}x {peer}" if label != peer else ""
        print(f"  {label:<34} {t:7.2f} s{ratio}")


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--sdk", type=Path, help="a checkout of orq-ai/orq-python")
    parser.add_argument("--lines", default="7500,15000,30000,60000")
    parser.add_argument("--fixit-part", default="django/utils")
    args = parser.parse_args()

    site = build()
    venv_bin = site.parents[2] / "bin"
    ruff, fixit = str(venv_bin / "ruff"), str(venv_bin / "fixit")
    dense = corpus_dir() / "dense"
    files, lines, calls = build_dense(site / "django", dense)
    print(f"dense corpus: {dense}: {files} files, {lines:,} lines, {calls:,} orq calls")

    ours = [OURS, "check", "--no-cache", "--exit-zero", "-q"]
    ruff_cmd = [ruff, "check", "--isolated", "--no-cache", "--exit-zero", "-q"]
    show(f"orq-dense corpus, medians of {args.rounds} alternating runs:", medians({
        "ruff": [*ruff_cmd, str(dense)],
        "orq-thread-lint (default jobs)": [*ours, str(dense)],
        "orq-thread-lint --jobs 1": [*ours, "--jobs", "1", str(dense)],
    }, args.rounds))

    if args.sdk:
        cache = tempfile.mkdtemp(prefix="otl-bench-cache-")
        warm = [OURS, "check", "--cache-dir", cache, "--exit-zero", "-q", str(args.sdk)]
        timed(warm)
        show(f"orq's Python SDK ({args.sdk}), medians of {args.rounds} alternating runs:", medians({
            "ruff": [*ruff_cmd, str(args.sdk)],
            "orq-thread-lint cold": [*ours, str(args.sdk)],
            "orq-thread-lint --jobs 1 cold": [*ours, "--jobs", "1", str(args.sdk)],
            "orq-thread-lint warm": warm,
        }, args.rounds))

    print("\none generated file of module-level orq calls (one run each):")
    folder = Path(tempfile.mkdtemp(prefix="otl-bench-gen-"))
    previous = None
    for n in (int(x) for x in args.lines.split(",")):
        path = folder / f"gen_{n}.py"
        path.write_text(generated_file(n), encoding="utf-8")
        start = time.perf_counter()
        timed([*ours, str(path)])
        took = time.perf_counter() - start
        ruff_t = timed([*ruff_cmd, str(path)])[0]
        growth = f", {took / previous:4.2f}x the previous size's time" if previous else ""
        print(f"  {n:>6} lines: orq-thread-lint {took:7.2f} s, ruff {ruff_t:5.2f} s{growth}")
        previous = took

    part = dense / args.fixit_part
    if Path(fixit).exists() and part.is_dir():
        show(f"fixit on {args.fixit_part} of the dense corpus (one run each):", {
            "fixit": timed([fixit, "lint", str(part)], cwd=str(dense))[0],
            "ruff": timed([*ruff_cmd, str(part)])[0],
            "orq-thread-lint": timed([*ours, str(part)])[0],
        }, peer="fixit")


if __name__ == "__main__":
    main()
