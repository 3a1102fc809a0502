"""How much of a tree the project-wide fact pass summarises, and why, in one process.

    python benchmarks/fact_pass.py DIR [--json FILE] [--top N]

The fact pass (`pipeline.project`) summarises a module in its first pass when the
module's text names a catalog constructor, and in its second when it names one of the
names the first pass's summaries give (`collect.interesting_names`). This prints each
pass's modules, lines and CPU time (parse and summary), then, for each kind of name
(`collect.name_origins`), how many names it gives, how many second-pass modules name
one of them, and how many would be left in the second pass without that kind: the
measure of how selective the second pass is, and of what a narrower one must replace.
It replays the first two passes only: the later passes (what the second pass's modules
name) and the modules asked for on demand (where bases, loggers and called project
functions are defined), which `pipeline.project` runs until nothing more is found, add
a few dozen small modules on the benchmark corpora and are left out.
"""

from __future__ import annotations

import argparse
import json
import time
from collections import Counter
from dataclasses import asdict, dataclass, field
from pathlib import Path

from runguard_lint.analysis.project.collect import (
    name_origins,
    summary_of_text,
    wants_summary,
    words_of,
)
from runguard_lint.analysis.project.summary import ModuleSummary
from runguard_lint.catalog import Catalog
from runguard_lint.config import Settings
from runguard_lint.pipeline.files import DecodeFailure, decode


@dataclass
class Pass:
    modules: int = 0
    lines: int = 0
    seconds: float = 0.0


@dataclass
class Origin:
    names: int
    second_pass_modules: int  # second-pass modules that name one of these names
    second_pass_without: int  # second-pass modules left were these names not asked


@dataclass
class Report:
    files: int = 0
    lines: int = 0
    first: Pass = field(default_factory=Pass)
    second: Pass = field(default_factory=Pass)
    origins: dict[str, Origin] = field(default_factory=dict)
    # The names that occur in the most modules left for the second pass.
    commonest: list[tuple[str, int]] = field(default_factory=list)


def measure(root: Path, top: int) -> Report:
    catalog = Settings(project_root=root).catalog
    texts: dict[Path, str] = {}
    for path in sorted(root.rglob("*.py")):
        try:
            texts[path] = decode(path.read_bytes()).text
        except (OSError, DecodeFailure):
            continue
    report = Report(len(texts), sum(text.count("\n") for text in texts.values()))
    first = [path for path, text in texts.items() if wants_summary(text, catalog)]
    summaries = _summarise(first, texts, catalog, report.first)
    origins = name_origins(summaries)
    in_first = set(first)
    rest = {path: words_of(text) for path, text in texts.items() if path not in in_first}
    every = set().union(*origins.values())
    second = [path for path, words in rest.items() if not every.isdisjoint(words)]
    _summarise(second, texts, catalog, report.second)
    for origin, names in origins.items():
        others = set().union(*(n for o, n in origins.items() if o != origin))
        report.origins[origin] = Origin(
            len(names),
            sum(1 for path in second if not names.isdisjoint(rest[path])),
            sum(1 for path in second if not others.isdisjoint(rest[path])),
        )
    counts = Counter(name for path in second for name in every & rest[path])
    report.commonest = counts.most_common(top)
    return report


def _summarise(
    paths: list[Path], texts: dict[Path, str], catalog: Catalog, into: Pass
) -> list[ModuleSummary]:
    found: list[ModuleSummary] = []
    into.modules = len(paths)
    into.lines = sum(texts[path].count("\n") for path in paths)
    start = time.process_time()
    for path in paths:
        summary = summary_of_text(str(path), texts[path], catalog)
        if summary is not None:
            found.append(summary)
    into.seconds = round(time.process_time() - start, 2)
    return found


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("root", type=Path)
    parser.add_argument("--json", type=Path, help="also write the report here")
    parser.add_argument("--top", type=int, default=15, help="commonest names shown")
    args = parser.parse_args()
    report = measure(args.root, args.top)
    print(f"{report.files} files, {report.lines} lines")
    for label, one in (("first pass", report.first), ("second pass", report.second)):
        print(
            f"{label}: {one.modules} modules, {one.lines} lines, "
            f"parsed and summarised in {one.seconds:.2f} s CPU"
        )
    print("names by origin: names, second-pass modules naming one, left without them")
    for origin, counts in report.origins.items():
        print(
            f"  {origin:9} {counts.names:6} {counts.second_pass_modules:6} "
            f"{counts.second_pass_without:6}"
        )
    print("commonest names in second-pass modules:")
    print("  " + ", ".join(f"{name} ({count})" for name, count in report.commonest))
    if args.json:
        args.json.write_text(json.dumps(asdict(report), indent=2) + "\n")


if __name__ == "__main__":
    main()
