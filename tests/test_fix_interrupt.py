"""`--fix` killed (SIGKILL) or interrupted (SIGINT) partway never leaves a half-written file.

Every file in a large tree is, after the kill, either byte-identical to the
original or byte-identical to what an uninterrupted `--fix` writes: writes are
a temp file plus an atomic rename, so there is no state in between. SIGINT
also leaves no temporary file and no worker behind, and exits 130.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT

LEAK = """import sqlite3


def count_{n}(path: str) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("select count(*) from t{n}").fetchone()[0]
"""
PADDING = "".join(f"CONSTANT_{i} = {i}\n" for i in range(200))


FILES = 160


def _tree(root: Path, files: int) -> None:
    for n in range(files):
        package = root / f"pkg{n % 10}"
        package.mkdir(parents=True, exist_ok=True)
        (package / f"mod{n}.py").write_text(LEAK.format(n=n) + PADDING, encoding="utf-8")


def _fix_command(target: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "runguard_lint",
        "--fix",
        "--no-cache",
        "--jobs",
        "2",
        "--exit-zero",
        "-q",
        str(target),
    ]


@pytest.fixture(scope="module")
def trees(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """The original tree and what an uninterrupted `--fix` makes of it."""
    root = tmp_path_factory.mktemp("fix-interrupt")
    original = root / "original"
    _tree(original, FILES)
    expected = root / "expected"
    shutil.copytree(original, expected)
    done = subprocess.run(
        _fix_command(expected), capture_output=True, text=True, cwd=ROOT, timeout=900
    )
    assert done.returncode == 0, done.stderr
    fixed_any = any(
        (expected / p.relative_to(original)).read_bytes() != p.read_bytes()
        for p in original.rglob("*.py")
    )
    assert fixed_any, "the uninterrupted run must fix the files for this test to mean anything"
    return original, expected


def _start_and_wait_for_a_write(original: Path, victim: Path) -> subprocess.Popen[bytes]:
    shutil.copytree(original, victim)
    process = subprocess.Popen(
        _fix_command(victim),
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        start_new_session=True,
    )
    deadline = time.monotonic() + 600
    while time.monotonic() < deadline and process.poll() is None:
        if any(
            (victim / p.relative_to(original)).read_bytes() != p.read_bytes()
            for p in original.rglob("*.py")
        ):
            break
        time.sleep(0.05)
    return process


def test_sigkill_during_fix_leaves_every_file_whole(
    trees: tuple[Path, Path], tmp_path: Path
) -> None:
    original, expected = trees
    victim = tmp_path / "victim"
    process = _start_and_wait_for_a_write(original, victim)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.communicate(timeout=60)
    _assert_old_or_fixed(original, expected, victim)


def test_sigint_during_fix_stops_with_every_file_whole(
    trees: tuple[Path, Path], tmp_path: Path
) -> None:
    original, expected = trees
    victim = tmp_path / "victim"
    process = _start_and_wait_for_a_write(original, victim)
    assert process.poll() is None, "the run ended before it could be interrupted"
    process.send_signal(signal.SIGINT)
    try:
        _stdout, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail("the run did not end within 30 s of SIGINT")
    assert process.returncode == 130, stderr
    assert b"interrupted by SIGINT" in stderr
    _assert_old_or_fixed(original, expected, victim)
    assert not list(victim.rglob("*.runguard-tmp")), "a temporary file was left behind"
    leftover = subprocess.run(
        ["pgrep", "-s", str(process.pid)], capture_output=True, text=True, check=False
    )
    assert leftover.stdout == "", f"processes of the run outlived it: {leftover.stdout}"


def _assert_old_or_fixed(original: Path, expected: Path, victim: Path) -> None:
    states = {"original": 0, "fixed": 0}
    for source in original.rglob("*.py"):
        relative = source.relative_to(original)
        now = (victim / relative).read_bytes()
        if now == source.read_bytes():
            states["original"] += 1
        else:
            assert now == (expected / relative).read_bytes(), f"{relative} is neither state"
            states["fixed"] += 1
    assert states["fixed"] >= 1
    assert states["original"] >= 1, "the kill must land partway through the tree"
    assert states["original"] + states["fixed"] == FILES
