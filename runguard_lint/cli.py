"""The `runguard-lint` command: options -> RunRequest -> run -> exit status.

No analysis lives here. `main` turns the click options into a frozen
`RunRequest` and exits with what `run` returns: the one exit point. Exit
status: 0 nothing left to report, 1 findings remain, 2 usage, config or
internal error (the other files' results are still printed).
"""

from __future__ import annotations

import enum
import os
import shutil
import sys
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path

import click

from runguard_lint import __version__
from runguard_lint.catalog import CatalogError, build_catalog
from runguard_lint.config import ConfigError, Settings, find_config, load_settings, with_catalog
from runguard_lint.diagnostics import Diagnostic, FileError, FileReport
from runguard_lint.discovery import discover
from runguard_lint.output import OUTPUT_FORMATS, ReportContext, formatter
from runguard_lint.pipeline import interrupt
from runguard_lint.pipeline.batch import check_data, check_files, fix_data, fix_files
from runguard_lint.pipeline.cache import CACHE_DIR_NAME, ResultCache
from runguard_lint.pipeline.files import (
    DecodeFailure,
    InputFile,
    WriteScope,
    decode,
    display_name,
    read_bytes,
)
from runguard_lint.progress import ProgressBar
from runguard_lint.progress import wanted as progress_wanted

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


class Mode(enum.Enum):
    """What a run does. Options that ask for several win in this order, top first."""

    EXPLAIN = "explain"  # print one rule's documentation
    LIST_RULES = "list-rules"
    SHOW_SETTINGS = "show-settings"  # print the settings a run would use
    SHOW_FILES = "show-files"  # print the files a run would check
    DIFF = "diff"  # print what --fix would change, write nothing
    FIX = "fix"  # write the fixes, then report what is left
    CHECK = "check"


class Output(enum.Enum):
    """What a check or fix ends with (--diff always ends with the diff); --write-baseline
    wins over --add-noqa, which wins over --statistics."""

    FINDINGS = "findings"  # in --output-format
    STATISTICS = "statistics"  # a count per rule
    ADD_NOQA = "add-noqa"  # suppression comments written for what is left
    WRITE_BASELINE = "write-baseline"  # what is left recorded as accepted


@dataclass(frozen=True)
class RunRequest:
    """One invocation, as the command line asked for it; `run` carries it out."""

    mode: Mode
    output: Output = Output.FINDINGS
    explain_code: str = ""  # for Mode.EXPLAIN, as typed
    targets: tuple[str, ...] = (".",)  # files and directories, or ("-",) for standard input
    ignored_targets: tuple[str, ...] = ()  # named beside --stdin-filename, so not read
    stdin_filename: str | None = None
    # Settings from the command line over those of the config file; the selections
    # as given (comma-separated lists are split once the config is read).
    config_file: Path | None = None
    isolated: bool = False  # no config file at all
    exclude: tuple[str, ...] = ()  # replaces the config's (and the default) exclude
    extend_exclude: tuple[str, ...] = ()
    select: tuple[str, ...] = ()
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    preview: bool = False
    check_syntax: bool = False
    jobs: int | None = None
    force_exclude: bool = False
    use_cache: bool = True
    cache_dir: Path | None = None
    unsafe_fixes: bool = False
    output_format: str = "full"
    output_file: Path | None = None
    exit_zero: bool = False
    quiet: bool = False
    baseline: Path | None = None  # over the config's `baseline`
    write_baseline: Path | None = None  # for Output.WRITE_BASELINE

    @property
    def reads_stdin(self) -> bool:
        return self.targets == ("-",)


class RunError(Exception):
    """A sentence for the user that ends the run with exit status 2."""


def _split_codes(values: Sequence[str]) -> tuple[str, ...]:
    codes: list[str] = []
    for value in values:
        codes.extend(part.strip().upper() for part in value.split(",") if part.strip())
    return tuple(codes)


