"""Jupyter notebooks: read by `check` as ruff reads them, on real files, through the real CLI."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from orq_thread_lint.policy import Policy
from orq_thread_lint.static.notebook import check_notebook, virtual_module

GENERIC = '{"orq": {"thread": {"id": "conversation1"}}}'


def code(source: str | list[str], **extra: Any) -> dict[str, Any]:
    return {"cell_type": "code", "execution_count": None, "metadata": {}, "outputs": [], "source": source, **extra}


def markdown(text: str) -> dict[str, Any]:
    return {"cell_type": "markdown", "metadata": {}, "source": [text]}


def lines(text: str) -> list[str]:
    """A source as Jupyter stores it: a list of lines, each with its newline but the last."""
    return [line + "\n" for line in text.split("\n")[:-1]] + ([text.split("\n")[-1]] if text[-1:] != "\n" else [])


def notebook(cells: list[dict[str, Any]], language: str = "python") -> dict[str, Any]:
    return {"cells": cells, "metadata": {"kernelspec": {"display_name": "Python 3", "language": language,
                                                        "name": "python3"},
                                         "language_info": {"name": language}},
            "nbformat": 4, "nbformat_minor": 5}


def jupyter(nb: dict[str, Any]) -> str:
    """The bytes Jupyter writes: one-space indent, raw UTF-8, a final newline."""
    return json.dumps(nb, indent=1, ensure_ascii=False) + "\n"


def colab(nb: dict[str, Any]) -> str:
    """The bytes Colab writes: two-space indent, \\u escapes, no final newline."""
    return json.dumps(nb, indent=2)


def write(path: Path, text: str) -> Path:
    path.write_bytes(text.encode("utf-8"))
    return path


def cli(cwd: Path, env: dict[str, str], *args: str, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(["orq-thread-lint", "check", "--no-cache", *args], cwd=cwd, capture_output=True,
                          text=True, env=env, input=stdin, timeout=300)


def as_json(cwd: Path, env: dict[str, str], *args: str) -> list[dict[str, Any]]:
    proc = cli(cwd, env, "--format", "json", *args)
    assert proc.returncode in (0, 1), proc.stderr
    found: list[dict[str, Any]] = json.loads(proc.stdout)
    return found


def places(found: list[dict[str, Any]]) -> list[tuple[str, int | None, int, int]]:
    return [(f["code"], f["cell"], f["location"]["row"], f["location"]["column"]) for f in found]


CALL = 'client.chat.completions.create(model="m", messages=history, extra_body={body})\n'


def test_cells_are_analysed_together(tmp_path: Path, cli_env: dict[str, str]) -> None:
    shared = notebook([
        markdown("# A chat"),
        code(lines('THREAD = "conversation1"\nhistory = []')),
        markdown("Now ask."),
        code(lines(CALL.format(body='{"orq": {"thread": {"id": THREAD}}}'))),
    ])
    write(tmp_path / "shared.ipynb", jupyter(shared))
    rebound = notebook([
        code(lines('THREAD = "conversation1"')),
        code(lines('THREAD = f"user-{user_id}-{session_id}"')),  # a later cell makes it unknown
        code(lines(CALL.format(body='{"orq": {"thread": {"id": THREAD}}}'))),
    ])
    write(tmp_path / "rebound.ipynb", jupyter(rebound))
    found = as_json(tmp_path, cli_env, "--select", "OTL003", ".")
    # Found at the literal in cell 2, although the call is in cell 4; the rebound one is unknown.
    assert [(f["filename"], *p) for f, p in zip(found, places(found), strict=True)] == [
        ("shared.ipynb", "OTL003", 2, 1, 10)]


def test_magics_and_shell_escapes_are_skipped_and_rows_kept(tmp_path: Path, cli_env: dict[str, str]) -> None:
    nb = notebook([
        code(lines("%pip install -q orq-ai-sdk openai\n!ls -la\npip install orq-ai-sdk\n%load_ext autoreload\n"
                   'client?\n?client\nhistory = []\nTID = "conversation1"\nfiles = !ls\n%time TAGS = make()\n'
                   "%env ORQ_API_KEY=x\n!pip install \\\n    langchain")),
        code(lines("%%bash\necho $(( 1 + \nnot python at all (")),
        code(lines('%%time\nfor q in questions:\n    !echo asking\n    prompt = """\n!important: this line is text\n'
                   '"""\n    ' + CALL.format(body='{"orq": {"thread": {"id": TID, "tags": TAGS}}}')
                   + '    ' + CALL.format(body='{"orq": {"thread": {"id": files}}}'))),
    ])
    write(tmp_path / "magic.ipynb", jupyter(nb))
    found = as_json(tmp_path, cli_env, "magic.ipynb")
    # No OTL000; TID is followed from cell 1 row 8; `files = !ls` and `%time TAGS = ...` bind unknowns.
    assert places(found) == [("OTL003", 1, 8, 7)]
    virtual = virtual_module(nb, jupyter(nb))
    assert "!important: this line is text\n" in virtual.text  # a string's line is never a magic
    assert virtual.text.count("\n") == len(virtual.origin)


