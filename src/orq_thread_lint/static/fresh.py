"""Calls whose value is fresh on every evaluation (what OTL106 looks for), and the steps that keep
a value computed from one fresh: ``uuid4().hex[:8]`` is still fresh, ``datetime.now().date()`` is
the same all day."""

from __future__ import annotations

import libcst as cst

# Dotted names as written; a bare name only where it can't mean anything else.
_RANDOM = frozenset({
    "uuid.uuid1", "uuid.uuid4", "uuid.uuid6", "uuid.uuid7", "uuid1", "uuid4", "uuid6", "uuid7",
    "uuid_utils.uuid4", "uuid_utils.uuid7", "uuid6.uuid6", "uuid6.uuid7",
    "ulid.new", "ulid.ulid", "ulid.ULID", "ULID",
    "secrets.token_hex", "secrets.token_urlsafe", "secrets.token_bytes", "secrets.randbits",
    "secrets.randbelow", "secrets.choice", "token_hex", "token_urlsafe", "token_bytes",
    "os.urandom", "urandom",
    "random.random", "random.randint", "random.randrange", "random.getrandbits", "random.choice",
    "random.choices", "random.sample", "random.uniform", "random.randbytes",
    "shortuuid.uuid", "nanoid.generate",
})
_CLOCK = frozenset({
    "time.time", "time.time_ns", "time_ns",
    "datetime.now", "datetime.utcnow", "datetime.today", "datetime.datetime.now", "datetime.datetime.utcnow",
    "datetime.datetime.today", "dt.datetime.now", "dt.datetime.utcnow",
})
# What keeps a clock reading fresh; anything else (strftime, .date(), a slice) may keep only the day.
_CLOCK_STEPS = frozenset({"isoformat()", "timestamp()", "int()", "float()", "round()", "str()", "*"})
# What makes a random value constant again.
_RANDOM_LOSSES = frozenset({"version", "variant", "is_safe"})


def dotted(func: cst.BaseExpression) -> str | None:
    parts: list[str] = []
    node = func
    while isinstance(node, cst.Attribute):
        parts.append(node.attr.value)
        node = node.value
    if not isinstance(node, cst.Name):
        return None
    parts.append(node.value)
    return ".".join(reversed(parts))


def fresh_call(call: cst.Call) -> str | None:
    """How a fresh-per-evaluation call is written (``uuid.uuid4()``), or ``None``."""
    name = dotted(call.func)
    if name is None or not (name in _RANDOM or name in _CLOCK):
        return None
    if name.endswith("ULID") and call.args:
        return None  # ULID(value) rebuilds a known id
    return f"{name}()"


def keeps_fresh(origin: str, step: str) -> bool:
    """Whether a value computed from ``origin`` by ``step`` (``hex``, ``upper()``, ``[]``, ``int()``,
    ``*``, ``spec`` for a format spec) is still fresh on every evaluation."""
    if origin[:-2] in _CLOCK:
        return step in _CLOCK_STEPS
    return step not in _RANDOM_LOSSES
