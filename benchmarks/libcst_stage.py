"""The LibCST stage's work, in one process: to compare two versions of it.

    python benchmarks/libcst_stage.py DIR [--repeat N] [--every K] [--instructions]

Plans every `*.py` file under DIR with no project fact in reach (`prefilter.analysis_plan`
on `ast.parse`'s tree), keeps the files whose plan reaches LibCST (with `--every K`, one
in K of those, sorted by path), and runs on each what a check worker runs there
(`pipeline.analyse.run_checks`: LibCST's parse of the planned text, the module's
metadata, the enabled rules, their fixes held to the policy, the worker's collector).
Prints the best CPU time of N runs of that stage alone.

It is for comparing two versions of that stage, not for a run's figures: unlike a
worker, it reads no configuration, gives no file its own project facts (a worker's
`for_file` facts name the factories the file defines), skips the files a worker would
rewrite to an older grammar, renders no fix edits (`fix_edits=False`, as a plain report
run), and repeats over files whose caches it has warmed.

`--instructions` counts instructions instead, under valgrind's callgrind (which must be
installed; about 50 times slower, so use `--every 3` or more): the count of a run that
reads and plans the same files but skips the stage is taken off, and with a fixed hash
seed what is left repeats. Point PYTHONPATH at each checkout in turn to compare two
versions (the eleventh round of `benchmarks/README.md` does).
"""

from __future__ import annotations

import argparse
import ast
import gc
import time
from pathlib import Path
from typing import TYPE_CHECKING

from callgrind import instructions as counted
from callgrind import stage_arguments

if TYPE_CHECKING:
    from runguard_lint.prefilter import AnalysisPlan

Planned = list[tuple[Path, str, ast.Module, "AnalysisPlan"]]


def planned(root: Path, every: int) -> Planned:
    """The files under root whose plan reaches LibCST (one in `every`), planned."""
    from runguard_lint import prefilter, registry
    from runguard_lint.config import Settings

    settings = Settings(project_root=root, fix_edits=False)
    needs = registry.needs(settings.enabled_codes())
    found: Planned = []
    for path in sorted(root.rglob("*.py")):
        try:
            text = path.read_text(encoding="utf-8")
            tree = ast.parse(text)
        except (OSError, UnicodeDecodeError, SyntaxError, ValueError, RecursionError):
            continue
        plan = prefilter.analysis_plan(tree, text, settings, needs)
        if plan is not None:
            found.append((path, text, tree, plan))
    return found[every - 1 :: every]


def stage(root: Path, every: int, repeat: int, *, run: bool = True) -> tuple[int, float]:
    """How many files reach LibCST, and the best CPU time of `repeat` runs of the stage
    over them (none when `run` is false: the reading and planning alone)."""
    from runguard_lint.analysis.project.facts import EMPTY
    from runguard_lint.config import Settings
    from runguard_lint.pipeline.analyse import run_checks
    from runguard_lint.pipeline.pool import prepare_worker

    prepare_worker()
    settings = Settings(project_root=root, fix_edits=False)
    enabled = settings.enabled_codes()
    items = planned(root, every)
    # What a run loads once, before the first file, in both counts alike.
    import libcst.codemod.visitors  # noqa: F401

    # The planned files out of the collector's scans, as a worker's inheritance is: a
    # worker holds one file's trees at a time, not all of them.
    gc.freeze()

    best = float("inf")
    for _ in range(repeat if run else 0):
        start = time.process_time()
        for path, text, tree, plan in items:
            run_checks(str(path), text, settings, enabled, plan, tree, EMPTY, same_lines=True)
        best = min(best, time.process_time() - start)
    return len(items), best


def instructions(root: Path, every: int) -> int:
    """Instructions of one run of the stage over the files, less those of reading and
    planning them alone."""

    arguments = [__file__, str(root), "--every", str(every), "--repeat", "1"]
    return counted(arguments) - counted([*arguments, "--plan-only"])


def main() -> None:
    parser = stage_arguments(__doc__.splitlines()[0])
    # The run `--instructions` takes off: reading and planning alone.
    parser.add_argument("--plan-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.instructions:
        print(f"{instructions(args.root, args.every):,} instructions")
    elif args.plan_only:
        stage(args.root, args.every, 1, run=False)
    else:
        files, best = stage(args.root, args.every, args.repeat)
        print(f"{files} files reach LibCST; {best:.2f} CPU s (best of {args.repeat})")


if __name__ == "__main__":
    main()
