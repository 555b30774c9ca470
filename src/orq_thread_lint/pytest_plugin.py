"""pytest plugin: ``pytest --orq-thread-lint`` (or ``orq_thread_lint = true`` in the ini file)
checks every request that openai clients created during the run send, and fails the test that
sent one with violations. Off by default.

``orq_thread_violations`` gives a test the list of violations so far (a test that asks for it
checks them itself and is not failed for them); every test gets a fresh
memory store; ``@pytest.mark.orq_thread_lint(policy=...)`` sets a test's policy (a Policy, a
preset name or a dict of settings).
"""

from __future__ import annotations

from collections.abc import Generator, Iterator

import pytest

from .policy import Policy
from .runtime import install
from .runtime.stores import MemoryStore
from .violations import Violation


def pytest_addoption(parser: pytest.Parser) -> None:
    group = parser.getgroup("orq-thread-lint")
    group.addoption("--orq-thread-lint", action="store_true", default=False,
                    help="check the thread of every request openai clients send during the tests")
    parser.addini("orq_thread_lint", type="bool", default=False, help="enable orq-thread-lint's request checks")


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "orq_thread_lint(policy=None): the thread policy for this test")
    if _enabled(config):
        install.hook_sdks()  # the hooks of `orq_thread_lint.install()`, with a guard per test


def pytest_unconfigure(config: pytest.Config) -> None:
    if _enabled(config) and not install.is_installed():
        install.unhook_sdks()


def _enabled(config: pytest.Config) -> bool:
    return bool(config.getoption("--orq-thread-lint") or config.getini("orq_thread_lint"))


def _policy(item: pytest.Item) -> Policy:
    marker = item.get_closest_marker("orq_thread_lint")
    chosen = marker.kwargs.get("policy") if marker else None
    if isinstance(chosen, Policy):
        return chosen
    if isinstance(chosen, str):
        return Policy.preset(chosen)
    if isinstance(chosen, dict):
        return Policy.from_dict(chosen)
    return Policy.load(start=item.path.parent)


@pytest.fixture
def orq_thread_violations(request: pytest.FixtureRequest) -> Iterator[list[Violation]]:
    """The violations the current test's requests had so far."""
    found: list[Violation] = request.node.stash.get(_SINK, [])
    yield found


_SINK = pytest.StashKey[list[Violation]]()


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Generator[None, object, object]:
    if not _enabled(item.config):
        return (yield)
    sink: list[Violation] = item.stash.setdefault(_SINK, [])
    install.push(install.checks(_policy(item), "collect", MemoryStore(), sink=sink))
    try:
        result = yield
    finally:
        install.pop()
    if sink and "orq_thread_violations" not in getattr(item, "fixturenames", ()):
        listing = "\n".join(f"  {v}" for v in sink)
        pytest.fail(f"orq-thread-lint: requests sent by this test broke the thread policy:\n{listing}", pytrace=False)
    return result


@pytest.hookimpl(tryfirst=True)
def pytest_runtest_setup(item: pytest.Item) -> None:
    item.stash[_SINK] = []
