"""The command line: thin click commands over the library. Exit codes are ruff's:
0 nothing found, 1 findings, 2 usage, configuration or internal error."""

from __future__ import annotations

import functools
import json
import os
import sys
from collections.abc import Callable, Sequence
from typing import Any, TextIO, TypeVar

import click

from . import __version__
from .policy import ConfigError, Policy
from .report import Finding, Options, renderers
from .rules.catalog import RULES

F = TypeVar("F", bound=Callable[..., Any])
FORMATS = ("text", "concise", "full", "json", "json-lines", "sarif", "github", "junit", "html")


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
    ]):
        func = option(func)
    return func


def output_options(func: F) -> F:
    for option in reversed([
        click.option("--format", "--output-format", "fmt", type=click.Choice(FORMATS), default="text",
                     show_default=True, help="Output format."),
        click.option("-o", "--output-file", type=click.Path(dir_okay=False), help="Write the report to a file."),
        click.option("-e", "--exit-zero", is_flag=True, help="Exit 0 even when there are findings."),
        click.option("--statistics", is_flag=True, help="Count findings per rule instead of listing them."),
        click.option("-q", "--quiet", is_flag=True, help="Print findings only, no summary."),
    ]):
        func = option(func)
    return func


def load_policy(config: str | None, select: Sequence[str], ignore: Sequence[str],
                extend_select: Sequence[str]) -> Policy:
    policy = Policy.load(config)
    return policy.with_selection(_codes(select), _codes(ignore), _codes(extend_select))


def emit_report(findings: list[Finding], fmt: str, output_file: str | None, exit_zero: bool,
                statistics: bool, quiet: bool, to_stderr: bool = False, **extra: Any) -> int:
    findings = sorted(findings, key=Finding.sort_key)
    render = renderers().get(fmt)
    if render is None:
        raise click.UsageError(f"--format {fmt} is not available for this command")

    def write(out: TextIO, color: bool) -> None:
        render(findings, out, Options(color=color, statistics=statistics, quiet=quiet, **extra))

    if output_file:
        with open(output_file, "w", encoding="utf-8", newline="\n") as out:
            write(out, False)
    else:
        stream = sys.stderr if to_stderr else sys.stdout
        write(stream, fmt == "text" and stream.isatty() and "NO_COLOR" not in os.environ)
    return 0 if exit_zero or not findings else 1


def handle_errors(func: F) -> F:
    """Configuration and I/O problems exit 2 with one message, never a traceback."""

    @functools.wraps(func)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        try:
            return func(*args, **kwargs)
        except ConfigError as exc:
            click.echo(f"orq-thread-lint: error: {exc}", err=True)
            sys.exit(2)
        except OSError as exc:
            click.echo(f"orq-thread-lint: error: {exc}", err=True)
            sys.exit(2)

    return wrapper  # type: ignore[return-value]


@click.group(context_settings={"help_option_names": ["-h", "--help"]})
@click.version_option(__version__, prog_name="orq-thread-lint")
def main() -> None:
    """Keep orq.ai conversation threads correct."""


@main.command()
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
             fmt: str, output_file: str | None, exit_zero: bool, statistics: bool, quiet: bool) -> None:
    """Check request bodies: a JSON object, a JSON array of them, or JSONL logs (- for stdin)."""
    from .audit import validate as run
    from .report.summary import SUMMARY_FORMATS, Summary, write_summary

    policy = load_policy(config, select, ignore, extend_select)
    if show_summary and fmt not in SUMMARY_FORMATS:
        raise click.UsageError(f"--summary prints {', '.join(SUMMARY_FORMATS)}, not --format {fmt}")
    summary = Summary() if show_summary else None
    findings = run(files or ("-",), policy, scope_field=scope_field, time_field=time_field, summary=summary)
    if summary is None:
        sys.exit(emit_report(findings, fmt, output_file, exit_zero, statistics, quiet))
    if output_file:
        with open(output_file, "w", encoding="utf-8", newline="\n") as out:
            write_summary(summary.result(findings), fmt, out)
    else:
        write_summary(summary.result(findings), fmt, sys.stdout)
    sys.exit(0 if exit_zero or not findings else 1)


@main.command()
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
@click.option("--add-noqa", is_flag=True, help="Add a `# noqa: CODE` to every line with a finding.")
@policy_options
@output_options
@handle_errors
def check(paths: tuple[str, ...], fix: bool, diff: bool, show_fixes: bool, stdin_filename: str | None,
          force_exclude: bool, jobs: int | None, no_cache: bool, cache_dir: str | None, add_noqa: bool,
          config: str | None,
          select: tuple[str, ...], ignore: tuple[str, ...],
          extend_select: tuple[str, ...], fmt: str, output_file: str | None, exit_zero: bool,
          statistics: bool, quiet: bool) -> None:
    """Lint Python code for thread mistakes (default: the current directory; - for stdin)."""
    from .static.run import RunResult, check_paths, check_stdin

    policy = load_policy(config, select, ignore, extend_select)
    if paths == ("-",):
        run: RunResult = check_stdin(sys.stdin.buffer.read(), stdin_filename or "-", policy, fix=fix and not diff,
                                     diff=diff)
        if fix and not diff and run.source is not None:
            sys.stdout.write(run.source)
    else:
        cache_dir = cache_dir or os.environ.get("ORQ_THREAD_LINT_CACHE_DIR")
        use_cache = not no_cache and os.environ.get("ORQ_THREAD_LINT_NO_CACHE") is None
        run = check_paths(paths or (".",), policy, fix=fix, diff=diff, force_exclude=force_exclude, jobs=jobs,
                          cache_dir=cache_dir, use_cache=use_cache)
    if add_noqa:
        sys.exit(_add_noqa(run.findings, fix or diff or paths == ("-",)))
    if diff:
        sys.stdout.write("".join(run.diffs))
        total = sum(run.fixed.values())
        click.echo(f"Would fix {total} error{'s' if total != 1 else ''}." if total else "No errors would be fixed.",
                   err=True)
        sys.exit(1 if total else 0)
    stream_report = paths == ("-",) and fix
    code = emit_report(run.findings, fmt, output_file, exit_zero, statistics, quiet,
                       fixed=sum(run.fixed.values()), to_stderr=stream_report)
    if show_fixes and run.fixed_files:
        click.echo(f"Fixed {sum(run.fixed.values())} errors:", err=stream_report)
        for name, counts in sorted(run.fixed_files.items()):
            click.echo(f"- {name}:", err=stream_report)
            for c, n in sorted(counts.items()):
                click.echo(f"    {n} \u00d7 {c} ({RULES[c].name})", err=stream_report)
    sys.exit(code)


@main.command("run", context_settings={"ignore_unknown_options": True, "allow_interspersed_args": False})
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


@main.command()
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


@main.command("rules")
@click.option("--format", "--output-format", "fmt", type=click.Choice(["text", "json"]), default="text")
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


@main.command("rule")
@click.argument("code")
def show_rule(code: str) -> None:
    """Print a rule's page."""
    from .pages import page

    code = code.upper()
    text = page(code) if code in RULES else None
    if text is None:
        click.echo(f"orq-thread-lint: error: unknown rule {code!r} (see `orq-thread-lint rules`)", err=True)
        sys.exit(2)
    click.echo(text, nl=False)


if __name__ == "__main__":  # pragma: no cover
    main()
