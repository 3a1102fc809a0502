"""Instructions a Python command runs, counted by valgrind's callgrind.

The shared machine's speed moves by up to a fifth between minutes, more than most
single changes save; an instruction count does not. `survey_cpu.py` and
`libcst_stage.py` each count two runs of themselves and take one from the other.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys


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