def _split_globs(values: Sequence[str]) -> tuple[str, ...]:
    return tuple(part.strip() for value in values for part in value.split(",") if part.strip())


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (replaces config).")
@click.option("--extend-select", multiple=True, help="Rule codes or prefixes to add.")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable.")
@click.option("--preview", is_flag=True, help="Enable the preview rules (see --list-rules).")
@click.option(
    "--check-syntax",
    is_flag=True,
    help="Report RG900 for every file that does not parse, not only for files that can "
    "hold a finding.",
)
@click.option(
    "--output-format",
    type=click.Choice(OUTPUT_FORMATS),
    default="full",
    show_default=True,
    help="How findings are printed.",
)
@click.option(
    "--output-file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Write the report to a file instead of standard output.",
)
@click.option(
    "--config",
    "config_file",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Use this pyproject.toml or runguard-lint.toml instead of the nearest one.",
)
@click.option(
    "--isolated", is_flag=True, help="Ignore every config file; use the defaults and options."
)
@click.option(
    "--exclude",
    multiple=True,
    help="Globs of paths to leave out, replacing the configured and default ones.",
)
@click.option("--extend-exclude", multiple=True, help="Globs of paths to leave out, added.")
@click.option("--statistics", is_flag=True, help="Print a count per rule instead of findings.")
@click.option("--explain", metavar="CODE", help="Explain a rule and exit.")
@click.option("--list-rules", is_flag=True, help="List every rule and exit.")
@click.option(
    "--show-settings", is_flag=True, help="Print the settings the run would use and exit."
)
@click.option("--show-files", is_flag=True, help="Print the files the run would check and exit.")
@click.option("--no-cache", is_flag=True, help="Do not read or write the result cache.")
@click.option(
    "--cache-dir",
    type=click.Path(file_okay=False, path_type=Path),
    help=f"Where to keep the result cache (default {CACHE_DIR_NAME}/).",
)
@click.option(
    "--jobs",
    "-j",
    type=click.IntRange(min=0),
    default=None,
    help="Worker processes (default: all cores).",
)
@click.option("--stdin-filename", help="The name of the file read from standard input (`-`).")
@click.option(
    "--force-exclude", is_flag=True, help="Apply excludes even to files named on the command line."
)
@click.option(
    "--add-noqa",
    is_flag=True,
    help="Add `# noqa: CODE` comments to every line with a finding, then exit.",
)
@click.option(
    "--fix",
    is_flag=True,
    help="Apply the safe fixes (and unsafe ones with --unsafe-fixes); report the rest.",
)
@click.option(
    "--unsafe-fixes",
    is_flag=True,
    help="Also apply (with --fix or --diff) and count as fixable the unsafe fixes.",
)
@click.option(
    "--diff",
    is_flag=True,
    help="Print the diff that --fix would make and write nothing (exit 1 if any).",
)
@click.option(
    "--baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Report only findings not recorded in this baseline file (see --write-baseline).",
)
@click.option(
    "--write-baseline",
    type=click.Path(dir_okay=False, path_type=Path),
    help="Record every finding in this baseline file, then exit 0.",
)
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain.")
@click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary.")
@click.version_option(__version__, "--version", prog_name="runguard-lint")
def main(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    preview: bool,
    check_syntax: bool,
    output_format: str,
    output_file: Path | None,
    config_file: Path | None,
    isolated: bool,
    exclude: tuple[str, ...],
    extend_exclude: tuple[str, ...],
    statistics: bool,
    explain: str | None,
    list_rules: bool,
    show_settings: bool,
    show_files: bool,
    no_cache: bool,
    cache_dir: Path | None,
    jobs: int | None,
    stdin_filename: str | None,
    force_exclude: bool,
    add_noqa: bool,
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    baseline: Path | None,
    write_baseline: Path | None,
    exit_zero: bool,
    quiet: bool,
) -> None:
    """Find the resource leaks that multiply the bill of LLM-agent and web-service code.

    PATHS are files or directories (default: the current directory); `-` reads
    standard input. `runguard-lint server`, with nothing else, starts the
    language server for editors (to check a directory named `server`, write
    `server/`).
    """
    if paths == (SERVER_COMMAND,) and _nothing_else_given(click.get_current_context()):
        sys.exit(_serve())
    # As in Ruff: a --stdin-filename means the source comes from standard input.
    from_stdin = stdin_filename is not None
    request = RunRequest(
        mode=_mode(
            explain=explain,
            list_rules=list_rules,
            show_settings=show_settings,
            show_files=show_files,
            diff=diff,
            fix=fix,
        ),
        output=_output(write_baseline=write_baseline, add_noqa=add_noqa, statistics=statistics),
        explain_code=explain or "",
        targets=("-",) if from_stdin else paths or (".",),
        ignored_targets=tuple(path for path in paths if path != "-") if from_stdin else (),
        stdin_filename=stdin_filename,
        config_file=config_file,
        isolated=isolated,
        exclude=exclude,
        extend_exclude=extend_exclude,
        select=select,
        extend_select=extend_select,
        ignore=ignore,
        preview=preview,
        check_syntax=check_syntax,
        jobs=jobs,
        force_exclude=force_exclude,
        use_cache=not no_cache,
        cache_dir=cache_dir,
        unsafe_fixes=unsafe_fixes,
        output_format=output_format,
        output_file=output_file,
        exit_zero=exit_zero,
        quiet=quiet,
        baseline=baseline,
        write_baseline=write_baseline,
    )
    sys.exit(run(request))


