"""The orq-dense benchmark corpus (bench/dense.py) on a sample of real code: every inserted call
is seen, and the gates change no finding."""

from __future__ import annotations

import sys
import sysconfig
from collections import Counter
from pathlib import Path

from orq_thread_lint.policy import Policy
from orq_thread_lint.static.checker import check_bytes

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from dense import SHAPES, densify, generated_file

STDLIB = Path(sysconfig.get_paths()["stdlib"])
SAMPLE = ["json/decoder.py", "textwrap.py", "asyncio/queues.py", "calendar.py"]


def test_dense_sample_findings_are_the_same_with_and_without_the_gates() -> None:
    policy = Policy.preset()
    total: Counter[str] = Counter()
    inserted = 0
    for name in SAMPLE:
        text, n = densify((STDLIB / name).read_text(encoding="utf-8"), inserted)
        inserted += n
        data = text.encode()
        fast = check_bytes(data, name, policy).findings
        full = check_bytes(data, name, policy, prefilter=False).findings
        assert [(f.row, f.column, f.code, f.violation.message) for f in fast] == [
            (f.row, f.column, f.code, f.violation.message) for f in full], name
        total.update(f.code for f in fast)
    assert inserted > 60
    # Each wrong shape is found once per insertion (the sample cycles through all of them).
    per_shape = inserted // (len(SHAPES) + 1)
    assert total["OTL003"] >= per_shape and total["OTL012"] >= per_shape and total["OTL102"] >= per_shape
    assert total["OTL105"] >= per_shape


def test_generated_file_is_valid_and_every_line_is_a_call() -> None:
    text = generated_file(50)
    findings = check_bytes(text.encode(), "gen.py", Policy.preset()).findings
    assert not [f for f in findings if f.code == "OTL000"]
    assert text.count("chat.completions.create") == 50
