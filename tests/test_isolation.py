"""How work is cut into chunks for the worker processes."""

from __future__ import annotations

from runguard_lint.pipeline.pool import chunked


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