SERVER_COMMAND = "server"


def _nothing_else_given(context: click.Context) -> bool:
    """Whether every option is at its default: `server` was the only argument."""
    return all(
        context.get_parameter_source(parameter.name) in (None, click.core.ParameterSource.DEFAULT)
        for parameter in context.command.params
        if parameter.name is not None and parameter.name != "paths"
    )


def _serve() -> int:
    """`runguard-lint server`: LSP on standard input and output, until the client exits.

    Always the server, whatever the working directory holds: an editor starts
    it from the project root, where a `server/` package is common, and the
    command must not change meaning there.
    """
    from runguard_lint.server import ServerUnavailable, serve

    if sys.stdin.isatty():
        note = "runguard-lint: starting the language server; it speaks LSP on standard input"
        if Path(SERVER_COMMAND).exists():
            note += f" (to check `{SERVER_COMMAND}`, run `runguard-lint {SERVER_COMMAND}/`)"
        click.echo(note, err=True)
    try:
        serve()
    except ServerUnavailable as error:
        click.echo(f"runguard-lint: error: {error}", err=True)
        return EXIT_ERROR
    return EXIT_CLEAN


def _mode(
    *,
    explain: str | None,
    list_rules: bool,
    show_settings: bool,
    show_files: bool,
    diff: bool,
    fix: bool,
) -> Mode:
    if explain:
        return Mode.EXPLAIN
    if list_rules:
        return Mode.LIST_RULES
    if show_settings:
        return Mode.SHOW_SETTINGS
    if show_files:
        return Mode.SHOW_FILES
    if diff:
        return Mode.DIFF
    return Mode.FIX if fix else Mode.CHECK


def _output(*, write_baseline: Path | None, add_noqa: bool, statistics: bool) -> Output:
    if write_baseline is not None:
        return Output.WRITE_BASELINE
    if add_noqa:
        return Output.ADD_NOQA
    return Output.STATISTICS if statistics else Output.FINDINGS


def run(request: RunRequest) -> int:
    """Carry out the request, print what it asks for, and return the exit status."""
    try:
        if request.mode in (Mode.EXPLAIN, Mode.LIST_RULES):
            return _explain(request)
        if request.mode in (Mode.SHOW_SETTINGS, Mode.SHOW_FILES):
            return _show(request)
        with interrupt.handled():
            return _lint(request)
    except RunError as error:
        click.echo(f"runguard-lint: error: {error}", err=True)
        return EXIT_ERROR
    except interrupt.Interrupted as stop:
        click.echo(_interrupted(request, stop.signal_name), err=True)
        _leave_at_once(stop.exit_status)
        return stop.exit_status


