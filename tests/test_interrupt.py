"""SIGINT and SIGTERM stop a multi-worker run at once, for real.

The CLI runs in a subprocess on a generated tree large enough to keep two
workers busy for many seconds (no cache). Once its workers are running, the
signal is sent: to the main process alone, or, as a terminal's Ctrl-C does, to
the whole process group. The run must end within 30 s (the queued work alone
takes minutes; no speed is asserted beyond that), print one line saying it was
interrupted, exit 130 (SIGINT) or 143 (SIGTERM), and leave no worker process
behind. Each case runs several times:
a hang that shows one time in three must show here.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.conftest import ROOT
from tests.processes import alive, children, descendants

FUNCTION = """

async def fetch_{n}(url: str) -> bytes:
    client = httpx.AsyncClient()
    return (await client.get(url)).content


def count_{n}(path: str) -> int:
    db = sqlite3.connect(path)
    return db.execute("select count(*) from t").fetchone()[0]
"""

FILES = 400
FUNCTIONS = 6
REPEAT = 3


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("interrupt")
    for index in range(FILES):
        package = root / f"pkg{index % 8}"
        package.mkdir(exist_ok=True)
        body = "".join(FUNCTION.format(n=n) for n in range(FUNCTIONS))
        (package / f"mod{index}.py").write_text("import sqlite3\n\nimport httpx\n" + body)
    return root


def _launch(tree: Path) -> subprocess.Popen[str]:
    """The CLI on the tree, two workers, no cache, in a session of its own."""
    return subprocess.Popen(
        [sys.executable, "-m", "runguard_lint", "--no-cache", "--jobs", "2", str(tree)],
        cwd=ROOT,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )


def _start(tree: Path) -> tuple[subprocess.Popen[str], set[int]]:
    """The CLI on the tree, and its workers once at least two are running."""
    process = _launch(tree)
    deadline = time.monotonic() + 120
    workers: set[int] = set()
    while time.monotonic() < deadline and process.poll() is None:
        workers = children(process.pid)
        if len(workers) >= 2:
            break
        time.sleep(0.02)
    assert len(workers) >= 2, "the workers never started"
    time.sleep(0.5)  # let them get into their first files
    assert process.poll() is None, "the run ended before it could be interrupted"
    return process, workers


def _interrupt(
    process: subprocess.Popen[str],
    running: set[int],
    signum: signal.Signals,
    whole_group: bool,
    status: int,
    attempt: str,
) -> None:
    """Send the signal; the run must end within 30 s with one line and `status`, and
    none of the `running` processes may outlive it."""
    if whole_group:
        os.killpg(process.pid, signum)
    else:
        process.send_signal(signum)
    try:
        stdout, stderr = process.communicate(timeout=30)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.communicate()
        pytest.fail(f"{attempt}: the run did not end within 30 s of {signum.name}")
    assert process.returncode == status, (attempt, process.returncode, stderr)
    lines = stderr.strip().splitlines()
    assert lines == [lines[0]] and f"interrupted by {signum.name}" in lines[0], stderr
    assert "Traceback" not in stderr
    assert stdout == "", "an interrupted run prints no (partial) results"
    left = {pid for pid in running if alive(pid)}
    assert not left, f"{attempt}: processes {left} outlived the run"


@pytest.mark.parametrize(
    ("signum", "whole_group", "status"),
    [
        (signal.SIGINT, False, 130),
        (signal.SIGINT, True, 130),
        (signal.SIGTERM, False, 143),
    ],
    ids=["sigint", "ctrl-c-to-the-group", "sigterm"],
)
def test_a_signal_stops_the_workers_at_once(
    tree: Path, signum: signal.Signals, whole_group: bool, status: int
) -> None:
    for attempt in range(REPEAT):
        process, workers = _start(tree)
        _interrupt(process, workers, signum, whole_group, status, f"attempt {attempt}")


@pytest.fixture(scope="module")
def survey_tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Enough files that the fact pass alone keeps two workers busy for seconds."""
    root = tmp_path_factory.mktemp("interrupt-survey")
    body = "import sqlite3\n\nimport httpx\n" + "".join(
        FUNCTION.format(n=n) for n in range(FUNCTIONS)
    )
    for index in range(9_000):
        package = root / f"pkg{index % 16}"
        package.mkdir(exist_ok=True)
        (package / f"mod{index}.py").write_text(body)
    return root


def _in_fact_pass(tree: Path) -> tuple[subprocess.Popen[str], set[int]]:
    """The CLI on the tree, and every process under it once the fact pass's child (see
    `pipeline/apart.py`) runs two workers of its own."""
    process = _launch(tree)
    deadline = time.monotonic() + 120
    running: set[int] = set()
    while time.monotonic() < deadline and process.poll() is None:
        if any(len(children(child)) >= 2 for child in children(process.pid)):
            running = descendants(process.pid)
            break
        time.sleep(0.02)
    assert len(running) >= 3, "the fact pass never started its workers"
    time.sleep(0.3)
    assert process.poll() is None, "the run ended before it could be interrupted"
    assert any(len(children(child)) >= 2 for child in children(process.pid)), (
        "the fact pass ended before it could be interrupted"
    )
    return process, running


@pytest.mark.parametrize(
    ("signum", "whole_group", "status"),
    [(signal.SIGINT, True, 130), (signal.SIGTERM, False, 143)],
    ids=["ctrl-c-to-the-group", "sigterm"],
)
def test_a_signal_during_the_fact_pass_stops_its_process_and_workers(
    survey_tree: Path, signum: signal.Signals, whole_group: bool, status: int
) -> None:
    """The fact pass runs in a child of its own with workers of its own (see
    `pipeline/apart.py`): a signal then must end all three, and the run, as it does
    in the check."""
    process, running = _in_fact_pass(survey_tree)
    _interrupt(process, running, signum, whole_group, status, "during the fact pass")


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_a_killed_main_process_takes_the_fact_pass_with_it(survey_tree: Path) -> None:
    """SIGKILL gives the main process no chance to stop anything (a CI timeout, an
    editor ending a run): the fact pass's child learns of it from the kernel and stops
    with its workers, rather than running on for nobody."""
    process, running = _in_fact_pass(survey_tree)
    process.kill()
    process.wait()  # not `communicate`: the child holds the output pipes open too
    # The fact pass alone would run on for seconds more (the first test asserts it was
    # still running): 3 s is long enough to stop and reap, not to finish.
    deadline = time.monotonic() + 3
    left = {pid for pid in running if alive(pid) and pid != process.pid}
    while left and time.monotonic() < deadline:
        time.sleep(0.05)
        left = {pid for pid in left if alive(pid)}
    assert not left, f"processes {left} outlived the main process by 3 s"
    for stream in (process.stdout, process.stderr):
        assert stream is not None
        stream.close()
