"""OTL106 minted-thread-id: a thread id generated inside the request itself.

Code only: value following marks what a fresh-per-evaluation call produces (``uuid4()``,
``time.time()`` ...) with the markers below; the static front end says whether that call is
evaluated once per request (in the call's own arguments, or a binding of the same function made
for that call only). The rule reads nothing else.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from ..values import Hole, Mapping, Node, Partial, Scalar, Unknown
from .thread import Emitter


@dataclass(frozen=True, slots=True)
class Mint:
    """A fresh-per-evaluation call: what it is (``uuid.uuid4()``), and ``where`` it is evaluated
    (the front end's handle, opaque to the rules)."""

    origin: str
    where: object


class Minted(Unknown):
    """What a fresh-per-evaluation call returns (``time.time()``, ``secrets.token_hex()``)."""

    __slots__ = ("mint",)

    def __init__(self, mint: Mint, path: str, anchor: object = None) -> None:
        super().__init__(path, anchor)
        self.mint = mint


class MintedUUID(Scalar):
    """A fresh UUID object (``uuid.uuid4()``): still a UUID for OTL002."""

    __slots__ = ("mint",)

    def __init__(self, mint: Mint, path: str, anchor: object = None) -> None:
        super().__init__(None, path, anchor, kind="UUID")
        self.mint = mint


class MintedHole(Hole):
    """A piece of a string that a fresh-per-evaluation call fills (``f"chat-{uuid4()}"``)."""

    __slots__ = ("mint",)

    def __init__(self, mint: Mint, source: object = None) -> None:
        super().__init__(source=source)
        self.mint = mint


def mint_of(node: Node | None) -> Mint | None:
    """The mint a value holds, if any (the whole value, or a piece of a string)."""
    if isinstance(node, (Minted, MintedUUID)):
        return node.mint
    if isinstance(node, Partial):
        for part in node.parts:
            if isinstance(part, MintedHole):
                return part.mint
    return None


def check_minted_id(thread: Node, emit: Emitter, per_request: Callable[[Mint], bool]) -> None:
    """OTL106 for the id of a thread found in code, reported at the id expression."""
    if not emit.on("OTL106") or not isinstance(thread, Mapping) or "id" not in thread.keys():
        return
    ident = thread.get("id")
    mint = mint_of(ident)
    if mint is None or not per_request(mint):
        return
    emit("OTL106", f"thread id is minted by {mint.origin} for this request alone: every call starts a new thread "
                   "and follow-ups will not group", ident, anchor=thread.value_anchor("id"),
         suggestion="mint the id once per conversation (where it starts) and pass it in")