def test_locations_in_text_json_sarif_and_github(tmp_path: Path, cli_env: dict[str, str]) -> None:
    row4 = 'extra_body={"orq": {"thread": {"id":"conversation1"}}},\n'
    nb = notebook([
        markdown("# Intro"),
        code(lines("from openai import OpenAI")),
        markdown("## Call it"),
        code(lines('resp = client.chat.completions.create(\n    model="m",\n    messages=history,\n'
                   + row4 + ")")),
    ])
    path = write(tmp_path / "nb.ipynb", colab(nb))
    column = row4.index('"conversation1"') + 1
    assert column == 37
    proc = cli(tmp_path, cli_env, "--select", "OTL003", "nb.ipynb")
    assert proc.stdout.splitlines()[0].startswith("nb.ipynb:cell 4:4:37: OTL003 ")
    found = as_json(tmp_path, cli_env, "--select", "OTL003", "nb.ipynb")
    assert places(found) == [("OTL003", 4, 4, 37)]
    assert found[0]["noqa_row"] == 4 and found[0]["end_location"] == {"row": 4, "column": 52}
    # SARIF and GitHub point into the notebook file itself: its JSON line and column.
    file_lines = path.read_text(encoding="utf-8").split("\n")
    sarif = json.loads(cli(tmp_path, cli_env, "--select", "OTL003", "--format", "sarif", "nb.ipynb").stdout)
    result = sarif["runs"][0]["results"][0]
    region = result["locations"][0]["physicalLocation"]["region"]
    assert result["locations"][0]["physicalLocation"]["artifactLocation"]["uri"] == "nb.ipynb"
    held = file_lines[region["startLine"] - 1]
    assert held[region["startColumn"] - 1 : region["endColumn"] - 1] == '\\"conversation1\\"'
    assert result["properties"] == {"cell": 4, "cellRow": 4, "cellColumn": 37}
    github = cli(tmp_path, cli_env, "--select", "OTL003", "--format", "github", "nb.ipynb").stdout
    assert github.startswith(f"::error file=nb.ipynb,line={region['startLine']},col={region['startColumn']},")
    assert "::cell 4:4:37: OTL003 " in github


FIXABLE = CALL.format(body='{"orq": {"thread": {"id": f"user-{uid}-{sid}", "tags": "support"}}}')
FIXED = CALL.format(body='{"orq": {"thread": {"id": f"user-{uid}-{sid}", "tags": ["support"]}}}')


