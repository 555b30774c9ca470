"""Hostile input to the static checker: its inputs (pipes, unreadable folders, links), its cache,
``--fix`` write-back, noqa and the junit report. Each test names the issue 10 item it proves."""

from __future__ import annotations

import json
import os
import subprocess
import tempfile
import xml.etree.ElementTree as ET
from pathlib import Path

import pytest

from orq_thread_lint.policy import Policy
from orq_thread_lint.report import Finding, Options, junit
from orq_thread_lint.rules.catalog import RULES
from orq_thread_lint.static import discover, fixes
from orq_thread_lint.static import run as run_module
from orq_thread_lint.static.run import check_paths
from orq_thread_lint.violations import Violation

FIXABLE = 'def go(c, u):\n    c.chat.completions.create(model="m", messages=[], orq={"thread": {"id": f"user-{u}"}})\n'
FIXED = 'def go(c, u):\n    c.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": f"user-{u}"}}})\n'
GENERIC = 'def go(c):\n    c.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": "conversation1"}}})\n'


def policy_for(root: Path) -> Policy:
    return Policy.from_dict({}, path=root / "pyproject.toml")


def codes(findings: list[Finding]) -> list[tuple[str, str]]:
    return sorted((Path(f.filename).name, f.code) for f in findings)


def messages(findings: list[Finding], code: str = "OTL000") -> list[str]:
    return [f.violation.message for f in findings if f.code == code]


# 6: only regular files are read -------------------------------------------------------------------

def test_a_named_pipe_is_skipped_by_the_walk_and_reported_when_named(tmp_path: Path, cli_env: dict[str, str]) -> None:
    os.mkfifo(tmp_path / "x.py")
    (tmp_path / "a.py").write_text(GENERIC)
    proc = subprocess.run(["orq-thread-lint", "check", ".", "--no-cache"], cwd=tmp_path, capture_output=True,
                          text=True, env=cli_env, timeout=120)
    assert proc.returncode == 1 and "a.py:2:" in proc.stdout and "OTL003" in proc.stdout
    assert "x.py" not in proc.stdout
    proc = subprocess.run(["orq-thread-lint", "check", "x.py", "a.py", "--no-cache"], cwd=tmp_path,
                          capture_output=True, text=True, env=cli_env, timeout=120)
    assert "x.py:1:1: OTL000 can't read: not a regular file (a named pipe)" in proc.stdout
    assert "a.py:2:" in proc.stdout  # the rest is still checked


def test_a_device_named_on_the_command_line_is_not_read(tmp_path: Path) -> None:
    run = check_paths(["/dev/null"], policy_for(tmp_path))
    assert messages(run.findings) == ["can't read: not a regular file (a character device)"]


# 10: an unreadable folder is reported ---------------------------------------------------------------

def _deny(monkeypatch: pytest.MonkeyPatch, module: object, name: str, denied: Path, arg: str | None = None) -> None:
    """Make ``module.name`` fail with EACCES for ``denied``, as the kernel does for a user without
    the permission (the tests may run as root, whom chmod doesn't stop)."""
    real = getattr(module, name)

    def guarded(*args: object, **kwargs: object) -> object:
        where = kwargs.get(arg) if arg else args[0]
        if os.path.abspath(str(where)) == str(denied):
            raise PermissionError(13, "Permission denied", str(where))
        return real(*args, **kwargs)

    monkeypatch.setattr(module, name, guarded)


def test_an_unreadable_folder_is_reported_and_the_rest_checked(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "locked").mkdir()
    (tmp_path / "locked" / "hidden.py").write_text(GENERIC)
    (tmp_path / "open.py").write_text(GENERIC)
    (tmp_path / "locked").chmod(0)
    try:
        if os.geteuid() == 0:
            _deny(monkeypatch, discover.os, "scandir", tmp_path / "locked")
        run = check_paths([str(tmp_path)], policy_for(tmp_path))
    finally:
        (tmp_path / "locked").chmod(0o755)
    assert codes(run.findings) == [("locked", "OTL000"), ("open.py", "OTL003")]
    assert messages(run.findings) == ["can't read folder: Permission denied"]


# 18: --fix never overwrites a change it didn't make ---------------------------------------------------

