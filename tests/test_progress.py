"""The progress bar: drawn on a terminal's standard error during a long run, never
into a pipe, never with --quiet. The terminal is a real pseudo-terminal (`pty`), the
run a real `python -m runguard_lint` process."""

from __future__ import annotations

import os
import pty
import re
import subprocess
import sys
from pathlib import Path

import pytest

from runguard_lint.config import find_config

LEAK = """\
import httpx


async def fetch_{n}(url):
    client = httpx.AsyncClient()
    response = await client.get(url)
    return response.text
"""
# Enough files that one worker is still busy well after the bar's one-second delay.
FILES = 300
BAR = re.compile(r"Checking .*━.* \d+/300 files")
ANSI = re.compile(r"\x1b\[[0-9;?]*[A-Za-z]")


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("progress")
    assert find_config(root) is None, "a config above the temp dir would skew the tests"
    for n in range(FILES):
        package = root / f"pkg{n % 20}"
        package.mkdir(exist_ok=True)
        (package / f"mod{n}.py").write_text(LEAK.format(n=n), encoding="utf-8")
    return root


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.update({"TERM": "xterm-256color", "COLUMNS": "100"})
    env.pop("NO_COLOR", None)
    return env


def run_on_terminal(tree: Path, *args: str) -> tuple[int, str, str]:
    """The CLI with standard error on a pseudo-terminal, standard output to a file:
    (exit status, what the terminal showed, standard output)."""
    command = [sys.executable, "-m", "runguard_lint", "--no-cache", "--jobs", "1", *args, "."]
    out_path = tree.parent / f"{tree.name}-stdout.txt"
    leader, follower = pty.openpty()
    try:
        with out_path.open("wb") as out:
            process = subprocess.Popen(command, cwd=tree, stdout=out, stderr=follower, env=_env())
    finally:
        os.close(follower)
    shown = bytearray()
    try:
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # EIO: the process closed its end of the terminal
                break
            if not chunk:
                break
            shown.extend(chunk)
        status = process.wait(timeout=600)
    finally:
        os.close(leader)
    stdout = out_path.read_text(encoding="utf-8")
    return status, shown.decode("utf-8", errors="replace"), stdout


def test_the_bar_is_drawn_on_a_terminal_and_erased(tree: Path) -> None:
    status, shown, stdout = run_on_terminal(tree, "--output-format", "concise")
    assert status == 1
    assert "\x1b[" in shown  # drawn in place, with cursor movements
    assert BAR.search(ANSI.sub("", shown)), shown[-2000:]
    assert shown.rstrip().endswith("\x1b[2K"), "the bar is erased when the run ends"
    # The report itself goes to standard output, untouched by the bar.
    assert stdout.count("RG101") == FILES
    assert "files" not in stdout


def test_quiet_draws_no_bar_on_a_terminal(tree: Path) -> None:
    status, shown, stdout = run_on_terminal(tree, "--quiet", "--output-format", "concise")
    assert status == 1
    assert "Checking" not in shown and "files" not in shown, shown[-2000:]
    assert stdout.count("RG101") == FILES


def test_no_bar_into_a_pipe(tree: Path) -> None:
    result = subprocess.run(
        [sys.executable, "-m", "runguard_lint", "--no-cache", "--jobs", "1", "."],
        cwd=tree,
        capture_output=True,
        text=True,
        env=_env(),
        timeout=600,
    )
    assert result.returncode == 1
    assert "Checking" not in result.stderr and "\x1b[" not in result.stderr
    assert f"Found {FILES} findings in {FILES} files." in result.stdout
