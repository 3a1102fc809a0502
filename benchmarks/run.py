"""Time runguard-lint against Ruff, Pylint and Fixit on a pinned corpus of real packages.

    python benchmarks/run.py [--corpus-dir DIR] [--skip-slow] [--jobs N]

Run it with the Python of a venv holding benchmarks/requirements.txt and
runguard-lint (the tools are looked up next to that Python first, then on
PATH). The pinned wheels of benchmarks/corpus.txt are downloaded once into
DIR/wheels and their *.py files unpacked into DIR/src; later runs reuse them.
Every tool then checks DIR/src as a subprocess, one after the other, on the
same machine, with DIR as the working directory (keep DIR outside any project,
so no tool picks up a config file). For each run it records:

* wall time;
* the peak resident memory of the largest single process of the tool
  (`ru_maxrss` from `wait4`, which is the maximum over the process and its
  descendants, not their sum);
* the peak memory of the whole process tree, sampled from /proc (every 50 ms
  at first, every 0.5 s after 10 s) as the sum of PSS (shared pages divided
  among the processes sharing them), so a tool that forks workers is not
  flattered by the per-process figure.

It prints a markdown table (tool, wall time, both memory figures, lines per
second, time as a multiple of runguard-lint's cold run) and whether each
target of the SPEC is met. Linter exit statuses that mean "findings" are not
failures; other statuses are shown in the table.
"""

from __future__ import annotations

import argparse
import contextlib
import datetime
import json
import os
import platform
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import zipfile
from collections.abc import Sequence
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Callable

