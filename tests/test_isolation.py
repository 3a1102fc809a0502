"""The worker pool: how work is cut into chunks, what reaches the workers, and crashes."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from runguard_lint.config import Settings
from runguard_lint.diagnostics import FileReport
from runguard_lint.pipeline import pool as pool_module
from runguard_lint.pipeline.pool import (
    PARSER_CRASHED,
    WorkerContext,
    Workers,
    WorkItem,
    chunked,
    run_in_workers,
)
from tests.processes import children


def test_chunks_keep_order_and_cover_every_payload() -> None:
    sizes = [900_000, 500_000, *([2_000] * 1_000)]
    chunks = chunked(sizes, lambda size: size, workers=2)
    assert [size for chunk in chunks for size in chunk] == sizes
    # The big files travel alone; small ones are grouped, never beyond 200 a chunk.
    assert chunks[0] == [900_000] and chunks[1] == [500_000]
    assert all(1 < len(chunk) <= 200 for chunk in chunks[2:])
    # Enough chunks for both workers to stay busy to the end.
    assert len(chunks) >= 2 * 4


def test_a_small_project_still_spreads_over_the_workers() -> None:
    chunks = chunked([70_000] * 6, lambda size: size, workers=2)
    assert len(chunks) == 6


def _echo_context(context: WorkerContext, item: WorkItem) -> tuple[str, ...]:
    """Work for the pool test: dies, raises, or answers with what the context carried."""
    if item.display == "dies.py":
        os._exit(1)
    if item.display == "raises.py":
        raise ValueError("boom")
    return (item.display, *sorted(context.enabled), str(context.unsafe_fixes))


def test_the_pool_hands_each_worker_the_context_and_isolates_crashes(tmp_path: Path) -> None:
    context = WorkerContext(Settings(project_root=tmp_path), frozenset({"RG101"}), True)
    names = ["a.py", "dies.py", "b.py", "raises.py", "c.py"]
    items = [WorkItem(name, tmp_path / name, b"", 70_000) for name in names]

    def lost(report: FileReport) -> tuple[str, ...]:
        messages = [d.message for d in report.diagnostics] + [e.message for e in report.errors]
        return (report.filename, "lost", *messages)

    answers = dict(run_in_workers(_echo_context, context, items, workers=2, lost=lost))
    by_name = {item.display: answer for item, answer in answers.items()}
    for name in ("a.py", "b.py", "c.py"):
        assert by_name[name] == (name, "RG101", "True")
    assert by_name["dies.py"] == ("dies.py", "lost", PARSER_CRASHED)
    assert by_name["raises.py"] == (
        "raises.py",
        "lost",
        "internal error: ValueError: boom; please report it",
    )


def _round_answer(context: WorkerContext, item: WorkItem) -> tuple[int, str, tuple[str, ...]]:
    """Work for the rounds tests: which worker answered (with no messages, which a file
    lost to a crash has)."""
    if item.display == "dies.py":
        os._exit(1)
    return os.getpid(), item.display, ()


def test_one_set_of_workers_serves_every_round(tmp_path: Path) -> None:
    context = WorkerContext(Settings(project_root=tmp_path), frozenset({"RG101"}))
    first = [WorkItem(f"a{i}.py", tmp_path / f"a{i}.py", b"", 70_000) for i in range(6)]
    second = [WorkItem(f"b{i}.py", tmp_path / f"b{i}.py", b"", 70_000) for i in range(6)]

    def lost(report: FileReport) -> tuple[int, str, tuple[str, ...]]:
        return 0, report.filename, ("lost",)

    with Workers(context, 2) as pool:
        assert not children(os.getpid())  # nothing forked before a round has work
        assert not list(pool.run(_round_answer, [], lost))
        assert not children(os.getpid())
        one = dict(pool.run(_round_answer, first, lost))
        started = set(children(os.getpid()))
        assert len(started) == 2
        two = dict(pool.run(_round_answer, second, lost))
        assert set(children(os.getpid())) == started
    assert sorted(item.display for item in (*one, *two)) == sorted(
        [f"a{i}.py" for i in range(6)] + [f"b{i}.py" for i in range(6)]
    )
    assert {answer[0] for answer in (*one.values(), *two.values())} <= started
    assert not set(children(os.getpid())) & started  # reaped when the block ends


def test_a_round_after_a_crash_gets_fresh_workers(tmp_path: Path) -> None:
    context = WorkerContext(Settings(project_root=tmp_path), frozenset({"RG101"}))
    crash = [WorkItem(name, tmp_path / name, b"", 70_000) for name in ("dies.py", "a.py")]
    after = [WorkItem(f"b{i}.py", tmp_path / f"b{i}.py", b"", 70_000) for i in range(4)]

    def lost(report: FileReport) -> tuple[int, str, tuple[str, ...]]:
        return 0, report.filename, tuple(d.message for d in report.diagnostics)

    with Workers(context, 2) as pool:
        one = {item.display: answer for item, answer in pool.run(_round_answer, crash, lost)}
        two = {item.display: answer for item, answer in pool.run(_round_answer, after, lost)}
    assert one["dies.py"] == (0, "dies.py", (PARSER_CRASHED,))
    assert one["a.py"][1] == "a.py" and one["a.py"][0] != 0
    assert sorted(two) == [f"b{i}.py" for i in range(4)]
    assert all(answer[0] != 0 for answer in two.values())
    # Served by the two workers of a fresh pool, not each in a process of its own as
    # the chunks of a pool that stayed broken would be.
    assert len({answer[0] for answer in two.values()}) <= 2


def _dies_at_start() -> None:
    os._exit(1)


def test_a_worker_that_dies_starting_costs_only_a_retry(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A worker killed as the pool starts (the out-of-memory killer, say) leaves the
    pool broken: its files are run apart, as for a crash on a file."""
    monkeypatch.setattr(pool_module, "_started", _dies_at_start)
    context = WorkerContext(Settings(project_root=tmp_path), frozenset({"RG101"}), True)
    items = [WorkItem(f"a{i}.py", tmp_path / f"a{i}.py", b"", 70_000) for i in range(3)]

    def lost(report: FileReport) -> tuple[str, ...]:
        return (report.filename, "lost")

    answers = dict(run_in_workers(_echo_context, context, items, workers=2, lost=lost))
    assert {item.display: answer for item, answer in answers.items()} == {
        f"a{i}.py": (f"a{i}.py", "RG101", "True") for i in range(3)
    }
