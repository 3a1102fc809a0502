#!/usr/bin/env python3
"""Run runguard-lint over a corpus of real packages and report on precision.

The corpus is a directory with one sub-directory per package, as laid out by
`shared/corpus/fetch.sh DIR` (`DIR/NAME-VERSION/...`). Two commands:

`run` checks every package with the CLI (one process per package, JSON
output, no cache), once with the default rules and once with the preview
rules (RG202, RG402) alone, and writes `findings.json` (every finding),
`sample.json` (the findings to classify, with the code around each one) and
`health.json` (exit codes, stderr, internal errors, RG900 on files that
CPython parses, time per package) into the output directory. When there are
more findings than `--sample-size`, a random sample of that size is drawn
with `random.Random(--seed)` from the findings sorted by key; otherwise every
finding is in the sample.

`soundness` checks every file in-process (all rules, preview included; `--rules
default` for the rules a plain run enables) with the prefilter on and off, and
writes `soundness.json`: per file the seconds and findings of both, so that a
finding the prefilter drops, a crash and the slowest files show up (slow: the
unfiltered pass is the full LibCST analysis of every file).

`table` reads `findings.json`, `sample.json` and a classification file (a JSON
object mapping a finding's key, `path:row:column:code` with the path relative
to the corpus, to `{"verdict": "TP" | "FP", "reason": "...", "class": "..."}`)
and prints the markdown tables (package, findings, sampled, true, false), or
writes them between the `<!-- corpus-table:NAME -->` markers of a document.

    python scripts/corpus_report.py run corpus --out .corpus-report
    python scripts/corpus_report.py soundness corpus --out .corpus-report
    python scripts/corpus_report.py table .corpus-report \
        --classification docs/real-world-classification.json --update docs/real-world.md
"""

from __future__ import annotations

import argparse
import ast
import json
import random
import re
import subprocess
import sys
import time
import warnings
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Optional

DEFAULT_CLI = Path(sys.executable).with_name("runguard-lint")
DEFAULT_SEED = 20250101
DEFAULT_SAMPLE_SIZE = 100_000
CONTEXT_LINES = 6
RUNS: dict[str, tuple[str, ...]] = {
    # The default rules, exactly as a plain run enables them.
    "default": (),
    # The preview rules alone (RG900 cannot be deselected, so it shows up in both).
    "preview": ("--select", "RG202,RG402"),
}


@dataclass
class Finding:
    """One diagnostic, with its path relative to the corpus root."""

    key: str
    run: str
    package: str
    path: str
    row: int
    column: int
    code: str
    message: str
    context: list[str] = field(default_factory=list)


@dataclass
class PackageRun:
    """What one CLI process said about one package."""

    package: str
    run: str
    exit_code: int
    seconds: float
    files: int
    lines: int
    findings: int
    stderr: str
    internal_errors: list[str]
    rg900_parseable: list[str]


def packages(corpus: Path) -> list[Path]:
    """The package directories: every visible sub-directory of the corpus."""
    return sorted(p for p in corpus.iterdir() if p.is_dir() and not p.name.startswith("."))


def python_files(package: Path) -> list[Path]:
    return sorted(p for suffix in ("*.py", "*.pyi") for p in package.rglob(suffix) if p.is_file())


def count_lines(files: Iterable[Path]) -> int:
    total = 0
    for path in files:
        with path.open("rb") as handle:
            total += sum(1 for _ in handle)
    return total


def cpython_parses(path: Path) -> bool:
    """Whether this interpreter's `ast.parse` accepts the file (bytes, so PEP 263 applies)."""
    try:
        source = path.read_bytes()
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(source, filename=str(path), feature_version=sys.version_info[:2])
    except (SyntaxError, ValueError, OSError):
        return False
    return True


def finding_key(path: str, row: int, column: int, code: str) -> str:
    return f"{path}:{row}:{column}:{code}"


def relative_to_corpus(filename: str, corpus: Path) -> str:
    path = Path(filename)
    if not path.is_absolute():
        path = (Path.cwd() / path).resolve()
    try:
        return path.relative_to(corpus).as_posix()
    except ValueError:
        return Path(filename).as_posix()


def source_context(path: Path, row: int, around: int = CONTEXT_LINES) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8", errors="replace").splitlines()
    except OSError:
        return []
    start = max(1, row - around)
    end = min(len(lines), row + around)
    return [f"{n:>6}{'>' if n == row else ' '} {lines[n - 1]}" for n in range(start, end + 1)]


