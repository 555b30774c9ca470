"""Check many files: discovery, the cache, parallel workers, fixes written back, results in order."""

from __future__ import annotations

import difflib
import functools
import os
import sys
import threading
from collections import Counter
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from ..policy import Policy
from ..report import Finding
from .cache import DEFAULT_DIR, Cache
from .checker import FileResult, _invalid, check_bytes, passes_gate
from .discover import Selector
from .files import Snapshot, read_source

# Below this many files to parse, starting workers costs more than it saves.
_PARALLEL_MIN = 48
_CHUNK = 24


@dataclass
class RunResult:
    findings: list[Finding] = field(default_factory=list)
    files: int = 0
    fixed: Counter[str] = field(default_factory=Counter)
    fixed_files: dict[str, Counter[str]] = field(default_factory=dict)
    diffs: list[str] = field(default_factory=list)
    source: str | None = None  # stdin with --fix: the fixed text
    cached: int = 0


@dataclass(frozen=True, slots=True)
class Item:
    path: str
    ignored: frozenset[str]
    known: str | None  # the content digest the cache holds for this path


@dataclass(frozen=True, slots=True)
class Outcome:
    path: str
    result: FileResult | None  # None: the content is what the cache already holds
    digest: str | None
    snapshot: Snapshot | None = None  # the file as it was read (what --fix compares with)


_WORKER_POLICY: list[Policy] = []


def _init(policy: Policy) -> None:
    _WORKER_POLICY[:] = [policy]


def _read(item: Item) -> tuple[bytes, Snapshot] | Outcome:
    path = Path(item.path)
    try:
        return read_source(path)
    except OSError as exc:
        unreadable = _invalid(path.as_posix(), f"can't read: {exc.strerror or exc}")
        return Outcome(item.path, FileResult(path.as_posix(), [unreadable]), None)


def _check(item: Item, policy: Policy, fix: bool, read: tuple[bytes, Snapshot] | Outcome | None = None) -> Outcome:
    path = Path(item.path)
    read = _read(item) if read is None else read
    if isinstance(read, Outcome):
        return read
    data, snapshot = read
    key = snapshot.digest
    if item.known == key and not fix:
        return Outcome(item.path, None, key)
    try:
        check = front_end(path.name)
        result = check(data, path.as_posix(), policy, item.ignored, fix=fix)
    except Exception as exc:  # a bug of ours must cost one file, not the run; never cached
        failure = _invalid(path.as_posix(), f"internal error while checking this file: {exc!r}; please report it")
        return Outcome(item.path, FileResult(path.as_posix(), [failure]), None)
    return Outcome(item.path, result, key, snapshot)


def _check_chunk(chunk: Sequence[Item], fix: bool) -> list[Outcome]:
    policy = _WORKER_POLICY[0]
    return [_check(item, policy, fix) for item in chunk]


def front_end(name: str) -> Callable[..., FileResult]:
    """How a file is checked: a notebook through its own front end (loaded only when one is met)."""
    if name.endswith(".ipynb"):
        from .notebook import check_notebook

        return check_notebook
    return check_bytes


def default_jobs() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else (os.cpu_count() or 1))


def check_paths(paths: Iterable[str], policy: Policy, *, fix: bool = False, diff: bool = False,
                force_exclude: bool = False, jobs: int | None = None, cache_dir: str | Path | None = None,
                use_cache: bool = False) -> RunResult:
    """Check files; with ``fix`` write the fixes, with ``diff`` only describe them."""
    selector = Selector(policy)
    run = RunResult()
    fixing = fix or diff
    cache = None
    if use_cache and not fixing:
        cache = Cache(Path(cache_dir) if cache_dir else policy.root / DEFAULT_DIR, policy.fingerprint)
    todo: list[Item] = []
    for path in selector.files(paths, force_exclude):
        run.files += 1
        if cache is not None:
            hit = cache.lookup(path, path.as_posix())
            if hit is not None:
                run.findings.extend(hit)
                run.cached += 1
                continue
        todo.append(Item(str(path), selector.ignored_codes(path), cache.known_digest(path) if cache else None))
    for outcome in _execute(todo, policy, fixing, jobs or default_jobs()):
        path = Path(outcome.path)
        if outcome.result is None:
            assert cache is not None
            run.findings.extend(cache.reuse(path, path.as_posix()) or [])
            continue
        collect(run, outcome.result, path, write=fix and not diff, snapshot=outcome.snapshot,
                recheck=functools.partial(front_end(path.name),
                                          filename=outcome.result.filename, policy=policy,
                                          ignored=selector.ignored_codes(path)))
        if cache is not None and outcome.digest is not None:
            cache.store(path, outcome.digest, outcome.result.findings)
    run.findings.extend(_invalid(Path(folder).as_posix(), f"can't read folder: {why}")
                        for folder, why in selector.unreadable)
    if cache is not None:
        cache.save()
    return run


