"""OTL008 in ``validate`` (file order and --time-field), and ``validate --summary`` as text, JSON and
an HTML page rendered by headless Chromium."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from datetime import datetime, timedelta, timezone
from html.parser import HTMLParser
from pathlib import Path
from typing import Any

import pytest

from orq_thread_lint.audit import validate
from orq_thread_lint.policy import Policy
from orq_thread_lint.report.summary import Summary
from orq_thread_lint.timeline import Timeline

BIN = Path(sys.executable).parent
SYSTEM = {"role": "system", "content": "You answer questions about invoices."}
SECRET_WORDS = "invoice 4711 of Jane Roe"


def turns(tid: str | None, n: int, opening: str, **extra: Any) -> list[dict[str, Any]]:
    """The n requests of one conversation, each resending everything before it."""
    messages: list[Any] = [SYSTEM]
    out = []
    for i in range(n):
        messages.append({"role": "user", "content": f"{opening} question {i}"})
        body: dict[str, Any] = {"model": "gpt-4o", "messages": list(messages), **extra}
        if tid is not None:
            body["orq"] = {"thread": {"id": tid}}
        out.append(body)
        messages.append({"role": "assistant", "content": f"answer {i} to {opening}"})
    return out


def write(path: Path, records: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in records), encoding="utf-8")
    return path


def otl008(findings: list[Any]) -> list[tuple[int, str]]:
    return sorted((f.row, f.violation.message) for f in findings if f.code == "OTL008")


def test_the_follow_up_line_names_the_earlier_line_and_both_ids(tmp_path: Path) -> None:
    first, second = turns("chat-1f0c9a", 2, SECRET_WORDS)
    second["orq"]["thread"]["id"] = "chat-77b2e4"
    log = write(tmp_path / "log.jsonl", [first, {"model": "m", "messages": [{"role": "user", "content": "x"}]}, second])
    findings = validate([str(log)], Policy.preset())
    assert [(f.row, f.code, f.violation.path) for f in findings] == [(2, "OTL101", ""), (3, "OTL008", "orq.thread.id")]
    message = findings[1].violation.message
    assert f"{log}:1" in message and "'chat-1f0c9a'" in message and "'chat-77b2e4'" in message
    assert "Jane" not in message and "4711" not in message  # contents never reach a finding


def test_a_split_is_reported_once_at_the_turn_where_it_happens(tmp_path: Path) -> None:
    records = turns("chat-aaaaaaaa", 4, "one")
    for r in records[2:]:
        r["orq"]["thread"]["id"] = "chat-bbbbbbbb"
    findings = validate([str(write(tmp_path / "log.jsonl", records))], Policy.preset())
    assert [f.row for f in findings if f.code == "OTL008"] == [3]


def test_retries_resends_openings_alike_and_one_message_steps_are_clean(tmp_path: Path) -> None:
    same = turns("chat-aaaaaaaa", 3, "one")
    records = [same[0], same[0], same[1], same[1], same[2]]  # retries and identical re-sends
    records += turns("chat-cccccccc", 3, "one")  # another user opening exactly alike, own id
    records += [{"model": "m", "orq": {"thread": {"id": "workflow-7f3a9c"}},
                 "messages": [{"role": "user", "content": f"step {i}"}]} for i in range(3)]
    findings = validate([str(write(tmp_path / "log.jsonl", records))], Policy.preset())
    assert otl008(findings) == []


def test_a_follow_up_without_a_thread_id_is_a_split(tmp_path: Path) -> None:
    first, second = turns("chat-1f0c9a", 2, "x")
    del second["orq"]
    findings = validate([str(write(tmp_path / "log.jsonl", [first, second]))], Policy.preset())
    assert [(f.row, f.code) for f in findings if f.code == "OTL008"] == [(2, "OTL008")]
    assert "no thread id" in findings[-1].violation.message


def test_files_are_one_log_in_the_order_given(tmp_path: Path) -> None:
    first, second = turns("chat-1f0c9a", 2, "x")
    second["orq"]["thread"]["id"] = "chat-77b2e4"
    a, b = write(tmp_path / "a.jsonl", [first]), write(tmp_path / "b.jsonl", [second])
    findings = [f for f in validate([str(a), str(b)], Policy.preset()) if f.code == "OTL008"]
    assert [(f.filename, f.row) for f in findings] == [(str(b), 1)] and f"{a}:1" in findings[0].violation.message


@pytest.mark.parametrize("stamp", ["iso", "epoch", "epoch-ms", "iso-z"])
def test_time_field_reads_an_out_of_order_log_in_request_order(tmp_path: Path, stamp: str) -> None:
    start = datetime(2026, 3, 1, 12, 0, tzinfo=timezone.utc)
    records = turns("chat-aaaaaaaa", 3, "one") + turns("chat-dddddddd", 3, "two")
    records[4]["orq"]["thread"]["id"] = records[5]["orq"]["thread"]["id"] = "chat-eeeeeeee"  # "two" splits at turn 2
    for i, r in enumerate(records):
        t = start + timedelta(seconds=10 * i)
        r["meta"] = {"ts": {"iso": t.isoformat(), "iso-z": t.strftime("%Y-%m-%dT%H:%M:%SZ"), "epoch": t.timestamp(),
                            "epoch-ms": int(t.timestamp() * 1000)}[stamp]}
    log = write(tmp_path / "log.jsonl", list(reversed(records)))  # written newest first
    in_order = otl008(validate([str(log)], Policy.preset(), time_field="meta.ts"))
    assert [row for row, _ in in_order] == [2]  # the line of turn 2 of "two" in the reversed file
    assert f"{log}:3" in in_order[0][1]  # ... naming turn 1, three lines below
    # without the time field the reversed file reads as conversations shrinking: nothing continues
    assert otl008(validate([str(log)], Policy.preset())) == []


def test_time_field_drops_fingerprints_older_than_the_ttl(tmp_path: Path) -> None:
    cfg = tmp_path / "orq-thread-lint.toml"
    cfg.write_text("[runtime]\nttl-seconds = 60\n", encoding="utf-8")
    first, second = turns("chat-1f0c9a", 2, "x")
    second["orq"]["thread"]["id"] = "chat-77b2e4"
    first["ts"], second["ts"] = 1_700_000_000, 1_700_000_000 + 61
    log = write(tmp_path / "log.jsonl", [first, second])
    assert otl008(validate([str(log)], Policy.from_file(cfg), time_field="ts")) == []
    second["ts"] = 1_700_000_000 + 59
    log = write(tmp_path / "log.jsonl", [first, second])
    assert len(otl008(validate([str(log)], Policy.from_file(cfg), time_field="ts"))) == 1


@pytest.mark.parametrize("time_field", [None, "ts"])
def test_memory_is_bounded_by_the_fingerprints_kept(tmp_path: Path, time_field: str | None) -> None:
    cfg = tmp_path / "orq-thread-lint.toml"
    cfg.write_text("[runtime]\nmemory-capacity = 50\n", encoding="utf-8")
    timeline = Timeline(Policy.from_file(cfg), time_field)
    for c in range(2000):
        for i, body in enumerate(turns(f"chat-{c:08d}", 3, f"conversation {c}")):
            body["ts"] = c * 10 + i
            timeline.add("log", c * 3 + i + 1, 1, body, ((f"chat-{c:08d}", "orq.thread.id"),))
            assert len(timeline.index) <= 50 and len(timeline._pending) <= 51
    assert timeline.finish() == []


# The summary ------------------------------------------------------------------------------------

def summary_log(tmp_path: Path) -> Path:
    records: list[dict[str, Any]] = []
    for n, tid in ((1, "chat-00000001"), (1, "chat-00000002"), (2, "chat-00000003"), (3, "chat-00000004"),
                   (5, "chat-00000005")):
        records += turns(tid, n, tid)
    split = turns("chat-00000006", 2, "split")
    split[1]["orq"]["thread"]["id"] = "chat-00000007"  # two more one-request threads, one split
    records += split
    records += [{"model": "m", "orq": {"identity": {"id": f"user-{u}"}, "thread": {"id": "chat-00000008"}},
                 "messages": [{"role": "user", "content": "hi"}]} for u in (1, 2)]  # an overlap
    records.append({"model": "m", "messages": [{"role": "user", "content": "no thread"}]})
    return write(tmp_path / "log.jsonl", records)


EXPECTED = {"requests": 17, "threads": 8, "one_request_threads": 4, "requests_without_thread": 1,
            "requests_per_thread": {"min": 1, "median": 1.5, "p95": 5, "max": 5}, "splits": 1, "overlaps": 1}


def run_cli(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(BIN / "orq-thread-lint"), *args], capture_output=True, text=True, timeout=120)


def test_summary_json_and_text(tmp_path: Path) -> None:
    log = summary_log(tmp_path)
    done = run_cli("validate", "--summary", "--format", "json", str(log))
    assert done.returncode == 1, done.stderr
    data = json.loads(done.stdout)
    got = {k: len(data[k]) if k in ("splits", "overlaps") else data[k] for k in EXPECTED}
    assert got == EXPECTED
    assert data["histogram"][:5] == [{"bin": "1", "threads": 4}, {"bin": "2", "threads": 2},
                                     {"bin": "3", "threads": 1}, {"bin": "4", "threads": 0},
                                     {"bin": "5-9", "threads": 1}]
    assert data["splits"][0]["line"] == 14 and data["overlaps"][0]["line"] == 16
    assert data["rules"]["OTL008"] == 1 and data["rules"]["OTL007"] == 1 and data["findings"] == sum(
        data["rules"].values())
    text = run_cli("validate", "--summary", str(log)).stdout
    assert "Threads:              8\n" in text
    assert "Requests per thread:  min 1, median 1.5, p95 5, max 5\n" in text
    assert f"  {log}:14: request continues" in text and "question" not in text


def test_summary_refuses_formats_it_has_not(tmp_path: Path) -> None:
    done = run_cli("validate", "--summary", "--format", "sarif", str(summary_log(tmp_path)))
    assert done.returncode == 2 and "--summary prints text, json, html" in done.stderr
    done = run_cli("validate", "--format", "html", str(summary_log(tmp_path)))
    assert done.returncode == 2 and "html" in done.stderr


class _Page(HTMLParser):
    """What the rendered page shows: text by element id, histogram bars, listed rows."""

    def __init__(self) -> None:
        super().__init__()
        self.by_id: dict[str, str] = {}
        self.bars: list[dict[str, str]] = []
        self.rows: dict[str, list[str]] = {"split": [], "overlap": [], "rule": []}
        self._open: list[tuple[str | None, str | None]] = []
        self.external: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = dict(attrs)
        if tag == "g" and a.get("class") == "bar":
            self.bars.append({k: v or "" for k, v in a.items()})
        if tag == "rect" and self.bars:
            self.bars[-1]["height"] = a.get("height") or ""
        for key in ("src", "href"):
            if a.get(key):
                self.external.append(a[key] or "")
        if tag in ("b", "td", "tr"):
            self._open.append((a.get("id"), a.get("class")))
            if tag == "tr" and a.get("class") in self.rows:
                self.rows[a["class"] or ""].append("")

    def handle_endtag(self, tag: str) -> None:
        if tag in ("b", "td", "tr") and self._open:
            self._open.pop()

    def handle_data(self, data: str) -> None:
        for ident, _ in self._open:
            if ident:
                self.by_id[ident] = self.by_id.get(ident, "") + data
        for _, cls in self._open:
            rows = self.rows.get(cls or "")
            if rows:
                rows[-1] += data + " "


def chromium() -> str:
    found = shutil.which("chromium") or shutil.which("chromium-browser")
    if found is None:
        if os.environ.get("CI") or os.environ.get("ORQ_THREAD_LINT_REQUIRE_CHROMIUM"):
            pytest.fail("chromium is required in CI (.ci/run installs Debian's chromium) but is not on PATH")
        pytest.skip("no chromium on PATH (apt-get install -y chromium; CI fails instead of skipping)")
    return found


def test_html_summary_rendered_in_headless_chromium_shows_the_json_numbers(tmp_path: Path) -> None:
    browser = chromium()
    log = summary_log(tmp_path)
    page = tmp_path / "report.html"
    assert run_cli("validate", "--summary", "--format", "html", "-o", str(page), str(log)).returncode == 1
    data = json.loads(run_cli("validate", "--summary", "--format", "json", str(log)).stdout)
    flags = ["--headless", "--no-sandbox", "--disable-gpu", "--no-first-run", f"--user-data-dir={tmp_path / 'profile'}"]
    shown = subprocess.run([browser, *flags, "--dump-dom", page.as_uri()], capture_output=True, text=True, timeout=120)
    assert shown.returncode == 0 and "</html>" in shown.stdout, shown.stderr[-2000:]
    parsed = _Page()
    parsed.feed(shown.stdout)
    assert parsed.external == []  # self-contained: nothing to fetch
    ids = {k: v.strip() for k, v in parsed.by_id.items()}
    assert ids["requests"] == str(data["requests"]) == "17"
    assert ids["threads"] == str(data["threads"])
    assert ids["one-request-threads"] == str(data["one_request_threads"])
    assert ids["requests-without-thread"] == str(data["requests_without_thread"])
    assert ids["splits"] == str(len(data["splits"])) and ids["overlaps"] == str(len(data["overlaps"]))
    assert ids["findings"] == str(data["findings"])
    for name in ("min", "median", "p95", "max"):
        assert ids[f"per-thread-{name}"] == str(data["requests_per_thread"][name])
    assert [(b["data-bin"], int(b["data-threads"])) for b in parsed.bars] == [
        (h["bin"], h["threads"]) for h in data["histogram"]]
    tallest = max(float(b["height"]) for b in parsed.bars)
    for bar in parsed.bars:  # bar heights are proportional to the counts
        assert abs(float(bar["height"]) / tallest - int(bar["data-threads"]) / 4) < 0.01
    assert [r.split()[0] for r in parsed.rows["split"]] == [f"{s['file']}:{s['line']}" for s in data["splits"]]
    assert [r.split()[0] for r in parsed.rows["overlap"]] == [f"{s['file']}:{s['line']}" for s in data["overlaps"]]
    assert {r.split()[0]: int(r.split()[1]) for r in parsed.rows["rule"]} == data["rules"]
    shot = tmp_path / "report.png"
    subprocess.run([browser, *flags, f"--screenshot={shot}", "--window-size=1000,900", page.as_uri()],
                   capture_output=True, timeout=120, check=True)
    assert shot.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and shot.stat().st_size > 10_000


def test_the_summary_object_counts_every_request() -> None:
    s = Summary()
    for ids in ((("a", "orq.thread.id"),), (("a", "orq.thread.id"),), ()):
        s.add(ids)
    result = s.result([])
    assert (result["requests"], result["threads"], result["requests_without_thread"]) == (3, 1, 1)
    assert result["requests_per_thread"] == {"min": 2, "median": 2, "p95": 2, "max": 2}


def test_the_readme_summary_is_what_the_command_prints() -> None:
    root = Path(__file__).resolve().parent.parent
    readme = (root / "README.md").read_text(encoding="utf-8")
    command = "$ orq-thread-lint validate --summary examples/conversations.jsonl\n"
    shown = readme.split(command, 1)[1].split("```", 1)[0]
    done = subprocess.run([str(BIN / "orq-thread-lint"), "validate", "--summary", "examples/conversations.jsonl"],
                          capture_output=True, text=True, timeout=120, cwd=root)
    assert done.returncode == 1 and done.stdout == shown
    assert (root / "examples" / "summary-report.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_an_id_holding_personal_data_is_never_quoted(tmp_path: Path) -> None:
    first, second = turns("jane.roe@example.com", 2, "x")
    second["orq"]["thread"]["id"] = "chat-77b2e4"
    findings = [f for f in validate([str(write(tmp_path / "log.jsonl", [first, second]))], Policy.preset())
                if f.code == "OTL008"]
    assert len(findings) == 1
    message = findings[0].violation.message
    assert "jane" not in message and "<withheld: it holds an e-mail address>" in message and "'chat-77b2e4'" in message
