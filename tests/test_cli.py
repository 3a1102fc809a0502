"""The command line as a user meets it: options, exit status, output shapes, stdin, --add-noqa.

Every test runs the real CLI (tests/conftest.py: its entry point in this
process, or `python -m runguard_lint` in a subprocess for the exit statuses,
the usage error, standard input and the concise format) inside a temporary
project, so no config of this repository leaks into the results.
"""

from __future__ import annotations

import json
import os
import re
import stat
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from runguard_lint import __version__
from runguard_lint.add_noqa import AddNoqaError, add_noqa_to_text
from runguard_lint.config import find_config
from runguard_lint.diagnostics import Diagnostic, Location
from tests.conftest import ROOT, run_cli, run_json

LEAK_HTTP = (
    "import httpx\n"
    "\n"
    "\n"
    "async def fetch():\n"
    "    client = httpx.AsyncClient()\n"
    '    return await client.get("/")\n'
)
LEAK_FILE = "def read(path):\n    handle = open(path)\n    return handle.read()\n"
LEAK_EXECUTOR = (
    "import concurrent.futures\n"
    "\n"
    "\n"
    "def work():\n"
    "    pool = concurrent.futures.ThreadPoolExecutor()\n"
    "    pool.submit(print)\n"
)
PER_CALL = (
    "import httpx\n"
    "\n"
    "\n"
    "async def fetch():\n"
    "    async with httpx.AsyncClient() as client:\n"
    '        return await client.get("/")\n'
)
CLEAN = "import httpx\n\nCLIENT = httpx.AsyncClient()\n"


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """An empty directory with no runguard-lint config at or above it."""
    assert find_config(tmp_path) is None, "a config above the temp dir would skew the tests"
    return tmp_path


def codes(findings: list[dict[str, Any]]) -> list[str]:
    return sorted(f["code"] for f in findings)


def where(findings: list[dict[str, Any]]) -> set[tuple[str, int, str]]:
    return {(f["filename"], f["location"]["row"], f["code"]) for f in findings}


# --- exit status ----------------------------------------------------------------------


def test_clean_code_exits_0(project: Path) -> None:
    write(project, "ok.py", CLEAN)
    result = run_cli("--no-cache", ".", cwd=project, process=True)
    assert result.returncode == 0, result.stderr
    assert "All checks passed!" in result.stdout


def test_findings_exit_1_and_exit_zero_exits_0(project: Path) -> None:
    write(project, "leak.py", LEAK_HTTP)
    result = run_cli("--no-cache", "leak.py", cwd=project, process=True)
    assert result.returncode == 1, result.stderr
    assert "leak.py" in result.stdout and "RG101" in result.stdout
    assert "Found 1 finding in 1 file." in result.stdout
    zero = run_cli("--no-cache", "--exit-zero", "leak.py", cwd=project)
    assert zero.returncode == 0, zero.stderr
    assert "RG101" in zero.stdout


def test_no_paths_means_current_directory(project: Path) -> None:
    write(project, "pkg/leak.py", LEAK_HTTP)
    status, findings = run_json(cwd=project)
    assert status == 1
    assert where(findings) == {("pkg/leak.py", 5, "RG101")}


def test_missing_path_exits_2_names_it_and_checks_the_rest(project: Path) -> None:
    write(project, "leak.py", LEAK_HTTP)
    result = run_cli(
        "--no-cache", "--output-format", "json", "nope.py", "leak.py", cwd=project, process=True
    )
    assert result.returncode == 2
    assert "nope.py" in result.stderr and "no such file" in result.stderr
    assert where(json.loads(result.stdout)) == {("leak.py", 5, "RG101")}


def test_missing_path_is_no_pass_even_when_the_rest_is_clean(project: Path) -> None:
    write(project, "ok.py", CLEAN)
    result = run_cli("--no-cache", "does-not-exist", "ok.py", cwd=project)
    assert result.returncode == 2, result.stdout
    assert "does-not-exist: no such file or directory" in result.stderr
    assert "All checks passed!" not in result.stdout + result.stderr
    alone = run_cli("--no-cache", "does-not-exist", cwd=project)
    assert alone.returncode == 2
    assert "does-not-exist" in alone.stderr and "All checks passed!" not in alone.stdout