def shapes() -> list[tuple[str, dict[str, Any], Any]]:
    outputs = [{"name": "stdout", "output_type": "stream", "text": ["Réponse: ok ✅\n"]},
               {"data": {"text/plain": ["{'a': 1}"]}, "execution_count": 3, "metadata": {}, "output_type": "execute_result"}]
    cells = [
        markdown("## Étape 1 — install ✅"),
        code(lines("%pip install -q orq-ai-sdk\nimport os"), outputs=outputs, execution_count=1),
        code(lines("uid, sid = 'u', 's'\n# a comment the fix keeps\n" + FIXABLE + "print('é')"),
             metadata={"id": "Jx_H1b1ldLHp", "colab": {"base_uri": "https://localhost:8080/"}}),
        {"metadata": {"tags": []}, "source": lines("x = 1"), "cell_type": "code", "outputs": [],
         "execution_count": None},  # keys in another order
    ]
    as_string = [dict(c, source="".join(c["source"])) for c in cells]
    return [("jupyter", notebook(cells), jupyter), ("colab", notebook(cells), colab),
            ("string-sources", notebook(as_string), jupyter),
            ("crlf", notebook(cells), lambda nb: jupyter(nb).replace("\n", "\r\n")),
            ("four-spaces-sorted", notebook(cells), lambda nb: json.dumps(nb, indent=4, sort_keys=True))]


@pytest.mark.parametrize("name", [s[0] for s in shapes()])
def test_fix_round_trip_is_byte_identical_outside_the_fixed_cell(tmp_path: Path, cli_env: dict[str, str],
                                                                 name: str) -> None:
    _, nb, dump = next(s for s in shapes() if s[0] == name)
    path = write(tmp_path / "nb.ipynb", dump(nb))
    before = path.read_bytes()
    diff = cli(tmp_path, cli_env, "--diff", "nb.ipynb")
    assert diff.returncode == 1 and path.read_bytes() == before
    assert "--- a/nb.ipynb:cell 3\n+++ b/nb.ipynb:cell 3\n" in diff.stdout
    assert '-    client' not in diff.stdout and '+client.chat.completions.create(model="m", messages=history, ' \
        'extra_body={"orq": {"thread": {"id": f"user-{uid}-{sid}", "tags": ["support"]}}})\n' in diff.stdout
    proc = cli(tmp_path, cli_env, "--fix", "--select", "OTL010", "nb.ipynb")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    fixed = json.loads(json.dumps(nb))
    source = fixed["cells"][2]["source"]
    fixed["cells"][2]["source"] = ("".join(source) if isinstance(source, list) else source).replace(FIXABLE, FIXED)
    if isinstance(source, list):
        fixed["cells"][2]["source"] = lines(fixed["cells"][2]["source"])
    assert path.read_bytes() == dump(fixed).encode("utf-8")
    again = cli(tmp_path, cli_env, "--fix", "nb.ipynb", "--select", "OTL010")
    assert again.returncode == 0 and path.read_bytes() == dump(fixed).encode("utf-8")


def test_fix_keeps_a_cell_with_magics_and_the_mode(tmp_path: Path, cli_env: dict[str, str]) -> None:
    source = "!ls\nfor q in qs:\n    %time x = 1\n    " + FIXABLE + "    !echo done"
    nb = notebook([code(lines(source))])
    path = write(tmp_path / "nb.ipynb", jupyter(nb))
    path.chmod(0o640)
    assert cli(tmp_path, cli_env, "--fix", "--select", "OTL010", "nb.ipynb").returncode == 0
    after = json.loads(path.read_text(encoding="utf-8"))
    assert "".join(after["cells"][0]["source"]) == source.replace(FIXABLE, FIXED)
    assert path.stat().st_mode & 0o777 == 0o640


