"""Benchmark: Policy.check_thread on a thread with an id and 3 tags, against 7 id patterns and a
20-tag vocabulary. Prints the median of many repeats (target: under 10 microseconds).

    python bench/check_thread.py
"""

from __future__ import annotations

import statistics
import timeit

from orq_thread_lint import Policy

POLICY = Policy.from_dict({
    "thread-id": {"patterns": [
        "user-{user_id}-{session_id}", "ticket-{ticket_id:int}", "test-{variant}-{user_id}",
        "workflow-{process_id}", "conversation-{id:uuid}", "thread_{id:ulid}", "job-{kind:slug}-{n:hex}",
    ]},
    "tags": {"vocabulary": [f"team-{i}" for i in range(17)] + ["support", "billing", "sales"],
             "patterns": ["priority-{level:low|medium|high}"]},
})
THREAD = {"id": "user-8842-a93f1c2e", "tags": ["support", "billing", "priority-high"]}


def main() -> None:
    assert POLICY.check_thread(THREAD) == []
    number = 20_000
    runs = timeit.repeat(lambda: POLICY.check_thread(THREAD), number=number, repeat=15)
    per_call = [r / number * 1e6 for r in runs]
    print(f"check_thread: median {statistics.median(per_call):.2f} us/call "
          f"(min {min(per_call):.2f}, max {max(per_call):.2f}; 15 x {number} calls)")
    fresh = [{"id": f"user-{n}-a93f1c2e", "tags": THREAD["tags"]} for n in range(number)]
    runs = timeit.repeat(lambda: [POLICY.check_thread(t) for t in fresh], number=1, repeat=15)
    print(f"check_thread, a new id every call: median {statistics.median(runs) / number * 1e6:.2f} us/call")
    bad = {"id": "conversation1", "tags": ["support", "support", "jane@example.com"]}
    runs = timeit.repeat(lambda: POLICY.check_thread(bad), number=number // 4, repeat=9)
    print(f"check_thread (3 findings): median {statistics.median(runs) / (number // 4) * 1e6:.2f} us/call")


if __name__ == "__main__":
    main()
