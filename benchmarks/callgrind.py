"""Instructions a Python command runs, counted by valgrind's callgrind.

The shared machine's speed moves by up to a fifth between minutes, more than most
single changes save; an instruction count does not. `survey_cpu.py` and
`libcst_stage.py` each count two runs of themselves and take one from the other, and
take the same options (`stage_arguments`).
"""

from __future__ import annotations

import argparse
import os
import re
import subprocess
import sys
from pathlib import Path


def instructions(arguments: list[str]) -> int:
    """Instructions of `python ARGUMENTS` (this interpreter) under callgrind, which must
    be installed (about 50 times slower than the command alone). The hash seed is fixed:
    sets of strings are then iterated in the same order in every run, and the count
    repeats (to tens of instructions in billions)."""
    command = [
        "valgrind",
        "--tool=callgrind",
        "--callgrind-out-file=/dev/null",
        sys.executable,
        *arguments,
    ]
    environment = {**os.environ, "PYTHONHASHSEED": "0"}
    done = subprocess.run(command, capture_output=True, text=True, check=True, env=environment)
    found = re.search(r"Collected : (\d+)", done.stderr)
    if found is None:
        raise SystemExit(f"no count from callgrind:\n{done.stderr[-2000:]}")
    return int(found.group(1))


def stage_arguments(description: str) -> argparse.ArgumentParser:
    """The options both scripts take: the directory, how many runs to keep the best of,
    one file in how many, and whether to count instructions instead of CPU time."""
    parser = argparse.ArgumentParser(description=description)
    parser.add_argument("root", type=Path)
    parser.add_argument("--repeat", type=int, default=3)
    parser.add_argument("--every", type=int, default=1)
    parser.add_argument("--instructions", action="store_true")
    return parser
