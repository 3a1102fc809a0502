"""The worker pool: how work is cut into chunks, what reaches the workers, and crashes."""

from __future__ import annotations

import os
from pathlib import Path

from runguard_lint.config import Settings
from runguard_lint.diagnostics import FileReport
from runguard_lint.pipeline.pool import (
    PARSER_CRASHED,
    WorkerContext,
    WorkItem,
    chunked,
    run_in_workers,
)


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
