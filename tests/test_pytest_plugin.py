"""The pytest plugin, run by pytester in a subprocess (so it loads through its entry point)."""

from __future__ import annotations

import pytest

TESTS = '''
import openai
import pytest
from openai import OpenAI, AsyncOpenAI

def send(tid, **extra):
    client = OpenAI(base_url="http://127.0.0.1:9/v1", api_key="k", max_retries=0)
    with pytest.raises(openai.APIConnectionError):  # checked in _prepare_options, then sent
        client.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": tid, **extra}}})

def test_generic():
    send("conversation1")

def test_clean():
    send("user-42-9f1c")

def test_fixture(orq_thread_violations):
    send("demo")
    assert [v.code for v in orq_thread_violations] == ["OTL003"]

@pytest.mark.orq_thread_lint(policy={"tags": {"required": True}})
def test_marker():
    send("user-42-9f1c")

@pytest.mark.orq_thread_lint(policy="recommended")
def test_fresh_store_per_test_a():
    from orq_thread_lint import thread_scope
    with thread_scope("alice"):
        send("user-1-shared")

def test_fresh_store_per_test_b():
    from orq_thread_lint import thread_scope
    with thread_scope("bob"):
        send("user-1-shared")

def test_async():
    import asyncio
    async def main():
        client = AsyncOpenAI(base_url="http://127.0.0.1:9/v1", api_key="k", max_retries=0)
        with pytest.raises(openai.APIConnectionError):
            await client.chat.completions.create(model="m", messages=[], extra_body={"thread": {"id": "tmp"}})
    asyncio.run(main())
'''


def test_plugin_fails_tests_that_sent_bad_threads(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=TESTS)
    result = pytester.runpytest_subprocess("--orq-thread-lint", "-p", "no:cacheprovider")
    outcomes = result.parseoutcomes()
    assert outcomes.get("failed") == 3 and outcomes.get("passed") == 4, result.stdout.str()
    out = result.stdout.str()
    assert "test_generic" in out and "OTL003" in out and "OTL016" in out
    result.stdout.fnmatch_lines(["*FAILED test_app.py::test_generic*", "*FAILED test_app.py::test_marker*",
                                 "*FAILED test_app.py::test_async*"])


def test_plugin_is_off_by_default_and_ini_turns_it_on(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_app=TESTS)
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    # Off, nothing fails; test_fixture asked for the violations, so its own requests are checked.
    assert result.parseoutcomes() == {"passed": 7}, result.stdout.str()
    pytester.makeini("[pytest]\norq_thread_lint = true\n")
    result = pytester.runpytest_subprocess("-p", "no:cacheprovider")
    assert result.parseoutcomes().get("failed") == 3


BAD_MARKERS = '''
import pytest

@pytest.mark.orq_thread_lint(policy={"selct": ["OTL"]})
def test_misspelt_key(orq_thread_violations):
    pass

@pytest.mark.orq_thread_lint(policy={"tags": {"max-count": "3"}})
def test_bad_value(orq_thread_violations):
    pass

@pytest.mark.orq_thread_lint(policy="lax")
def test_bad_preset(orq_thread_violations):
    pass

@pytest.mark.orq_thread_lint(policy=3)
def test_bad_type(orq_thread_violations):
    pass

@pytest.mark.orq_thread_lint(polcy={})
def test_bad_keyword(orq_thread_violations):
    pass
'''


def test_a_bad_marker_fails_with_one_line_naming_the_key(pytester: pytest.Pytester) -> None:
    pytester.makepyfile(test_markers=BAD_MARKERS)
    result = pytester.runpytest_subprocess("--orq-thread-lint", "-p", "no:cacheprovider")
    assert result.parseoutcomes().get("failed") == 5
    out = result.stdout.str()
    result.stdout.fnmatch_lines([
        "*@pytest.mark.orq_thread_lint(policy=...): selct: unknown key; did you mean 'select'?*",
        '*@pytest.mark.orq_thread_lint(policy=...): [[]tags] max-count: must be an integer, not a string ("3")*',
        "*@pytest.mark.orq_thread_lint(policy=...): unknown preset 'lax'*",
        "*@pytest.mark.orq_thread_lint(policy=...): expected a Policy, a preset name or a dict of settings, not int*",
        "*@pytest.mark.orq_thread_lint: takes only policy=..., not polcy*",
    ])
    assert "Traceback" not in out and "pytest_plugin.py" not in out and "ValidationError" not in out
    assert "During handling" not in out
