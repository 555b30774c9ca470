"""The command line: thin click commands over the library. Exit codes are ruff's:
0 nothing found, 1 findings, 2 usage, configuration or internal error."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any, TextIO, TypeVar

import click

from . import __version__
from .policy import ConfigError, Policy
from .report import Finding, Options, renderers
from .report.text import summary
from .rules.catalog import RULES

if TYPE_CHECKING:
    from .static.run import RunResult

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("text", "concise", "full", "json", "json-lines", "sarif", "github", "junit", "html")
# Help is wrapped at this width, never cut short (click's default is 80 columns).
CONTEXT = {"help_option_names": ["-h", "--help"], "max_content_width": 120}


def _codes(values: Sequence[str]) -> list[str]:
    return [c.strip() for v in values for c in v.split(",") if c.strip()]


def policy_options(func: F) -> F:
    """--config and rule selection, shared by every command that checks something."""
    for option in reversed([
        click.option("--config", "config", type=click.Path(dir_okay=False),
                     help="A pyproject.toml or orq-thread-lint.toml."),
        click.option("--select", multiple=True, help="Rule codes or prefixes to enable (replaces the config's)."),
        click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable."),
        click.option("--extend-select", multiple=True, help="Rule codes or prefixes to enable in addition."),
        click.option("--show-settings", is_flag=True,
                     help="Print the resolved settings, each with where it came from, and exit."),
    ]):
        func = option(func)
    return func


def output_options(func: F) -> F:
    for option in reversed([
        click.option("--format", "--output-format", "fmt", type=click.Choice(FORMATS), default=None,
                     help="Output format (default: full on a terminal, concise otherwise; text is concise)."),
        click.option("-o", "--output-file", type=click.Path(dir_okay=False), help="Write the report to a file."),
        click.option("-e", "--exit-zero", is_flag=True, help="Exit 0 even when there are findings."),
        click.option("--statistics", is_flag=True, help="Count findings per rule instead of listing them."),
        click.option("-q", "--quiet", count=True, help="Print findings only, no summary; -qq prints nothing."),
        click.option("--silent", is_flag=True, help="Print nothing, only exit with the status (same as -qq)."),
    ]):
        func = option(func)
    return func


def load_policy(config: str | None, select: Sequence[str], ignore: Sequence[str],
                extend_select: Sequence[str], show_settings: bool = False) -> Policy:
    policy = Policy.load(config)
    policy = policy.with_selection(_codes(select), _codes(ignore), _codes(extend_select))
    if show_settings:
        from .settings import show_settings as describe

        click.echo(describe(policy), nl=False)
        sys.exit(0)
    return policy


def quietness(quiet: int, silent: bool) -> int:
    """0 everything, 1 findings only (-q), 2 nothing (-qq, --silent): ruff's levels."""
    return 2 if silent else min(quiet, 2)


def warn(message: str, quiet: int) -> None:
    if quiet == 0:
        click.echo(f"warning: {message}", err=True)


def emit_report(findings: list[Finding], fmt: str | None, output_file: str | None, exit_zero: bool,
                statistics: bool, quiet: int, to_stderr: bool = False, **extra: Any) -> int:
    findings = sorted(findings, key=Finding.sort_key)
    stream = sys.stderr if to_stderr else sys.stdout
    if fmt is None:
        fmt = "full" if not output_file and stream.isatty() else "concise"
    render = renderers().get(fmt)
    if render is None:
        raise click.UsageError(f"--format {fmt} is not available for this command")

    def write(out: TextIO, color: bool) -> None:
        render(findings, out, Options(color=color, statistics=statistics, quiet=quiet > 0, **extra))

    if output_file:
        with open(output_file, "w", encoding="utf-8", newline="\n") as out:
            write(out, False)
    elif quiet < 2:
        write(stream, fmt in ("text", "concise", "full") and stream.isatty() and "NO_COLOR" not in os.environ)
    return 0 if exit_zero or not findings else 1