def test_directory_without_python_files_warns_and_exits_0(project: Path) -> None:
    write(project, "docs/readme.txt", "not python\n")
    result = run_cli("--no-cache", "docs", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "warning: No Python files found under the given path(s)" in result.stderr
    with_python = run_cli("--no-cache", ".", cwd=write(project, "ok.py", CLEAN).parent)
    assert "No Python files" not in with_python.stderr


def test_syntax_error_is_rg900_and_the_other_files_are_checked(project: Path) -> None:
    write(project, "broken.py", "import httpx\nclient = httpx.Client(\n")
    write(project, "leak.py", LEAK_HTTP)
    status, findings = run_json(".", cwd=project)
    assert status == 1
    assert where(findings) == {("broken.py", 2, "RG900"), ("leak.py", 5, "RG101")}
    rg900 = next(f for f in findings if f["code"] == "RG900")
    assert "cannot parse" in rg900["message"]


def test_syntax_error_is_reported_whatever_is_selected(project: Path) -> None:
    write(project, "broken.py", "import httpx\nx = httpx.Client(\n")
    _, findings = run_json("--select", "RG101", "broken.py", cwd=project)
    assert codes(findings) == ["RG900"]


def test_a_file_that_can_hold_no_finding_gets_no_syntax_check(project: Path) -> None:
    # Nothing in it that a rule looks for: it is not parsed at all, so no RG900 (as
    # the docs say), unless --check-syntax or `check-syntax = true` asks for it.
    write(project, "broken.py", "def f(:\n    pass\n")
    status, findings = run_json(".", cwd=project)
    assert (status, findings) == (0, [])
    status, findings = run_json("--check-syntax", ".", cwd=project)
    assert status == 1
    assert where(findings) == {("broken.py", 1, "RG900")}
    write(project, "runguard-lint.toml", "check-syntax = true\n")
    _, findings = run_json(".", cwd=project)
    assert where(findings) == {("broken.py", 1, "RG900")}
    # A selection of the syntax rule alone is a syntax check of every file.
    write(project, "runguard-lint.toml", "")
    _, findings = run_json("--select", "RG900", ".", cwd=project)
    assert where(findings) == {("broken.py", 1, "RG900")}


# --- rule selection ---------------------------------------------------------------------


@pytest.fixture
def three_leaks(project: Path) -> Path:
    write(project, "http.py", LEAK_HTTP)
    write(project, "files.py", LEAK_FILE)
    write(project, "pools.py", LEAK_EXECUTOR)
    return project


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        ((), ["RG101", "RG103", "RG106"]),
        (("--select", "RG101"), ["RG101"]),
        (("--select", "rg101"), ["RG101"]),
        (("--select", "RG101,RG106"), ["RG101", "RG106"]),
        (("--select", "RG101", "--select", "RG103"), ["RG101", "RG103"]),
        (("--select", "RG1"), ["RG101", "RG103", "RG106"]),
        (("--select", "RG10"), ["RG101", "RG103", "RG106"]),
        (("--select", "RG"), ["RG101", "RG103", "RG106"]),
        (("--select", "ALL"), ["RG101", "RG103", "RG106"]),
        (("--select", "RG2"), []),
        (("--ignore", "RG106"), ["RG101", "RG103"]),
        (("--ignore", "RG1"), []),
        (("--ignore", "RG10"), []),
        (("--select", "RG1", "--ignore", "RG103"), ["RG101", "RG106"]),
        (("--select", "RG101", "--extend-select", "RG106"), ["RG101", "RG106"]),
        (("--select", "RG2", "--extend-select", "RG1"), ["RG101", "RG103", "RG106"]),
    ],
)
def test_select_ignore_extend_select(
    three_leaks: Path, args: tuple[str, ...], expected: list[str]
) -> None:
    _, findings = run_json(*args, ".", cwd=three_leaks)
    assert codes(findings) == expected


@pytest.mark.parametrize(
    ("args", "reported"),
    [
        ((), False),
        (("--select", "RG"), False),
        (("--select", "RG4"), False),
        (("--select", "RG40"), False),
        (("--select", "ALL"), False),
        (("--select", "RG402"), True),
        (("--extend-select", "RG402"), True),
        (("--preview",), True),
        (("--select", "RG4", "--preview"), True),
        (("--preview", "--ignore", "RG402"), False),
        (("--select", "RG4", "--preview", "--ignore", "RG402"), False),
        # As in Ruff, the more specific selector wins: an exact code over a prefix.
        (("--select", "RG402", "--ignore", "RG4"), True),
    ],
)
def test_preview_rules_need_their_exact_code_or_preview(
    project: Path, args: tuple[str, ...], reported: bool
) -> None:
    write(project, "per_call.py", PER_CALL)
    _, findings = run_json(*args, "per_call.py", cwd=project)
    assert codes(findings) == (["RG402"] if reported else [])


