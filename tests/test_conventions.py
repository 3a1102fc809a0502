"""Terminal and format conventions a Ruff user expects, through the real CLI: colour by
NO_COLOR / FORCE_COLOR, clickable `path:line:col` headers, carets under tabs and wide
characters, output that fits the terminal, statistics by count (also as JSON), Ruff's
`noqa_row`, and --show-settings, --show-files, --exclude, --extend-exclude, --isolated."""

from __future__ import annotations

import json
import re
import unicodedata
from pathlib import Path

import pytest
from rich.cells import cell_len

from runguard_lint.config import find_config
from tests.conftest import run_cli

HTTP = """\
import httpx


def fetch(url):
    client = httpx.Client()
    return client.get(url).text
"""

# A tab, then wide (East Asian) characters before the flagged call.
WIDE = 'import httpx\n\n\ndef f():\n\tname = "漢字かな"; client = httpx.Client()\n\treturn name\n'

FILES = """\
def read(path):
    handle = open(path)
    return handle.read()


def read_again(path):
    handle = open(path)
    return handle.read()
"""

ANSI = re.compile(r"\x1b\[[0-9;]*m")


@pytest.fixture
def project(tmp_path: Path) -> Path:
    assert find_config(tmp_path) is None, "a config above the temp dir would skew the tests"
    (tmp_path / "http.py").write_text(HTTP, encoding="utf-8")
    return tmp_path


# --- colour ----------------------------------------------------------------------------


def test_no_color_and_force_color(project: Path) -> None:
    # Real processes with standard output on a pipe, as in CI.
    plain = run_cli("--no-cache", ".", cwd=project, process=True)
    assert plain.returncode == 1 and not ANSI.search(plain.stdout)
    forced = run_cli("--no-cache", ".", cwd=project, env={"FORCE_COLOR": "1"}, process=True)
    assert forced.returncode == 1 and ANSI.search(forced.stdout)
    assert ANSI.sub("", forced.stdout) == plain.stdout
    both = run_cli(
        "--no-cache", ".", cwd=project, env={"FORCE_COLOR": "1", "NO_COLOR": "1"}, process=True
    )
    assert not ANSI.search(both.stdout), "NO_COLOR wins"
    # An empty value does not count (no-color.org).
    empty = run_cli("--no-cache", ".", cwd=project, env={"FORCE_COLOR": "1", "NO_COLOR": ""})
    assert ANSI.search(empty.stdout)
    # Never into a file or a machine format.
    as_json = run_cli(
        "--no-cache", "--output-format", "json", ".", cwd=project, env={"FORCE_COLOR": "1"}
    )
    assert not ANSI.search(as_json.stdout)


# --- the full report -------------------------------------------------------------------


def test_headers_are_path_line_column(project: Path) -> None:
    (project / "pkg").mkdir()
    (project / "pkg" / "more.py").write_text(HTTP, encoding="utf-8")
    result = run_cli("--no-cache", ".", cwd=project)
    headers = re.findall(r"^(\S+:\d+:\d+): (RG\d{3})", result.stdout, re.MULTILINE)
    assert headers == [("http.py:5:14", "RG101"), ("pkg/more.py:5:14", "RG101")]


def _cells(text: str) -> int:
    return sum(2 if unicodedata.east_asian_width(c) in "WF" else 1 for c in text)


def test_carets_sit_under_the_span_after_tabs_and_wide_characters(project: Path) -> None:
    (project / "http.py").write_text(WIDE, encoding="utf-8")
    result = run_cli("--no-cache", "http.py", cwd=project)
    lines = result.stdout.splitlines()
    [source_at] = [i for i, line in enumerate(lines) if "httpx.Client()" in line]
    source, carets = lines[source_at], lines[source_at + 1]
    assert "\t" not in source, "tabs are expanded"
    start = _cells(source[: source.index("httpx.Client()")])
    first = carets.index("^")
    assert _cells(carets[:first]) == start
    assert carets[first:] == "^" * len("httpx.Client()")


# --- width -----------------------------------------------------------------------------


@pytest.mark.parametrize("args", [("--list-rules",), ("--explain", "RG101")])
def test_list_rules_and_explain_fit_the_terminal(args: tuple[str, ...]) -> None:
    narrow = run_cli(*args, env={"COLUMNS": "60"})
    assert narrow.returncode == 0
    assert max(cell_len(line) for line in narrow.stdout.splitlines()) <= 60
    wide = run_cli(*args, env={"COLUMNS": "160"})
    assert max(cell_len(line) for line in wide.stdout.splitlines()) > 60
    if args == ("--list-rules",):
        assert "…" not in narrow.stdout, "codes and names are never cut short"
        for code in ("RG100", "RG101", "RG301", "RG900"):
            assert code in narrow.stdout