def test_json_fix_edits_are_in_cell_rows_with_the_magics_as_written(tmp_path: Path, cli_env: dict[str, str]) -> None:
    source = "!ls\nfor q in qs:\n    %time x = 1\n    " + FIXABLE + "    !echo done"
    write(tmp_path / "nb.ipynb", jupyter(notebook([markdown("# A"), code(lines(source))])))
    found = as_json(tmp_path, cli_env, "--select", "OTL010", "nb.ipynb")
    assert places(found) == [("OTL010", 2, 4, FIXABLE.index('"support"') + 5)]
    (edit,) = found[0]["fix"]["edits"]
    # The call's own row, replaced by the fixed call: the magics around it are not in the edit.
    assert (edit["location"], edit["end_location"]) == ({"row": 4, "column": 1}, {"row": 5, "column": 1})
    assert edit["content"] == "    " + FIXED


def test_python_that_looks_like_ipython_is_python() -> None:
    source = ('ratio = 5 % 3\nok = a != b\nprint("100%? really?")  # why?\nconfig = load()\nrun(1)\n'
              'data = [\n    1,\n]\nmsg = """\n%not a magic\n?nor help\n"""\ns = \'it\\\'s\'  # don\'t\n'
              "pip = 1\ncd = pip - 1\nwhy = 'what?'\n" + CALL.format(body=GENERIC))
    nb = notebook([code(lines(source))])
    virtual = virtual_module(nb, jupyter(nb))
    assert virtual.placeholders == {}
    assert virtual.text == source + virtual.marker
    found = check_notebook(jupyter(nb).encode(), "nb.ipynb", Policy.load(None)).findings
    assert [(f.code, f.cell, f.row) for f in found if f.code == "OTL003"] == [("OTL003", 1, source.count("\n"))]


def test_writefile_and_other_languages_are_not_python(tmp_path: Path, cli_env: dict[str, str]) -> None:
    nb = notebook([code(lines("%%writefile app.py\n" + CALL.format(body=GENERIC))),
                   code(lines("%%html\n<b>{\"orq\": 1}</b>")),
                   code(lines("\n%%capture out\n" + CALL.format(body=GENERIC)))])
    write(tmp_path / "nb.ipynb", jupyter(nb))
    assert places(as_json(tmp_path, cli_env, "--select", "OTL0", "nb.ipynb")) == [
        ("OTL003", 3, 3, CALL.format(body=GENERIC).index('"conversation1"') + 1)]


def test_noqa_in_cells(tmp_path: Path, cli_env: dict[str, str]) -> None:
    nb = notebook([
        code(lines(CALL.format(body=GENERIC).rstrip("\n") + "  # noqa: OTL003")),
        code(lines(CALL.format(body=GENERIC).rstrip("\n") + "  # noqa: OTL010")),
        code(lines(CALL.format(body=GENERIC).rstrip("\n") + "  # noqa")),
    ])
    write(tmp_path / "nb.ipynb", jupyter(nb))
    column = CALL.format(body=GENERIC).index('"conversation1"') + 1
    assert places(as_json(tmp_path, cli_env, "--select", "OTL003", "nb.ipynb")) == [("OTL003", 2, 1, column)]


def test_invalid_notebooks_are_otl000_and_the_rest_is_checked(tmp_path: Path, cli_env: dict[str, str]) -> None:
    write(tmp_path / "truncated.ipynb", '{"cells": [\n  {"cell_type": "code",')
    write(tmp_path / "not_cells.ipynb", '{"cells": {"a": 1}, "nbformat": 4}')
    write(tmp_path / "v3.ipynb", '{"worksheets": [], "nbformat": 3}')
    write(tmp_path / "bad_source.ipynb", json.dumps(notebook([code([1, 2])])))
    write(tmp_path / "syntax.ipynb", jupyter(notebook([code(lines("x = 1")), code(lines("def f(:\n    pass")),
                                                        code(lines(CALL.format(body=GENERIC)))])))
    write(tmp_path / "app.py", CALL.format(body=GENERIC))
    write(tmp_path / "good.ipynb", jupyter(notebook([code(lines(CALL.format(body=GENERIC)))])))
    found = as_json(tmp_path, cli_env, "--select", "OTL000,OTL003", ".")
    got = {(f["filename"], f["code"], f["cell"], f["location"]["row"]) for f in found}
    assert got == {
        ("app.py", "OTL003", None, 1), ("good.ipynb", "OTL003", 1, 1),
        ("truncated.ipynb", "OTL000", None, 2), ("not_cells.ipynb", "OTL000", None, 1),
        ("v3.ipynb", "OTL000", None, 1), ("bad_source.ipynb", "OTL000", None, 1),
        ("syntax.ipynb", "OTL000", 2, 1),
    }
    messages = {f["filename"]: f["message"] for f in found if f["code"] == "OTL000"}
    assert "invalid JSON" in messages["truncated.ipynb"] and "nbformat 3" in messages["v3.ipynb"]
    assert "'source'" in messages["bad_source.ipynb"]


