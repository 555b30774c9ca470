"""Entry points of the rule engine: every front end calls these and nothing else."""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..values import Node
from ..violations import Violation
from .request import Found, check_request_node
from .thread import Emitter, check_thread_node

if TYPE_CHECKING:
    from ..policy import Policy


def check_thread(node: Node, policy: Policy) -> list[Violation]:
    out: list[Violation] = []
    check_thread_node(node, Emitter(policy, out))
    return out


def check_request(body: Node, policy: Policy, *, header: Node | None = None,
                  require_thread: bool = True) -> list[Violation]:
    out: list[Violation] = []
    check_request_node(body, Emitter(policy, out), header=header, require_thread=require_thread)
    return out


def locate_and_check(body: Node, policy: Policy, *, header: Node | None = None,
                     require_thread: bool = True) -> tuple[list[Violation], list[Found]]:
    """Like :func:`check_request`, and also the threads it found (for uniqueness checks)."""
    out: list[Violation] = []
    found = check_request_node(body, Emitter(policy, out), header=header, require_thread=require_thread)
    return out, found