def test_preview_rule_rg202_is_accepted_by_exact_code(project: Path) -> None:
    write(project, "ok.py", CLEAN)
    status, _ = run_json("--select", "RG202", "ok.py", cwd=project)
    assert status == 0


@pytest.mark.parametrize("option", ["--select", "--ignore", "--extend-select"])
def test_unknown_rule_on_the_command_line_exits_2(project: Path, option: str) -> None:
    write(project, "ok.py", CLEAN)
    result = run_cli("--no-cache", option, "RG999", "ok.py", cwd=project)
    assert result.returncode == 2
    assert "RG999" in result.stderr
    assert "Traceback" not in result.stderr


# --- output formats -----------------------------------------------------------------------

_LOCATION = {
    "type": "object",
    "properties": {
        "row": {"type": "integer", "minimum": 1},
        "column": {"type": "integer", "minimum": 1},
    },
    "required": ["row", "column"],
    "additionalProperties": False,
}
JSON_SCHEMA = {
    "type": "array",
    "items": {
        "type": "object",
        "required": [
            "code",
            "message",
            "filename",
            "location",
            "end_location",
            "fix",
            "url",
            "noqa_row",
        ],
        "additionalProperties": False,
        "properties": {
            "code": {"type": "string", "pattern": "^RG[0-9]{3}$"},
            "message": {"type": "string", "minLength": 1},
            "filename": {"type": "string"},
            "location": _LOCATION,
            "end_location": _LOCATION,
            "url": {"type": "string", "pattern": "^https://"},
            "noqa_row": {"type": ["integer", "null"], "minimum": 1},
            "fix": {
                "oneOf": [
                    {"type": "null"},
                    {
                        "type": "object",
                        "required": ["applicability", "message", "edits"],
                        "additionalProperties": False,
                        "properties": {
                            "applicability": {"enum": ["safe", "unsafe"]},
                            "message": {"type": "string"},
                            "edits": {
                                "type": "array",
                                "items": {
                                    "type": "object",
                                    "required": ["content", "location", "end_location"],
                                    "additionalProperties": False,
                                    "properties": {
                                        "content": {"type": "string"},
                                        "location": _LOCATION,
                                        "end_location": _LOCATION,
                                    },
                                },
                            },
                        },
                    },
                ]
            },
        },
    },
}


def test_json_output_shape_and_one_based_positions(three_leaks: Path) -> None:
    write(three_leaks, "broken.py", "def f(:\n")
    status, findings = run_json(".", cwd=three_leaks)
    assert status == 1
    jsonschema.validate(findings, JSON_SCHEMA)
    http = next(f for f in findings if f["code"] == "RG101")
    # `    client = httpx.AsyncClient()`: the call starts in column 14 (1-based) of line 5.
    assert http["filename"] == "http.py"
    assert http["location"] == {"row": 5, "column": 14}
    assert http["end_location"] == {"row": 5, "column": 14 + len("httpx.AsyncClient()")}
    assert "RG101" in http["url"]
    assert [f["filename"] for f in findings] == sorted(f["filename"] for f in findings)


def test_json_output_of_a_clean_run_is_an_empty_list(project: Path) -> None:
    write(project, "ok.py", CLEAN)
    status, findings = run_json("ok.py", cwd=project)
    assert (status, findings) == (0, [])


def test_concise_output(project: Path) -> None:
    write(project, "leak.py", LEAK_HTTP)
    result = run_cli(
        "--no-cache", "--output-format", "concise", "leak.py", cwd=project, process=True
    )
    assert result.returncode == 1
    assert re.search(r"^leak\.py:5:14: RG101 ", result.stdout, re.MULTILINE), result.stdout


def test_output_file(project: Path) -> None:
    write(project, "leak.py", LEAK_HTTP)
    result = run_cli(
        "--no-cache",
        "--output-format",
        "json",
        "--output-file",
        "report.json",
        "leak.py",
        cwd=project,
    )
    assert result.returncode == 1
    assert result.stdout == ""
    report = json.loads((project / "report.json").read_text(encoding="utf-8"))
    assert codes(report) == ["RG101"]