def _leave_at_once(status: int) -> None:
    """End an interrupted process now, its one line printed and its workers reaped.

    The interpreter's own exit would run the exit handlers of concurrent.futures,
    which on CPython before 3.12 can write to a pool's wake-up pipe while the pool's
    thread closes it and print "Exception ignored ... Bad file descriptor" after
    that line; an interrupted run has nothing left to save. Only when the streams
    are the process's own (not a test's captured ones): the caller then gets the
    status back instead."""
    try:
        sys.stdout.flush()
        sys.stderr.flush()
        sys.stderr.fileno()
    except (OSError, ValueError):  # io.UnsupportedOperation is both
        return
    os._exit(status)


def _interrupted(request: RunRequest, signal_name: str) -> str:
    """The one line an interrupted run prints (nothing else is: the results are partial)."""
    line = f"runguard-lint: interrupted by {signal_name}; the workers were stopped"
    if request.mode is Mode.FIX or request.output is Output.ADD_NOQA:
        return f"{line}; every file is either fixed whole or left as it was"
    return f"{line}; no results"


def _explain(request: RunRequest) -> int:
    from runguard_lint.explain import explain_rule, list_all_rules

    try:
        catalog = build_catalog()
    except CatalogError as error:
        raise RunError(str(error)) from None
    # The terminal's width (or $COLUMNS), else 100 columns into a pipe.
    width = shutil.get_terminal_size((100, 24)).columns
    if request.mode is Mode.LIST_RULES:
        click.echo(list_all_rules(catalog, width=width), nl=False)
        return EXIT_CLEAN
    text = explain_rule(catalog, request.explain_code.upper(), width=width)
    if text is None:
        raise RunError(f"unknown rule `{request.explain_code}`; see `runguard-lint --list-rules`")
    click.echo(text, nl=False)
    return EXIT_CLEAN


def _show(request: RunRequest) -> int:
    """--show-settings and --show-files: what a run would use, nothing checked."""
    settings = _settings(request)
    if request.mode is Mode.SHOW_SETTINGS:
        from runguard_lint.show import describe_settings

        click.echo(describe_settings(settings), nl=False)
        return EXIT_CLEAN
    found = discover(request.targets, settings)
    for note in found.notes:
        click.echo(f"runguard-lint: {note}", err=True)
    for name in sorted(display_name(path) for path in found.files):
        click.echo(name)
    _echo_problems(found.problems, ())
    return EXIT_ERROR if found.problems else EXIT_CLEAN


@dataclass(frozen=True)
class _Results:
    """What checking or fixing produced, before anything is printed."""

    reports: Sequence[FileReport]
    files: Sequence[InputFile] = ()  # the files checked (--add-noqa edits them)
    problems: Sequence[str] = ()  # command-line paths that could not be used
    fixed: int = 0
    diff: str = ""
    fixed_source: bytes | None = None  # `--fix -`: what goes to standard output
    shown: str = ""  # --diff: the display-only fixes, never applied (to standard error)
    # Source text by display name that is not (or not yet) what is on disk: standard
    # input under --stdin-filename, an editor's unsaved buffer. The report shows these.
    sources: Mapping[str, str] = field(default_factory=dict)

    @property
    def diagnostics(self) -> list[Diagnostic]:
        return [d for report in self.reports for d in report.diagnostics]

    @property
    def errors(self) -> list[FileError]:
        return [e for report in self.reports for e in report.errors]


def _lint(request: RunRequest) -> int:
    for ignored in request.ignored_targets:
        click.echo(
            f"runguard-lint: warning: ignoring `{ignored}` in favour of standard "
            "input (--stdin-filename)",
            err=True,
        )
    if request.output is Output.ADD_NOQA and request.reads_stdin:
        raise RunError("--add-noqa edits files in place and cannot be used with standard input")
    settings = _settings(request)
    results = (
        _from_stdin(request, settings) if request.reads_stdin else _from_files(request, settings)
    )
    return _report(request, settings, _without_baseline(request, settings, results))


