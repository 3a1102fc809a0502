"""Shared helpers: run the real CLI, as a user would.

`run_cli` goes through the CLI's own entry point, `runguard_lint.cli.main`,
in this process (click's test runner gives it its own argv, standard streams,
environment and working directory for the call), so a test pays for neither
an interpreter start nor the imports; the worker pool still forks real
processes. `run_cli(..., process=True)` runs `python -m runguard_lint` in a
subprocess: the tests that prove the installed command behaves the same
(exit statuses, streams, each output format) use it.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest

from tests.loopback import LocalServer

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def run_cli(
    *args: str,
    cwd: Path | None = None,
    input_text: str | None = None,
    env: dict[str, str] | None = None,
    process: bool = False,
) -> subprocess.CompletedProcess[str]:
    """The CLI with ARGS, output captured as text; in a subprocess when `process`."""
    run = _run_process if process else _run_in_process
    return run(args, cwd or ROOT, input_text, env or {})


def _run_process(
    args: Sequence[str], cwd: Path, input_text: str | None, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """`python -m runguard_lint ARGS` in a subprocess."""
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    full_env.pop("FORCE_COLOR", None)
    full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "runguard_lint", *args],
        cwd=cwd,
        input=input_text,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=600,
    )


def _run_in_process(
    args: Sequence[str], cwd: Path, input_text: str | None, env: Mapping[str, str]
) -> subprocess.CompletedProcess[str]:
    """`main(ARGS)` as the console script calls it, with its own streams, environment
    and working directory for the call. An exception escaping `main` fails the test
    (a subprocess would have printed a traceback and exited 1)."""
    from runguard_lint.cli import main

    overrides: dict[str, str | None] = {"NO_COLOR": None, "FORCE_COLOR": None, **env}
    runner = _runner()
    previous = os.getcwd()
    os.chdir(cwd)
    try:
        result = runner.invoke(
            main,
            list(args),
            input=input_text,
            env=overrides,
            catch_exceptions=False,
            prog_name="runguard-lint",
        )
    finally:
        os.chdir(previous)
    return subprocess.CompletedProcess(
        ["runguard-lint", *args], result.exit_code, result.stdout, result.stderr
    )


def _runner() -> Any:
    """A CliRunner that keeps standard error apart (click 8.1 needs asking; later
    versions always do)."""
    from click.testing import CliRunner

    try:
        return CliRunner(mix_stderr=False)  # type: ignore[call-arg]
    except TypeError:
        return CliRunner()


def run_json(*args: str, cwd: Path | None = None) -> tuple[int, list[dict[str, Any]]]:
    """Run the CLI with JSON output and return (exit code, findings)."""
    result = run_cli("--output-format", "json", "--no-cache", *args, cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


@pytest.fixture(autouse=True, scope="session")
def _cache_key_outside_home(tmp_path_factory: pytest.TempPathFactory) -> None:
    """The CLI runs of the tests sign their caches with a key of their own, so the
    suite never creates or reads the key in the user's cache directory."""
    os.environ["RUNGUARD_LINT_CACHE_KEY_DIR"] = str(tmp_path_factory.mktemp("cache-key"))


@pytest.fixture
def cli() -> Any:
    return run_cli


@pytest.fixture(scope="module")
def server_url() -> Iterator[str]:
    """A real HTTP server on loopback (tests/loopback.py), one per test module."""
    server = LocalServer()
    try:
        yield server.url
    finally:
        server.close()