def test_statistics(three_leaks: Path) -> None:
    write(three_leaks, "more.py", LEAK_HTTP.replace("fetch", "fetch_more"))
    result = run_cli("--no-cache", "--statistics", ".", cwd=three_leaks)
    assert result.returncode == 1
    rows = [line.split("\t") for line in result.stdout.splitlines() if line.strip()]
    counts = {row[1]: int(row[0]) for row in rows}
    assert counts == {"RG101": 2, "RG103": 1, "RG106": 1}
    assert rows[0][1] == "RG101", "the most frequent rule comes first"
    assert "http-client-not-closed" in result.stdout


def test_quiet_prints_findings_without_summary(project: Path) -> None:
    write(project, "leak.py", LEAK_HTTP)
    result = run_cli("--no-cache", "--quiet", "leak.py", cwd=project)
    assert result.returncode == 1
    assert "RG101" in result.stdout
    assert "Found" not in result.stdout
    write(project, "leak.py", CLEAN)
    clean = run_cli("--no-cache", "-q", "leak.py", cwd=project)
    assert clean.returncode == 0
    assert clean.stdout == ""


# --- informational options ----------------------------------------------------------------


def test_explain_a_rule() -> None:
    result = run_cli("--explain", "RG101")
    assert result.returncode == 0, result.stderr
    assert "RG101" in result.stdout and "http-client-not-closed" in result.stdout
    assert "Why is this bad?" in result.stdout
    assert "httpx.AsyncClient" in result.stdout
    lower = run_cli("--explain", "rg101")
    assert lower.returncode == 0 and lower.stdout == result.stdout


def test_explain_an_unknown_code_exits_2() -> None:
    result = run_cli("--explain", "RG999")
    assert result.returncode == 2
    assert "RG999" in result.stderr and "--list-rules" in result.stderr
    assert result.stdout == ""


def test_list_rules_lists_every_shipped_rule() -> None:
    result = run_cli("--list-rules")
    assert result.returncode == 0, result.stderr
    shipped = sorted(path.stem for path in (ROOT / "rules").glob("RG*.toml"))
    assert len(shipped) >= 12
    for code in shipped:
        assert code in result.stdout
    assert "preview" in result.stdout


def test_version() -> None:
    result = run_cli("--version", process=True)
    assert result.returncode == 0
    assert __version__ in result.stdout
    assert "runguard-lint" in result.stdout


def test_unknown_option_is_a_usage_error() -> None:
    result = run_cli("--no-such-option", process=True)
    assert result.returncode == 2
    assert "--no-such-option" in result.stderr


# --- standard input -----------------------------------------------------------------------


def test_stdin_with_stdin_filename(project: Path) -> None:
    result = run_cli(
        "--no-cache",
        "--output-format",
        "json",
        "-",
        "--stdin-filename",
        "app/client.py",
        cwd=project,
        input_text=LEAK_HTTP,
        process=True,
    )
    assert result.returncode == 1, result.stderr
    assert where(json.loads(result.stdout)) == {("app/client.py", 5, "RG101")}


def test_stdin_report_quotes_stdin_not_the_file_on_disk(project: Path) -> None:
    # An editor's unsaved buffer: the saved file says something else on line 5.
    write(project, "app/client.py", "# saved\n" * 4 + "SAVED_LINE_ON_DISK = 1\n")
    unsaved = LEAK_HTTP.replace("client = httpx", "client  = httpx")
    result = run_cli(
        "--no-cache",
        "-",
        "--stdin-filename",
        "app/client.py",
        cwd=project,
        input_text=unsaved,
    )
    assert result.returncode == 1, result.stderr
    assert "SAVED_LINE_ON_DISK" not in result.stdout
    assert "client  = httpx.AsyncClient()" in result.stdout


def test_stdin_without_a_name(project: Path) -> None:
    result = run_cli(
        "--no-cache", "--output-format", "json", "-", cwd=project, input_text=LEAK_HTTP
    )
    assert result.returncode == 1, result.stderr
    assert codes(json.loads(result.stdout)) == ["RG101"]
    clean = run_cli("--no-cache", "-", cwd=project, input_text=CLEAN)
    assert clean.returncode == 0