def test_walks_find_notebooks_and_respect_include_and_exclude(tmp_path: Path, cli_env: dict[str, str]) -> None:
    (tmp_path / "nbs").mkdir()
    write(tmp_path / "nbs" / "a.ipynb", jupyter(notebook([code(lines(CALL.format(body=GENERIC)))])))
    (tmp_path / "nbs" / ".ipynb_checkpoints").mkdir()
    write(tmp_path / "nbs" / ".ipynb_checkpoints" / "a-checkpoint.ipynb",
          jupyter(notebook([code(lines(CALL.format(body=GENERIC)))])))
    write(tmp_path / "r_kernel.ipynb", jupyter(notebook([code(lines("x <- c(1, 2")), ], language="R")))

    def names(*args: str) -> list[str]:
        return sorted(f["filename"] for f in as_json(tmp_path, cli_env, "--select", "OTL0", *args))

    assert names(".") == ["nbs/a.ipynb"]  # checkpoints are excluded; an R notebook isn't Python
    for switch in ('extend-exclude = ["*.ipynb"]', 'include = ["*.py", "*.pyi"]'):
        (tmp_path / "pyproject.toml").write_text(f"[tool.orq-thread-lint]\n{switch}\n")
        assert names(".") == []
        assert names("nbs/a.ipynb") == ["nbs/a.ipynb"]  # named on the command line: always read
        assert names("--force-exclude", "nbs/a.ipynb") == ([] if "exclude" in switch else ["nbs/a.ipynb"])
    (tmp_path / "pyproject.toml").write_text('[tool.orq-thread-lint]\ninclude = ["*.py"]\nextend-include = ["*.ipynb"]\n')
    assert names(".") == ["nbs/a.ipynb"]


@pytest.mark.parametrize("orq", ['"orq"', '"\\u006frq"', '"o\\u0072q"'])
def test_the_prefilter_is_exact_through_json_escapes(orq: str) -> None:
    """The byte scan runs on the cells' decoded text, so escaping can't hide a finding from it."""
    policy = Policy.load(None)
    source = json.dumps("tid = 'conversation1'\nbody = {\"orq\": {\"thread\": {\"id\": tid}}}\n")
    raw = '{"cells": [{"cell_type": "code", "metadata": {}, "outputs": [], "source": ' \
          + source.replace('\\"orq\\"', '\\"' + orq[1:-1] + '\\"') + '}], "nbformat": 4, "nbformat_minor": 5}'
    data = raw.encode()
    assert b'"orq"' not in data  # the bytes only hold `\"orq\"` or an escape of it
    fast = check_notebook(data, "nb.ipynb", policy, prefilter=True).findings
    slow = check_notebook(data, "nb.ipynb", policy, prefilter=False).findings
    assert [(f.code, f.cell, f.row) for f in fast] == [(f.code, f.cell, f.row) for f in slow] == [("OTL003", 1, 1)]


