"""RG100 (unused `# noqa`) through the real CLI: off by default, on with --extend-select,
judged only for the rules that ran, and a safe fix that edits only the comment.

The fixture (fixtures/RG100.py) and its golden file cover the shapes of the
comment; these tests cover selection and whole files.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runguard_lint.config import find_config
from tests.conftest import run_cli

# No acquisition at all: the prefilter drops the file before any rule runs, and the
# dead code must still be seen.
PLAIN = """\
def total(values):
    return sum(values)  # noqa: RG106


# noqa: RG106
COUNT = 3  # noqa: RG101
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    assert find_config(tmp_path) is None, "a config above the temp dir would skew the tests"
    (tmp_path / "plain.py").write_text(PLAIN, encoding="utf-8")
    return tmp_path


def findings(cwd: Path, *args: str) -> list[dict[str, Any]]:
    result = run_cli("--no-cache", "--output-format", "json", *args, cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    found: list[dict[str, Any]] = json.loads(result.stdout)
    return found


def test_off_by_default_and_not_in_preview(project: Path) -> None:
    assert findings(project) == []
    assert findings(project, "--preview") == []
    assert findings(project, "--select", "RG") == []


def test_extend_select_reports_dead_codes_of_the_rules_that_ran(project: Path) -> None:
    found = findings(project, "--extend-select", "RG100")
    # RG101 ran too (default on) and found nothing on that line: its code is dead as well.
    assert [(f["code"], f["location"]["row"], f["message"]) for f in found] == [
        ("RG100", 2, "unused `noqa` directive (unused: `RG106`)"),
        ("RG100", 5, "unused `noqa` directive (unused: `RG106`)"),
        ("RG100", 6, "unused `noqa` directive (unused: `RG101`)"),
    ]
    assert all(f["fix"]["applicability"] == "safe" for f in found)
    # A rule that did not run leaves its codes alone.
    only = findings(project, "--select", "RG106,RG100")
    assert [f["location"]["row"] for f in only] == [2, 5]
    # Silenced for the whole file: the rule did not run there, its codes are not judged.
    path = project / "plain.py"
    path.write_text("# runguard-lint: noqa: RG106\n" + PLAIN, encoding="utf-8")
    assert [f["location"]["row"] for f in findings(project, "--extend-select", "RG100")] == [7]


def test_fix_removes_only_the_dead_codes(project: Path) -> None:
    path = project / "plain.py"
    path.write_text(PLAIN + "LIMIT = 2  # noqa: RG106, E501\n", encoding="utf-8")
    result = run_cli("--no-cache", "--extend-select", "RG100", "--fix", ".", cwd=project)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Fixed 4 findings." in result.stdout
    assert path.read_text(encoding="utf-8") == (
        "def total(values):\n    return sum(values)\n\n\n\nCOUNT = 3\nLIMIT = 2  # noqa: E501\n"
    )
    assert findings(project, "--extend-select", "RG100") == []


def test_a_used_code_stays_and_rg100_can_be_silenced(project: Path) -> None:
    (project / "plain.py").write_text(
        "def read(path):\n"
        "    handle = open(path)  # noqa: RG106\n"
        "    return handle.read()\n"
        "\n"
        "\n"
        "LIMIT = 2  # noqa: RG106, RG100\n",
        encoding="utf-8",
    )
    assert findings(project, "--extend-select", "RG100") == []
