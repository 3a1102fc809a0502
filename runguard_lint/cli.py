"""The `runguard-lint` command: options -> Settings -> run -> report -> exit status.

No analysis lives here. Exit status: 0 nothing left to report, 1 findings
remain, 2 usage, config or internal error (the other files' results are still
printed).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from dataclasses import replace
from pathlib import Path
from typing import NoReturn

import click

from runguard_lint import __version__
from runguard_lint.catalog import CatalogError, build_catalog
from runguard_lint.config import ConfigError, Settings, find_config, load_settings, with_catalog
from runguard_lint.diagnostics import Diagnostic, FileError, FileReport
from runguard_lint.discovery import discover
from runguard_lint.output import OUTPUT_FORMATS, ReportContext, formatter
from runguard_lint.pipeline.batch import check_data, check_files, fix_data, fix_files
from runguard_lint.pipeline.cache import CACHE_DIR_NAME, ResultCache
from runguard_lint.pipeline.files import InputFile, display_name

EXIT_CLEAN, EXIT_FINDINGS, EXIT_ERROR = 0, 1, 2


def _split_codes(values: Sequence[str]) -> tuple[str, ...]:
    codes: list[str] = []
    for value in values:
        codes.extend(part.strip().upper() for part in value.split(",") if part.strip())
    return tuple(codes)


@click.command(context_settings={"help_option_names": ["-h", "--help"]})
@click.argument("paths", nargs=-1, type=click.Path(path_type=str))
@click.option("--select", multiple=True, help="Rule codes or prefixes to enable (replaces config).")
@click.option("--extend-select", multiple=True, help="Rule codes or prefixes to add.")
@click.option("--ignore", multiple=True, help="Rule codes or prefixes to disable.")
@click.option("--preview", is_flag=True, help="Enable preview rules (RG202, RG402).")
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
@click.option("--statistics", is_flag=True, help="Print a count per rule instead of findings.")
@click.option("--explain", metavar="CODE", help="Explain a rule and exit.")
@click.option("--list-rules", is_flag=True, help="List every rule and exit.")
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
@click.option("--exit-zero", is_flag=True, help="Exit 0 even when findings remain.")
@click.option("--quiet", "-q", is_flag=True, help="Print findings only, no summary.")
@click.version_option(__version__, "--version", prog_name="runguard-lint")
def main(
    paths: tuple[str, ...],
    select: tuple[str, ...],
    extend_select: tuple[str, ...],
    ignore: tuple[str, ...],
    preview: bool,
    output_format: str,
    output_file: Path | None,
    config_file: Path | None,
    statistics: bool,
    explain: str | None,
    list_rules: bool,
    no_cache: bool,
    cache_dir: Path | None,
    jobs: int | None,
    stdin_filename: str | None,
    force_exclude: bool,
    add_noqa: bool,
    fix: bool,
    unsafe_fixes: bool,
    diff: bool,
    exit_zero: bool,
    quiet: bool,
) -> None:
    """Find the resource leaks that multiply the bill of LLM-agent and web-service code.

    PATHS are files or directories (default: the current directory); `-` reads
    standard input.
    """
    if explain or list_rules:
        from runguard_lint.explain import explain_rule, list_all_rules

        try:
            catalog = build_catalog()
        except CatalogError as error:
            _fail(str(error))
        if explain:
            text = explain_rule(catalog, explain.upper())
            if text is None:
                _fail(f"unknown rule `{explain}`; see `runguard-lint --list-rules`")
            click.echo(text, nl=False)
        else:
            click.echo(list_all_rules(catalog), nl=False)
        sys.exit(EXIT_CLEAN)

    targets = list(paths) or ["."]
    if stdin_filename is not None:
        # As in Ruff: a --stdin-filename means the source comes from standard input.
        for ignored in (t for t in paths if t != "-"):
            click.echo(
                f"runguard-lint: warning: ignoring `{ignored}` in favour of standard "
                "input (--stdin-filename)",
                err=True,
            )
        targets = ["-"]
    if add_noqa and targets == ["-"]:
        _fail("--add-noqa edits files in place and cannot be used with standard input")
    settings = _settings(
        targets,
        config_file,
        select,
        extend_select,
        ignore,
        preview,
        jobs,
        force_exclude,
        stdin_filename,
    )
    if not (fix or diff or output_format in ("json", "sarif")):
        settings = replace(settings, fix_edits=False)
    problems: list[str] = []
    reports: list[FileReport]
    tasks: list[InputFile] = []
    fixed, diff_text, fixed_stdin = 0, "", None
    if targets == ["-"]:
        name = stdin_filename or "-"
        data = sys.stdin.buffer.read()
        if fix or diff:
            from runguard_lint.pipeline.fix import unified_diff

            outcome = fix_data(name, data, settings, unsafe=unsafe_fixes)
            reports, fixed, fixed_stdin = [outcome.report], outcome.fixed, outcome.new_bytes or data
            diff_text = unified_diff(name, data, fixed_stdin) if outcome.new_bytes else ""
        else:
            reports = [check_data(name, data, settings)]
    else:
        found = discover(targets, settings)
        problems.extend(found.problems)
        for note in found.notes:
            click.echo(f"runguard-lint: {note}", err=True)
        tasks = [InputFile(path, display_name(path)) for path in found.files]
        cache = None if no_cache else ResultCache.for_settings(settings, cache_dir)
        if fix or diff:
            run = fix_files(tasks, settings, unsafe=unsafe_fixes, write=not diff, cache=cache)
            reports, fixed, diff_text = run.reports, run.fixed, run.diff
        else:
            reports = check_files(tasks, settings, cache=cache)
        if cache is not None:
            cache.save()

    diagnostics = [d for report in reports for d in report.diagnostics]
    errors = [e for report in reports for e in report.errors]
    if diff:
        click.echo(diff_text, nl=False)
        if not quiet:
            click.echo(f"Would fix {fixed} finding{'s' if fixed != 1 else ''}.", err=True)
        _echo_problems(problems, errors)
        sys.exit(EXIT_ERROR if errors or problems else int(bool(diff_text)))
    if fixed_stdin is not None and fix:
        # As in Ruff: the fixed source goes to standard output, the report to stderr.
        sys.stdout.buffer.write(fixed_stdin)
        sys.stdout.flush()
    if add_noqa:
        remaining = _add_noqa(tasks, reports, quiet)
        _echo_problems(problems, errors)
        sys.exit(_exit_status(remaining, errors, problems, exit_zero))
    context = ReportContext(
        rules=settings.catalog.rules,
        project_root=settings.project_root,
        errors=errors,
        source_lines=_source_lines,
        color=output_file is None and output_format == "full" and sys.stdout.isatty(),
        unsafe_fixes=unsafe_fixes,
        fixed_count=fixed,
    )
    if statistics:
        from runguard_lint.output.statistics import render as render_statistics

        text = render_statistics(diagnostics, context)
    else:
        text = formatter(output_format)(diagnostics, context)
        if quiet and output_format == "full":
            text = text.rsplit("\n\n", 1)[0] + "\n" if diagnostics else ""
    if fixed_stdin is not None and fix and output_file is None:
        click.echo(text, err=True, nl=False)
    else:
        _emit(text, output_file)
    _echo_problems(problems, errors)
    sys.exit(_exit_status(diagnostics, errors, problems, exit_zero))


def _echo_problems(problems: Sequence[str], errors: Sequence[FileError]) -> None:
    for problem in problems:
        click.echo(f"runguard-lint: error: {problem}", err=True)
    for error in errors:
        click.echo(f"runguard-lint: error: {error.filename}: {error.message}", err=True)


def _add_noqa(
    tasks: Sequence[InputFile], reports: Sequence[FileReport], quiet: bool
) -> list[Diagnostic]:
    """Write the comments; return the findings still not silenced (reported on stderr)."""
    from runguard_lint.add_noqa import AddNoqaError, add_noqa_to_file

    paths = {task.display: task.path for task in tasks}
    remaining: list[Diagnostic] = []
    added = 0
    for report in reports:
        if not report.diagnostics:
            continue
        try:
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


def _settings(
    targets: Sequence[str],
    config_file: Path | None,
    select: Sequence[str],
    extend_select: Sequence[str],
    ignore: Sequence[str],
    preview: bool,
    jobs: int | None,
    force_exclude: bool,
    stdin_filename: str | None,
) -> Settings:
    # The config nearest the first target, or nearest the stdin file's name even when
    # no such file exists yet (an editor's unsaved buffer).
    anchor = (
        Path(stdin_filename)
        if targets == ["-"] and stdin_filename
        else Path(targets[0] if targets[0] != "-" else ".")
    )
    try:
        if config_file is not None and not config_file.is_file():
            raise ConfigError(f"{config_file}: no such config file")
        config_path = config_file or find_config(anchor)
        settings = load_settings(config_path, Path.cwd())
        overrides: dict[str, object] = {}
        if select:
            overrides["select"] = _split_codes(select)
        if extend_select:
            overrides["extend_select"] = settings.extend_select + _split_codes(extend_select)
        if ignore:
            overrides["ignore"] = settings.ignore + _split_codes(ignore)
        if preview:
            overrides["preview"] = True
        if jobs is not None:
            overrides["jobs"] = jobs
        if force_exclude:
            overrides["force_exclude"] = True
        if overrides:
            settings = with_catalog(replace(settings, **overrides), None)  # type: ignore[arg-type]
        return settings
    except ConfigError as error:
        _fail(str(error))


def _fail(message: str) -> NoReturn:
    click.echo(f"runguard-lint: error: {message}", err=True)
    sys.exit(EXIT_ERROR)


def _emit(text: str, output_file: Path | None) -> None:
    if output_file is None:
        click.echo(text, nl=False)
        return
    try:
        output_file.write_text(text, encoding="utf-8")
    except OSError as error:
        _fail(f"{output_file}: cannot write the report ({error.strerror})")


def _source_lines(filename: str) -> Sequence[str]:
    try:
        return Path(filename).read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return ()


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