def _from_stdin(request: RunRequest, settings: Settings) -> _Results:
    name = request.stdin_filename or "-"
    data = sys.stdin.buffer.read()
    if request.mode is Mode.CHECK:
        return _Results([check_data(name, data, settings)], sources={name: _text(data)})
    from runguard_lint.pipeline.fix import unified_diff

    outcome = fix_data(name, data, settings, unsafe=request.unsafe_fixes)
    return _Results(
        [outcome.report],
        fixed=outcome.fixed,
        diff=unified_diff(name, data, outcome.new_bytes) if outcome.new_bytes else "",
        # As in Ruff: the fixed source goes to standard output, the report to stderr.
        fixed_source=(outcome.new_bytes or data) if request.mode is Mode.FIX else None,
        # What is left is reported against the fixed text.
        sources={name: _text(outcome.new_bytes or data)},
    )


def _text(data: bytes) -> str:
    """Source bytes as the report shows them: decoded as Python does, else best effort."""
    try:
        return decode(data).text
    except DecodeFailure:
        return data.decode("utf-8", errors="replace")


def _from_files(request: RunRequest, settings: Settings) -> _Results:
    found = discover(request.targets, settings)
    for note in found.notes:
        click.echo(f"runguard-lint: {note}", err=True)
    if not found.files and not found.problems:
        # As in Ruff: an empty selection is not an error, but a silent pass would
        # hide a mistyped path or an over-broad exclude.
        click.echo(
            "runguard-lint: warning: No Python files found under the given path(s)", err=True
        )
    cwd = os.getcwd()
    files = [InputFile(path, display_name(path, cwd)) for path in found.files]
    cache = ResultCache.for_settings(settings, request.cache_dir) if request.use_cache else None
    verb = "Checking" if request.mode is Mode.CHECK else "Fixing"
    bar = ProgressBar(len(files), verb, enabled=progress_wanted(request.quiet))
    if request.mode is Mode.CHECK:
        with bar as progress:
            reports = check_files(files, settings, cache, progress)
        results = _Results(reports, files, found.problems)
    else:
        write = request.mode is Mode.FIX
        with bar as progress:
            fixing = fix_files(
                files,
                settings,
                unsafe=request.unsafe_fixes,
                write=write,
                cache=cache,
                scope=WriteScope.of(request.targets),
                progress=progress,
            )
        for name in fixing.outside:
            _warn_outside(name)
        results = _Results(
            fixing.reports, files, found.problems, fixing.fixed, fixing.diff, shown=fixing.shown
        )
    if cache is not None:
        cache.save()
    return results


def _report(request: RunRequest, settings: Settings, results: _Results) -> int:
    """Print what the request asks for; the exit status."""
    if request.mode is Mode.DIFF:
        click.echo(results.diff, nl=False)
        if results.shown and not request.quiet:
            # Apart from the patch (standard output stays what `git apply` takes).
            click.echo(results.shown, nl=False, err=True)
        if not request.quiet:
            fixed = results.fixed
            click.echo(f"Would fix {fixed} finding{'s' if fixed != 1 else ''}.", err=True)
        _echo_problems(results.problems, results.errors)
        if results.errors or results.problems:
            return EXIT_ERROR
        return EXIT_FINDINGS if results.diff else EXIT_CLEAN
    if results.fixed_source is not None:
        sys.stdout.buffer.write(results.fixed_source)
        sys.stdout.flush()
    if request.output is Output.WRITE_BASELINE:
        return _write_baseline(request, settings, results)
    if request.output is Output.ADD_NOQA:
        scope = WriteScope.of(request.targets)
        remaining = _add_noqa(results.files, results.reports, request.quiet, scope)
        _echo_problems(results.problems, results.errors)
        return _exit_status(remaining, results.errors, results.problems, request.exit_zero)
    diagnostics = results.diagnostics
    context = ReportContext(
        rules=settings.catalog.rules,
        project_root=settings.project_root,
        errors=results.errors,
        source_lines=_source_lines(results.sources),
        color=_color(request),
        unsafe_fixes=request.unsafe_fixes,
        fixed_count=results.fixed,
        failed=bool(results.problems or results.errors),
    )
    if request.output is Output.STATISTICS:
        from runguard_lint.output import statistics

        render = statistics.render_json if request.output_format == "json" else statistics.render
        text = render(diagnostics, context)
    else:
        text = formatter(request.output_format)(diagnostics, context)
        if request.quiet and request.output_format == "full":
            text = text.rsplit("\n\n", 1)[0] + "\n" if diagnostics else ""
    if results.fixed_source is not None and request.output_file is None:
        click.echo(text, err=True, nl=False)
    else:
        _emit(text, request.output_file, color=context.color)
    _echo_problems(results.problems, results.errors)
    return _exit_status(diagnostics, results.errors, results.problems, request.exit_zero)