def test_parallel_workers_and_the_cache_give_the_same_notebook_findings(tmp_path: Path, cli_env: dict[str, str],
                                                                         monkeypatch: pytest.MonkeyPatch) -> None:
    for i in range(60):  # above the size where workers start
        cells = [markdown(f"# {i}"), code(lines(f'TID = "conversation{i}"')),
                 code(lines(CALL.format(body='{"orq": {"thread": {"id": TID}}}')))]
        write(tmp_path / f"nb{i:02}.ipynb", jupyter(notebook(cells)))
    serial = as_json(tmp_path, cli_env, "--jobs", "1", "--select", "OTL003", ".")
    parallel = as_json(tmp_path, cli_env, "--jobs", "2", "--select", "OTL003", ".")
    assert len(serial) == 60 and serial == parallel
    assert {(f["cell"], f["location"]["row"]) for f in serial} == {(2, 1)}

    def cached() -> list[dict[str, Any]]:
        proc = subprocess.run(["orq-thread-lint", "check", "--format", "json", "--select", "OTL003", "."],
                              cwd=tmp_path, capture_output=True, text=True, env=cli_env, timeout=300)
        found: list[dict[str, Any]] = json.loads(proc.stdout)
        return found

    assert cached() == serial  # written
    assert cached() == serial  # read back, cells and all
    from orq_thread_lint.static.run import check_paths

    monkeypatch.chdir(tmp_path)  # the cache keys paths as the command line named them
    warm = check_paths(["."], Policy.load(None).with_selection(["OTL003"], [], []), use_cache=True)
    assert warm.cached == 60 and {(f.cell, f.row) for f in warm.findings} == {(2, 1)}
    sarif_cold = cli(tmp_path, cli_env, "--select", "OTL003", "--format", "sarif", "nb07.ipynb").stdout
    sarif_warm = subprocess.run(["orq-thread-lint", "check", "--select", "OTL003", "--format", "sarif",
                                 "nb07.ipynb"], cwd=tmp_path, capture_output=True, text=True, env=cli_env).stdout
    assert sarif_warm == sarif_cold  # the file's own line and column survive the cache


def test_stdin_notebook(tmp_path: Path, cli_env: dict[str, str]) -> None:
    text = jupyter(notebook([code([*lines("uid, sid = 1, 2\n" + FIXABLE), ""])]))  # an empty last item, kept
    proc = cli(tmp_path, cli_env, "-", "--stdin-filename", "nb.ipynb", "--select", "OTL010", stdin=text)
    assert proc.returncode == 1 and "nb.ipynb:cell 1:2:" in proc.stdout
    proc = cli(tmp_path, cli_env, "-", "--fix", "--stdin-filename", "nb.ipynb", "--select", "OTL010", stdin=text)
    assert proc.stdout == text.replace('\\"support\\"', '[\\"support\\"]')


COOKBOOK = [
    markdown("## Multi-turn conversation with thread tracking"),
    code(lines("%pip install orq-ai-sdk openai opentelemetry-sdk")),
    code(lines('"""\nExample: multi-turn conversation\n"""\nimport os\nfrom orq_ai_sdk import Orq\n\n'
               "def multi_turn():\n"
               '    thread_id = "conversation_abc123"\n'
               '    with tracer.start_as_current_span("session") as span:\n'
               '        span.set_attribute("orq.thread_id", thread_id)\n'
               '        with Orq(api_key=os.environ.get("ORQ_API_KEY"), environment="production") as client:\n'
               "            history = []\n"
               '            for turn, message in enumerate(["Hello!", "What does it do?"], 1):\n'
               '                history.append({"role": "user", "content": message})\n'
               "                response = client.deployments.invoke(\n"
               '                    key="chat_assistant",\n'
               "                    messages=history,\n"
               '                    metadata={"conversation_turn": turn, "thread_id": thread_id},\n'
               "                )\n"
               '                history.append({"role": "assistant", "content": response.choices[0].message.content})\n'
               "    return history")),
    code(lines("multi_turn()")),
    markdown("## The same through the AI Router"),
    code(lines('from openai import OpenAI\n\nrouter = OpenAI(base_url="https://api.orq.ai/v2/router", '
               'api_key=os.environ["ORQ_API_KEY"])\nTHREAD_ID = "conversation_abc123"')),
    code(lines("history = []\nfor question in questions:\n"
               '    history.append({"role": "user", "content": question})\n'
               '    reply = router.chat.completions.create(model="openai/gpt-4o", messages=history,\n'
               '                                           extra_body={"orq": {"thread": {"id": THREAD_ID}}})\n'
               '    history.append({"role": "assistant", "content": reply.choices[0].message.content})')),
]


