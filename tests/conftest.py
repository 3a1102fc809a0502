"""Shared helpers: run the real CLI in a subprocess, as a user would."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

ROOT = Path(__file__).resolve().parent.parent
FIXTURES = ROOT / "fixtures"


def run_cli(
    *args: str,
    cwd: Path | None = None,
    input_text: str | None = None,
    env: dict[str, str] | None = None,
) -> subprocess.CompletedProcess[str]:
    """`python -m runguard_lint ARGS` in a subprocess, output captured as text."""
    full_env = dict(os.environ)
    full_env.pop("NO_COLOR", None)
    if env:
        full_env.update(env)
    return subprocess.run(
        [sys.executable, "-m", "runguard_lint", *args],
        cwd=cwd or ROOT,
        input=input_text,
        capture_output=True,
        text=True,
        env=full_env,
        timeout=600,
    )


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
