"""Every fixtures/<CODE>.py file, run through the real CLI, gives exactly its `# expect:` lines.

A fixture runs with only its own rule selected (the file's stem), or with
the codes of a `# select: RG101, RG301` line near its top. It marks each
expected finding with `# expect: RG101` (or several, comma-separated) at the
end of the line the finding points at. Every line
without a marker must stay silent, so the tricky negatives in a fixture are
tested as hard as the positives.
"""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from tests.conftest import FIXTURES, run_json

_SELECT = re.compile(r"^#\s*select:\s*(?P<codes>[A-Z0-9, ]+)$", re.MULTILINE)
_EXPECT = re.compile(r"#\s*expect:\s*(?P<codes>RG\d{3}(?:\s*,\s*RG\d{3})*)")

FIXTURE_FILES = sorted(p for p in FIXTURES.glob("RG*.py") if not p.name.endswith(".fixed.py"))


def expected_findings(path: Path) -> set[tuple[int, str]]:
    expected: set[tuple[int, str]] = set()
    for row, line in enumerate(path.read_text(encoding="utf-8").splitlines(), start=1):
        match = _EXPECT.search(line)
        if match:
            for code in match.group("codes").split(","):
                expected.add((row, code.strip()))
    return expected


def selected_codes(path: Path) -> str:
    match = _SELECT.search(path.read_text(encoding="utf-8")[:2000])
    return match.group("codes").replace(" ", "") if match else path.stem


def test_there_are_fixtures() -> None:
    assert len(FIXTURE_FILES) >= 1


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda p: p.stem)
def test_fixture(fixture: Path) -> None:
    _, findings = run_json("--select", selected_codes(fixture), "--jobs", "1", str(fixture))
    actual = {(f["location"]["row"], f["code"]) for f in findings}
    expected = expected_findings(fixture)
    missing = sorted(expected - actual)
    unexpected = sorted(actual - expected)
    messages = {(f["location"]["row"], f["code"]): f["message"] for f in findings}
    assert not missing and not unexpected, (
        f"missing: {missing}\nunexpected: "
        f"{[(row, code, messages[(row, code)]) for row, code in unexpected]}"
    )


def test_a_factory_call_is_written_as_the_code_writes_it() -> None:
    # `with self.connect() as conn:` over a project factory of sqlite3 connections.
    _, findings = run_json("--select", "RG106", "--jobs", "1", str(FIXTURES / "RG106.py"))
    messages = [f["message"] for f in findings if "self.connect()" in f["message"]]
    assert len(messages) == 1
    assert messages[0].startswith("`with self.connect()` commits or rolls back")
    assert messages[0].endswith("use `with contextlib.closing(self.connect())`")


def test_a_loop_leak_says_what_to_do_in_the_imperative() -> None:
    _, findings = run_json("--select", "RG106", "--jobs", "1", str(FIXTURES / "RG106.py"))
    loops = [f["message"] for f in findings if "on every iteration of a loop" in f["message"]]
    assert loops
    assert all("all but the last leak; close each one inside the loop" in m for m in loops)
