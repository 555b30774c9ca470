"""No crash on a large body of real code: the installed site-packages of this environment."""

from __future__ import annotations

import sysconfig
from pathlib import Path

from orq_thread_lint.policy import Policy
from orq_thread_lint.static.run import check_paths

SITE = Path(sysconfig.get_paths()["purelib"])


def _cpython_parses(path: str) -> bool:
    try:
        compile(Path(path).read_bytes(), path, "exec", dont_inherit=True)
    except (SyntaxError, ValueError):
        return False
    return True


def test_site_packages_lint_without_crash_or_false_otl000() -> None:
    run = check_paths([str(SITE)], Policy.preset())
    assert run.files > 1000
    bad = [f for f in run.findings if f.code == "OTL000" and _cpython_parses(f.filename)]
    assert bad == []


def test_resolver_under_stress_on_real_code() -> None:
    # Treat very common calls as targets so nearly every function is parsed and every value followed.
    policy = Policy.from_dict({"calls": {"targets": ["create", "get", "format", "append", "join", "update"]}})
    run = check_paths([str(SITE / "openai"), str(SITE / "click")], policy)
    assert run.files > 500
    assert {f.code for f in run.findings} <= {"OTL101", "OTL103", "OTL104", "OTL003", "OTL004", "OTL015"}
    assert not [f for f in run.findings if f.code == "OTL000"]