def test_stdin_filename_alone_reads_stdin(project: Path) -> None:
    result = run_cli(
        "--no-cache",
        "--output-format",
        "json",
        "--stdin-filename",
        "x.py",
        cwd=project,
        input_text=LEAK_HTTP,
    )
    assert result.returncode == 1, result.stderr
    assert where(json.loads(result.stdout)) == {("x.py", 5, "RG101")}


def test_stdin_filename_wins_over_paths_with_a_warning(project: Path) -> None:
    write(project, "other.py", LEAK_FILE)
    result = run_cli(
        "--no-cache",
        "--output-format",
        "json",
        "--stdin-filename",
        "x.py",
        "other.py",
        cwd=project,
        input_text=CLEAN,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout) == []
    assert "ignoring `other.py`" in result.stderr


def test_stdin_uses_the_config_nearest_the_stdin_filename(project: Path) -> None:
    write(
        project,
        "svc/pyproject.toml",
        '[tool.runguard-lint]\nignore = ["RG106"]\n'
        'per-file-ignores = { "legacy/*.py" = ["RG101"] }\n',
    )
    (project / "svc" / "legacy").mkdir()
    source = LEAK_HTTP + "\n\n" + LEAK_FILE
    # Run from outside the project: only the stdin filename can lead to svc/pyproject.toml.
    plain = run_cli("--no-cache", "--output-format", "json", "-", cwd=project, input_text=source)
    assert codes(json.loads(plain.stdout)) == ["RG101", "RG106"]
    new = run_cli(
        "--no-cache",
        "--output-format",
        "json",
        "-",
        "--stdin-filename",
        "svc/new_module.py",
        cwd=project,
        input_text=source,
    )
    assert not (project / "svc" / "new_module.py").exists()
    assert codes(json.loads(new.stdout)) == ["RG101"], new.stderr
    legacy = run_cli(
        "--no-cache",
        "--output-format",
        "json",
        "-",
        "--stdin-filename",
        "svc/legacy/old.py",
        cwd=project,
        input_text=source,
    )
    assert legacy.returncode == 0, legacy.stderr
    assert json.loads(legacy.stdout) == []


CHILD_PROCESS = """\
import multiprocessing

import httpx


class State:
    def __init__(self) -> None:
        self.client = httpx.Client()


def child_main(name: str) -> None:
    print(State(), name)


def start(name: str) -> None:
    multiprocessing.Process(target=child_main, args=(name,)).start()
"""


def test_stdin_knows_a_process_target_as_a_file_run_does(project: Path) -> None:
    # The child's State is built once in a process of its own: not an RG401 either way.
    write(project, "worker.py", CHILD_PROCESS)
    on_disk = run_cli("--no-cache", "--output-format", "json", "worker.py", cwd=project)
    assert on_disk.returncode == 0, on_disk.stdout

    def piped(text: str) -> Any:
        return run_cli(
            "--no-cache",
            "--output-format",
            "json",
            "-",
            "--stdin-filename",
            "worker.py",
            cwd=project,
            input_text=text,
        )

    quiet = piped(CHILD_PROCESS)
    assert quiet.returncode == 0, quiet.stdout
    assert json.loads(quiet.stdout) == json.loads(on_disk.stdout) == []
    # Started in a thread instead, it is built per call: reported both ways.
    threaded = "import threading\n" + CHILD_PROCESS.replace(
        "multiprocessing.Process", "threading.Thread"
    )
    reported = piped(threaded)
    assert codes(json.loads(reported.stdout)) == ["RG401"], reported.stderr


def test_stdin_syntax_error_is_rg900(project: Path) -> None:
    result = run_cli(
        "--no-cache",
        "--output-format",
        "json",
        "-",
        "--stdin-filename",
        "b.py",
        cwd=project,
        input_text="with open(:\n",
    )
    assert result.returncode == 1
    assert where(json.loads(result.stdout)) == {("b.py", 1, "RG900")}


# --- --add-noqa -----------------------------------------------------------------------------


def test_add_noqa_silences_every_finding(three_leaks: Path) -> None:
    result = run_cli("--no-cache", "--add-noqa", ".", cwd=three_leaks)
    assert result.returncode == 0, result.stderr
    assert "Added 3 noqa directives." in result.stderr
    assert "    client = httpx.AsyncClient()  # noqa: RG101\n" in (
        three_leaks / "http.py"
    ).read_text(encoding="utf-8")
    assert "    handle = open(path)  # noqa: RG106\n" in (three_leaks / "files.py").read_text(
        encoding="utf-8"
    )
    after = run_cli("--no-cache", ".", cwd=three_leaks)
    assert after.returncode == 0, after.stdout
    again = run_cli("--no-cache", "--add-noqa", ".", cwd=three_leaks)
    assert again.returncode == 0
    assert "Added 0 noqa directives." in again.stderr


