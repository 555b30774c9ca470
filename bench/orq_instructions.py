"""The orq SDK guard's cost in instructions, not seconds: repeatable on a busy machine.

    python bench/orq_instructions.py

Under valgrind's callgrind, counts the instructions of (a) ``deployments.invoke`` on an unguarded
``Orq`` client with an in-process transport and (b) the guard's check of the request such a call
sends (JSON body read, policy, scope, memory-store bind). Each is run for two call counts and the
difference is divided by the difference in calls, so start-up and imports cancel out. Prints both
per call and the guarded/raw ratio ``(a + b) / a`` (target <= 1.05).
"""

from __future__ import annotations

import re
import subprocess
import sys
import tempfile
from pathlib import Path

HERE = Path(__file__).resolve().parent

CHILD = r'''
import itertools, sys
sys.path.insert(0, {here!r})
import httpx
from orq_ai_sdk import Orq
from guard import DEPLOYMENT, MSG, POLICY
from orq_thread_lint import guard, thread_scope
from orq_thread_lint.runtime.stores import MemoryStore

what, calls = {what!r}, {calls!r}
transport = httpx.MockTransport(lambda r: httpx.Response(200, content=DEPLOYMENT,
                                                         headers={{"content-type": "application/json"}}))
plain = Orq(api_key="k", server_url="http://router.invalid", client=httpx.Client(transport=transport))
checks = type(guard(plain, POLICY, store=MemoryStore()))._orq_thread_guard
ctx = type("Ctx", (), {{"operation_id": "DeploymentInvoke"}})()
requests = [httpx.Request("POST", "http://router.invalid/v2/deployments/invoke", json={{
    "key": "support", "stream": False, "messages": MSG, "thread": {{"id": f"user-{{n}}-9f1c", "tags": ["support"]}}}})
    for n in range(calls + 1)]
if what == "invoke":
    plain.deployments.invoke(key="support", messages=MSG, thread={{"id": "user-x-9f1c"}})  # warm
    for n in range(calls):
        plain.deployments.invoke(key="support", messages=MSG, thread={{"id": f"user-{{n}}-9f1c", "tags": ["support"]}})
else:
    checks.check(ctx, requests[-1], requests[-1])  # warm
    for n in range(calls):
        with thread_scope(f"u{{n}}"):
            checks.check(ctx, requests[n], requests[n])
'''


def instructions(what: str, calls: int) -> int:
    with tempfile.TemporaryDirectory() as tmp:
        out = Path(tmp) / "callgrind.out"
        subprocess.run(["valgrind", "--tool=callgrind", f"--callgrind-out-file={out}", sys.executable, "-c",
                        CHILD.format(here=str(HERE), what=what, calls=calls)],
                       check=True, capture_output=True, timeout=3600)
        summary = re.search(r"^summary:\s+(\d+)", out.read_text(), re.M)
        assert summary, "no callgrind summary"
        return int(summary.group(1))


def per_call(what: str, low: int, high: int) -> float:
    return (instructions(what, high) - instructions(what, low)) / (high - low)


def main() -> None:
    invoke = per_call("invoke", 2, 6)
    check = per_call("check", 200, 1200)
    print(f"deployments.invoke, unguarded: {invoke / 1e6:.2f} M instructions per call")
    print(f"the guard's check of its request: {check / 1e3:.1f} k instructions per call")
    print(f"guarded/raw: {(invoke + check) / invoke:.4f}")


if __name__ == "__main__":
    main()