def run_package(
    cli: Path, corpus: Path, package: Path, run: str, jobs: Optional[int], files: int, lines: int
) -> tuple[PackageRun, list[Finding]]:
    command = [str(cli), "--output-format", "json", "--no-cache", *RUNS[run]]
    if jobs is not None:
        command += ["--jobs", str(jobs)]
    command.append(str(package))
    started = time.perf_counter()
    # cwd is the corpus, so that no project's pyproject.toml is picked up by accident.
    done = subprocess.run(command, cwd=corpus, capture_output=True, text=True, check=False)
    seconds = time.perf_counter() - started
    try:
        raw: list[dict[str, Any]] = json.loads(done.stdout) if done.stdout.strip() else []
    except json.JSONDecodeError:
        raw = []
        done = subprocess.CompletedProcess(
            done.args,
            done.returncode,
            done.stdout,
            done.stderr + "\n[corpus_report] stdout was not JSON:\n" + done.stdout[:2000],
        )
    findings: list[Finding] = []
    rg900_parseable: list[str] = []
    for item in raw:
        rel = relative_to_corpus(item["filename"], corpus)
        row = int(item["location"]["row"])
        column = int(item["location"]["column"])
        code = str(item["code"])
        findings.append(
            Finding(
                key=finding_key(rel, row, column, code),
                run=run,
                package=package.name,
                path=rel,
                row=row,
                column=column,
                code=code,
                message=str(item["message"]),
                context=source_context(corpus / rel, row),
            )
        )
        if code == "RG900" and cpython_parses(corpus / rel):
            rg900_parseable.append(f"{rel}:{row}: {item['message']}")
    internal = [line for line in done.stderr.splitlines() if "runguard-lint: error:" in line]
    summary = PackageRun(
        package=package.name,
        run=run,
        exit_code=done.returncode,
        seconds=round(seconds, 2),
        files=files,
        lines=lines,
        findings=len(findings),
        stderr=done.stderr[-4000:],
        internal_errors=internal,
        rg900_parseable=rg900_parseable,
    )
    return summary, findings


def draw_sample(findings: Sequence[Finding], size: int, seed: int) -> list[Finding]:
    ordered = sorted(findings, key=lambda f: f.key)
    if len(ordered) <= size:
        return ordered
    return sorted(random.Random(seed).sample(ordered, size), key=lambda f: f.key)


def command_run(args: argparse.Namespace) -> int:
    corpus: Path = args.corpus.resolve()
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    selected = set(args.package or [])
    health: list[PackageRun] = []
    everything: list[Finding] = []
    for package in packages(corpus):
        if selected and package.name not in selected:
            continue
        files = python_files(package)
        lines = count_lines(files)
        for run in args.runs:
            summary, findings = run_package(
                args.cli, corpus, package, run, args.jobs, len(files), lines
            )
            health.append(summary)
            everything.extend(findings)
            flag = " INTERNAL ERROR" if summary.exit_code == 2 or summary.internal_errors else ""
            print(
                f"{package.name:32} {run:8} files={len(files):5} lines={lines:7} "
                f"findings={len(findings):4} exit={summary.exit_code} "
                f"{summary.seconds:7.1f}s{flag}",
                flush=True,
            )
    samples = {
        run: draw_sample([f for f in everything if f.run == run], args.sample_size, args.seed)
        for run in args.runs
    }
    meta = {
        "corpus": str(corpus),
        "seed": args.seed,
        "sample_size": args.sample_size,
        "cli": str(args.cli),
        "date": time.strftime("%Y-%m-%d"),
        "argv": [Path(sys.argv[0]).as_posix(), *sys.argv[1:]],
    }
    (out / "findings.json").write_text(
        json.dumps({"meta": meta, "findings": [asdict(f) for f in everything]}, indent=1) + "\n"
    )
    (out / "sample.json").write_text(
        json.dumps(
            {
                "meta": meta,
                "sample": {run: [asdict(f) for f in sample] for run, sample in samples.items()},
            },
            indent=1,
        )
        + "\n"
    )
    (out / "health.json").write_text(
        json.dumps({"meta": meta, "runs": [asdict(h) for h in health]}, indent=1) + "\n"
    )
    problems = [h for h in health if h.exit_code == 2 or h.internal_errors or h.rg900_parseable]
    for h in problems:
        print(f"PROBLEM {h.package} ({h.run}): exit {h.exit_code}", file=sys.stderr)
        for line in [*h.internal_errors, *h.rg900_parseable]:
            print(f"  {line}", file=sys.stderr)
    total = sum(h.seconds for h in health)
    print(
        f"{len(everything)} findings, {sum(len(s) for s in samples.values())} sampled, "
        f"{len(problems)} package runs with problems, {total:.0f}s of CLI time; "
        f"written to {out}"
    )
    return 1 if problems else 0


ALL_CODES = frozenset(
    {
        "RG101",
        "RG102",
        "RG103",
        "RG104",
        "RG105",
        "RG106",
        "RG201",
        "RG202",
        "RG301",
        "RG401",
        "RG402",
        "RG900",
    }
)