def test_add_noqa_merges_with_existing_noqa_and_keeps_comments(project: Path) -> None:
    source = (
        "import httpx\n"
        "\n"
        "\n"
        "async def one():\n"
        "    client = httpx.AsyncClient()  # noqa: E501\n"
        '    return await client.get("/")\n'
        "\n"
        "\n"
        "async def two():\n"
        "    client = httpx.AsyncClient()  # type: ignore[call-arg]  -- why\n"
        '    return await client.get("/")\n'
        "\n"
        "\n"
        "def three(p):\n"
        "    a = open(p); b = httpx.Client()  # noqa:rg999\n"
        "    return a.read(), b.get(p)\n"
    )
    path = write(project, "m.py", source)
    result = run_cli("--no-cache", "--add-noqa", "m.py", cwd=project)
    assert result.returncode == 0, result.stderr
    assert "Added 3 noqa directives." in result.stderr
    lines = path.read_text(encoding="utf-8").splitlines()
    assert lines[4] == "    client = httpx.AsyncClient()  # noqa: E501, RG101"
    assert lines[9] == (
        "    client = httpx.AsyncClient()  # type: ignore[call-arg]  -- why  # noqa: RG101"
    )
    assert lines[14] == "    a = open(p); b = httpx.Client()  # noqa: RG999, RG101, RG106"
    assert run_cli("--no-cache", "m.py", cwd=project).returncode == 0


def test_add_noqa_skips_a_line_that_ends_inside_a_string(project: Path) -> None:
    source = (
        "def read(path):\n"
        '    handle = open(path); text = """\n'
        "    not code\n"
        '    """\n'
        "    return handle.read(), text\n"
    )
    path = write(project, "s.py", source)
    result = run_cli("--no-cache", "--add-noqa", "s.py", cwd=project)
    assert result.returncode == 1, "the finding is still there"
    assert "s.py:2" in result.stderr and "multi-line string" in result.stderr
    assert "Added 0 noqa directives." in result.stderr
    assert path.read_text(encoding="utf-8") == source


def test_add_noqa_uses_the_last_line_when_the_first_cannot_take_a_comment(project: Path) -> None:
    source = (
        "import httpx\n"
        "\n"
        "\n"
        "async def fetch():\n"
        '    client = httpx.AsyncClient(base_url="""\n'
        'https://example.com""", timeout=3,\n'
        "    )\n"
        '    return await client.get("/")\n'
    )
    path = write(project, "m.py", source)
    result = run_cli("--no-cache", "--add-noqa", "m.py", cwd=project)
    assert result.returncode == 0, result.stderr
    assert path.read_text(encoding="utf-8").splitlines()[6] == "    )  # noqa: RG101"
    assert run_cli("--no-cache", "m.py", cwd=project).returncode == 0


def test_add_noqa_keeps_encoding_bom_line_endings_and_permissions(project: Path) -> None:
    crlf = project / "crlf.py"
    crlf.write_bytes(LEAK_HTTP.replace("\n", "\r\n").encode())
    crlf.chmod(0o751)
    bom = project / "bom.py"
    bom.write_bytes(b"\xef\xbb\xbf" + LEAK_FILE.encode())
    latin = project / "latin.py"
    latin.write_bytes(
        b"# -*- coding: latin-1 -*-\n" + b'NAME = "caf\xe9"\n\n\n' + LEAK_FILE.encode()
    )
    result = run_cli("--no-cache", "--add-noqa", ".", cwd=project)
    assert result.returncode == 0, result.stderr
    assert (
        crlf.read_bytes()
        == LEAK_HTTP.replace("httpx.AsyncClient()", "httpx.AsyncClient()  # noqa: RG101")
        .replace("\n", "\r\n")
        .encode()
    )
    assert stat.S_IMODE(crlf.stat().st_mode) == 0o751
    assert (
        bom.read_bytes()
        == b"\xef\xbb\xbf" + LEAK_FILE.replace("open(path)", "open(path)  # noqa: RG106").encode()
    )
    assert latin.read_bytes() == (
        b"# -*- coding: latin-1 -*-\n"
        + b'NAME = "caf\xe9"\n\n\n'
        + LEAK_FILE.replace("open(path)", "open(path)  # noqa: RG106").encode()
    )
    assert not [p.name for p in project.iterdir() if p.name.endswith(".tmp")]


