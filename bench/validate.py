"""Benchmark ``orq-thread-lint validate`` on a generated JSONL log, with and without continuity (OTL008).

    python bench/validate.py                 # a 64 MB log (bench/.validate-<size>mb.jsonl, built once)
    python bench/validate.py --size-mb 1024  # the 1 GB run of issue 13 (a quiet machine: minutes)

The log holds conversations of 1-12 turns that resend their history (system prompt, user and
assistant messages of realistic length), interleaved as concurrent users write them, with a
thread id per conversation; one conversation in 20 switches its id mid-way (a split). Each round
runs the command once with OTL008 and once with ``--ignore OTL008``, alternating; the medians of
the wall times give the throughput and the ratio (target <= 1.3). Peak memory is the child's
maximum resident set size.
"""

from __future__ import annotations

import argparse
import json
import random
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
CLI = Path(sys.executable).parent / "orq-thread-lint"
WORDS = ("invoice", "refund", "account", "delivery", "order", "payment", "address", "discount", "the", "my",
         "when", "why", "please", "last", "month", "twice", "again", "status", "number", "help")


def _text(rng: random.Random, words: int) -> str:
    return " ".join(rng.choice(WORDS) for _ in range(words))


def build(path: Path, size_mb: int, seed: int = 7) -> tuple[int, int]:
    """Write the log; returns (records, conversations with a split)."""
    rng = random.Random(seed)
    target = size_mb * 1024 * 1024
    written = records = splits = 0
    live: list[dict[str, object]] = []
    conversation = 0
    with path.open("w", encoding="utf-8") as out:
        while written < target:
            while len(live) < 200:  # concurrent conversations
                conversation += 1
                switch = rng.randint(1, 6) if rng.random() < 0.05 else None
                splits += switch is not None
                system = {"role": "system", "content": "You are the support assistant. " + _text(rng, 30)}
                live.append({"n": conversation, "turns": rng.randint(1, 12), "sent": 0, "switch": switch,
                             "messages": [system]})
            c = live[rng.randrange(len(live))]
            messages: list[dict[str, str]] = c["messages"]  # type: ignore[assignment]
            messages.append({"role": "user", "content": _text(rng, rng.randint(5, 40))})
            switch = c["switch"]
            suffix = "b" if switch is not None and c["sent"] >= switch else "a"  # type: ignore[operator]
            body = {"model": "gpt-4o", "messages": messages,
                    "orq": {"identity": {"id": f"user-{c['n']}"},
                            "thread": {"id": f"chat-{c['n']:08d}-{suffix}", "tags": ["support"]}}}
            line = json.dumps(body) + "\n"
            out.write(line)
            written += len(line.encode())
            records += 1
            messages.append({"role": "assistant", "content": _text(rng, rng.randint(20, 80))})
            c["sent"] += 1  # type: ignore[operator]
            if c["sent"] >= c["turns"]:  # type: ignore[operator]
                live.remove(c)
    return records, splits


def run(log: Path, *extra: str) -> tuple[float, int, str]:
    """Wall time, the child's peak RSS (KB) and its stdout tail."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    start = time.perf_counter()
    done = subprocess.run([str(CLI), "validate", "--statistics", "--exit-zero", *extra, str(log)],
                          capture_output=True, text=True, check=True)
    elapsed = time.perf_counter() - start
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return elapsed, max(peak, before), done.stdout


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--size-mb", type=int, default=64)
    parser.add_argument("--rounds", type=int, default=3)
    args = parser.parse_args()
    log = HERE / f".validate-{args.size_mb}mb.jsonl"
    if not log.exists():
        records, splits = build(log, args.size_mb)
        print(f"built {log.name}: {records} records, {splits} conversations that split")
    size = log.stat().st_size / 1024 / 1024
    on, off, peaks = [], [], {}
    for _ in range(args.rounds):
        t, peak, stats = run(log)
        on.append(t)
        peaks["on"] = peak
        t, peak, _ = run(log, "--ignore", "OTL008")
        off.append(t)
        peaks["off"] = peak
    print(stats.strip())
    a, b = statistics.median(on), statistics.median(off)
    print(f"validate {size:.0f} MB: with continuity {a:.2f} s ({size / a:.1f} MB/s), without {b:.2f} s "
          f"({size / b:.1f} MB/s), ratio {a / b:.3f} (medians of {args.rounds} alternating rounds); "
          f"peak RSS of the runs so far {peaks['on'] / 1024:.0f} MB")


if __name__ == "__main__":
    main()