def _without_baseline(request: RunRequest, settings: Settings, results: _Results) -> _Results:
    """The results without the findings the baseline records (all of them when the run
    writes a baseline, or has none)."""
    path = request.baseline or settings.baseline
    if path is None or request.output is Output.WRITE_BASELINE or request.mode is Mode.DIFF:
        return results
    from runguard_lint import baseline

    try:
        recorded = baseline.read(path)
    except baseline.BaselineError as error:
        raise RunError(str(error)) from None
    before = results.diagnostics
    kept = set(
        baseline.new_findings(
            before, recorded, _source_lines(results.sources), settings.project_root
        )
    )
    hidden = len(before) - len(kept)
    if hidden and not request.quiet:
        click.echo(
            f"runguard-lint: {hidden} finding{'s' if hidden != 1 else ''} recorded in the "
            f"baseline {path} not shown",
            err=True,
        )
    reports = [
        replace(report, diagnostics=tuple(d for d in report.diagnostics if d in kept))
        for report in results.reports
    ]
    return replace(results, reports=reports)


def _write_baseline(request: RunRequest, settings: Settings, results: _Results) -> int:
    from runguard_lint import baseline

    assert request.write_baseline is not None
    try:
        count = baseline.write(
            request.write_baseline,
            results.diagnostics,
            _source_lines(results.sources),
            settings.project_root,
        )
    except baseline.BaselineError as error:
        raise RunError(str(error)) from None
    if not request.quiet:
        click.echo(
            f"Recorded {count} finding{'s' if count != 1 else ''} in {request.write_baseline}.",
            err=True,
        )
    _echo_problems(results.problems, results.errors)
    return _exit_status((), results.errors, results.problems, exit_zero=True)


def _echo_problems(problems: Sequence[str], errors: Sequence[FileError]) -> None:
    for problem in problems:
        click.echo(f"runguard-lint: error: {problem}", err=True)
    for error in errors:
        click.echo(f"runguard-lint: error: {error.filename}: {error.message}", err=True)


def _warn_outside(name: str) -> None:
    click.echo(
        f"runguard-lint: warning: {name}: not rewritten: it is a symlink to a file outside "
        "the paths given on the command line; name that file to change it",
        err=True,
    )


def _add_noqa(
    files: Sequence[InputFile], reports: Sequence[FileReport], quiet: bool, scope: WriteScope
) -> list[Diagnostic]:
    """Write the comments; return the findings still not silenced (reported on stderr)."""
    from runguard_lint.add_noqa import AddNoqaError, add_noqa_to_file

    paths = {file.display: file.path for file in files}
    remaining: list[Diagnostic] = []
    added = 0
    for report in reports:
        if not report.diagnostics:
            continue
        if not scope.allows(paths[report.filename]):
            _warn_outside(report.filename)
            remaining.extend(report.diagnostics)
            continue
        interrupt.check()
        try:
            with interrupt.deferred():  # a signal waits for the file's write to finish
                result = add_noqa_to_file(paths[report.filename], report.diagnostics)
        except AddNoqaError as error:
            click.echo(f"runguard-lint: error: {report.filename}: {error}", err=True)
            remaining.extend(report.diagnostics)
            continue
        added += result.lines_changed
        for skipped in result.skipped:
            click.echo(
                f"runguard-lint: warning: {report.filename}:{skipped.row}: no "
                f"`# noqa: {skipped.code}` added: {skipped.reason}",
                err=True,
            )
        left = {(skipped.row, skipped.code) for skipped in result.skipped}
        remaining.extend(d for d in report.diagnostics if (d.location.row, d.code) in left)
    if not quiet:
        click.echo(f"Added {added} noqa directive{'s' if added != 1 else ''}.", err=True)
    return remaining