def test_add_noqa_through_a_symlink_edits_the_target(project: Path) -> None:
    target = write(project, "real/leak.py", LEAK_FILE)
    (project / "link.py").symlink_to(target)
    result = run_cli("--no-cache", "--add-noqa", "link.py", cwd=project)
    assert result.returncode == 0, result.stderr
    assert (project / "link.py").is_symlink()
    assert "# noqa: RG106" in target.read_text(encoding="utf-8")


def test_add_noqa_leaves_syntax_errors_alone(project: Path) -> None:
    broken = write(project, "broken.py", "with open(:\n")
    write(project, "leak.py", LEAK_FILE)
    result = run_cli("--no-cache", "--add-noqa", ".", cwd=project)
    assert result.returncode == 1
    assert "broken.py:1" in result.stderr and "RG900" in result.stderr
    assert broken.read_text(encoding="utf-8") == "with open(:\n"
    assert "# noqa: RG106" in (project / "leak.py").read_text(encoding="utf-8")


def test_add_noqa_refuses_stdin(project: Path) -> None:
    result = run_cli("--no-cache", "--add-noqa", "-", cwd=project, input_text=LEAK_HTTP)
    assert result.returncode == 2
    assert "--add-noqa" in result.stderr and "standard input" in result.stderr


def _diagnostic(code: str, row: int, end_row: int | None = None) -> Diagnostic:
    return Diagnostic(code, "message", "f.py", Location(row, 5), Location(end_row or row, 9))


def test_add_noqa_text_backslash_continuation_is_skipped() -> None:
    source = "x = 1 + \\\n    2\n"
    result = add_noqa_to_text(source, [_diagnostic("RG101", 1)])
    assert result.text == source
    assert [s.reason for s in result.skipped] == ["the line ends with a backslash continuation"]
    moved = add_noqa_to_text(source, [_diagnostic("RG101", 1, 2)])
    assert moved.text == "x = 1 + \\\n    2  # noqa: RG101\n"


def test_add_noqa_text_hash_inside_a_string_is_not_a_comment() -> None:
    source = 'x = "# noqa: RG999"\n'
    result = add_noqa_to_text(source, [_diagnostic("RG101", 1)])
    assert result.text == 'x = "# noqa: RG999"  # noqa: RG101\n'


def test_add_noqa_text_multiline_fstring_is_skipped() -> None:
    source = 'name = 1\nx = f"""{name}\n{name}"""\n'
    result = add_noqa_to_text(source, [_diagnostic("RG101", 2)])
    assert result.text == source
    assert result.skipped and "multi-line string" in result.skipped[0].reason


def test_add_noqa_text_refuses_untokenizable_input() -> None:
    with pytest.raises(AddNoqaError):
        add_noqa_to_text('x = """\n', [_diagnostic("RG101", 1)])


def test_add_noqa_text_does_not_annotate_a_file_level_directive_line() -> None:
    source = "x = 1  # runguard-lint: noqa: RG106\n"
    result = add_noqa_to_text(source, [_diagnostic("RG101", 1)])
    assert result.text == source
    assert "file-level" in result.skipped[0].reason


def test_add_noqa_cannot_write_one_file_and_still_does_the_others(project: Path) -> None:
    readonly_dir = project / "ro"
    target = write(project, "ro/leak.py", LEAK_FILE)
    write(project, "ok/leak.py", LEAK_FILE)
    readonly_dir.chmod(0o555)
    try:
        # Root (as in many CI containers) writes into read-only directories anyway.
        blocked = not os.access(readonly_dir, os.W_OK)
        result = run_cli("--no-cache", "--add-noqa", ".", cwd=project)
    finally:
        readonly_dir.chmod(0o755)
    assert "# noqa: RG106" in (project / "ok" / "leak.py").read_text(encoding="utf-8")
    if blocked:
        assert result.returncode == 1
        assert "ro/leak.py" in result.stderr and "cannot write" in result.stderr
        assert target.read_text(encoding="utf-8") == LEAK_FILE
    else:
        assert result.returncode == 0, result.stderr
        assert "# noqa: RG106" in target.read_text(encoding="utf-8")
