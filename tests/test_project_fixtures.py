"""Every fixtures/projects/<name>/ package, checked as one project by the real CLI,
gives exactly the `# expect:` lines of its modules.

These are the cases that one file cannot show: a factory, a releasing or
keeping helper, a re-exported constructor or an owner class defined in one
module and used in another. The project-wide fact pass must join the modules'
summaries for them to come out right, so each package is checked as a whole,
with the default rules (or those of a `# select:` line in its `__init__.py`).
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from tests.conftest import FIXTURES, run_json
from tests.test_fixtures import expected_findings, selected_codes

PROJECTS = sorted(p for p in (FIXTURES / "projects").iterdir() if p.is_dir())


def _expected(project: Path) -> set[tuple[str, int, str]]:
    return {
        (path.relative_to(project).as_posix(), row, code)
        for path in sorted(project.rglob("*.py"))
        for row, code in expected_findings(path)
    }


def _select(project: Path) -> list[str]:
    init = next(project.glob("*/__init__.py"), None)
    if init is None:
        return []
    codes = selected_codes(init)
    return [] if codes == init.stem else ["--select", codes]


def _key(project: Path, finding: dict[str, Any]) -> tuple[str, int, str]:
    path = (project / finding["filename"]).resolve().relative_to(project.resolve())
    return path.as_posix(), finding["location"]["row"], finding["code"]


@pytest.mark.parametrize("project", PROJECTS, ids=lambda p: p.name)
def test_project_fixture(project: Path) -> None:
    _, findings = run_json(*_select(project), "--jobs", "1", ".", cwd=project)
    messages = {_key(project, f): f["message"] for f in findings}
    actual = set(messages)
    expected = _expected(project)
    missing = sorted(expected - actual)
    unexpected = sorted(actual - expected)
    assert not missing and not unexpected, (
        f"missing: {missing}\nunexpected: {[(*u, messages[u]) for u in unexpected]}"
    )