HERE = Path(__file__).resolve().parent
CORPUS_FILE = HERE / "corpus.txt"
AGENTS_FILE = HERE / "agents.txt"
FIXIT_RULE = HERE / "fixit_visit_call.py"
DEFAULT_CORPUS_DIR = (
    Path(os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache") / "runguard-lint-benchmark"
)
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")
CONFIG_FILES = (
    "pyproject.toml",
    "runguard-lint.toml",
    "ruff.toml",
    ".ruff.toml",
    "pylintrc",
    ".pylintrc",
    "setup.cfg",
    "tox.ini",
    "fixit.toml",
    ".fixit.toml",
)
# Sampling /proc costs CPU the tools could use: often at first, rarely in long runs.
SAMPLE_INTERVALS = ((1.0, 0.05), (10.0, 0.1), (float("inf"), 0.5))  # (until second, every)
MB = 1024 * 1024

# Targets from SPEC.md "Speed", as ratios on the benchmark machine.
TARGET_SLOW_RATIO = 30.0  # runguard-lint cold at least 30x faster than Pylint and Fixit
TARGET_WARM_VS_RUFF = 1.0  # warm run no slower than Ruff's cold run
TARGET_EDIT_VS_WARM = 2.0  # a one-file edit after a warm run at most twice the warm run
TARGET_PEAK_MB = 300.0  # peak memory of a runguard-lint run
# Cold runguard-lint within this multiple of Ruff's cold SIM115 run, by corpus list name.
TARGET_COLD_VS_RUFF = {"corpus": 5.0, "agents": 8.0}


# --- corpus ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Requirement:
    name: str
    version: str

    @property
    def key(self) -> str:
        """The name as wheel file names spell it (PEP 427 / PEP 503 normalised)."""
        return re.sub(r"[-_.]+", "_", self.name).lower()

    def __str__(self) -> str:
        return f"{self.name}=={self.version}"


@dataclass(frozen=True)
class CorpusStats:
    files: int
    lines: int
    bytes: int


def read_corpus_list(path: Path) -> list[Requirement]:
    requirements: list[Requirement] = []
    for raw in path.read_text(encoding="utf-8").splitlines():
        line = raw.split("#", 1)[0].strip()
        if not line:
            continue
        name, sep, version = line.partition("==")
        if not sep or not name.strip() or not version.strip():
            raise SystemExit(f"{path}: `{line}` is not pinned as name==version")
        requirements.append(Requirement(name.strip(), version.strip()))
    return requirements


def find_wheel(wheels: Path, requirement: Requirement) -> Path | None:
    for wheel in sorted(wheels.glob("*.whl")):
        name, _, rest = wheel.name.partition("-")
        version = rest.split("-", 1)[0]
        if name.lower() == requirement.key and version == requirement.version:
            return wheel
    return None


def download(wheels: Path, requirement: Requirement) -> Path:
    """The wheel for requirement, downloaded with pip unless already in wheels/."""
    found = find_wheel(wheels, requirement)
    if found is not None:
        return found
    wheels.mkdir(parents=True, exist_ok=True)
    command = [
        sys.executable,
        "-m",
        "pip",
        "download",
        "--quiet",
        "--no-deps",
        "--only-binary=:all:",
        "--python-version",
        "3.11",
        "--implementation",
        "cp",
        "--abi",
        "cp311",
        *(arg for p in PLATFORMS for arg in ("--platform", p)),
        "-d",
        str(wheels),
        str(requirement),
    ]
    print(f"downloading {requirement} ...", file=sys.stderr)
    subprocess.run(command, check=True)
    found = find_wheel(wheels, requirement)
    if found is None:
        raise SystemExit(f"pip download {requirement} left no matching wheel in {wheels}")
    return found


def unpack(wheel: Path, source: Path, requirement: Requirement) -> Path:
    """Only the *.py files of wheel, in source/<name>-<version>/ (reused if present)."""
    target = source / f"{requirement.key}-{requirement.version}"
    if target.is_dir():
        return target
    source.mkdir(parents=True, exist_ok=True)
    partial = Path(tempfile.mkdtemp(prefix=f".{target.name}.", dir=source))
    with zipfile.ZipFile(wheel) as archive:
        for member in archive.namelist():
            parts = Path(member).parts
            if not member.endswith(".py") or member.startswith("/") or ".." in parts:
                continue
            archive.extract(member, partial)
    partial.rename(target)
    return target


def python_files(root: Path) -> list[Path]:
    return sorted(path for path in root.rglob("*.py") if path.is_file())


def measure_corpus(files: Sequence[Path]) -> CorpusStats:
    """Counts lines (newlines) and bytes; reading every file also warms the OS page cache."""
    lines = size = 0
    for path in files:
        data = path.read_bytes()
        size += len(data)
        lines += data.count(b"\n")
    return CorpusStats(len(files), lines, size)


def make_sample(source: Path, destination: Path, every: int) -> Path:
    """A copy of every `every`-th file of source (sorted by path), same layout."""
    if destination.is_dir():
        return destination
    partial = Path(tempfile.mkdtemp(prefix=f".{destination.name}.", dir=destination.parent))
    for path in python_files(source)[::every]:
        copy = partial / path.relative_to(source)
        copy.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(path, copy)
    partial.rename(destination)
    return destination


def warn_about_configs(directory: Path) -> None:
    for folder in (directory, *directory.parents):
        for name in CONFIG_FILES:
            if (folder / name).is_file():
                print(
                    f"warning: {folder / name} may configure the tools; keep --corpus-dir "
                    "outside any project",
                    file=sys.stderr,
                )


# --- measuring one run ----------------------------------------------------------------


def _process_table() -> dict[int, list[int]]:
    """Parent pid -> child pids, from /proc."""
    children: dict[int, list[int]] = {}
    for entry in os.listdir("/proc"):
        if not entry.isdigit():
            continue
        try:
            with open(f"/proc/{entry}/stat", encoding="ascii", errors="replace") as handle:
                stat = handle.read()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[-1].split()
        if len(fields) > 1:
            children.setdefault(int(fields[1]), []).append(int(entry))
    return children


def _memory_of(pid: int) -> int:
    """PSS of one process in bytes (RSS where smaps_rollup is unavailable)."""
    try:
        with open(f"/proc/{pid}/smaps_rollup", encoding="ascii") as handle:
            for line in handle:
                if line.startswith("Pss:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    try:
        with open(f"/proc/{pid}/statm", encoding="ascii") as handle:
            return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def tree_memory(root: int) -> int:
    children = _process_table()
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += _memory_of(pid)
        stack.extend(children.get(pid, ()))
    return total


class TreeSampler(threading.Thread):
    """Samples the summed memory of a process tree until stopped; keeps the peak."""

    def __init__(self, root: int) -> None:
        super().__init__(daemon=True)
        self.root = root
        self.peak = 0
        self.available = Path("/proc/self/stat").exists()
        self._stop_event = threading.Event()

    def run(self) -> None:
        start = time.perf_counter()
        while self.available and not self._stop_event.is_set():
            self.peak = max(self.peak, tree_memory(self.root))
            elapsed = time.perf_counter() - start
            self._stop_event.wait(
                next(every for until, every in SAMPLE_INTERVALS if elapsed < until)
            )

    def stop(self) -> None:
        self._stop_event.set()
        self.join()


@dataclass
class Measurement:
    label: str
    command: list[str]
    wall: float
    cpu: float  # user + system seconds of the tool and every process it waited for
    largest_process_mb: float
    tree_mb: float | None
    exit_code: int
    files: int
    lines: int
    status: str  # "ok", or what the exit status means
    extrapolated_from: float | None = None  # fraction of the corpus lines actually checked
    runs: int = 1
    summary: str = ""  # what the tool reported finding, from its output

    @property
    def lines_per_second(self) -> float:
        return self.lines / self.wall if self.wall > 0 else float("inf")


@dataclass(frozen=True)
class RunResult:
    wall: float
    cpu: float
    largest_mb: float
    tree_mb: float | None
    exit_code: int


def run_once(
    command: Sequence[str], cwd: Path, log: Path, timeout: float, env: dict[str, str] | None = None
) -> RunResult:
    """Wall and CPU seconds, largest-process MB, process-tree MB (sampled), exit status."""
    with log.open("wb") as output:
        start = time.perf_counter()
        with subprocess.Popen(
            list(command),
            cwd=cwd,
            stdout=output,
            stderr=subprocess.STDOUT,
            env=env,
            start_new_session=True,
        ) as process:
            sampler = TreeSampler(process.pid)
            sampler.start()
            timer = threading.Timer(timeout, _kill_group, (process.pid,))
            timer.start()
            try:
                _, status, usage = os.wait4(process.pid, 0)
            finally:
                wall = time.perf_counter() - start
                timer.cancel()
                sampler.stop()
            process.returncode = os.waitstatus_to_exitcode(status)
    if process.returncode < 0 and wall >= timeout:
        raise TimeoutError(f"{command[0]} took more than {timeout:.0f} s; see {log}")
    largest = usage.ru_maxrss * 1024 / MB  # Linux reports kilobytes
    tree = sampler.peak / MB if sampler.available else None
    cpu = usage.ru_utime + usage.ru_stime
    return RunResult(wall, cpu, largest, tree, process.returncode)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


# --- the tools ------------------------------------------------------------------------


def executable(name: str) -> str:
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    found = shutil.which(name)
    if found is None:
        raise SystemExit(
            f"`{name}` not found next to {sys.executable} or on PATH; install "
            "benchmarks/requirements.txt and runguard-lint into this venv"
        )
    return found


def version_of(command: Sequence[str]) -> str:
    try:
        result = subprocess.run(
            list(command), capture_output=True, text=True, timeout=120, check=False
        )
    except (OSError, subprocess.TimeoutExpired):
        return "unknown"
    lines = (result.stdout or result.stderr).strip().splitlines()
    return lines[0].strip() if lines else "unknown"


def summarize(log: Path) -> str:
    """The tool's own count of what it found: a sanity check that every run did the work."""
    text = log.read_text(encoding="utf-8", errors="replace")
    pylint = len(re.findall(r": R1732: ", text))
    if pylint:
        return f"{pylint} consider-using-with"
    for line in reversed(text.splitlines()):
        line = line.strip()
        if line.startswith("Found ") or re.search(r"\d+ files (checked|clean)", line):
            return line.strip("🧼🛠️ ").rstrip(".")
        if line.startswith("All checks passed"):
            return line
    return ""


def linter_status(code: int) -> str:
    """0 clean, 1 findings: both normal for a linter."""
    return "ok" if code in (0, 1) else f"exit {code}"


def pylint_status(code: int) -> str:
    """Pylint ORs message categories into its status; 1 (fatal) and 32 (usage) are errors."""
    if code < 0:
        return f"killed by signal {-code}"
    if code & 32:
        return f"exit {code}: usage error"
    if code & 1:
        return f"exit {code}: fatal messages (files pylint could not check), see log"
    return "ok"


def fixit_status(code: int) -> str:
    """Fixit: 1 = violations, 2 = a file raised an error (e.g. could not parse)."""
    if code in (0, 1):
        return "ok"
    if code in (2, 3):
        return f"exit {code}: some files raised errors, see log"
    return f"exit {code}"


@dataclass(frozen=True)
class Tool:
    label: str
    command: list[str]
    target: str  # what the row checks: "full" corpus or the slow-tool "sample"
    status: Callable[[int], str]
    repeat: int = 1
    env: dict[str, str] | None = None
    # Called with the run's index before each run (the one-file edit makes its edit).
    before: Callable[[int], None] | None = None


def measure(
    tool: Tool,
    cwd: Path,
    logs: Path,
    stats: CorpusStats,
    timeout: float,
    extrapolate_to: CorpusStats | None,
) -> Measurement:
    slug = re.sub(r"[^a-z0-9]+", "-", tool.label.lower()).strip("-")
    print(f"running {tool.label}: {' '.join(tool.command)}", file=sys.stderr, flush=True)
    results = []
    for i in range(tool.repeat):
        if tool.before is not None:
            tool.before(i)
        results.append(run_once(tool.command, cwd, logs / f"{slug}-{i}.log", timeout, tool.env))
    walls = [result.wall for result in results]
    wall = statistics.median(walls)
    cpu = statistics.median(result.cpu for result in results)
    largest = max(result.largest_mb for result in results)
    trees = [result.tree_mb for result in results if result.tree_mb is not None]
    code = results[-1].exit_code
    print(f"  {', '.join(f'{w:.2f}' for w in walls)} s, exit {code}", file=sys.stderr)
    measurement = Measurement(
        tool.label,
        tool.command,
        wall,
        cpu,
        largest,
        max(trees) if trees else None,
        code,
        stats.files,
        stats.lines,
        tool.status(code),
        runs=tool.repeat,
        summary=summarize(logs / f"{slug}-{tool.repeat - 1}.log"),
    )
    if extrapolate_to is not None and stats.lines < extrapolate_to.lines:
        measurement.extrapolated_from = stats.lines / extrapolate_to.lines
        measurement.wall = wall * extrapolate_to.lines / stats.lines
        measurement.cpu = cpu * extrapolate_to.lines / stats.lines
        measurement.files, measurement.lines = extrapolate_to.files, extrapolate_to.lines
    return measurement


class OneFileEdit:
    """The edit of the one-file-edit row: before each run, one file of the corpus gets its
    original text plus a different comment line (a new content hash, the same facts),
    as when a developer saves a file and runs the linter again; `restore` puts it back."""

    MARKER = "Client("  # the file edited: the first (by path) that builds a client

    def __init__(self, source: Path) -> None:
        self.path = next(
            (p for p in python_files(source) if self.MARKER in p.read_text("utf-8", "replace")),
            python_files(source)[0],
        )
        self.original = self.path.read_bytes()

    def apply(self, run: int) -> None:
        self.path.write_bytes(self.original + f"\n# runguard-lint benchmark edit {run}\n".encode())

    def restore(self) -> None:
        self.path.write_bytes(self.original)


def build_tools(
    source: Path,
    slow_source: Path,
    cache_dir: Path,
    jobs: int,
    skip_slow: bool,
    repeat_fast: int,
    edit: OneFileEdit | None = None,
) -> list[Tool]:
    runguard = executable("runguard-lint")
    ruff_env = dict(os.environ, RAYON_NUM_THREADS=str(jobs))
    tools = [
        Tool(
            "ruff (SIM115, --no-cache)",
            [
                executable("ruff"),
                "check",
                "--no-cache",
                "--isolated",
                "--select",
                "SIM115",
                str(source),
            ],
            "full",
            linter_status,
            repeat=repeat_fast,
            env=ruff_env,
        ),
        Tool(
            "runguard-lint cold",
            [runguard, "--cache-dir", str(cache_dir), "--jobs", str(jobs), str(source)],
            "full",
            linter_status,
        ),
        Tool(
            "runguard-lint warm",
            [runguard, "--cache-dir", str(cache_dir), "--jobs", str(jobs), str(source)],
            "full",
            linter_status,
            repeat=repeat_fast,
        ),
    ]
    if edit is not None:
        tools.append(
            Tool(
                "runguard-lint one-file edit",
                [runguard, "--cache-dir", str(cache_dir), "--jobs", str(jobs), str(source)],
                "full",
                linter_status,
                repeat=repeat_fast,
                before=edit.apply,
            )
        )
    if not skip_slow:
        tools += [
            Tool(
                "pylint (consider-using-with)",
                [
                    executable("pylint"),
                    "--disable=all",
                    "--enable=consider-using-with",
                    f"--jobs={jobs}",
                    "--recursive=y",
                    "--persistent=n",
                    "--score=n",
                    str(slow_source),
                ],
                "sample",
                pylint_status,
            ),
            Tool(
                "fixit (one rule visiting every call)",
                [executable("fixit"), "--rules", ".fixit_visit_call", "lint", str(slow_source)],
                "sample",
                fixit_status,
            ),
        ]
    return tools


# --- report ---------------------------------------------------------------------------


def _machine() -> str:
    model = platform.processor() or platform.machine()
    try:
        with open("/proc/cpuinfo", encoding="utf-8") as handle:
            for line in handle:
                if line.startswith("model name"):
                    model = line.split(":", 1)[1].strip()
                    break
    except OSError:
        pass
    memory = ""
    try:
        pages = os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")
        memory = f", {pages / 1024**3:.0f} GB RAM"
    except (ValueError, OSError, AttributeError):
        pass
    return f"{os.cpu_count()} cores ({model}){memory}, {platform.system()} {platform.release()}"


def _source_state() -> str:
    """The runguard-lint commit measured, and whether its work tree had changes (read-only)."""
    repo = HERE.parent
    try:
        commit = subprocess.run(
            ["git", "-C", str(repo), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
        changes = subprocess.run(
            [
                "git",
                "--no-optional-locks",
                "-C",
                str(repo),
                "status",
                "--porcelain",
                "--untracked-files=no",
            ],
            capture_output=True,
            text=True,
            check=True,
        ).stdout.strip()
    except (OSError, subprocess.CalledProcessError):
        return "runguard-lint source: unknown (not a git checkout)"
    dirty = " plus uncommitted changes" if changes else ""
    return f"runguard-lint source: commit {commit}{dirty}"


def _load() -> str:
    try:
        return "/".join(f"{value:.2f}" for value in os.getloadavg())
    except OSError:
        return "n/a"


def _format_mb(value: float | None) -> str:
    return "n/a" if value is None else f"{value:,.0f}"


def render(
    results: list[Measurement],
    per_package: list[tuple[str, CorpusStats]],
    total: CorpusStats,
    header: list[str],
    slow_every: int,
    corpus: str = "corpus",
) -> str:
    cold = next((m for m in results if m.label == "runguard-lint cold"), None)
    lines = list(header)
    lines.append("")
    lines.append("| package | files | lines |")
    lines.append("|---|---:|---:|")
    for name, stats in per_package:
        lines.append(f"| {name} | {stats.files:,} | {stats.lines:,} |")
    lines.append(f"| **total** | **{total.files:,}** | **{total.lines:,}** |")
    lines.append("")
    lines.append(
        "| tool | wall s | CPU s | peak MB, largest process | peak MB, all processes (PSS) "
        "| lines/s | wall / runguard-lint cold | CPU / runguard-lint cold |"
    )
    lines.append("|---|---:|---:|---:|---:|---:|---:|---:|")
    notes: list[str] = []
    found: list[str] = []
    for m in results:
        mark = "~" if m.extrapolated_from is not None else ""
        label = m.label + (f" (median of {m.runs})" if m.runs > 1 else "")
        if m.extrapolated_from is not None:
            label += " *"
        if m.status != "ok":
            notes.append(f"{m.label}: {m.status}")
        if m.summary:
            found.append(f"{m.label.split(' (')[0]}: {m.summary}")
        ratio = f"{mark}{m.wall / cold.wall:.3g}" if cold else "n/a"
        cpu_ratio = f"{mark}{m.cpu / cold.cpu:.3g}" if cold and cold.cpu > 0 else "n/a"
        lines.append(
            f"| {label} | {mark}{m.wall:,.2f} | {mark}{m.cpu:,.2f} | "
            f"{_format_mb(m.largest_process_mb)} | {_format_mb(m.tree_mb)} | "
            f"{mark}{m.lines_per_second:,.0f} | {ratio} | {cpu_ratio} |"
        )
    lines.append("")
    if any(m.extrapolated_from is not None for m in results):
        lines.append(
            f"\\* extrapolated: run on 1 file in {slow_every} of the corpus (sorted by "
            "path), wall and CPU time scaled by lines; memory is the sample's."
        )
        lines.append("")
    if found:
        lines.append("Reported: " + "; ".join(found) + ".")
        lines.append("")
    for note in notes:
        lines.append(f"Note: {note}.")
    lines.append("")
    lines.extend(_targets(results, corpus))
    return "\n".join(lines) + "\n"


def _targets(results: list[Measurement], corpus: str) -> list[str]:
    """Each SPEC target, judged on wall time; the CPU-time ratio is shown beside it because
    it moves much less than wall time when the machine is shared."""
    by_label = {m.label.split(" (")[0]: m for m in results}
    cold = by_label.get("runguard-lint cold")
    warm = by_label.get("runguard-lint warm")
    edit = by_label.get("runguard-lint one-file edit")
    ruff = by_label.get("ruff")
    out = ["| target | measured (wall) | measured (CPU) | met |", "|---|---:|---:|:---:|"]

    def row(text: str, value: str, cpu: str, met: bool | None) -> None:
        verdict = "n/a" if met is None else ("yes" if met else "NO")
        out.append(f"| {text} | {value} | {cpu} | {verdict} |")

    for peer in ("pylint", "fixit"):
        other = by_label.get(peer)
        text = f"cold run >= {TARGET_SLOW_RATIO:.0f}x faster than {peer}"
        if cold and other:
            approx = "~" if other.extrapolated_from is not None else ""
            ratio = other.wall / cold.wall
            cpu = f"{approx}{other.cpu / cold.cpu:.1f}x" if cold.cpu > 0 else "n/a"
            row(text, f"{approx}{ratio:.1f}x", cpu, ratio >= TARGET_SLOW_RATIO)
        else:
            row(text, "not run", "not run", None)
    cold_target = TARGET_COLD_VS_RUFF.get(corpus)
    if cold and ruff and cold_target:
        ratio = cold.wall / ruff.wall
        cpu = f"{cold.cpu / ruff.cpu:.1f}x" if ruff.cpu > 0 else "n/a"
        text = f"cold run within {cold_target:.0f}x of Ruff's cold run"
        row(text, f"{ratio:.1f}x", cpu, ratio <= cold_target)
    if warm and ruff:
        ratio = warm.wall / ruff.wall
        cpu = f"{warm.cpu / ruff.cpu:.2f}x" if ruff.cpu > 0 else "n/a"
        text = f"warm run within {TARGET_WARM_VS_RUFF:.0f}x of Ruff's cold run"
        row(text, f"{ratio:.2f}x", cpu, ratio <= TARGET_WARM_VS_RUFF)
    if edit and warm:
        ratio = edit.wall / warm.wall
        cpu = f"{edit.cpu / warm.cpu:.2f}x" if warm.cpu > 0 else "n/a"
        text = f"one-file edit within {TARGET_EDIT_VS_WARM:.0f}x of the warm run"
        row(text, f"{ratio:.2f}x", cpu, ratio <= TARGET_EDIT_VS_WARM)
    for m in (cold, warm, edit):
        if m is None:
            continue
        peak = max(m.tree_mb or 0.0, m.largest_process_mb)
        row(
            f"{m.label}: peak memory < {TARGET_PEAK_MB:.0f} MB, all processes "
            f"(largest process: {m.largest_process_mb:,.0f} MB)",
            f"{peak:,.0f} MB",
            "",
            peak < TARGET_PEAK_MB,
        )
    return out


# --- main -----------------------------------------------------------------------------


def parse_args(argv: Sequence[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n", 1)[0] if __doc__ else None)
    parser.add_argument(
        "--corpus-dir",
        type=Path,
        default=DEFAULT_CORPUS_DIR,
        help=f"wheels, unpacked sources and logs (default {DEFAULT_CORPUS_DIR})",
    )
    parser.add_argument(
        "--corpus-list",
        type=Path,
        action="append",
        help="a list of name==version lines, measured in turn (repeatable; default "
        "benchmarks/corpus.txt, then benchmarks/agents.txt)",
    )
    parser.add_argument("--skip-slow", action="store_true", help="skip Pylint and Fixit")
    parser.add_argument(
        "--jobs",
        type=int,
        default=os.cpu_count() or 1,
        help="processes for runguard-lint and Pylint, threads for Ruff "
        "(default: all cores; Fixit always uses all cores)",
    )
    parser.add_argument(
        "--slow-sample",
        type=int,
        default=1,
        metavar="K",
        help="run Pylint and Fixit on every K-th file only and extrapolate "
        "their time by lines (default 1: the whole corpus)",
    )
    parser.add_argument(
        "--repeat",
        type=int,
        default=3,
        help="runs of the fast rows (Ruff, runguard-lint warm); the median is shown (default 3)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=3600.0,
        help="seconds before a tool run is killed (default 3600)",
    )
    parser.add_argument("--json", type=Path, help="also write the raw results here")
    parser.add_argument("--output", type=Path, help="also write the markdown report here")
    args = parser.parse_args(argv)
    if args.jobs < 1 or args.slow_sample < 1 or args.repeat < 1:
        parser.error("--jobs, --slow-sample and --repeat must be at least 1")
    return args


@dataclass
class CorpusRun:
    """One corpus list measured: its packages, totals and every tool's row."""

    name: str  # the list's file stem: "corpus" (the pinned corpus) or "agents"
    per_package: list[tuple[str, CorpusStats]]
    total: CorpusStats
    results: list[Measurement]


def run_corpus(corpus_list: Path, corpus_dir: Path, args: argparse.Namespace) -> CorpusRun:
    """Download and unpack one corpus list, then run every tool on it, one after another."""
    name = corpus_list.stem
    source = corpus_dir / ("src" if name == "corpus" else f"src-{name}")
    requirements = read_corpus_list(corpus_list)
    per_package: list[tuple[str, CorpusStats]] = []
    wanted = set()
    for requirement in requirements:
        wheel = download(corpus_dir / "wheels", requirement)
        unpacked = unpack(wheel, source, requirement)
        wanted.add(unpacked.name)
        per_package.append((str(requirement), measure_corpus(python_files(unpacked))))
    stray = sorted(p.name for p in source.iterdir() if p.is_dir() and p.name not in wanted)
    if stray:
        raise SystemExit(
            f"{source} holds packages not in {corpus_list.name} ({', '.join(stray)}); "
            "remove them or use another --corpus-dir"
        )
    total = measure_corpus(python_files(source))

    slow_source, slow_stats, extrapolate_to = source, total, None
    if args.slow_sample > 1 and not args.skip_slow:
        slow_source = make_sample(
            source, corpus_dir / f"sample-{name}-every-{args.slow_sample}", args.slow_sample
        )
        slow_stats, extrapolate_to = measure_corpus(python_files(slow_source)), total
    logs = corpus_dir / "logs" / name
    logs.mkdir(parents=True, exist_ok=True)
    results: list[Measurement] = []
    edit = OneFileEdit(source)
    try:
        with tempfile.TemporaryDirectory(prefix="runguard-cache-", dir=corpus_dir) as cache_dir:
            for tool in build_tools(
                source.relative_to(corpus_dir),
                slow_source.relative_to(corpus_dir),
                Path(cache_dir),
                args.jobs,
                args.skip_slow,
                args.repeat,
                edit,
            ):
                stats = slow_stats if tool.target == "sample" else total
                results.append(
                    measure(
                        tool,
                        corpus_dir,
                        logs,
                        stats,
                        args.timeout,
                        extrapolate_to if tool.target == "sample" else None,
                    )
                )
                if tool.before is not None:
                    edit.restore()
    finally:
        edit.restore()
    return CorpusRun(name, per_package, total, results)


def main(argv: Sequence[str] | None = None) -> int:
    args = parse_args(argv)
    corpus_dir: Path = args.corpus_dir.resolve()
    corpus_dir.mkdir(parents=True, exist_ok=True)
    warn_about_configs(corpus_dir)
    shutil.copyfile(FIXIT_RULE, corpus_dir / FIXIT_RULE.name)  # Fixit loads it from its cwd
    load_before, source_before = _load(), _source_state()
    runs = [
        run_corpus(path, corpus_dir, args)
        for path in args.corpus_list or [CORPUS_FILE, AGENTS_FILE]
    ]

    versions = {
        "runguard-lint": version_of([executable("runguard-lint"), "--version"]),
        "ruff": version_of([executable("ruff"), "--version"]),
    }
    if not args.skip_slow:
        versions["pylint"] = version_of([executable("pylint"), "--version"])
        versions["fixit"] = version_of([executable("fixit"), "--version"])
    fixit_jobs = (
        ""
        if args.jobs == os.cpu_count()
        else (f" Fixit has no jobs option and used all {os.cpu_count()} cores.")
    )
    header = [
        f"Measured {datetime.date.today().isoformat()} on {_machine()}, "
        f"Python {platform.python_version()}; --jobs {args.jobs}.{fixit_jobs}",
        "",
        "Versions: "
        + "; ".join(versions.values())
        + f". {source_before} at the start"
        + ("" if _source_state() == source_before else ", changed during the runs")
        + ".",
        "",
        f"Load average (1/5/15 min) before the runs {load_before}, after {_load()}.",
    ]
    sections = []
    for run in runs:
        title = [
            f"### {run.name}.txt",
            "",
            f"Corpus: {run.total.files:,} files, {run.total.lines:,} lines, "
            f"{run.total.bytes / MB:,.0f} MB ({run.name}.txt, *.py files of the wheels).",
        ]
        sections.append(
            render(run.results, run.per_package, run.total, title, args.slow_sample, run.name)
        )
    report = "\n".join(header) + "\n\n" + "\n".join(sections)
    print(report)
    if args.output:
        args.output.write_text(report, encoding="utf-8")
    if args.json:
        args.json.write_text(
            json.dumps(
                {
                    "header": header,
                    "versions": versions,
                    "corpora": {
                        run.name: {
                            "corpus": asdict(run.total),
                            "results": [asdict(m) for m in run.results],
                        }
                        for run in runs
                    },
                },
                indent=2,
            ),
            encoding="utf-8",
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
