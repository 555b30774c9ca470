"""``validate --summary``: what a log's threads look like, as text or JSON (HTML: report/html.py).

Threads, requests per thread (min, median, p95, max), one-request threads, requests without a
thread, the splits (OTL008) and overlaps (OTL007) with their lines, and the findings per rule.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Sequence
from typing import Any, TextIO

from . import Finding

SUMMARY_FORMATS = ("text", "json", "html")
# Histogram bins of requests per thread: (label, lowest, highest).
BINS = (("1", 1, 1), ("2", 2, 2), ("3", 3, 3), ("4", 4, 4), ("5-9", 5, 9), ("10-19", 10, 19),
        ("20-49", 20, 49), ("50-99", 50, 99), ("100+", 100, None))


class Summary:
    """Counts the requests of each thread while ``validate`` reads the log."""

    def __init__(self) -> None:
        self.requests = 0
        self.without_thread = 0
        self.per_thread: Counter[str] = Counter()

    def add(self, thread_ids: Sequence[tuple[str, str]]) -> None:
        self.requests += 1
        if thread_ids:
            self.per_thread[thread_ids[0][0]] += 1
        else:
            self.without_thread += 1

    def result(self, findings: Sequence[Finding]) -> dict[str, Any]:
        """The summary as plain data (what ``--format json`` prints and the HTML page shows)."""
        sizes = sorted(self.per_thread.values())
        histogram = [{"bin": label, "threads": sum(1 for n in sizes if n >= low and (high is None or n <= high))}
                     for label, low, high in BINS]
        ordered = sorted(findings, key=Finding.sort_key)
        return {
            "requests": self.requests,
            "threads": len(sizes),
            "requests_without_thread": self.without_thread,
            "requests_per_thread": {
                "min": sizes[0] if sizes else 0,
                "median": _median(sizes),
                "p95": _rank(sizes, 0.95),
                "max": sizes[-1] if sizes else 0,
            },
            "one_request_threads": sum(1 for n in sizes if n == 1),
            "histogram": histogram,
            "splits": [_listed(f) for f in ordered if f.code == "OTL008"],
            "overlaps": [_listed(f) for f in ordered if f.code == "OTL007"],
            "findings": len(findings),
            "rules": dict(sorted(Counter(f.code for f in findings).items())),
        }


def _median(sizes: Sequence[int]) -> float:
    if not sizes:
        return 0
    mid = len(sizes) // 2
    value = sizes[mid] if len(sizes) % 2 else (sizes[mid - 1] + sizes[mid]) / 2
    return int(value) if float(value).is_integer() else value


def _rank(sizes: Sequence[int], q: float) -> int:
    """The nearest-rank percentile: the smallest size at least ``q`` of the threads don't exceed."""
    if not sizes:
        return 0
    index = max(0, -(-int(q * 1000) * len(sizes) // 1000) - 1)
    return sizes[min(index, len(sizes) - 1)]


def _listed(f: Finding) -> dict[str, Any]:
    return {"file": f.filename, "line": f.row, "message": f.violation.message}


def render_text(summary: dict[str, Any], out: TextIO) -> None:
    per = summary["requests_per_thread"]
    out.write(f"Requests:             {summary['requests']}\n")
    out.write(f"Threads:              {summary['threads']}\n")
    out.write(f"Requests per thread:  min {per['min']}, median {per['median']}, p95 {per['p95']}, max {per['max']}\n")
    out.write(f"One-request threads:  {summary['one_request_threads']}\n")
    out.write(f"Without a thread:     {summary['requests_without_thread']}\n")
    for key, title in (("splits", "Splits (OTL008)"), ("overlaps", "Overlaps (OTL007)")):
        items = summary[key]
        out.write(f"{title + ':':<22}{len(items)}\n")
        for item in items:
            out.write(f"  {item['file']}:{item['line']}: {item['message']}\n")
    rules = summary["rules"]
    out.write(f"Findings:             {summary['findings']}\n")
    for code, count in rules.items():
        out.write(f"  {code}  {count}\n")


def render_json(summary: dict[str, Any], out: TextIO) -> None:
    json.dump(summary, out, indent=2)
    out.write("\n")


def write_summary(summary: dict[str, Any], fmt: str, out: TextIO) -> None:
    if fmt == "html":
        from .html import render

        render(summary, out)
    elif fmt == "json":
        render_json(summary, out)
    else:
        render_text(summary, out)