def _execute(todo: list[Item], policy: Policy, fixing: bool, jobs: int) -> Iterable[Outcome]:
    _init(policy)
    if jobs <= 1 or len(todo) < _PARALLEL_MIN:
        yield from _check_chunk(todo, fixing)
        return
    # The gates rule out most files at the speed of reading them: that is done here, and workers
    # start only when enough files are left to parse (few: one process is faster).
    heavy: list[tuple[Item, tuple[bytes, Snapshot] | Outcome]] = []
    for item in todo:
        read = _read(item)
        if isinstance(read, Outcome) or item.path.endswith(".ipynb") or passes_gate(read[0], policy, item.ignored):
            heavy.append((item, read))
        else:
            yield _check(item, policy, fixing, read)
    if len(heavy) < _PARALLEL_MIN:
        for item, read in heavy:
            yield _check(item, policy, fixing, read)
        return
    todo = [item for item, _ in heavy]
    del heavy
    import multiprocessing
    from concurrent.futures import ProcessPoolExecutor

    method = start_method()
    if method == "fork":
        from . import visitor  # noqa: F401  (the parser, loaded once here, is shared by every forked worker)
    # Big files first, so the last chunks are small and the workers finish together.
    ordered = sorted(todo, key=lambda i: _size(i.path), reverse=True)
    chunks = [ordered[i : i + _CHUNK] for i in range(0, len(ordered), _CHUNK)]
    with ProcessPoolExecutor(max_workers=jobs, mp_context=multiprocessing.get_context(method),
                             initializer=_init, initargs=(policy,)) as pool:
        for outcomes in pool.map(_check_chunk, chunks, [fixing] * len(chunks)):
            yield from outcomes


def start_method() -> str | None:
    """How to start workers: fork is cheapest (they inherit the loaded parser), but forking a
    process that runs other threads (an editor, a test runner, a web app calling us) can deadlock
    the child, and macOS frameworks are not fork-safe."""
    import multiprocessing

    methods = multiprocessing.get_all_start_methods()
    if sys.platform.startswith("linux") and "fork" in methods and threading.active_count() == 1:
        return "fork"
    return "forkserver" if "forkserver" in methods else None  # None: the platform's default, spawn


def _size(path: str) -> int:
    try:
        return os.stat(path).st_size
    except OSError:
        return 0


def collect(run: RunResult, result: FileResult, path: Path | None, *, write: bool,
            snapshot: Snapshot | None = None, recheck: Callable[[bytes], FileResult] | None = None) -> None:
    """Add a file's results to the run; with ``write``, write its fixes back. A file that can't
    or mustn't be written keeps what it had: its findings are reported as they stand
    (``recheck`` of the original bytes), with an OTL000 saying why it wasn't fixed."""
    if not result.fixed or result.source is None or result.original is None:
        run.findings.extend(result.findings)
        return
    if write and path is not None:
        from .fixes import NotWritten, write_atomically

        try:
            write_atomically(path, result.source, result.encoding, snapshot)
        except (NotWritten, OSError) as exc:
            why = str(exc) if isinstance(exc, NotWritten) else f"not fixed: can't write: {exc.strerror or exc}"
            run.findings.append(_invalid(result.filename, why))
            if recheck is not None:
                run.findings.extend(recheck(result.original.encode(result.encoding)).findings)
            return
    elif result.diff is not None:
        run.diffs.append(result.diff)
    else:
        run.diffs.append("".join(difflib.unified_diff(
            result.original.splitlines(keepends=True), result.source.splitlines(keepends=True),
            f"a/{result.filename}", f"b/{result.filename}")))
    run.findings.extend(result.findings)
    run.fixed.update(result.fixed)
    run.fixed_files[result.filename] = result.fixed


def check_stdin(data: bytes, filename: str, policy: Policy, *, fix: bool, diff: bool) -> RunResult:
    selector = Selector(policy)
    check = front_end(filename)
    result = check(data, filename, policy, selector.ignored_codes(Path(filename)), fix=fix or diff)
    run = RunResult(files=1)
    collect(run, result, None, write=False)
    if fix:
        run.diffs = []
        run.source = result.source if result.source is not None else data.decode(result.encoding, "replace")
    return run
