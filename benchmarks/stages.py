"""Where a cold run's CPU time goes: the engine's stages over a tree of files, in one process.

    python benchmarks/stages.py DIR [--json FILE]

Runs the same stages as a worker does (read and decode, `ast.parse`, the
prefilter's plan, LibCST parse of the planned text, metadata, the checks),
timing each, with the worker's GC settings. Prints the stage totals and the
files that reached LibCST, by why they did (a candidate acquisition, an RG201
candidate dict, both). The total is below a real run's CPU time by the
process start-up, the hand-offs between processes and the report.
"""

from __future__ import annotations

import argparse
import ast
import json
import time
from dataclasses import dataclass, field
from pathlib import Path

import libcst as cst

from runguard_lint import prefilter, registry
from runguard_lint.analysis.context import FileContext
from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.config import Settings
from runguard_lint.pipeline.files import DecodeFailure, decode
from runguard_lint.pipeline.pool import prepare_worker
from runguard_lint.prefilter.acquisitions import acquisition_candidates
from runguard_lint.prefilter.caches import cache_units

STAGES = ("read", "ast", "plan", "libcst parse", "metadata", "checks")


@dataclass
class Totals:
    seconds: dict[str, float] = field(default_factory=lambda: dict.fromkeys(STAGES, 0.0))
    files: int = 0
    lines: int = 0
    libcst: dict[str, list[int]] = field(default_factory=dict)  # reason -> [files, lines]
    findings: int = 0


def measure(root: Path) -> Totals:
    settings = Settings(project_root=root, fix_edits=False)
    enabled = settings.enabled_codes()
    catalog = settings.catalog
    totals = Totals()
    clock = time.process_time
    for path in sorted(root.rglob("*.py")):
        start = clock()
        try:
            text = decode(path.read_bytes()).text
        except (OSError, DecodeFailure):
            continue
        parsed = clock()
        try:
            tree = ast.parse(text)
        except (SyntaxError, ValueError, RecursionError, MemoryError):
            continue
        planned = clock()
        plan = prefilter.analysis_plan(tree, text, settings, registry.needs(enabled))
        done = clock()
        seconds = totals.seconds
        seconds["read"] += parsed - start
        seconds["ast"] += planned - parsed
        seconds["plan"] += done - planned
        totals.files += 1
        lines = text.count("\n")
        totals.lines += lines
        if plan is None:
            continue
        acquiring = bool(acquisition_candidates(tree, text, catalog, False))
        caching = cache_units(tree, text) is not None
        reason = {
            (True, False): "acquisition",
            (False, True): "RG201",
            (True, True): "both",
        }.get((acquiring, caching), "other")
        count = totals.libcst.setdefault(reason, [0, 0])
        count[0] += 1
        count[1] += lines
        focused = plan.apply(text)
        start = clock()
        module = cst.parse_module(focused)
        parsed = clock()
        # As a run does (`pipeline.analyse`): with the text and its stdlib tree, which
        # let positions be rendered one statement at a time.
        facts = ModuleFacts(cst.MetadataWrapper(module, unsafe_skip_copy=True), focused, tree)
        resolved = clock()
        context = FileContext(str(path), focused, facts, settings, enabled, tree)
        for rule in registry.enabled_rules(enabled):
            totals.findings += len(list(rule.check(context)))
        checked = clock()
        seconds["libcst parse"] += parsed - start
        seconds["metadata"] += resolved - parsed
        seconds["checks"] += checked - resolved
    return totals


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--json", type=Path)
    args = parser.parse_args()
    prepare_worker()
    totals = measure(args.root)
    total = sum(totals.seconds.values())
    print(f"{totals.files:,} files, {totals.lines:,} lines, {totals.findings} findings")
    print("| stage | CPU s | share |\n|---|---:|---:|")
    for stage, seconds in totals.seconds.items():
        print(f"| {stage} | {seconds:.1f} | {seconds / total:.0%} |")
    print(f"| total | {total:.1f} | {totals.lines / total:,.0f} lines/s |")
    for reason, (files, lines) in sorted(totals.libcst.items()):
        print(f"LibCST for {reason}: {files} files, {lines:,} lines")
    if args.json:
        args.json.write_text(json.dumps(totals.__dict__, indent=1), encoding="utf-8")


if __name__ == "__main__":
    main()
