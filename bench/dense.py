"""Build the orq-dense corpus: real code with an orq call written into every function.

    python bench/dense.py [--source DIR] [--out DIR]   # prints the corpus folder

The source is a pinned real package (Django, from the corpus virtualenv of ``corpus.py``). Each
function body gets, before its first statement, one call in one of several shapes (cycling):
ids in f-strings and in variables, dicts built first, tag lists, async clients, orq SDK calls,
``orq=`` misuse, a generic id, a repeated tag. This is the code the checker exists for: every
function holds a candidate, so the byte and ast gates rule out nothing.
"""

from __future__ import annotations

import argparse
import ast
import shutil
import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from corpus import build, corpus_dir

SHAPES = (
    ['client.chat.completions.create(model="gpt-4o", messages=[],',
     '    extra_body={"orq": {"thread": {"id": f"user-{uid}-{sid}", "tags": ["support"]}}})'],
    ['_tid = f"ticket-{ticket_id}"',
     'client.chat.completions.create(model="gpt-4o", messages=history, extra_body={"orq": {"thread": {"id": _tid}}})'],
    ['_orq = {"thread": {"id": "conversation1", "tags": ["billing"]}}',
     'client.chat.completions.create(model="gpt-4o", messages=history, extra_body={"orq": _orq})'],
    ['_tags = ["billing", "billing"]',
     'client.responses.create(model="gpt-4o", input="hi", extra_body={"thread": {"id": f"s-{sid}", "tags": _tags}})'],
    ['orq.deployments.invoke(key="support-bot", messages=history, thread={"id": f"session-{sid}", "tags": ["vip"]})'],
    ['client.chat.completions.create(model="m", messages=history, orq={"thread": {"id": f"user-{uid}"}})'],
    ['for _i in range(3):',
     '    client.chat.completions.create(model="m", messages=[],',
     '        extra_body={"orq": {"thread": {"id": f"batch-{_i}"}}})'],
)
ASYNC_SHAPE = ['await aclient.chat.completions.create(model="gpt-4o", messages=history,',
               '    extra_body={"orq": {"thread": {"id": f"user-{uid}-{sid}", "tags": ["support", "sales"]}}})']


def densify(source: str, start: int = 0) -> tuple[str, int]:
    """The source with a call inserted into every function whose body starts on its own line;
    returns the new text and how many calls were inserted (shapes cycle from ``start``)."""
    try:
        tree = ast.parse(source)
    except SyntaxError:
        return source, 0
    lines = source.splitlines(keepends=True)
    places = []
    for node in ast.walk(tree):
        if isinstance(node, (ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            # a decorated first statement starts at its first decorator
            row = min([first.lineno, *(d.lineno for d in getattr(first, "decorator_list", []))])
            if row > node.lineno and first.col_offset > node.col_offset:
                places.append((row, first.col_offset, isinstance(node, ast.AsyncFunctionDef)))
    count = 0
    for lineno, col, is_async in sorted(places, reverse=True):
        line = lines[lineno - 1]
        indent = line[: len(line) - len(line.lstrip())]
        if len(indent) != col:  # tabs or a body that shares its line: leave it
            continue
        shape = ASYNC_SHAPE if is_async else SHAPES[(start + count) % len(SHAPES)]
        lines[lineno - 1 : lineno - 1] = [indent + text + "\n" for text in shape]
        count += 1
    return "".join(lines), count


def build_dense(source: Path, out: Path) -> tuple[int, int, int]:
    """Copy ``source`` to ``out`` densified; returns (files, lines, calls)."""
    if out.exists():
        shutil.rmtree(out)
    files = lines = calls = 0
    for path in sorted(source.rglob("*.py")):
        target = out / path.relative_to(source)
        target.parent.mkdir(parents=True, exist_ok=True)
        text = path.read_text(encoding="utf-8", errors="surrogateescape")
        new, n = densify(text, calls)
        target.write_text(new, encoding="utf-8", errors="surrogateescape")
        files, lines, calls = files + 1, lines + new.count("\n"), calls + n
    return files, lines, calls


def generated_file(calls: int) -> str:
    """One module of ``calls`` module-level orq call lines (the 60,000-line fixture)."""
    head = "from openai import OpenAI\n\nclient = OpenAI(base_url='https://api.orq.ai/v2/router')\n\n"
    body = "".join(
        f'client.chat.completions.create(model="m", messages=h, extra_body={{"orq": {{"thread": '
        f'{{"id": f"user-{{uid}}-{i}", "tags": ["support"]}}}}}})\n' for i in range(calls))
    return head + body


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--source", type=Path, help="a package folder (default: django in the corpus)")
    parser.add_argument("--out", type=Path, default=corpus_dir() / "dense")
    args = parser.parse_args()
    source = args.source or build() / "django"
    files, lines, calls = build_dense(source, args.out)
    print(f"{args.out}: {files} files, {lines:,} lines, {calls:,} calls inserted", file=sys.stderr)
    print(args.out)


if __name__ == "__main__":
    main()
