"""A file past its time budget (`per-file-timeout`) gets one RG901, and the run goes on.

Real CLI runs on a generated module of many leaking functions, with a budget far
smaller than its analysis needs, next to a small file with one leak.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import pytest

from runguard_lint.pipeline.budget import OverBudget, outside_budget, time_budget
from tests.conftest import run_cli

FUNCTION = "\n\ndef fetch_{n}(url):\n    client = httpx.Client()\n    return client.get(url)\n"
SMALL = "def read(path):\n    handle = open(path)\n    return handle.read()\n"


def _project(root: Path, budget: float) -> None:
    (root / "runguard-lint.toml").write_text(f"per-file-timeout = {budget}\n")
    (root / "generated.py").write_text(
        "import httpx\n" + "".join(FUNCTION.format(n=n) for n in range(400))
    )
    (root / "small.py").write_text(SMALL)


def _findings(root: Path, *extra: str) -> tuple[int, list[dict[str, object]]]:
    result = run_cli("--output-format", "json", *extra, ".", cwd=root)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def test_a_file_past_its_budget_gets_one_rg901_and_the_run_goes_on(tmp_path: Path) -> None:
    _project(tmp_path, 0.05)
    code, findings = _findings(tmp_path, "--no-cache")
    assert code == 1
    generated = [f for f in findings if f["filename"] == "generated.py"]
    assert [f["code"] for f in generated] == ["RG901"], generated
    assert "per-file-timeout" in str(generated[0]["message"])
    small = [(f["code"], f["location"]["row"]) for f in findings if f["filename"] == "small.py"]  # type: ignore[index]
    assert small == [("RG106", 2)]


def test_the_budget_verdict_is_not_cached(tmp_path: Path) -> None:
    _project(tmp_path, 0.05)
    _code, first = _findings(tmp_path)
    assert "RG901" in {f["code"] for f in first}
    (tmp_path / "runguard-lint.toml").write_text("per-file-timeout = 600\n")
    _code, second = _findings(tmp_path)
    generated = [f for f in second if f["filename"] == "generated.py"]
    assert len(generated) == 400 and {f["code"] for f in generated} == {"RG101"}


def test_fix_leaves_a_file_past_its_budget_as_it_was(tmp_path: Path) -> None:
    _project(tmp_path, 0.05)
    before = (tmp_path / "generated.py").read_bytes()
    result = run_cli("--fix", "--no-cache", ".", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert "RG901" in result.stdout
    assert (tmp_path / "generated.py").read_bytes() == before
    assert "with open(path) as handle:" in (tmp_path / "small.py").read_text()


def test_a_budget_that_is_not_a_positive_number_is_a_config_error(tmp_path: Path) -> None:
    (tmp_path / "runguard-lint.toml").write_text("per-file-timeout = 0\n")
    (tmp_path / "small.py").write_text(SMALL)
    result = run_cli(".", cwd=tmp_path)
    assert result.returncode == 2
    assert "per-file-timeout" in result.stderr and "positive number" in result.stderr


def test_a_small_file_alone_is_not_charged_for_loading_the_analysis(tmp_path: Path) -> None:
    """A run with one file (an edit) loads the LibCST stage in the worker that checks it:
    a small budget must still be the file's own, not the load's."""
    (tmp_path / "runguard-lint.toml").write_text("per-file-timeout = 0.05\n")
    (tmp_path / "small.py").write_text(SMALL)
    code, findings = _findings(tmp_path, "--no-cache")
    assert code == 1
    assert [(f["filename"], f["code"]) for f in findings] == [("small.py", "RG106")]


def _spin(seconds: float) -> None:
    """Spend `seconds` of CPU time."""
    end = time.process_time() + seconds
    while time.process_time() < end:
        pass


def test_what_a_process_loads_once_is_no_files_cost() -> None:
    """Loading the LibCST stage, when a worker's first file reaches it, stands outside
    that file's budget (it made a small file's fix time out on a slow start); the file's
    own work before and after still counts."""
    with time_budget(0.1):
        _spin(0.02)
        with outside_budget():
            _spin(0.3)
        _spin(0.02)
    with pytest.raises(OverBudget), time_budget(0.1):
        with outside_budget():
            _spin(0.02)
        _spin(0.3)
