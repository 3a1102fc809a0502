"""`--fix` killed partway (SIGKILL) never leaves a truncated or half-written file.

Every file in a large tree is, after the kill, either byte-identical to the
original or byte-identical to what an uninterrupted `--fix` writes: writes are
a temp file plus an atomic rename, so there is no state in between.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

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


def test_sigkill_during_fix_leaves_every_file_whole(tmp_path: Path) -> None:
    original = tmp_path / "original"
    _tree(original, FILES)
    expected = tmp_path / "expected"
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

    victim = tmp_path / "victim"
    shutil.copytree(original, victim)
    process = subprocess.Popen(
        _fix_command(victim),
        cwd=ROOT,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,
    )
    # Wait until the first files are written, then kill the whole process group.
    deadline = time.monotonic() + 600
    changed = 0
    while time.monotonic() < deadline and process.poll() is None:
        changed = sum(
            1
            for p in original.rglob("*.py")
            if (victim / p.relative_to(original)).read_bytes() != p.read_bytes()
        )
        if changed:
            break
        time.sleep(0.05)
    if process.poll() is None:
        os.killpg(process.pid, signal.SIGKILL)
    process.wait(timeout=60)

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