# --- statistics ------------------------------------------------------------------------


def test_statistics_by_count_as_text_and_json(project: Path) -> None:
    (project / "files.py").write_text(FILES, encoding="utf-8")
    text = run_cli("--no-cache", "--statistics", ".", cwd=project)
    assert [line.split("\t")[1] for line in text.stdout.splitlines()] == ["RG106", "RG101"]
    as_json = run_cli("--no-cache", "--statistics", "--output-format", "json", ".", cwd=project)
    assert as_json.returncode == 1
    assert json.loads(as_json.stdout) == [
        {
            "code": "RG106",
            "name": "file-resource-not-closed",
            "count": 2,
            "fixable": True,
            "fixable_count": 2,
        },
        {
            "code": "RG101",
            "name": "http-client-not-closed",
            "count": 1,
            # The singleton is the preferred (unsafe) fix; `with` is the safe alternative.
            "fixable": True,
            "fixable_count": 1,
        },
    ]


# --- noqa_row --------------------------------------------------------------------------


def test_json_noqa_row_is_where_a_noqa_silences_the_finding(project: Path) -> None:
    # The first line of this acquisition ends inside a string: the comment goes on its last.
    (project / "multi.py").write_text(
        'def read(path):\n    handle = open(path + """\n""")\n    return handle.read()\n',
        encoding="utf-8",
    )
    result = run_cli("--no-cache", "--output-format", "json", ".", cwd=project)
    rows = {(f["filename"], f["location"]["row"]): f["noqa_row"] for f in json.loads(result.stdout)}
    assert rows == {("http.py", 5): 5, ("multi.py", 2): 3}
    # And a noqa there does silence it.
    multi = project / "multi.py"
    lines = multi.read_text(encoding="utf-8").splitlines(keepends=True)
    lines[2] = lines[2].rstrip("\n") + "  # noqa: RG106\n"
    multi.write_text("".join(lines), encoding="utf-8")
    again = run_cli("--no-cache", "--output-format", "json", "multi.py", cwd=project)
    assert json.loads(again.stdout) == []


# --- settings, files, excludes, isolation -------------------------------------------------


def _with_config(project: Path) -> None:
    (project / "pyproject.toml").write_text(
        '[tool.runguard-lint]\nignore = ["RG101"]\nextend-exclude = ["generated"]\n',
        encoding="utf-8",
    )
    for name in ("generated/g.py", "venv/v.py", "src/s.py"):
        (project / name).parent.mkdir(exist_ok=True)
        (project / name).write_text(HTTP, encoding="utf-8")


def test_show_settings(project: Path) -> None:
    _with_config(project)
    result = run_cli("--show-settings", cwd=project)
    assert result.returncode == 0
    assert f"# config file: {project / 'pyproject.toml'}" in result.stdout
    assert 'ignore = ["RG101"]' in result.stdout
    assert 'extend-exclude = ["generated"]' in result.stdout
    enabled = re.search(r"^# enabled rules: (.*)$", result.stdout, re.MULTILINE)
    assert enabled and "RG101" not in enabled.group(1) and "RG106" in enabled.group(1)
    extended = run_cli("--show-settings", "--extend-select", "RG100", cwd=project)
    assert "RG100" in extended.stdout.split("# enabled rules: ")[1].splitlines()[0]
    isolated = run_cli("--show-settings", "--isolated", cwd=project)
    assert "# config file: none (defaults)" in isolated.stdout
    assert "ignore = []" in isolated.stdout


def test_show_files_exclude_extend_exclude_and_isolated(project: Path) -> None:
    _with_config(project)

    def shown(*args: str) -> list[str]:
        result = run_cli("--show-files", *args, cwd=project)
        assert result.returncode == 0, result.stderr
        return result.stdout.splitlines()

    assert shown() == ["http.py", "src/s.py"]
    # --exclude replaces the default excludes (venv/ comes back), the config's
    # extend-exclude still applies.
    assert shown("--exclude", "http.py") == ["src/s.py", "venv/v.py"]
    assert shown("--extend-exclude", "src,http.py") == []
    # --isolated: no config, so neither its ignore nor its extend-exclude.
    assert shown("--isolated") == ["generated/g.py", "http.py", "src/s.py"]
    isolated = run_cli("--no-cache", "--output-format", "json", "--isolated", ".", cwd=project)
    assert {f["code"] for f in json.loads(isolated.stdout)} == {"RG101"}
    configured = run_cli("--no-cache", "--output-format", "json", ".", cwd=project)
    assert json.loads(configured.stdout) == []
    both = run_cli("--isolated", "--config", "pyproject.toml", ".", cwd=project)
    assert both.returncode == 2 and "--isolated" in both.stderr