def test_a_change_made_while_fixing_is_kept(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    path = tmp_path / "app.py"
    path.write_text(FIXABLE)
    real = run_module.check_bytes
    edits = []

    def edited_meanwhile(*args: object, **kwargs: object) -> object:
        result = real(*args, **kwargs)  # type: ignore[arg-type]
        if not edits:  # an editor saves while the fixes are computed
            with path.open("a") as fh:
                edits.append(fh.write("# appended meanwhile\n"))
        return result

    monkeypatch.setattr(run_module, "check_bytes", edited_meanwhile)
    run = check_paths([str(path)], policy_for(tmp_path), fix=True, jobs=1)
    assert path.read_text() == FIXABLE + "# appended meanwhile\n"
    assert sum(run.fixed.values()) == 0
    assert messages(run.findings) == ["not fixed: the file changed while it was being checked; run again"]
    assert "OTL102" in [f.code for f in run.findings]  # what wasn't fixed is still reported
    assert [p.name for p in tmp_path.iterdir()] == ["app.py"]


def test_same_size_and_time_but_new_content_is_a_change(tmp_path: Path) -> None:
    from orq_thread_lint.static.files import read_source, unchanged

    path = tmp_path / "a.py"
    path.write_text("x = 1\n")
    _, snap = read_source(path)
    path.write_text("x = 2\n")
    os.utime(path, ns=(snap.mtime_ns, snap.mtime_ns))
    assert not unchanged(path, snap)
    path.write_text("x = 1\n")
    os.utime(path, ns=(snap.mtime_ns, snap.mtime_ns))
    assert unchanged(path, snap)


# 20: links, read-only files, unwritable folders ------------------------------------------------------

def test_a_symlinked_file_is_fixed_through_its_link(tmp_path: Path) -> None:
    (tmp_path / "real").mkdir()
    target = tmp_path / "real" / "app.py"
    target.write_text(FIXABLE)
    link = tmp_path / "app.py"
    link.symlink_to(target)
    run = check_paths([str(link)], policy_for(tmp_path), fix=True)
    assert sum(run.fixed.values()) == 1
    assert link.is_symlink() and os.readlink(link) == str(target)
    assert target.read_text() == FIXED
    assert sorted(p.name for p in (tmp_path / "real").iterdir()) == ["app.py"]


def test_a_read_only_file_is_skipped_and_reported(tmp_path: Path) -> None:
    locked, free = tmp_path / "locked.py", tmp_path / "free.py"
    locked.write_text(FIXABLE)
    free.write_text(FIXABLE)
    locked.chmod(0o444)
    run = check_paths([str(tmp_path)], policy_for(tmp_path), fix=True)
    assert locked.read_text() == FIXABLE and free.read_text() == FIXED
    assert run.fixed_files == {free.as_posix(): {"OTL102": 1}}
    assert codes(run.findings) == [("locked.py", "OTL000"), ("locked.py", "OTL102")]
    assert messages(run.findings) == ["not fixed: the file is read-only"]


def test_an_unwritable_folder_costs_its_files_not_the_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    (tmp_path / "sealed").mkdir()
    sealed = tmp_path / "sealed" / "a.py"
    sealed.write_text(FIXABLE)
    free = tmp_path / "b.py"
    free.write_text(FIXABLE)
    (tmp_path / "sealed").chmod(0o555)
    try:
        if os.geteuid() == 0:
            _deny(monkeypatch, fixes.tempfile, "mkstemp", tmp_path / "sealed", arg="dir")
        run = check_paths([str(tmp_path)], policy_for(tmp_path), fix=True, jobs=1)
    finally:
        (tmp_path / "sealed").chmod(0o755)
    assert sealed.read_text() == FIXABLE and free.read_text() == FIXED
    assert codes(run.findings) == [("a.py", "OTL000"), ("a.py", "OTL102")]
    assert messages(run.findings) == ["not fixed: can't write: Permission denied"]


# 21: noqa counts only as a comment ---------------------------------------------------------------------

def test_noqa_inside_a_string_silences_nothing(tmp_path: Path) -> None:
    (tmp_path / "a.py").write_text(
        'def go(c):\n'
        '    c.chat.completions.create(model="m", messages=[{"content": "see # noqa docs"}], extra_body={"orq": {"thread": {"id": "conversation1"}}})\n'
        '    c.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": "conversation1"}}})  # noqa: OTL003\n'
        '    c.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": "conversation1"}}})  # "# noqa" in a comment\n'
        '    c.chat.completions.create(model="m", messages=[], extra_body={"orq": {"thread": {"id": "conversation1"}}}, x="""\n'
        '# noqa""")\n')
    run = check_paths([str(tmp_path)], policy_for(tmp_path))
    assert sorted(f.row for f in run.findings) == [2, 5]


# 23: junit is valid XML 1.0 whatever the names hold -----------------------------------------------------

def test_junit_escapes_characters_xml_cannot_hold() -> None:
    import io

    rule = RULES["OTL000"]
    names = ["a\x01b.py", "c\x1b[31m.py", "tab\tand\rreturn.py", "bad\udcffbyte.py", "nul\x00.py"]
    findings = [Finding(n, 1, 1, Violation(rule.code, rule.name, f"can't read {n}\x0b", "", rule.severity))
                for n in names]
    out = io.StringIO()
    junit.render(findings, out, Options())
    text = out.getvalue()
    root = ET.fromstring(text.split("\n", 1)[1].encode("utf-8"))
    got = [s.get("name") for s in root.iter("testsuite")]
    assert got == ["a\\x01b.py", "c\\x1b[31m.py", "tab\tand\rreturn.py", "bad\\udcffbyte.py", "nul\\x00.py"]
    assert all("\\x0b" in (f.get("message") or "") for f in root.iter("failure"))


def test_junit_from_the_cli_parses_with_a_control_character_in_a_file_name(tmp_path: Path,
                                                                          cli_env: dict[str, str]) -> None:
    (tmp_path / "bad\x01name.py").write_text(GENERIC)
    proc = subprocess.run(["orq-thread-lint", "check", ".", "--no-cache", "--output-format", "junit"], cwd=tmp_path,
                          capture_output=True, text=True, env=cli_env, timeout=120)
    assert proc.returncode == 1
    root = ET.fromstring(proc.stdout.split("\n", 1)[1])
    assert [s.get("name") for s in root.iter("testsuite")] == ["bad\\x01name.py"]


# 8 and 22: the cache ---------------------------------------------------------------------------------------

def _cache_file(root: Path) -> Path:
    found = list((root / ".orq-thread-lint-cache").glob("*/*.json"))
    assert len(found) == 1, found
    return found[0]


def _run_cached(root: Path) -> list[Finding]:
    return check_paths([str(root / "src")], policy_for(root), use_cache=True).findings


@pytest.mark.parametrize("content", [
    '{"format":1,"files":{"%s":5}}', '"ab"', "{}", "[" * 100_000 + "]" * 100_000, '{"format":1,"files":[1]}',
    '{"format":1,"files":{"%s":[1,2,"d",[[1,2,3]]]}}', '{"format":1,"files":{"%s":[1,2,3,[]]}}',
    '{"format":1,"files":{"%s":["1",2,"d",[]]}}', '{"format":1,"files":{"%s":[1,2,"d",[[1,1,1,1,"OTL003","n","m","p","error",null,[1]]]]}}',
    '{"format":1,"files":{"%s":[1,2,"d",[[1,1,1,1,"OTL003","n","m","p","error",null,["m","safe",[[1,1,1,1,1]]]]]]}}',
    '\xff\xfe', "{" * 50 + '"format":1' + "}" * 50,
])
def test_a_cache_of_the_wrong_shape_is_ignored_and_rewritten(tmp_path: Path, content: str) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text(GENERIC)
    expected = codes(_run_cached(tmp_path))
    cache = _cache_file(tmp_path)
    key = next(iter(json.loads(cache.read_text())["files"]))
    stat = os.stat(tmp_path / "src" / "a.py")
    shaped = content.replace("%s", key)
    # entries that match the file's size and time, so a shape check is all that stands between them and use
    shaped = shaped.replace("[1,2,", f"[{stat.st_size},{stat.st_mtime_ns},")
    cache.write_bytes(shaped.encode("utf-8", "surrogateescape"))
    assert codes(_run_cached(tmp_path)) == expected
    assert json.loads(cache.read_text())["files"][key][3]  # rewritten with the real findings
    assert codes(_run_cached(tmp_path)) == expected


def test_the_cache_never_follows_a_link_to_write(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text(GENERIC)
    outside = tmp_path / "outside"
    outside.mkdir()
    victim = outside / "precious.txt"
    victim.write_text("keep me\n")
    folder = tmp_path / ".orq-thread-lint-cache"
    folder.mkdir()
    (folder / ".gitignore").symlink_to(victim)
    expected = codes(_run_cached(tmp_path))
    assert victim.read_text() == "keep me\n"
    assert (folder / ".gitignore").is_symlink()

    # a version folder linked out of the project: nothing is written there, nor read from there
    from orq_thread_lint import __version__

    for child in folder.iterdir():
        if child.is_dir():
            for sub in child.iterdir():
                sub.unlink()
            child.rmdir()
    (folder / __version__).symlink_to(outside, target_is_directory=True)
    assert codes(_run_cached(tmp_path)) == expected
    assert sorted(p.name for p in outside.iterdir()) == ["precious.txt"]

    # the cache file itself a link to a file elsewhere holding a valid-looking cache: not read
    os.unlink(folder / __version__)
    (folder / __version__).mkdir()
    policy = policy_for(tmp_path)
    fake = outside / "fake.json"
    fake.write_text(json.dumps({"format": 1, "files": {}}))
    (folder / __version__ / f"{policy.fingerprint}.json").symlink_to(fake)
    assert codes(_run_cached(tmp_path)) == expected
    assert fake.read_text() == json.dumps({"format": 1, "files": {}})


def test_a_cache_folder_that_is_a_link_is_not_used(tmp_path: Path) -> None:
    (tmp_path / "src").mkdir()
    (tmp_path / "src" / "a.py").write_text(GENERIC)
    outside = Path(tempfile.mkdtemp(dir=tmp_path))
    (tmp_path / ".orq-thread-lint-cache").symlink_to(outside, target_is_directory=True)
    assert codes(_run_cached(tmp_path)) == [("a.py", "OTL003")]
    assert list(outside.iterdir()) == []


# 19: a name bound anywhere else is not "assigned once" ----------------------------------------------------

CALL = ('    c.chat.completions.create(model="m", messages=[], '
        'extra_body={"orq": {"thread": {"id": f"user-{u}", "tags": [%s, "support"]}}})\n')
REBOUND = {
    "global": 'TAG = "support"\n\n\ndef reset():\n    global TAG\n    TAG = "billing"\n\n\ndef go(c, u):\n' + CALL % "TAG",
    "global-in-method": 'TAG = "support"\n\n\nclass K:\n    def m(self):\n        global TAG\n        TAG = "x"\n\n\n'
                        'def go(c, u):\n' + CALL % "TAG",
    "global-del": 'TAG = "support"\n\n\ndef drop():\n    global TAG\n    del TAG\n\n\ndef go(c, u):\n' + CALL % "TAG",
    "global-import": 'TAG = "support"\n\n\ndef load():\n    global TAG\n    from labels import TAG\n\n\n'
                     'def go(c, u):\n' + CALL % "TAG",
    "global-walrus": 'TAG = "support"\n\n\ndef pick(xs):\n    global TAG\n    return (TAG := xs[0])\n\n\n'
                     'def go(c, u):\n' + CALL % "TAG",
    "nonlocal": 'def go(c, u):\n    tag = "support"\n\n    def change():\n        nonlocal tag\n        tag = "sales"\n\n'
                '    change()\n' + CALL % "tag",
    "nonlocal-deep": 'def go(c, u):\n    tag = "support"\n\n    def a():\n        def b():\n            nonlocal tag\n'
                     '            tag = "sales"\n        b()\n\n    a()\n' + CALL % "tag",
    "comprehension-walrus": 'def go(c, u, xs):\n    tag = "support"\n    [tag := x for x in xs]\n' + CALL % "tag",
    "walrus-in-attribute": 'def go(c, u, xs):\n    tag = "support"\n    [(tag := x).strip() for x in xs]\n'
                           + CALL % "tag",
    "augmented": 'TAG = "support"\nTAG += "-x"\n\n\ndef go(c, u):\n' + CALL % "TAG",
    "loop": 'TAG = "support"\nfor TAG in ("a", "b"):\n    pass\n\n\ndef go(c, u):\n' + CALL % "TAG",
    "with": 'TAG = "support"\nwith open("f") as TAG:\n    pass\n\n\ndef go(c, u):\n' + CALL % "TAG",
    "walrus": 'TAG = "support"\nif (TAG := "x"):\n    pass\n\n\ndef go(c, u):\n' + CALL % "TAG",
    "import": 'TAG = "support"\nfrom labels import TAG\n\n\ndef go(c, u):\n' + CALL % "TAG",
    "del": 'TAG = "support"\ndel TAG\n\n\ndef go(c, u):\n' + CALL % "TAG",
    "local-loop": 'def go(c, u, xs):\n    tag = "support"\n    for tag in xs:\n        pass\n' + CALL % "tag",
    "local-with": 'def go(c, u):\n    tag = "support"\n    with open("f") as tag:\n        pass\n' + CALL % "tag",
    "local-augmented": 'def go(c, u):\n    tag = "support"\n    tag += "-x"\n' + CALL % "tag",
}


@pytest.mark.parametrize("name", sorted(REBOUND))
def test_a_rebound_name_is_not_followed_and_not_fixed(tmp_path: Path, name: str) -> None:
    path = tmp_path / "app.py"
    path.write_text(REBOUND[name])
    run = check_paths([str(path)], policy_for(tmp_path), fix=True)
    assert [f.code for f in run.findings if f.code == "OTL012"] == [] and not run.fixed
    assert path.read_text() == REBOUND[name]


def test_a_name_assigned_once_is_still_followed(tmp_path: Path) -> None:
    path = tmp_path / "app.py"
    path.write_text('TAG = "support"\n\n\ndef reset():\n    global OTHER\n    OTHER = 1\n\n\ndef go(c, u):\n'
                    + CALL % "TAG")
    run = check_paths([str(path)], policy_for(tmp_path), fix=True)
    assert run.fixed == {"OTL012": 1} and '"tags": [TAG]' in path.read_text()


# 17: fixes keep every comment -----------------------------------------------------------------------------

def _comment_texts(text: str) -> list[str]:
    import io
    import tokenize

    return sorted(t.string for t in tokenize.generate_tokens(io.StringIO(text).readline) if t.type == tokenize.COMMENT)


COMMENTED = {
    "duplicate-trailing-comma": ('        extra_body={"orq": {"thread": {"id": f"user-{u}", "tags": [\n'
                                 '            "support",  # first\n'
                                 '            "support",  # second: TICKET-123\n'
                                 '        ]}}},\n',
                                 '            "support",  # first\n            # second: TICKET-123\n        ]}}},\n'),
    "duplicate-last-no-comma": ('        extra_body={"orq": {"thread": {"id": f"user-{u}", "tags": [\n'
                                '            "support",  # first\n'
                                '            "billing",  # b\n'
                                '            "support"  # last one\n'
                                '        ]}}},\n',
                                '            "billing"  # b\n            # last one\n        ]}}},\n'),
    "duplicate-middle": ('        extra_body={"orq": {"thread": {"id": f"user-{u}", "tags": [\n'
                         '            "support",  # first\n'
                         '            "support",  # second\n'
                         '            "billing",  # third\n'
                         '        ]}}},\n',
                         '            "support",  # first\n            # second\n            "billing",  # third\n'),
    "duplicate-parenthesised": ('        extra_body={"orq": {"thread": {"id": f"user-{u}", "tags": ["a", (  # why\n'
                                '            "a"  # inner\n'
                                '        ), "b"]}}},\n', None),
    "nest-thread": ('        extra_body={\n'
                    '            "thread": {\n'
                    '                # why this id\n'
                    '                "id": f"user-{u}",  # trailing\n'
                    '            },  # after thread\n'
                    '            "x": 1,\n'
                    '        },\n',
                    '            # after thread\n            "x": 1,\n            "orq": {"thread": {\n'),
    "nest-into-orq": ('        extra_body={\n'
                      '            "orq": {"identity": {"id": u}},  # identity\n'
                      '            "thread": {"id": f"user-{u}"},  # the thread\n'
                      '        },\n', None),
}


@pytest.mark.parametrize("name", sorted(COMMENTED))
def test_fixes_keep_every_comment(tmp_path: Path, name: str) -> None:
    body, expected = COMMENTED[name]
    text = 'def go(c, u):\n    c.chat.completions.create(\n        model="m",\n        messages=[],\n' + body + '    )\n'
    path = tmp_path / "app.py"
    path.write_text(text)
    run = check_paths([str(path)], Policy.from_dict({"thread-placement": "orq"}, path=tmp_path / "pyproject.toml"),
                      fix=True)
    fixed = path.read_text()
    assert sum(run.fixed.values()) == 1, fixed
    assert _comment_texts(fixed) == _comment_texts(text)
    if expected is not None:
        assert expected in fixed, fixed


def test_lifting_a_thread_keeps_its_comments(tmp_path: Path) -> None:
    text = ('def go(c, u):\n    c.chat.completions.create(model="m", messages=[], extra_body={\n'
            '        "orq": {  # orq\n'
            '            "thread": {"id": f"user-{u}"},  # thread\n'
            '        },  # after orq\n'
            '    })\n')
    path = tmp_path / "app.py"
    path.write_text(text)
    run = check_paths([str(path)], Policy.from_dict({"thread-placement": "top-level"}, path=tmp_path / "pyproject.toml"),
                      fix=True)
    assert sum(run.fixed.values()) == 1
    assert _comment_texts(path.read_text()) == _comment_texts(text)


def test_a_fix_that_would_lose_a_comment_is_not_made() -> None:
    import libcst as cst

    from orq_thread_lint.static.fixes import _keeps_comments

    before = cst.parse_module('x = [\n    "a",  # keep\n    "a",\n]\n')
    lost = cst.parse_module('x = [\n    "a",\n]\n')
    moved = cst.parse_module('x = [\n    # keep\n    "a",\n]\n')
    assert not _keeps_comments(before, lost) and _keeps_comments(before, moved)


# 2: value following is bounded ---------------------------------------------------------------------------

def _nested(kind: str, width: int, levels: int = 4) -> str:
    """Names built from the name before, ``width`` times over, ``levels`` deep (the issue's 1.1 KB file)."""
    lines = ['a0 = "x"']
    for i in range(1, levels + 1):
        use = f"{{a{i - 1}}}" if kind == "fstring" else f"a{i - 1}, " if kind == "list" else f"**a{i - 1}, "
        body = use * width
        lines.append(f'a{i} = f"{body}"' if kind == "fstring" else f"a{i} = [{body}]" if kind == "list"
                     else f"a{i} = {{{body}}}")
    if kind == "dict":
        lines[0] = 'a0 = {"orq": {"thread": {"id": "conversation1"}}}'
        lines.append(f"def go(c):\n    c.chat.completions.create(model='m', messages=[], extra_body=a{levels})")
    else:
        lines.append("def go(c, u):\n    c.chat.completions.create(model='m', messages=[], "
                     f"extra_body={{'orq': {{'thread': {{'id': f'user-{{u}}', 'tags': [a{levels}, a{levels}]}}}}}})")
    return "\n".join(lines) + "\n"


def _steps(source: str, monkeypatch: pytest.MonkeyPatch) -> tuple[int, list[tuple[int, str]]]:
    """How many steps value following took on a file, and its findings."""
    from orq_thread_lint.static import resolve
    from orq_thread_lint.static.checker import check_bytes

    made: list[resolve.FileContext] = []
    real = resolve.FileContext.__init__

    def init(self: resolve.FileContext, *args: object) -> None:
        real(self, *args)  # type: ignore[arg-type]
        made.append(self)

    monkeypatch.setattr(resolve.FileContext, "__init__", init)
    found = check_bytes(source.encode(), "t.py", Policy.preset()).findings
    return sum(c.steps for c in made), sorted((f.row, f.code) for f in found)


@pytest.mark.parametrize("kind", ["fstring", "list", "dict"])
def test_names_built_from_names_cost_linear_steps(kind: str, monkeypatch: pytest.MonkeyPatch) -> None:
    small, _ = _steps(_nested(kind, 15), monkeypatch)
    large, _ = _steps(_nested(kind, 60), monkeypatch)
    # 60 uses per level, four levels: 13 million expansions if followed naively
    assert large <= 20_000 + 100 * len(_nested(kind, 60).splitlines()) + 10
    assert large <= 8 * max(small, 1_000)


def test_the_issue_file_finishes_with_the_findings_ordinary_code_gets(monkeypatch: pytest.MonkeyPatch) -> None:
    steps, found = _steps(_nested("fstring", 60), monkeypatch)
    assert steps < 1_000 and found == []  # the 216,000-character a3 is unknown, so a4 is too
    steps, found = _steps(_nested("fstring", 3, levels=2), monkeypatch)
    assert found == [(3, "OTL012")]  # 'xxxxxxxxx' is still followed through the names, used twice


def test_a_deep_chain_of_names_stops_at_the_bound(monkeypatch: pytest.MonkeyPatch) -> None:
    chain = 'a0 = "x"\n' + "".join(f"a{i} = a{i - 1} + a{i - 1}\n" for i in range(1, 400))
    source = chain + "def go(c):\n    c.chat.completions.create(model='m', messages=[], extra_body={'orq': {'thread': {'id': a399}}})\n"
    steps, _ = _steps(source, monkeypatch)
    assert steps <= 20_000 + 100 * 402


# Random source files never make the checker or the fixer raise --------------------------------------------

from hypothesis import HealthCheck, given, settings  # noqa: E402
from hypothesis import strategies as st  # noqa: E402

_ATOMS = ['"support"', '"conversation1"', "f\"user-{u}\"", "u", "TAG", "uuid.uuid4()", "None", "1", "[]",
          '{"id": u}', "x.y", '"a" "b"', "'%s' % u", '"{}".format(u)', "TAG + u", "(  # c\n  u)"]


@st.composite
def _values(draw: st.DrawFn, depth: int = 0) -> str:
    if depth > 2 or draw(st.booleans()):
        return draw(st.sampled_from(_ATOMS))
    items = draw(st.lists(_values(depth + 1), max_size=3))
    comment = draw(st.sampled_from(["", "  # note", "  # noqa", "  # noqa: OTL012"])) if items else ""
    if draw(st.booleans()):
        return "[" + ", ".join(items) + ("," + comment + "\n" if comment else "") + "]"
    keys = draw(st.lists(st.sampled_from(['"orq"', '"thread"', '"id"', '"tags"', '"x"', "**u"]), min_size=len(items),
                         max_size=len(items)))
    pairs = [k if k.startswith("**") else f"{k}: {v}" for k, v in zip(keys, items, strict=True)]
    return "{" + ",\n ".join(pairs) + ("," + comment + "\n" if comment else "") + "}"


@st.composite
def _sources(draw: st.DrawFn) -> str:
    lines = ["import uuid"]
    for _ in range(draw(st.integers(0, 3))):
        lines.append(f"TAG = {draw(_values())}")
    if draw(st.booleans()):
        lines.append("def reset():\n    global TAG\n    TAG = 'x'")
    keyword = draw(st.sampled_from(["extra_body", "orq", "thread"]))
    lines.append(f"def go(c, u):\n    c.chat.completions.create(model='m', messages=[], {keyword}={draw(_values())})")
    return "\n".join(lines) + "\n"


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(_sources(), st.sampled_from(["orq", "top-level", "any"]))
def test_random_sources_never_raise_and_fixes_keep_comments(source: str, placement: str) -> None:
    from orq_thread_lint.static.checker import check_bytes

    policy = Policy.from_dict({"thread-placement": placement})
    result = check_bytes(source.encode(), "t.py", policy, fix=True)
    assert all(f.code != "OTL000" for f in result.findings), result.findings
    if result.source is not None:
        compile(result.source, "t.py", "exec")
        assert _comment_texts(result.source) == _comment_texts(source)


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=300) | st.text(alphabet="orq{}[]()'\"#:=,. \n\\fxa-{}", max_size=300).map(str.encode))
def test_random_bytes_never_raise(data: bytes) -> None:
    from orq_thread_lint.static.checker import check_bytes

    for prefilter in (True, False):
        check_bytes(b"c.chat.completions.create(orq=" + data, "t.py", Policy.preset(), fix=True, prefilter=prefilter)
