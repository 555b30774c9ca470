"""The engine parses only the statements that hold candidates (static/segments.py) and reads
scopes from the ast, one name at a time (static/scopes.py). Each shape here puts a binding or a
call where a statement-sized segment is awkward; the findings must be those of the gate-free run
(whole module-level statements, every statement read), and the ones named must be there."""

from __future__ import annotations

import pytest

from orq_thread_lint.policy import Policy
from orq_thread_lint.static.checker import check_bytes

CALL = 'client.chat.completions.create(model="m", messages=h, extra_body={{"orq": {{"thread": {{"id": {id}}}}}}})'
GENERIC = CALL.format(id="tid")

SHAPES = {
    # the id bound in the function, the call on the next line
    "local": ("def f():\n    tid = 'conversation1'\n    " + GENERIC + "\n", {"OTL003"}),
    # rebound: unknown, nothing to report
    "rebound": ("def f(x):\n    tid = 'conversation1'\n    if x:\n        tid = x\n    " + GENERIC + "\n", set()),
    # changed in place by a nested function: not the literal
    "nonlocal": ("def f():\n    tid = 'conversation1'\n    def g():\n        nonlocal tid\n        tid = 'x'\n"
                 "    g()\n    " + GENERIC + "\n", set()),
    # a walrus in a comprehension rebinds the function's name
    "walrus": ("def f(xs):\n    tid = 'conversation1'\n    [(tid := x) for x in xs]\n    " + GENERIC + "\n", set()),
    # statements sharing a line
    "semicolons": ("def f():\n    tid = 'conversation1'; " + GENERIC + "\n", {"OTL003"}),
    # a body on its header's line, and an `else:` one
    "same-line": ("def f(x):\n    tid = 'conversation1'\n    if x: " + GENERIC + "\n    else: " + GENERIC + "\n",
                  {"OTL003"}),
    # the call in an `elif` test and in a `with` header
    "headers": ("def f(x):\n    tid = 'conversation1'\n    if x:\n        pass\n    elif " + GENERIC + ":\n"
                "        pass\n    with " + GENERIC + " as r:\n        r.read()\n", {"OTL003"}),
    # a module constant, a module `global` rebinding it, and a class attribute
    "module": ("tid = 'conversation1'\n\ndef f():\n    " + GENERIC + "\n", {"OTL003"}),
    "global": ("tid = 'conversation1'\n\ndef g():\n    global tid\n    tid = 'x'\n\ndef f():\n    " + GENERIC + "\n",
               set()),
    # a class attribute is not seen from a method, and a class body's names are not followed
    "class": ("class C:\n    tid = 'conversation1'\n    def m(self):\n        " + GENERIC + "\n"
              "    x = " + GENERIC + "\n", set()),
    # a decorated nested function holding the call, the binding outside it
    "nested": ("def f():\n    tid = 'conversation1'\n    @dec\n    def g():\n        " + GENERIC + "\n    return g\n",
               {"OTL003"}),
    # a client bound by `with` at module level and an id from a loop counter
    "with-client": ("from openai import OpenAI\nwith OpenAI(base_url='https://api.orq.ai/v2/router') as client:\n"
                    "    for i in range(3):\n        " + CALL.format(id="'conversation1'") + "\n", {"OTL003"}),
    # OTL106: a fresh id bound for this call only, and one bound before a loop
    "minted": ("import uuid\n\ndef f():\n    tid = str(uuid.uuid4())\n    " + GENERIC + "\n"
               "def g(items):\n    tid = str(uuid.uuid4())\n    for _ in items:\n        " + GENERIC + "\n", {"OTL106"}),
    # non-ASCII text: Python normalises identifiers (NFKC), so `ｔid` binds `tid`: the binding is
    # found (the name is not taken for unbound) and, written otherwise than read, not followed
    "nfkc": ("tid = 'conversation1'\ndef f():\n    ｔid = 'x'  # é\n    " + GENERIC + "\n", set()),
    # a statement inside a multi-line string's rows is not a statement
    "string": ('def f():\n    doc = """\n    tid = 1\n    """\n    tid = "conversation1"\n    ' + GENERIC + "\n",
               {"OTL003"}),
}


def _key(f):  # type: ignore[no-untyped-def]
    return f.row, f.column, f.end_row, f.end_column, f.code, f.violation.message


@pytest.mark.parametrize("name", sorted(SHAPES))
def test_the_narrowed_engine_finds_what_the_gate_free_run_finds(name: str) -> None:
    source, expected = SHAPES[name]
    data = source.encode()
    policy = Policy.preset()
    fast = sorted(map(_key, check_bytes(data, "t.py", policy).findings))
    full = sorted(map(_key, check_bytes(data, "t.py", policy, prefilter=False).findings))
    assert fast == full, name
    codes = {k[4] for k in fast} - {"OTL101"}
    assert expected <= codes, (name, fast)
    if not expected:
        assert "OTL003" not in codes, (name, fast)


def test_a_fix_in_a_header_segment_keeps_the_body() -> None:
    source = ("def f():\n    with client.chat.completions.create(model='m', messages=h,\n"
              "            extra_body={'orq': {'thread': {'id': 'a-1', 'tags': 'support'}}}) as r:\n"
              "        r.read()  # kept\n")
    result = check_bytes(source.encode(), "t.py", Policy.preset(), fix=True)
    assert result.fixed["OTL010"] == 1
    assert result.source == source.replace("'tags': 'support'", "'tags': ['support']")