def test_cookbook_style_notebook(tmp_path: Path, cli_env: dict[str, str]) -> None:
    """orq's OpenTelemetry cookbook in shape: a constant id shared by every run, a multi-turn
    `deployments.invoke` loop with the id in `metadata` (which the router ignores) and in a span
    attribute, then the same constant sent through the router from another cell: all three found,
    each in its cell."""
    write(tmp_path / "cookbook.ipynb", colab(notebook(COOKBOOK)))
    found = as_json(tmp_path, cli_env, "cookbook.ipynb")
    assert places(found) == [
        ("OTL104", 3, 10, 45),  # the constant on the orq.thread_id span attribute
        ("OTL103", 3, 18, 58),  # metadata.thread_id on deployments.invoke: the router ignores it
        ("OTL104", 7, 5, 81),  # the same constant sent through the router from cell 7
    ]


def test_an_escape_line_opens_no_string_and_other_language_cells_are_skipped() -> None:
    sql = dict(code(lines("SELECT * FROM t WHERE x = '1")), metadata={"vscode": {"languageId": "sql"}})
    nb = notebook([
        code(lines('!echo """\n%env KEY="it\'s"\n!ls \\\n  -la "x\nTID = "conversation1"')),
        sql,
        code(lines(CALL.format(body='{"orq": {"thread": {"id": TID}}}'))),
    ])
    found = check_notebook(jupyter(nb).encode(), "nb.ipynb", Policy.load(None)).findings
    assert [(f.code, f.cell, f.row, f.column) for f in found] == [("OTL003", 1, 5, 7)]


def test_unused_noqa_in_cells_is_found_and_fixed(tmp_path: Path, cli_env: dict[str, str]) -> None:
    nb = notebook([markdown("# A"), code(lines("%pip install openai\nx = 1  # noqa: OTL003\n"
                                                + CALL.format(body=GENERIC).rstrip("\n") + "  # noqa: OTL003"))])
    path = write(tmp_path / "nb.ipynb", colab(nb))
    found = as_json(tmp_path, cli_env, "--extend-select", "OTL900", "nb.ipynb")
    assert places(found) == [("OTL900", 2, 2, 8)]
    assert cli(tmp_path, cli_env, "--extend-select", "OTL900", "--fix", "nb.ipynb").returncode == 0
    nb["cells"][1]["source"][1] = "x = 1\n"
    assert path.read_bytes() == colab(nb).encode("utf-8")


def test_add_noqa_writes_into_the_cells(tmp_path: Path, cli_env: dict[str, str]) -> None:
    call = CALL.format(body=GENERIC)
    nb = notebook([markdown("# A"), code(lines("!ls\n" + call.rstrip("\n"))),
                   code(lines('prompt = """\n!not magic\n"""\n' + call))])
    path = write(tmp_path / "nb.ipynb", jupyter(nb))
    proc = subprocess.run(["orq-thread-lint", "check", "--no-cache", "--add-noqa", "--select", "OTL003", "nb.ipynb"],
                          cwd=tmp_path, capture_output=True, text=True, env=cli_env)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    nb["cells"][1]["source"][1] = call.rstrip("\n") + "  # noqa: OTL003"
    nb["cells"][2]["source"][3] = call.rstrip("\n") + "  # noqa: OTL003\n"
    assert path.read_bytes() == jupyter(nb).encode("utf-8")
    assert as_json(tmp_path, cli_env, "--select", "OTL003", "nb.ipynb") == []
