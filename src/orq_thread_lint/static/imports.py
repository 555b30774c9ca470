"""What the names of a file were imported as (``from openai import OpenAI as OA`` -> ``openai.OpenAI``).

Read from Python's ``ast``. A name bound by two different imports, or also bound
by anything but an import at module level, is left out: what it holds can't be proved.
"""

from __future__ import annotations

import ast
from collections.abc import Sequence

from .scopes import statements
from .segments import THREAD_MODEL

# `Client` and `AsyncClient` are the openai package's own aliases of the first two.
OPENAI_CLIENTS = frozenset({"OpenAI", "AsyncOpenAI", "AzureOpenAI", "AsyncAzureOpenAI", "Client", "AsyncClient"})
ORQ_CLIENTS = frozenset({"Orq"})


def imported_names(tree: ast.Module, rows: Sequence[int] | None) -> dict[str, str | None]:
    """What each name is imported as, by any import on ``rows`` (None: anywhere); None for a name
    two imports disagree on. Whether something else binds the name too is the caller's question."""
    found: dict[str, str | None] = {}
    for stmt, _ in statements(tree.body, rows):
        if isinstance(stmt, ast.Import):
            for alias in stmt.names:
                local = alias.asname or alias.name.split(".")[0]
                qualified = alias.name if alias.asname else local
                found[local] = qualified if found.get(local, qualified) == qualified else None
        elif isinstance(stmt, ast.ImportFrom) and stmt.level == 0 and stmt.module:
            for alias in stmt.names:
                if alias.name == "*":
                    continue
                local, qualified = alias.asname or alias.name, f"{stmt.module}.{alias.name}"
                found[local] = qualified if found.get(local, qualified) == qualified else None
    return found


def is_openai_client(qualified: str) -> bool:
    module, _, name = qualified.rpartition(".")
    return name in OPENAI_CLIENTS and (module == "openai" or module.startswith("openai."))


def is_orq_client(qualified: str) -> bool:
    module, _, name = qualified.rpartition(".")
    return name in ORQ_CLIENTS and (module == "orq_ai_sdk" or module.startswith("orq_ai_sdk."))


def is_thread_model(qualified: str) -> bool:
    module, _, name = qualified.rpartition(".")
    return (module == "orq_ai_sdk" or module.startswith("orq_ai_sdk.")) and THREAD_MODEL.match(name) is not None

