"""The guard's cost in instructions, not seconds: repeatable on a busy machine.

    python bench/guard_instructions.py [--calls 400]

Runs each workload (conversations of 10 turns; a new thread id on every call) for the unguarded
and the guarded client of ``bench/guard.py`` under valgrind's callgrind. The program dumps the
counters after a warm-up, after an empty interval and after the measured calls (callgrind_control
-d), so start-up and imports don't count; the empty interval's cost (the dump itself) is taken
off. Prints instructions per ``create()`` and the guarded/raw ratio (target <= 1.03).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r'''
import itertools, os, subprocess, sys
sys.path.insert(0, {here!r})
from guard import MSG, POLICY, _client
from orq_thread_lint import guard, thread_scope
from orq_thread_lint.runtime.stores import MemoryStore

guarded, turns, calls = {guarded!r}, {turns!r}, {calls!r}
client = guard(_client(), POLICY, store=MemoryStore(), mode="enforce") if guarded else _client()
ids = itertools.count()

def send(_i):
    n = next(ids) // turns
    with thread_scope(f"u{{n}}"):
        client.chat.completions.create(model="m", messages=MSG, extra_body={{
            "orq": {{"thread": {{"id": f"user-{{n}}-9f1c", "tags": ["support"]}}}}}})

def dump(label):
    subprocess.run(["callgrind_control", "-d", label, str(os.getpid())], capture_output=True, check=True)

for i in range(200):
    send(i)
dump("warm")
dump("empty")
for i in range(calls):
    send(i)
dump("measured")
'''


def interval(folder: Path, label: str) -> int:
    for path in folder.glob("cg.out*"):
        text = path.read_text(errors="replace")
        if f"desc: Trigger: dump {label}\n" in text:
            found = re.search(r"^summary: (\d+)", text, re.M)
            if found:
                return int(found.group(1))
    raise SystemExit(f"no callgrind dump named {label!r} in {folder}")


def per_call(guarded: bool, turns: int, calls: int) -> float:
    folder = Path(tempfile.mkdtemp(prefix="otl-callgrind-"))
    script = folder / "child.py"
    script.write_text(CHILD.format(here=str(HERE), guarded=guarded, turns=turns, calls=calls))
    python = os.path.realpath(sys.executable)  # valgrind must run the interpreter, not a shim script
    subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={folder / 'cg.out'}", python, str(script)],
                   check=True, capture_output=True, env={**os.environ, "PYTHONHASHSEED": "0"})
    return (interval(folder, "measured") - interval(folder, "empty")) / calls


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--calls", type=int, default=400)
    args = parser.parse_args()
    for label, turns in (("conversations of 10 turns", 10), ("a new thread id on every call", 1)):
        raw = per_call(False, turns, args.calls)
        guarded = per_call(True, turns, args.calls)
        print(f"{label}: create() unguarded {raw:,.0f} instructions, guarded {guarded:,.0f}, "
              f"ratio {guarded / raw:.3f} ({args.calls} calls under callgrind)")


if __name__ == "__main__":
    main()
