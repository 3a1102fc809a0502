"""The fact pass's work per file, in one process: to compare two versions of the survey.

    python benchmarks/survey_cpu.py DIR [--repeat N] [--every K] [--instructions]

Runs what a survey worker runs for each file (`check.survey_item`: read, parse, summary,
the check up to LibCST with no project fact) over the `*.py` files under DIR (with
`--every K`, one file in K, sorted by path), and prints the best CPU time of N runs.

The shared machine's speed moves by up to a fifth between minutes, more than most
single changes save. `--instructions` counts instructions instead, under valgrind's
callgrind (which must be installed; about 50 times slower, so use `--every 25`): the
count of a run over no file is taken off, and with a fixed hash seed what is left
repeats (to tens of instructions in billions). Point PYTHONPATH at each checkout in
turn to compare two versions.
"""

from __future__ import annotations

import tempfile
import time
from pathlib import Path

from callgrind import instructions as counted
from callgrind import stage_arguments


def survey(root: Path, every: int, repeat: int) -> float:
    """The best CPU time of `repeat` surveys of the files under root."""
    from runguard_lint.config import Settings
    from runguard_lint.pipeline.check import survey_item
    from runguard_lint.pipeline.pool import WorkerContext, WorkItem, prepare_worker

    prepare_worker()
    settings = Settings(project_root=root, fix_edits=False)
    context = WorkerContext(settings, settings.enabled_codes())
    paths = sorted(root.rglob("*.py"))[every - 1 :: every]
    items = [WorkItem(str(path), path, None, 1) for path in paths]
    best = float("inf")
    for _ in range(repeat):
        start = time.process_time()
        for item in items:
            survey_item(context, item)
        best = min(best, time.process_time() - start)
    return best


def instructions(root: Path, every: int) -> int:
    """Instructions of one survey of the files under root, less those of a survey of none."""

    def count(target: Path) -> int:
        return counted([__file__, str(target), "--every", str(every), "--repeat", "1"])

    with tempfile.TemporaryDirectory() as empty:
        return count(root) - count(Path(empty))


def main() -> None:
    parser = stage_arguments(__doc__.splitlines()[0])
    args = parser.parse_args()
    if args.instructions:
        print(f"{instructions(args.root, args.every):,} instructions")
    else:
        print(f"{survey(args.root, args.every, args.repeat):.2f} CPU s (best of {args.repeat})")


if __name__ == "__main__":
    main()