def _check_both_ways(job: tuple[str, str, bool]) -> dict[str, Any]:
    """One file, prefilter on and off: seconds, findings and errors of each; with
    `every_rule`, ALL_CODES (preview included: RG402 keeps `with` items in view), else
    the rules a plain run enables."""
    import dataclasses

    from runguard_lint.config import Settings
    from runguard_lint.pipeline.check import check_text

    corpus, name, every_rule = job
    path = Path(corpus) / name
    text = path.read_text(encoding="utf-8", errors="replace")
    filtered = Settings(project_root=Path(corpus))
    if every_rule:
        filtered = dataclasses.replace(filtered, preview=True)
    codes = ALL_CODES if every_rule else filtered.enabled_codes()
    result: dict[str, Any] = {"path": name, "lines": text.count("\n") + 1}
    for label, settings in (
        ("on", filtered),
        ("off", dataclasses.replace(filtered, prefilter=False)),
    ):
        started = time.perf_counter()
        try:
            report = check_text(str(path), text, settings, codes)
            found = sorted(
                f"{d.location.row}:{d.location.column}:{d.code}" for d in report.diagnostics
            )
            errors = [str(error) for error in report.errors]
        except Exception as error:  # a crash is what this looks for
            found, errors = [], [f"crash: {type(error).__name__}: {error}"]
        result[label] = {
            "seconds": round(time.perf_counter() - started, 3),
            "found": found,
            "errors": errors,
        }
    return result


def command_soundness(args: argparse.Namespace) -> int:
    from multiprocessing import Pool

    corpus: Path = args.corpus.resolve()
    args.out.mkdir(parents=True, exist_ok=True)
    names = [
        p.relative_to(corpus).as_posix()
        for package in packages(corpus)
        for p in python_files(package)
    ]
    # Largest first, so that the pool's tail is short.
    names.sort(key=lambda name: -(corpus / name).stat().st_size)
    results: list[dict[str, Any]] = []
    with Pool(args.jobs) as pool:
        for done, result in enumerate(
            pool.imap_unordered(
                _check_both_ways,
                [(str(corpus), name, args.rules == "all") for name in names],
            ),
            1,
        ):
            results.append(result)
            if done % 1000 == 0:
                print(f"{done}/{len(names)}", flush=True)
    dropped = [
        f"{r['path']}:{key}"
        for r in results
        for key in sorted(set(r["off"]["found"]) - set(r["on"]["found"]))
    ]
    added = [
        f"{r['path']}:{key}"
        for r in results
        for key in sorted(set(r["on"]["found"]) - set(r["off"]["found"]))
    ]
    errors = [
        f"{r['path']} ({label}): {error}"
        for r in results
        for label in ("on", "off")
        for error in r[label]["errors"]
    ]
    slowest = sorted(results, key=lambda r: -float(r["on"]["seconds"]))[:15]
    (args.out / "soundness.json").write_text(
        json.dumps(
            {
                "dropped_by_prefilter": dropped,
                "only_with_prefilter": added,
                "errors": errors,
                "results": results,
            },
            indent=1,
        )
        + "\n"
    )
    lines = sum(int(r["lines"]) for r in results)
    for label in ("on", "off"):
        seconds = sum(float(r[label]["seconds"]) for r in results)
        count = sum(len(r[label]["found"]) for r in results)
        print(f"prefilter {label:3}: {count} findings, {seconds:.0f} s of CPU, {lines} lines")
    print("slowest files with the prefilter:")
    for r in slowest:
        print(f"  {r['on']['seconds']:7.2f} s {r['lines']:6} lines  {r['path']}")
    for line in [*dropped, *added, *errors]:
        print(f"PROBLEM {line}", file=sys.stderr)
    return 1 if dropped or added or errors else 0


def load_json(path: Path) -> Any:
    return json.loads(path.read_text(encoding="utf-8"))


