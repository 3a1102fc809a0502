"""runguard-runtime as an application gets it: the wheel built from runtime/, installed
alone into a fresh virtual environment, running code the linter fixed.

An application that keeps a fix using ResourceScope or BoundedCache depends on
`runguard-runtime`; these tests prove that the distribution built from this
repository holds only the runtime package, declares no dependency, installs
without an index, and runs fixed code in an environment where the linter's own
dependencies (libcst, click, rich) are absent.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
import zipfile
from pathlib import Path

import pytest

from tests.conftest import ROOT, run_cli

APP = """\
import json
import sys

_squares = {}


def _compute(n):
    return n * n


def square(n):
    if n in _squares:
        return _squares[n]
    _squares[n] = _compute(n)
    return _squares[n]


def log(path, lines):
    for line in lines:
        print(line, file=open(path, "a"))


if __name__ == "__main__":
    log(sys.argv[1], ["one", "two"])
    with open(sys.argv[1]) as f:
        logged = f.read().split()
    print(json.dumps({"logged": logged, "squares": [square(n) for n in (2, 3, 2)]}))
"""

PROBE = """\
import importlib.metadata
import importlib.util
import json

print(json.dumps({
    "distributions": sorted(d.metadata["Name"] for d in importlib.metadata.distributions()),
    "absent": [
        name for name in ("libcst", "click", "rich", "runguard_lint")
        if importlib.util.find_spec(name) is None
    ],
}))
"""


def _run(*command: str | Path, cwd: Path | None = None) -> str:
    result = subprocess.run(
        [str(part) for part in command], cwd=cwd, capture_output=True, text=True, timeout=300
    )
    assert result.returncode == 0, result.stdout + result.stderr
    return result.stdout


@pytest.fixture(scope="module")
def wheel(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The runguard-runtime wheel, built from runtime/ without reaching an index."""
    dist = tmp_path_factory.mktemp("runtime-dist")
    _run(
        sys.executable,
        "-m",
        "pip",
        "wheel",
        "--quiet",
        "--no-deps",
        "--no-index",
        "--no-build-isolation",
        "--wheel-dir",
        dist,
        ROOT / "runtime",
    )
    (built,) = dist.glob("runguard_runtime-*.whl")
    return built


@pytest.fixture(scope="module")
def runtime_python(wheel: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The interpreter of a fresh virtual environment holding only the runtime wheel."""
    environment = tmp_path_factory.mktemp("runtime-venv") / "venv"
    _run(sys.executable, "-m", "venv", "--without-pip", environment)
    python = environment / ("Scripts" if os.name == "nt" else "bin") / "python"
    _run(
        sys.executable,
        "-m",
        "pip",
        "--python",
        python,
        "install",
        "--quiet",
        "--no-deps",
        "--no-index",
        wheel,
    )
    return python


def test_the_wheel_holds_only_the_runtime_and_declares_no_dependency(wheel: Path) -> None:
    with zipfile.ZipFile(wheel) as archive:
        names = archive.namelist()
        (metadata_name,) = [name for name in names if name.endswith(".dist-info/METADATA")]
        metadata = archive.read(metadata_name).decode("utf-8")
    packages = {
        name.split("/", 1)[0] for name in names if not name.split("/", 1)[0].endswith(".dist-info")
    }
    assert packages == {"runguard_runtime"}
    assert "runguard_runtime/py.typed" in names
    assert "Name: runguard-runtime\n" in metadata
    assert "Requires-Python: >=3.9\n" in metadata
    assert "Requires-Dist" not in metadata


def test_the_fresh_environment_has_the_runtime_and_none_of_the_linter(
    runtime_python: Path,
) -> None:
    # Run outside the repository: `-c` puts the working directory on sys.path.
    found = json.loads(_run(runtime_python, "-c", PROBE, cwd=runtime_python.parent))
    assert found["distributions"] == ["runguard-runtime"]
    assert found["absent"] == ["libcst", "click", "rich", "runguard_lint"]


def test_fixed_code_runs_on_the_runtime_alone(runtime_python: Path, tmp_path: Path) -> None:
    """The linter fixes an app that declares runguard-runtime; the fixed app, run
    where only the runtime is installed, imports it and does what the original did."""
    before = tmp_path / "before"
    after = tmp_path / "after"
    for directory in (before, after):
        directory.mkdir()
        (directory / "app.py").write_text(APP, encoding="utf-8")
    (after / "pyproject.toml").write_text(
        textwrap.dedent(
            """\
            [project]
            name = "app"
            version = "1"
            dependencies = ["runguard-runtime>=0.1"]
            """
        ),
        encoding="utf-8",
    )
    # One fix applied per finding and run: the second run applies what the first left.
    for _ in range(2):
        result = run_cli("--fix", "--unsafe-fixes", "--no-cache", "app.py", cwd=after)
        assert result.returncode in (0, 1), result.stdout + result.stderr
    fixed = (after / "app.py").read_text(encoding="utf-8")
    assert "from runguard_runtime import BoundedCache, ResourceScope\n" in fixed
    assert "_squares = BoundedCache(maxsize=10_000)\n" in fixed
    assert '        with ResourceScope("log") as scope:\n' in fixed

    outputs = [
        json.loads(_run(runtime_python, "app.py", directory / "out.txt", cwd=directory))
        for directory in (before, after)
    ]
    assert outputs[0] == outputs[1] == {"logged": ["one", "two"], "squares": [4, 9, 4]}
