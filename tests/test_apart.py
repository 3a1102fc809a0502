"""`run_apart`: a stretch of work in a forked child, its answer or its exception back.

Real forks, real pickles: the pid a stretch reports tells where it ran.
"""

from __future__ import annotations

import os
import signal
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import pytest

from runguard_lint.config import Settings
from runguard_lint.pipeline import pool
from runguard_lint.pipeline.apart import run_apart
from runguard_lint.pipeline.pool import WorkerContext
from tests.processes import alive


@dataclass(frozen=True)
class _Answer:
    pid: int
    table: dict[str, tuple[str, ...]]


def test_the_stretch_runs_in_a_child_and_its_answer_comes_back_whole() -> None:
    table: dict[str, tuple[str, ...]] = {f"pkg.mod{i}.f": ("a", "b") for i in range(2_000)}
    answer = run_apart(lambda: _Answer(os.getpid(), table))
    assert answer.pid != os.getpid()
    assert answer.table == table


def test_an_exception_of_the_stretch_is_raised_in_the_caller() -> None:
    def work() -> int:
        raise ValueError(f"bad input in {os.getpid()}")

    with pytest.raises(ValueError, match="bad input in") as raised:
        run_apart(work)
    assert str(os.getpid()) not in str(raised.value)


class _Stubborn(Exception):
    """An exception that cannot be rebuilt from its pickle (a required argument)."""

    def __init__(self, code: int, detail: str) -> None:
        super().__init__(f"{code}: {detail}")


def test_an_exception_that_does_not_survive_pickle_comes_back_named() -> None:
    def work() -> int:
        raise _Stubborn(3, "no way back")

    with pytest.raises(RuntimeError, match="_Stubborn: 3: no way back"):
        run_apart(work)


def test_a_child_that_dies_without_an_answer_costs_only_time() -> None:
    parent = os.getpid()

    def work() -> int:
        if os.getpid() != parent:
            os._exit(9)  # killed before answering
        return os.getpid()

    assert run_apart(work) == parent


def test_what_the_child_prints_is_not_lost(capfd: pytest.CaptureFixture[str]) -> None:
    def work() -> int:
        print("from the child", flush=True)
        return 1

    assert run_apart(work) == 1
    assert "from the child" in capfd.readouterr().out


def test_with_no_room_for_a_temporary_file_the_stretch_runs_here(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "gone"))
    assert run_apart(os.getpid) == os.getpid()


def _pid_after_a_while(_: int) -> int:
    time.sleep(0.1)
    return os.getpid()


@pytest.mark.skipif(not sys.platform.startswith("linux"), reason="prctl is Linux's")
def test_the_workers_of_a_child_killed_outright_end_with_it(tmp_path: Path) -> None:
    """A child killed by SIGKILL (the system out of memory) cannot stop its pool: its
    workers end with it all the same, rather than wait forever on a queue nobody
    fills; and the stretch runs again here."""
    parent = os.getpid()
    record = tmp_path / "workers"

    def work() -> int:
        if os.getpid() != parent:
            context = WorkerContext(Settings(project_root=tmp_path), frozenset())
            executor = pool._pool(2, context)
            record.write_text(" ".join(map(str, set(executor.map(_pid_after_a_while, range(4))))))
            os.kill(os.getpid(), signal.SIGKILL)
        return os.getpid()

    assert run_apart(work) == parent
    workers = [int(pid) for pid in record.read_text().split()]
    assert workers
    deadline = time.monotonic() + 3
    while any(alive(pid) for pid in workers) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert not [pid for pid in workers if alive(pid)], "workers outlived their process"