def render_table(
    run: str,
    findings: Sequence[dict[str, Any]],
    sample: Sequence[dict[str, Any]],
    verdicts: dict[str, dict[str, str]],
    all_packages: Sequence[str],
) -> str:
    per_package: dict[str, Counter[str]] = defaultdict(Counter)
    for f in findings:
        per_package[f["package"]]["findings"] += 1
    for f in sample:
        counts = per_package[f["package"]]
        counts["sampled"] += 1
        verdict = verdicts.get(f["key"], {}).get("verdict", "?")
        counts[{"TP": "true", "FP": "false"}.get(verdict, "unclassified")] += 1
    header = "| package | findings | sampled | true | false |"
    has_open = any(c["unclassified"] for c in per_package.values())
    if has_open:
        header += " unclassified |"
    rows = [header, "|" + " --- |" * (header.count("|") - 1)]
    total: Counter[str] = Counter()
    for name in all_packages:
        c = per_package.get(name, Counter())
        total.update(c)
        cells = [name, c["findings"], c["sampled"], c["true"], c["false"]]
        if has_open:
            cells.append(c["unclassified"])
        rows.append("| " + " | ".join(str(x) for x in cells) + " |")
    cells = ["**total**", total["findings"], total["sampled"], total["true"], total["false"]]
    if has_open:
        cells.append(total["unclassified"])
    rows.append("| " + " | ".join(f"**{x}**" if i else str(x) for i, x in enumerate(cells)) + " |")
    judged = total["true"] + total["false"]
    rate = f"{100 * total['false'] / judged:.1f}%" if judged else "n/a"
    by_code: dict[str, Counter[str]] = defaultdict(Counter)
    for f in sample:
        verdict = verdicts.get(f["key"], {}).get("verdict", "?")
        by_code[f["code"]][verdict] += 1
    code_rows = ["| rule | sampled | true | false |", "| --- | --- | --- | --- |"]
    for code in sorted(by_code):
        c = by_code[code]
        code_rows.append(f"| {code} | {sum(c.values())} | {c['TP']} | {c['FP']} |")
    return (
        f"Run `{run}`: false-positive rate {total['false']}/{judged} = {rate}.\n\n"
        + "\n".join(rows)
        + "\n\nPer rule:\n\n"
        + "\n".join(code_rows)
        + "\n"
    )


def command_table(args: argparse.Namespace) -> int:
    data = load_json(args.data / "findings.json")
    sample = load_json(args.data / "sample.json")
    health = load_json(args.data / "health.json")
    verdicts: dict[str, dict[str, str]] = (
        load_json(args.classification) if args.classification.exists() else {}
    )
    all_packages = sorted({h["package"] for h in health["runs"]})
    missing: list[str] = []
    blocks: dict[str, str] = {}
    for run, run_sample in sample["sample"].items():
        findings = [f for f in data["findings"] if f["run"] == run]
        blocks[run] = render_table(run, findings, run_sample, verdicts, all_packages)
        missing += [f["key"] for f in run_sample if f["key"] not in verdicts]
    if args.update is None:
        for run, block in blocks.items():
            print(f"### {run}\n\n{block}")
    else:
        text = args.update.read_text(encoding="utf-8")
        for run, block in blocks.items():
            pattern = re.compile(
                rf"(<!-- corpus-table:{run} -->\n).*?(<!-- /corpus-table:{run} -->)", re.S
            )
            if not pattern.search(text):
                print(f"{args.update}: no <!-- corpus-table:{run} --> markers", file=sys.stderr)
                return 2
            replacement = "\\1\n" + block.replace("\\", "\\\\") + "\n\\2"
            text = pattern.sub(replacement, text)
        args.update.write_text(text, encoding="utf-8")
    if missing:
        print(
            f"{len(missing)} sampled findings are not classified yet, e.g. {missing[0]}",
            file=sys.stderr,
        )
        return 1
    return 0


def main(argv: Optional[Sequence[str]] = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    sub = parser.add_subparsers(dest="command", required=True)
    run = sub.add_parser("run", help="check the corpus; write findings, sample and health")
    run.add_argument("corpus", type=Path)
    run.add_argument("--out", type=Path, default=Path("corpus-report"))
    run.add_argument("--cli", type=Path, default=DEFAULT_CLI)
    run.add_argument("--seed", type=int, default=DEFAULT_SEED)
    run.add_argument(
        "--sample-size",
        type=int,
        default=DEFAULT_SAMPLE_SIZE,
        help="sample this many findings per run when there are more",
    )
    run.add_argument("--jobs", type=int, default=None)
    run.add_argument("--runs", nargs="+", choices=sorted(RUNS), default=list(RUNS))
    run.add_argument("--package", action="append", help="only this package (repeatable)")
    sound = sub.add_parser("soundness", help="prefilter on vs off, in-process, per file")
    sound.add_argument("corpus", type=Path)
    sound.add_argument("--out", type=Path, default=Path("corpus-report"))
    sound.add_argument("--jobs", type=int, default=2)
    sound.add_argument(
        "--rules",
        choices=("all", "default"),
        default="all",
        help="every rule, preview included (default), or the rules a plain run enables",
    )
    table = sub.add_parser("table", help="markdown tables from a classification file")
    table.add_argument("data", type=Path, help="the --out directory of `run`")
    table.add_argument(
        "--classification", type=Path, default=Path("docs/real-world-classification.json")
    )
    table.add_argument(
        "--update",
        type=Path,
        default=None,
        help="replace the tables between the markers in this markdown file",
    )
    args = parser.parse_args(argv)
    if args.command == "run":
        return command_run(args)
    if args.command == "soundness":
        return command_soundness(args)
    return command_table(args)


if __name__ == "__main__":
    sys.exit(main())
