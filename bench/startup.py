"""Start-up: what a pre-commit hook pays on every commit, against ruff on the same file.

    python bench/startup.py [--rounds 7]

Times, alternating in one process (one round runs every command once), the console scripts of
this Python's environment in a temporary folder:
- `check --no-cache` on one clean file, and on one file with a finding, with no config and with a
  `pyproject.toml` policy (its validated form cached, as after the first run);
- `rule OTL003`, and `validate` on a one-line log;
- `ruff check --isolated --no-cache` on the clean file.
Each command runs once before the rounds, so bytecode and the cache of validated configs are
written (an installed package has its bytecode; PYTHONDONTWRITEBYTECODE is dropped for the runs).
Prints the median wall time of each, its ratio to ruff's, and the load average.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

BIN = Path(sys.executable).parent
CONFIG = '[tool.orq-thread-lint]\nignore = ["OTL016"]\n\n[tool.orq-thread-lint.tags]\nvocabulary = ["billing"]\n'
BAD = ('client.chat.completions.create(model="m", messages=[], '
       'extra_body={"orq": {"thread": {"id": "conversation1"}}})\n')


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rounds", type=int, default=7)
    args = parser.parse_args()
    ours, ruff = str(BIN / "orq-thread-lint"), str(BIN / "ruff")
    with tempfile.TemporaryDirectory() as tmp:
        bare, configured = Path(tmp, "bare"), Path(tmp, "configured")
        for folder in (bare, configured):
            folder.mkdir()
            (folder / "clean.py").write_text("x = 1\n", encoding="utf-8")
            (folder / "bad.py").write_text(BAD, encoding="utf-8")
            (folder / "one.jsonl").write_text('{"model": "m", "orq": {"thread": {"id": "user-1-9f8e7d"}}}\n',
                                              encoding="utf-8")
        (configured / "pyproject.toml").write_text(CONFIG, encoding="utf-8")
        env = {k: v for k, v in os.environ.items() if k != "PYTHONDONTWRITEBYTECODE"}
        env["XDG_CACHE_HOME"] = str(Path(tmp, "cache"))
        commands = {
            "check, clean file": (bare, [ours, "check", "--no-cache", "clean.py"]),
            "check, clean file, config": (configured, [ours, "check", "--no-cache", "clean.py"]),
            "check, a finding": (bare, [ours, "check", "--no-cache", "bad.py"]),
            "check, a finding, config": (configured, [ours, "check", "--no-cache", "bad.py"]),
            "rule OTL003": (bare, [ours, "rule", "OTL003"]),
            "validate, one line": (bare, [ours, "validate", "one.jsonl"]),
            "ruff check, clean file": (bare, [ruff, "check", "--isolated", "--no-cache", "clean.py"]),
        }
        for cwd, cmd in commands.values():  # bytecode, the config cache
            subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        load = os.getloadavg()[0]
        times: dict[str, list[float]] = {name: [] for name in commands}
        for _ in range(args.rounds):
            for name, (cwd, cmd) in commands.items():
                start = time.perf_counter()
                subprocess.run(cmd, cwd=cwd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                times[name].append(time.perf_counter() - start)
    ruff_median = statistics.median(times["ruff check, clean file"])
    print(f"medians of {args.rounds} alternating runs; load average {load:.2f} -> {os.getloadavg()[0]:.2f}, "
          f"{os.cpu_count()} cores")
    for name, values in times.items():
        median = statistics.median(values)
        print(f"{name:<28} {median:7.3f} s  {median / ruff_median:6.1f}x ruff")


if __name__ == "__main__":
    main()
