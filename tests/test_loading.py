"""What a process loads for what it checks: LibCST and the rules only when a file
reaches the LibCST stage (a one-file edit whose file the prefilter settles, and a
warm run answered from the cache, load neither)."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

_PROBE = """
import sys
from pathlib import Path
from runguard_lint.config import Settings
from runguard_lint.pipeline.check import check_source
report = check_source("probe.py", {source!r}, Settings(project_root=Path(".")))
print(sorted(d.code for d in report.diagnostics))
print("libcst" in sys.modules, "runguard_lint.pipeline.analyse" in sys.modules)
"""


def _probe(source: bytes, tmp_path: Path) -> list[str]:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE.format(source=source)],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        check=True,
    )
    return done.stdout.splitlines()


def test_a_file_the_prefilter_settles_loads_no_libcst(tmp_path: Path) -> None:
    lines = _probe(b"import os\n\n\ndef size(path):\n    return os.path.getsize(path)\n", tmp_path)
    assert lines == ["[]", "False False"]


def test_a_file_that_reaches_the_analysis_loads_it(tmp_path: Path) -> None:
    source = (
        b"import httpx\n\n\n"
        b"def fetch(url):\n    client = httpx.Client()\n    return client.get(url)\n"
    )
    lines = _probe(source, tmp_path)
    assert lines[0] != "[]"
    assert lines[1] == "True True"