def handle_errors(func: F) -> F:
    """Configuration and I/O problems exit 2 with one message, never a traceback; a reader that
    stops early (``| head``) ends the command quietly."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except BrokenPipeError:
            _quiet_broken_pipe()
        except ConfigError as exc:
            click.echo(f"orq-thread-lint: error: {exc}", err=True)
            sys.exit(2)
        except OSError as exc:
            click.echo(f"orq-thread-lint: error: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


def _quiet_broken_pipe() -> None:
    """Python's advice for EPIPE: point stdout at devnull, so the flush at exit can't fail again."""
    devnull = os.open(os.devnull, os.O_WRONLY)
    os.dup2(devnull, sys.stdout.fileno())
    sys.exit(1)


@click.group(context_settings=CONTEXT)
@click.version_option(__version__, prog_name="orq-thread-lint")
def main() -> None:
    """Keep orq.ai conversation threads correct."""


@main.command(short_help="Check request bodies in JSON documents and JSONL logs.")
@click.argument("files", nargs=-1, type=click.Path(allow_dash=True))
@click.option("--scope-field", help="Dotted path of the field that scopes a request (default: its identity id).")
@click.option("--time-field", metavar="PATH", help="Dotted path of each record's time (ISO 8601 or epoch): "
              "requests are compared in time order, for logs written out of order.")
@click.option("--summary", "show_summary", is_flag=True,
              help="Summarise the threads instead of listing findings (text, json or html with -o).")
@policy_options
@output_options
@handle_errors
def validate(files: tuple[str, ...], scope_field: str | None, time_field: str | None, show_summary: bool,
             config: str | None, select: tuple[str, ...], ignore: tuple[str, ...], extend_select: tuple[str, ...],
             show_settings: bool, fmt: str | None, output_file: str | None, exit_zero: bool, statistics: bool,
             quiet: int, silent: bool) -> None:
    """Check request bodies: a JSON object, a JSON array of them, or JSONL logs (- for stdin)."""
    from .audit import validate as run
    from .report.summary import SUMMARY_FORMATS, Summary, write_summary

    quiet = quietness(quiet, silent)
    policy = load_policy(config, select, ignore, extend_select, show_settings)
    shape = fmt or "text"
    if show_summary and shape not in SUMMARY_FORMATS:
        raise click.UsageError(f"--summary prints {', '.join(SUMMARY_FORMATS)}, not --format {fmt}")
    summary = Summary() if show_summary else None
    findings = run(files or ("-",), policy, scope_field=scope_field, time_field=time_field, summary=summary,
                   on_warning=lambda m: warn(m, quiet))
    if summary is None:
        sys.exit(emit_report(findings, fmt, output_file, exit_zero, statistics, quiet))
    if output_file:
        with open(output_file, "w", encoding="utf-8", newline="\n") as out:
            write_summary(summary.result(findings), shape, out)
    elif quiet < 2:
        write_summary(summary.result(findings), shape, sys.stdout)
    sys.exit(0 if exit_zero or not findings else 1)


@main.command(short_help="Lint Python code for thread mistakes.")
@click.argument("paths", nargs=-1, type=click.Path(allow_dash=True))
@click.option("--fix", is_flag=True, help="Apply safe fixes.")
@click.option("--diff", is_flag=True, help="Print the fixes as a unified diff; write nothing.")
@click.option("--show-fixes", is_flag=True, help="List what --fix changed.")
@click.option("--stdin-filename", help="The name of the file read from stdin (-).")
@click.option("--force-exclude", is_flag=True, help="Apply exclusions to files named on the command line too.")
@click.option("-j", "--jobs", type=click.IntRange(min=1), help="Worker processes (default: the machine's cores).")
@click.option("-n", "--no-cache", is_flag=True, help="Don't read or write the results cache.")
@click.option("--cache-dir", type=click.Path(file_okay=False), help="Where the cache lives (default: "
              ".orq-thread-lint-cache at the project root).")
@click.option("--exit-non-zero-on-fix", is_flag=True, help="Exit 1 when --fix changed a file, even if nothing is left.")
@click.option("--show-files", is_flag=True, help="List the files that would be checked, and exit.")
@click.option("-w", "--watch", is_flag=True, help="Check again whenever a file changes (stop with Ctrl-C).")
@click.option("--watch-iterations", type=click.IntRange(min=1), hidden=True,
              help="Stop --watch after this many re-checks (for tests).")
@click.option("--add-noqa", is_flag=True, help="Add a `# noqa: CODE` to every line with a finding.")
@policy_options
@output_options
@handle_errors
def check(paths: tuple[str, ...], fix: bool, diff: bool, show_fixes: bool, stdin_filename: str | None,
          force_exclude: bool, jobs: int | None, no_cache: bool, cache_dir: str | None, add_noqa: bool,
          exit_non_zero_on_fix: bool,
          show_files: bool, watch: bool, watch_iterations: int | None, config: str | None,
          select: tuple[str, ...], ignore: tuple[str, ...], extend_select: tuple[str, ...], show_settings: bool,
          fmt: str | None, output_file: str | None, exit_zero: bool, statistics: bool, quiet: int,
          silent: bool) -> None:
    """Lint Python code for thread mistakes (default: the current directory; - for stdin)."""
    from .static.run import check_paths, check_stdin

    quiet = quietness(quiet, silent)
    policy = load_policy(config, select, ignore, extend_select, show_settings)
    stdin = paths == ("-",)
    if show_files:
        from .static.discover import Selector

        for path in sorted(Selector(policy).files(paths or (".",), force_exclude)):
            click.echo(path.as_posix())
        sys.exit(0)
    if watch and (stdin or fix or diff):
        raise click.UsageError("--watch checks files on disk; it can't be combined with -, --fix or --diff")
    cache_dir = cache_dir or os.environ.get("ORQ_THREAD_LINT_CACHE_DIR")
    use_cache = not no_cache and os.environ.get("ORQ_THREAD_LINT_NO_CACHE") is None

    sources: dict[str, str] = {}  # stdin's text, for the source lines of --format full

    def run_once() -> RunResult:
        if stdin:
            data = sys.stdin.buffer.read()
            sources[stdin_filename or "-"] = data.decode("utf-8", "replace")
            return check_stdin(data, stdin_filename or "-", policy, fix=fix and not diff, diff=diff)
        return check_paths(paths or (".",), policy, fix=fix, diff=diff, force_exclude=force_exclude, jobs=jobs,
                           cache_dir=cache_dir, use_cache=use_cache)

    run = run_once()
    if stdin and fix and not diff and run.source is not None:
        sys.stdout.write(run.source)
    if add_noqa:
        sys.exit(_add_noqa(run.findings, fix or diff or stdin))
    if diff:
        sys.stdout.write("".join(run.diffs))
        fixed = run.fixed.elements()
        click.echo(f"Would fix {summary(RULES[c].severity for c in fixed)}." if run.fixed else
                   "No findings would be fixed.", err=True)
        sys.exit(1 if run.fixed else 0)
    stream_report = stdin and fix

    def report(run: RunResult) -> int:
        if not stdin and run.files == 0:
            warn("No Python files found under the given path(s)", quiet)
        code = emit_report(run.findings, fmt, output_file, exit_zero, statistics, quiet,
                           fixed=sum(run.fixed.values()), fixed_codes=tuple(run.fixed.elements()),
                           sources=sources, to_stderr=stream_report)
        if show_fixes and run.fixed_files and quiet < 2:
            click.echo(f"Fixed {summary(RULES[c].severity for c in run.fixed.elements())}:", err=stream_report)
            for name, counts in sorted(run.fixed_files.items()):
                click.echo(f"- {name}:", err=stream_report)
                for c, n in sorted(counts.items()):
                    click.echo(f"    {n} \u00d7 {c} ({RULES[c].name})", err=stream_report)
        return 1 if exit_non_zero_on_fix and run.fixed else code

    code = report(run)
    if watch:
        code = _watch(paths or (".",), policy, force_exclude, run_once, report, watch_iterations, quiet)
    sys.exit(code)


def _watch(paths: Sequence[str], policy: Policy, force_exclude: bool, run_once: Callable[[], RunResult],
           report: Callable[[RunResult], int], iterations: int | None, quiet: int) -> int:
    """Re-check on every change until interrupted (or ``iterations`` re-checks); the last status."""
    import time

    from .static.watch import snapshot, wait_for_change

    code = 0
    take = functools.partial(snapshot, paths, policy, force_exclude)
    state = take()
    done = 0
    try:
        while iterations is None or done < iterations:
            if quiet < 2:
                click.echo("Watching for file changes.", err=True)
            state, changed = wait_for_change(take, state)
            if quiet < 2:
                shown = ", ".join(changed[:3]) + (f" and {len(changed) - 3} more" if len(changed) > 3 else "")
                click.echo(f"[{time.strftime('%H:%M:%S')}] Changed: {shown}. Checking again.", err=True)
            code = report(run_once())
            done += 1
    except KeyboardInterrupt:
        return 0
    return code


@main.command("run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False},
              short_help="Run a program with the openai and orq clients it creates guarded.")
@click.option("--mode", type=click.Choice(["enforce", "warn", "repair", "off"]),
              help="What the guard does with a request that breaks the policy (default: the policy's [runtime] mode).")
@click.option("--config", "config", type=click.Path(dir_okay=False), help="A pyproject.toml or orq-thread-lint.toml.")
@click.argument("command", nargs=-1, required=True, type=click.UNPROCESSED)
@handle_errors
def run(mode: str | None, config: str | None, command: tuple[str, ...]) -> None:
    """Run a Python program with every openai and orq SDK client it creates guarded, without
    editing it: orq-thread-lint run [--mode warn] -- python app.py"""
    from .runtime.startup import CONFIG, MODE

    policy = Policy.load(config)  # a bad policy stops here (exit 2), not silently in the program
    env = dict(os.environ, **{MODE: mode or policy.config.runtime.mode})
    if config:
        env[CONFIG] = os.path.abspath(config)
    try:  # the program takes this process's place: its exit code and signals are the program's own
        os.execvpe(command[0], list(command), env)
    except OSError as exc:
        raise click.UsageError(f"can't run {command[0]!r}: {exc.strerror or exc}") from None


def _add_noqa(findings: list[Finding], conflicting: bool) -> int:
    from .static.add_noqa import add_noqa

    if conflicting:
        raise click.UsageError("--add-noqa can't be combined with --fix, --diff or stdin")
    added = add_noqa(findings)
    for name, why in added.skipped:
        click.echo(f"orq-thread-lint: warning: {name}: not silenced: {why}", err=True)
    plural = "directive" if added.directives == 1 else "directives"
    click.echo(f"Added {added.directives} noqa {plural} to {added.files} file{'s' if added.files != 1 else ''}.",
               err=True)
    return 1 if added.skipped else 0


@main.command(short_help="Propose a policy from the ids and tags code and logs already use.")
@click.argument("paths", nargs=-1, type=click.Path(exists=True))
@click.option("--logs", "logs", multiple=True, type=click.Path(exists=True, dir_okay=False, allow_dash=True),
              help="A JSON or JSONL request log to learn from too (repeatable).")
@click.option("--output", type=click.Path(dir_okay=False),
              help="Write here instead of ./pyproject.toml (a name other than pyproject.toml gets a "
                   "standalone orq-thread-lint.toml layout).")
@click.option("--force", is_flag=True, help="Replace a policy the file already holds.")
@click.option("--dry-run", is_flag=True, help="Print the proposed table; write nothing.")
@click.option("--config", "config", type=click.Path(dir_okay=False),
              help="The policy whose other settings (generic ids, selection) judge what is seen.")
@handle_errors
def init(paths: tuple[str, ...], logs: tuple[str, ...], output: str | None, force: bool, dry_run: bool,
         config: str | None) -> None:
    """Propose a policy from the thread ids and tags that code (default: the current directory)
    and request logs already use, and write it into pyproject.toml."""
    from pathlib import Path

    from .adopt.learn import learn, save

    policy = Policy.load(config)
    target = Path(output) if output else Path("pyproject.toml")
    learned = learn(paths or ((".",) if not logs else ()), logs, policy, target, force=force or dry_run)
    for problem in learned.problems.problems:
        click.echo(f"orq-thread-lint: warning: {problem.filename}:{problem.row}: {problem.violation.message}",
                   err=True)
    for item in learned.proposal.rejected:
        click.echo(f"{item.where}: {item.code} {RULES[item.code].name}: this {item.kind} is not proposed",
                   err=True)
    if dry_run:
        click.echo(learned.table, nl=False)
        return
    save(learned)
    p = learned.proposal
    click.echo(f"Wrote the policy to {target}: {len(p.id_patterns)} id pattern(s), {len(p.vocabulary)} tag(s), "
               f"{len(p.tag_patterns)} tag pattern(s), from {p.files} file(s) and {p.records} log record(s).",
               err=True)


@main.command("rules", short_help="List every rule.")
@click.option("--format", "--output-format", "fmt", type=click.Choice(["text", "json"]), default="text",
              show_default=True, help="Output format.")
@handle_errors
def list_rules(fmt: str) -> None:
    """List every rule: code, name, summary, where it applies, whether it is fixable."""
    if fmt == "json":
        click.echo(json.dumps([
            {"code": r.code, "name": r.name, "summary": r.summary, "severity": r.severity,
             "applies": sorted(r.applies), "fixable": r.fixable, "repairable": r.repairable, "url": r.url}
            for r in RULES.values()
        ], indent=2))
        return
    for r in RULES.values():
        mark = "[*]" if r.fixable else "   "
        click.echo(f"{r.code}  {mark} {r.name:<22} {','.join(sorted(r.applies)):<22} {r.summary}")
    click.echo("\n[*] fixable with `orq-thread-lint check --fix`. Third column: where the rule applies "
               "(code: `check`, validate: `validate`, runtime: the guard).")


@main.command("rule", short_help="Print a rule's page.")
@click.argument("code", required=False)
@click.option("--all", "all_rules", is_flag=True, help="Print every rule's page.")
@handle_errors
def show_rule(code: str | None, all_rules: bool) -> None:
    """Print a rule's page (rules/CODE.md), or every page with --all."""
    from .pages import page

    if all_rules == (code is not None):
        raise click.UsageError("give a rule code or --all")
    codes = list(RULES) if code is None else [code.upper()]
    texts = [page(c) if c in RULES else None for c in codes]
    if texts[0] is None:
        click.echo(f"orq-thread-lint: error: unknown rule {codes[0]!r} (see `orq-thread-lint rules`)", err=True)
        sys.exit(2)
    click.echo("\n".join(t for t in texts if t), nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
