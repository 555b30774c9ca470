"""``validate --summary --format html``: one self-contained page (no network, no script): the
numbers of the summary, an inline SVG histogram of requests per thread, the splits and overlaps
with their log lines, and the findings per rule. Every number carries an ``id`` or ``data-``
attribute, so a test can read the rendered page back."""

from __future__ import annotations

from html import escape
from typing import Any, TextIO

_STYLE = """
body{font:15px/1.45 system-ui,-apple-system,"Segoe UI",sans-serif;margin:2rem auto;max-width:60rem;color:#1d232b;
padding:0 1rem}
h1{font-size:1.5rem;margin:0 0 1rem}h2{font-size:1.1rem;margin:2rem 0 .5rem}
.cards{display:flex;flex-wrap:wrap;gap:.75rem}.card{border:1px solid #d5dbe3;border-radius:8px;padding:.6rem .9rem;
min-width:8rem}.card b{display:block;font-size:1.5rem}.card span{color:#56606d;font-size:.85rem}
table{border-collapse:collapse;width:100%}td,th{border-bottom:1px solid #e3e7ec;padding:.3rem .5rem;text-align:left;
vertical-align:top}th{color:#56606d;font-weight:600}.num{text-align:right;font-variant-numeric:tabular-nums}
.empty{color:#56606d}.stats{width:auto}.stats td,.stats th{min-width:5rem}
svg text{font:12px system-ui,sans-serif;fill:#1d232b}
"""
_W, _H, _PAD, _BOTTOM = 640, 220, 36, 28


def render(summary: dict[str, Any], out: TextIO, title: str = "orq-thread-lint: thread summary") -> None:
    per = summary["requests_per_thread"]
    cards = [("requests", "requests", summary["requests"]), ("threads", "threads", summary["threads"]),
             ("one-request-threads", "one-request threads", summary["one_request_threads"]),
             ("requests-without-thread", "without a thread", summary["requests_without_thread"]),
             ("splits", "splits (OTL008)", len(summary["splits"])),
             ("overlaps", "overlaps (OTL007)", len(summary["overlaps"])),
             ("findings", "findings", summary["findings"])]
    parts = [
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">",
        f"<title>{escape(title)}</title><style>{_STYLE}</style></head><body>",
        f"<h1>{escape(title)}</h1><div class=\"cards\">",
        *(f"<div class=\"card\"><b id=\"{key}\">{value}</b><span>{escape(label)}</span></div>"
          for key, label, value in cards),
        "</div><h2>Requests per thread</h2><table class=\"stats\"><tr>",
        *(f"<th class=\"num\">{name}</th>" for name in ("min", "median", "p95", "max")),
        "</tr><tr>",
        *(f"<td class=\"num\" id=\"per-thread-{name}\">{per[name]}</td>" for name in ("min", "median", "p95", "max")),
        "</tr></table>",
        _histogram(summary["histogram"]),
        _listing("Splits (OTL008)", "split", summary["splits"]),
        _listing("Overlaps (OTL007)", "overlap", summary["overlaps"]),
        "<h2>Findings per rule</h2>",
        _rules(summary["rules"]),
        "</body></html>\n",
    ]
    out.write("".join(parts))


def _histogram(bins: list[dict[str, Any]]) -> str:
    top = max([b["threads"] for b in bins] + [1])
    width = (_W - 2 * _PAD) / len(bins)
    plot = _H - _PAD - _BOTTOM
    bars = []
    for i, b in enumerate(bins):
        height = plot * b["threads"] / top
        x = _PAD + i * width
        y = _PAD + plot - height
        label = escape(b["bin"])
        bars.append(
            f"<g class=\"bar\" data-bin=\"{label}\" data-threads=\"{b['threads']}\">"
            f"<rect x=\"{x + 4:.1f}\" y=\"{y:.1f}\" width=\"{width - 8:.1f}\" height=\"{height:.1f}\" fill=\"#3b6fd4\">"
            f"<title>{label} requests: {b['threads']} threads</title></rect>"
            f"<text x=\"{x + width / 2:.1f}\" y=\"{y - 5:.1f}\" text-anchor=\"middle\">{b['threads']}</text>"
            f"<text x=\"{x + width / 2:.1f}\" y=\"{_H - _BOTTOM + 16:.1f}\" text-anchor=\"middle\">{label}</text></g>")
    return (f"<h2>Threads by number of requests</h2><svg xmlns=\"http://www.w3.org/2000/svg\" role=\"img\" "
            f"aria-label=\"histogram of requests per thread\" width=\"{_W}\" height=\"{_H}\" "
            f"viewBox=\"0 0 {_W} {_H}\"><line x1=\"{_PAD}\" y1=\"{_H - _BOTTOM}\" x2=\"{_W - _PAD}\" "
            f"y2=\"{_H - _BOTTOM}\" stroke=\"#8792a2\"/>{''.join(bars)}</svg>")


def _listing(title: str, kind: str, items: list[dict[str, Any]]) -> str:
    if not items:
        return f"<h2>{escape(title)}</h2><p class=\"empty\">None.</p>"
    rows = "".join(f"<tr class=\"{kind}\"><td>{escape(str(i['file']))}:{i['line']}</td>"
                   f"<td>{escape(i['message'])}</td></tr>" for i in items)
    return f"<h2>{escape(title)}</h2><table><tr><th>line</th><th>finding</th></tr>{rows}</table>"


def _rules(rules: dict[str, int]) -> str:
    if not rules:
        return "<p class=\"empty\">No findings.</p>"
    rows = "".join(f"<tr class=\"rule\" data-code=\"{escape(code)}\"><td>{escape(code)}</td>"
                   f"<td class=\"num\">{count}</td></tr>" for code, count in rules.items())
    return f"<table><tr><th>rule</th><th class=\"num\">findings</th></tr>{rows}</table>"
