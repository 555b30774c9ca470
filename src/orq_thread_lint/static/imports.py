"""What the names of a file were imported as (``from openai import OpenAI as OA`` -> ``openai.OpenAI``).

Read from Python's ``ast`` of the whole file. A name bound by two different imports, or also bound
by anything but an import at module level, is left out: what it holds can't be proved.
"""

from __future__ import annotations

import ast

from .segments import THREAD_MODEL, Bindings

# `Client` and `AsyncClient` are the openai package's own aliases of the first two.
OPENAI_CLIENTS = frozenset({"OpenAI", "AsyncOpenAI", "AzureOpenAI", "AsyncAzureOpenAI", "Client", "AsyncClient"})
ORQ_CLIENTS = frozenset({"Orq"})


def imported_names(tree: ast.Module, bindings: Bindings) -> dict[str, str]:
    found: dict[str, str | None] = {}
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            for alias in node.names:
                local = alias.asname or alias.name.split(".")[0]
                qualified = alias.name if alias.asname else local
                found[local] = qualified if found.get(local, qualified) == qualified else None
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            for alias in node.names:
                if alias.name == "*":
                    continue
                local, qualified = alias.asname or alias.name, f"{node.module}.{alias.name}"
                found[local] = qualified if found.get(local, qualified) == qualified else None
    return {name: known for name, known in found.items() if known is not None and all(
        isinstance(n, (ast.Import, ast.ImportFrom)) for _, n in bindings.kinds.get(name, []))}


def is_openai_client(qualified: str) -> bool:
    module, _, name = qualified.rpartition(".")
    return name in OPENAI_CLIENTS and (module == "openai" or module.startswith("openai."))


def is_orq_client(qualified: str) -> bool:
    module, _, name = qualified.rpartition(".")
    return name in ORQ_CLIENTS and (module == "orq_ai_sdk" or module.startswith("orq_ai_sdk."))


def is_thread_model(qualified: str) -> bool:
    module, _, name = qualified.rpartition(".")
    return (module == "orq_ai_sdk" or module.startswith("orq_ai_sdk.")) and THREAD_MODEL.match(name) is not None

