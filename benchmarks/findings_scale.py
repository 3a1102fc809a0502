"""How one file's cost grows with its findings: must be linear (SPEC, "Bad input").

    python benchmarks/findings_scale.py [N ...] [--edits] [--profile N] [--cli]

For each N (default 1000 2000 4000 8000) a module of N leaking functions is
generated, cycling through the shapes of several rules (an HTTP client, a DB
connection, an executor, a file, a release that is not exception-safe, a
module-level cache), and checked in this process as a worker checks a file
(`check_source`, every default rule; fixes only planned, as for the
default output, or with `--edits` rendered as for --fix, --diff, json and
sarif). It prints N, the findings, the seconds
and the seconds per thousand functions: the last column must stay flat.
`--cli` times the real command (`runguard-lint --no-cache FILE`) instead;
`--profile N` prints the cProfile top of one run of size N.
"""

from __future__ import annotations

import argparse
import cProfile
import json
import pstats
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HEADER = """import concurrent.futures
import sqlite3

import httpx

CACHE = {}
"""

SHAPES = (
    "def fetch_{n}(url):\n    c = httpx.Client()\n    return c.get(url)\n",
    "def count_{n}(path):\n    db = sqlite3.connect(path)\n    return db.execute('x').fetchone()\n",
    "def run_{n}(job):\n    pool = concurrent.futures.ThreadPoolExecutor()\n"
    "    return pool.submit(job)\n",
    "def read_{n}(path):\n    handle = open(path)\n    return handle.read()\n",
    "def close_{n}(url):\n    c = httpx.Client()\n    c.get(url)\n    c.close()\n",
    "def remember_{n}(key, value):\n    CACHE[key] = value\n    return value\n",
)


def generate(functions: int) -> str:
    """A module of `functions` leaking functions, the shapes in turn."""
    body = "\n\n".join(SHAPES[n % len(SHAPES)].format(n=n) for n in range(functions))
    return HEADER + "\n\n" + body


def time_in_process(text: str, edits: bool) -> tuple[int, float]:
    from runguard_lint.config import Settings
    from runguard_lint.pipeline.check import check_source

    # No time budget (per-file-timeout): the point is to see the whole cost.
    settings = Settings(project_root=Path("."), fix_edits=edits, per_file_timeout=0)
    start = time.perf_counter()
    report = check_source("generated.py", text.encode(), settings)
    return len(report.diagnostics), time.perf_counter() - start


def time_cli(text: str, edits: bool) -> tuple[int, float]:
    with tempfile.TemporaryDirectory() as directory:
        path = Path(directory, "generated.py")
        path.write_text(text)
        # No time budget worth the name: the point is to see the whole cost.
        Path(directory, "runguard-lint.toml").write_text("per-file-timeout = 1000000\n")
        start = time.perf_counter()
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "runguard_lint",
                "--no-cache",
                "--output-format",
                "json" if edits else "concise",
                str(path),
            ],
            capture_output=True,
            text=True,
            check=False,
        )
        took = time.perf_counter() - start
    if edits:
        return len(json.loads(result.stdout)), took
    return sum(1 for line in result.stdout.splitlines() if "RG" in line and ":" in line), took


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("sizes", nargs="*", type=int, default=[1000, 2000, 4000, 8000])
    parser.add_argument("--profile", type=int, help="print the cProfile top for this size")
    parser.add_argument("--cli", action="store_true", help="time the real command")
    parser.add_argument("--edits", action="store_true", help="render the fixes' edits")
    args = parser.parse_args()
    from runguard_lint.pipeline.pool import prepare_worker

    prepare_worker()  # recursion limit and collector settings, as in a worker
    signal.signal(signal.SIGINT, signal.default_int_handler)  # but Ctrl-C still works here
    if args.profile:
        profile = cProfile.Profile()
        profile.runcall(time_in_process, generate(args.profile), args.edits)
        pstats.Stats(profile).sort_stats("cumulative").print_stats(40)
        return
    print(f"{'functions':>10} {'findings':>9} {'seconds':>8} {'s/1k':>6}")
    for size in args.sizes:
        findings, took = (time_cli if args.cli else time_in_process)(generate(size), args.edits)
        print(f"{size:>10} {findings:>9} {took:>8.2f} {took / size * 1000:>6.2f}", flush=True)


if __name__ == "__main__":
    main()
