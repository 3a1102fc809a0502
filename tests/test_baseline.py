"""`--write-baseline`, `--baseline` and the `baseline` config key, through the real CLI.

A team adopting the tool records today's findings; the recorded ones must stay
silent while code moves and unrelated code changes, and every new finding must
still be reported. GitLab's fingerprints are the same identities, so they must
not move either (RG301's message names a line number).
"""

from __future__ import annotations

import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from runguard_lint.config import find_config
from tests.conftest import run_cli

SERVICE = """\
import contextlib

import asyncpg
import httpx


async def record_usage(pool: asyncpg.Pool, user_id: int, tokens: int) -> None:
    conn = await pool.acquire()
    await conn.execute("INSERT INTO usage VALUES ($1, $2)", user_id, tokens)
    await pool.release(conn)


@contextlib.contextmanager
def tool_http():
    client = httpx.Client(timeout=30)
    yield client
    client.close()


def read(path):
    handle = open(path)
    return handle.read()


def unrelated(n):
    return n + 1
"""

OTHER = """\
class Store:
    def load(self, path):
        return open(path).read()
"""


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git repository holding a service with four findings, and no config above it."""
    assert find_config(tmp_path) is None, "a config above the temp dir would skew the tests"
    (tmp_path / "app").mkdir()
    (tmp_path / "app" / "service.py").write_text(SERVICE, encoding="utf-8")
    (tmp_path / "app" / "store.py").write_text(OTHER, encoding="utf-8")
    subprocess.run(["git", "init", "-q", str(tmp_path)], check=True, capture_output=True)
    return tmp_path


def findings(cwd: Path, *args: str) -> tuple[int, list[dict[str, Any]]]:
    result = run_cli("--no-cache", "--output-format", "json", *args, cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    return result.returncode, json.loads(result.stdout)


def where(found: list[dict[str, Any]]) -> set[tuple[str, int, str]]:
    return {(f["filename"], f["location"]["row"], f["code"]) for f in found}


def edit(path: Path, old: str, new: str) -> None:
    text = path.read_text(encoding="utf-8")
    assert old in text
    path.write_text(text.replace(old, new, 1), encoding="utf-8")


def test_round_trip_across_shifted_lines_and_unrelated_edits(project: Path) -> None:
    status, before = findings(project)
    assert status == 1
    assert sorted(f["code"] for f in before) == ["RG106", "RG106", "RG301", "RG301"]

    written = run_cli("--no-cache", "--write-baseline", "baseline.json", cwd=project)
    assert written.returncode == 0, written.stderr
    assert "Recorded 4 findings in baseline.json." in written.stderr
    document = json.loads((project / "baseline.json").read_text(encoding="utf-8"))
    entries = document["findings"]
    assert {(e["file"], e["code"], e["scope"]) for e in entries} == {
        ("app/service.py", "RG301", "record_usage"),
        ("app/service.py", "RG301", "tool_http"),
        ("app/service.py", "RG106", "read"),
        ("app/store.py", "RG106", "Store.load"),
    }
    assert all("line" not in json.dumps(e) for e in entries), "no line numbers recorded"

    assert findings(project, "--baseline", "baseline.json") == (0, [])
    human = run_cli("--no-cache", "--baseline", "baseline.json", cwd=project)
    assert human.returncode == 0 and "All checks passed!" in human.stdout
    assert "4 findings recorded in the baseline baseline.json not shown" in human.stderr

    # Lines inserted above every finding, an unrelated function edited, a class grown.
    service = project / "app" / "service.py"
    header = '"""Usage accounting."""\n\nimport contextlib\nimport os\n'
    edit(service, "import contextlib\n", header)
    edit(service, "    return n + 1\n", "    total = n + 1\n    return total * 2\n")
    edit(
        project / "app" / "store.py",
        "class Store:\n",
        "class Store:\n    size = 3\n\n    def name(self):\n        return 'store'\n\n",
    )
    status, shifted = findings(project)
    assert status == 1 and len(shifted) == 4
    assert where(shifted) != where(before), "the edit must have moved the findings"
    assert findings(project, "--baseline", "baseline.json") == (0, [])

    # New leaks are reported, alone: one in a new function, and a second `open` in
    # `read` whose line repeats the recorded one (it is that line's occurrence 1).
    edit(
        service,
        "def unrelated(n):\n",
        "def reread(path):\n    handle = open(path)\n    return handle.read()\n\n\n"
        "def unrelated(n):\n",
    )
    edit(
        service,
        "    handle = open(path)\n    return handle.read()\n",
        "    handle = open(path)\n    handle.read()\n    handle = open(path)\n"
        "    return handle.read()\n",
    )
    status, new = findings(project, "--baseline", "baseline.json")
    assert status == 1
    lines = service.read_text(encoding="utf-8").splitlines()
    reported = sorted((f["filename"], f["code"], f["location"]["row"]) for f in new)
    read_at = lines.index("def read(path):") + 1
    reread_at = lines.index("def reread(path):") + 1
    assert reported == [
        ("app/service.py", "RG106", read_at + 3),
        ("app/service.py", "RG106", reread_at + 1),
    ]


def test_editing_a_recorded_line_reports_it_again(project: Path) -> None:
    assert run_cli("--no-cache", "--write-baseline", "b.json", cwd=project).returncode == 0
    edit(project / "app" / "store.py", "open(path)", "open(path, 'rb')")
    status, found = findings(project, "--baseline", "b.json")
    assert status == 1
    assert where(found) == {("app/store.py", 3, "RG106")}


def test_the_config_key_and_another_working_directory(project: Path) -> None:
    assert run_cli("--no-cache", "--write-baseline", "b.json", cwd=project).returncode == 0
    (project / "pyproject.toml").write_text(
        '[tool.runguard-lint]\nbaseline = "b.json"\n', encoding="utf-8"
    )
    # Paths are kept relative to the project root, so a run from below it matches too.
    assert findings(project / "app") == (0, [])
    assert findings(project) == (0, [])
    # The command line's baseline wins over the config's.
    (project / "empty.json").write_text(
        '{"runguard-lint-baseline": 1, "findings": []}\n', encoding="utf-8"
    )
    status, everything = findings(project, "--baseline", "empty.json")
    assert status == 1 and len(everything) == 4
    # Writing a baseline records everything, whatever baseline is configured.
    again = run_cli("--no-cache", "--write-baseline", "b2.json", cwd=project)
    assert again.returncode == 0, again.stderr
    assert len(json.loads((project / "b2.json").read_text(encoding="utf-8"))["findings"]) == 4


def test_statistics_and_add_noqa_see_only_new_findings(project: Path) -> None:
    assert run_cli("--no-cache", "--write-baseline", "b.json", cwd=project).returncode == 0
    (project / "app" / "new.py").write_text(OTHER, encoding="utf-8")
    stats = run_cli("--no-cache", "--statistics", "--baseline", "b.json", cwd=project)
    assert stats.returncode == 1
    assert stats.stdout.split()[:2] == ["1", "RG106"], stats.stdout
    noqa = run_cli("--no-cache", "--add-noqa", "--baseline", "b.json", cwd=project)
    assert noqa.returncode == 0, noqa.stderr
    assert "# noqa: RG106" in (project / "app" / "new.py").read_text(encoding="utf-8")
    assert "noqa" not in (project / "app" / "store.py").read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("content", "reason"),
    [
        ("not json", "invalid JSON"),
        ('{"findings": []}', "not a runguard-lint baseline"),
        ('{"runguard-lint-baseline": 1, "findings": [1]}', "must be a list of entries"),
    ],
)
def test_a_bad_baseline_is_an_error(project: Path, content: str, reason: str) -> None:
    (project / "b.json").write_text(content, encoding="utf-8")
    result = run_cli("--no-cache", "--baseline", "b.json", cwd=project)
    assert result.returncode == 2
    assert "b.json" in result.stderr and reason in result.stderr
    missing = run_cli("--no-cache", "--baseline", "nope.json", cwd=project)
    assert missing.returncode == 2 and "nope.json: cannot read the baseline" in missing.stderr


def test_gitlab_fingerprint_of_rg301_survives_moved_code(project: Path) -> None:
    """RG301's message names the acquisition's line; the fingerprint must not."""

    def rg301(cwd: Path) -> dict[str, tuple[str, str]]:
        result = run_cli("--no-cache", "--output-format", "gitlab", cwd=cwd)
        issues = json.loads(result.stdout)
        return {
            issue["fingerprint"]: (issue["description"], str(issue["location"]["lines"]))
            for issue in issues
            if issue["check_name"] == "RG301"
        }

    before = rg301(project)
    assert len(before) == 2 and all("(line " in d for d, _ in before.values())
    edit(project / "app" / "service.py", "import contextlib\n", "import contextlib\nimport os\n")
    after = rg301(project)
    assert set(after) == set(before)
    assert all(after[key] != before[key] for key in before), "messages and lines moved"