def _settings(request: RunRequest) -> Settings:
    from runguard_lint.code_style import project_style
    from runguard_lint.dependencies import declared_dependencies

    # The config nearest the first target, or nearest the stdin file's name even when
    # no such file exists yet (an editor's unsaved buffer).
    targets = request.targets
    anchor = (
        Path(request.stdin_filename)
        if request.reads_stdin and request.stdin_filename
        else Path(targets[0] if targets[0] != "-" else ".")
    )
    try:
        if request.isolated and request.config_file is not None:
            raise ConfigError("--isolated ignores every config file: drop --config or it")
        if request.config_file is not None and not request.config_file.is_file():
            raise ConfigError(f"{request.config_file}: no such config file")
        config_path = None if request.isolated else request.config_file or find_config(anchor)
        settings = load_settings(config_path, Path.cwd())
        overrides: dict[str, object] = {}
        if request.exclude:
            overrides["exclude"] = _split_globs(request.exclude)
        if request.extend_exclude:
            overrides["extend_exclude"] = settings.extend_exclude + _split_globs(
                request.extend_exclude
            )
        if request.select:
            overrides["select"] = _split_codes(request.select)
        if request.extend_select:
            overrides["extend_select"] = settings.extend_select + _split_codes(
                request.extend_select
            )
        if request.ignore:
            overrides["ignore"] = settings.ignore + _split_codes(request.ignore)
        if request.preview:
            overrides["preview"] = True
        if request.check_syntax:
            overrides["check_syntax"] = True
        if request.jobs is not None:
            overrides["jobs"] = request.jobs
        if request.force_exclude:
            overrides["force_exclude"] = True
        if overrides:
            settings = with_catalog(replace(settings, **overrides), None)  # type: ignore[arg-type]
    except ConfigError as error:
        raise RunError(str(error)) from None
    if not (request.mode in (Mode.FIX, Mode.DIFF) or request.output_format in ("json", "sarif")):
        settings = replace(settings, fix_edits=False)
    # What the checked project installs decides which helpers a fix may import; its
    # formatter's config, how long the lines a fix writes may be.
    return replace(
        settings, declared=declared_dependencies(anchor), code_style=project_style(anchor)
    )


def _color(request: RunRequest) -> bool:
    """Colour for the full report on standard output: NO_COLOR (set and not empty) says
    never, FORCE_COLOR always (CI logs that render colour), else when it is a terminal."""
    if request.output_file is not None or request.output_format != "full":
        return False
    if os.environ.get("NO_COLOR"):
        return False
    if os.environ.get("FORCE_COLOR"):
        return True
    return sys.stdout.isatty()


def _emit(text: str, output_file: Path | None, *, color: bool = False) -> None:
    if output_file is None:
        # click strips colour from what is not a terminal unless told otherwise.
        click.echo(text, nl=False, color=True if color else None)
        return
    try:
        output_file.write_text(text, encoding="utf-8")
    except OSError as error:
        raise RunError(f"{output_file}: cannot write the report ({error.strerror})") from None


def _source_lines(sources: Mapping[str, str]) -> Callable[[str], Sequence[str]]:
    """The lines a report quotes: the text that was checked when it is not on disk
    (standard input named by --stdin-filename may differ from the saved file), else
    the file."""

    def lines(filename: str) -> Sequence[str]:
        if filename in sources:
            return sources[filename].splitlines()
        # Regular files only: a named pipe called `x.py` would block the report forever.
        data = read_bytes(Path(filename))
        if isinstance(data, str):
            return ()
        return data.decode("utf-8", errors="replace").splitlines()

    return lines


def _exit_status(
    diagnostics: Sequence[Diagnostic],
    errors: Sequence[FileError],
    problems: Sequence[str],
    exit_zero: bool,
) -> int:
    if errors or problems:
        return EXIT_ERROR
    if diagnostics and not exit_zero:
        return EXIT_FINDINGS
    return EXIT_CLEAN
