"""OTL007 says what happened in each uniqueness mode: another scope, or another call."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from openai import OpenAI

from orq_thread_lint import Policy, ThreadPolicyError, guard, thread_scope
from orq_thread_lint.audit import validate
from orq_thread_lint.runtime.stores import MemoryStore
from router import Router

BODY = {"orq": {"thread": {"id": "user-42-9f1c"}}}


def send_twice(router: Router, uniqueness: str, scopes: tuple[str, str]) -> str:
    policy = Policy.from_dict({"runtime": {"uniqueness": uniqueness}})
    g = guard(OpenAI(base_url=router.url, api_key="k", max_retries=0), policy, store=MemoryStore())
    with thread_scope(scopes[0]):
        g.chat.completions.create(model="m", messages=[], extra_body=BODY)
    with thread_scope(scopes[1]), pytest.raises(ThreadPolicyError) as info:
        g.chat.completions.create(model="m", messages=[], extra_body=BODY)
    (v,) = info.value.violations
    assert v.code == "OTL007" and v.path == "orq.thread.id"
    return f"{v.message} / {v.suggestion}"


def test_single_use_speaks_of_calls_not_users(router: Router) -> None:
    message = send_twice(router, "single-use", ("alice", "alice"))  # the same caller, a second call
    assert "already sent by another call" in message and '"single-use"' in message
    assert "users" not in message.split(" / ")[0] and "scope" not in message.split(" / ")[0]


def test_scope_speaks_of_users_and_sessions(router: Router) -> None:
    message = send_twice(router, "scope", ("alice", "bob"))
    assert "already used under another scope" in message and "two users or sessions" in message


def test_validate_says_where_the_id_was_first_seen(tmp_path: Path) -> None:
    log = tmp_path / "log.jsonl"
    log.write_text("".join(json.dumps({**BODY, "identity": {"id": who}}) + "\n" for who in ("u1", "u2")))
    (finding,) = validate([str(log)], Policy.preset())
    assert finding.code == "OTL007" and f"(first at {log}:1)" in finding.violation.message
