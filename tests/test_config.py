"""Configuration and suppression, through the real CLI.

Finding the config (nearest pyproject.toml with our table, runguard-lint.toml,
--config), rejecting bad config with exit 2 and a message naming the file and
key, per-file-ignores, `# noqa` and file-level directives.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from runguard_lint.catalog import build_catalog
from runguard_lint.config import ConfigError, find_config, resolve_selection
from runguard_lint.suppression import (
    _FILE_DIRECTIVE_HINT,
    _FILE_NOQA,
    Suppressions,
    may_have_file_directive,
    noqa_directives,
)
from tests.conftest import run_cli, run_json

LEAK_HTTP = (
    "import httpx\n"
    "\n"
    "\n"
    "async def fetch():\n"
    "    client = httpx.AsyncClient()\n"
    '    return await client.get("/")\n'
)
LEAK_FILE = "def read(path):\n    handle = open(path)\n    return handle.read()\n"
BOTH = LEAK_HTTP + "\n\n" + LEAK_FILE  # RG101 on line 5, RG106 on line 10


def write(root: Path, relative: str, text: str) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def codes(findings: list[dict[str, Any]]) -> list[str]:
    return sorted(f["code"] for f in findings)


@pytest.fixture
def project(tmp_path: Path) -> Path:
    assert find_config(tmp_path) is None, "a config above the temp dir would skew the tests"
    return tmp_path


def config_error(project: Path, body: str, name: str = "pyproject.toml") -> str:
    """Write a config, run, expect exit 2, and return stderr."""
    write(project, name, body)
    write(project, "m.py", BOTH)
    result = run_cli("--no-cache", "m.py", cwd=project)
    assert result.returncode == 2, (result.stdout, result.stderr)
    assert "Traceback" not in result.stderr
    assert result.stdout == ""
    return result.stderr


# --- finding the config ---------------------------------------------------------------------


def test_nearest_pyproject_is_found_from_a_subdirectory(project: Path) -> None:
    write(
        project,
        "pyproject.toml",
        '[project]\nname = "x"\n\n[tool.runguard-lint]\nignore = ["RG106"]\n',
    )
    write(project, "src/pkg/m.py", BOTH)
    status, findings = run_json(".", cwd=project / "src" / "pkg")
    assert (status, codes(findings)) == (1, ["RG101"])
    # From outside the project, the target leads to the config.
    _, findings = run_json(str(project / "src"), cwd=project.parent)
    assert codes(findings) == ["RG101"]


def test_pyproject_without_our_table_is_passed_over(project: Path) -> None:
    write(project, "pyproject.toml", '[tool.runguard-lint]\nignore = ["RG106"]\n')
    write(project, "sub/pyproject.toml", '[project]\nname = "sub"\n')
    write(project, "sub/m.py", BOTH)
    _, findings = run_json(".", cwd=project / "sub")
    assert codes(findings) == ["RG101"]


def test_nearer_config_wins(project: Path) -> None:
    write(project, "pyproject.toml", '[tool.runguard-lint]\nignore = ["RG106"]\n')
    write(project, "sub/pyproject.toml", '[tool.runguard-lint]\nignore = ["RG101"]\n')
    write(project, "sub/m.py", BOTH)
    _, findings = run_json("sub", cwd=project)
    assert codes(findings) == ["RG106"]


def test_runguard_lint_toml_with_top_level_keys(project: Path) -> None:
    write(project, "runguard-lint.toml", 'select = ["RG106"]\n')
    write(project, "m.py", BOTH)
    _, findings = run_json("m.py", cwd=project)
    assert codes(findings) == ["RG106"]


def test_runguard_lint_toml_beats_pyproject_in_the_same_directory(project: Path) -> None:
    write(project, "runguard-lint.toml", 'select = ["RG106"]\n')
    write(project, "pyproject.toml", '[tool.runguard-lint]\nselect = ["RG101"]\n')
    write(project, "m.py", BOTH)
    _, findings = run_json("m.py", cwd=project)
    assert codes(findings) == ["RG106"]


def test_config_option_names_the_file(project: Path) -> None:
    write(project, "pyproject.toml", '[tool.runguard-lint]\nignore = ["RG106"]\n')
    write(project, "elsewhere/strict.toml", 'select = ["RG106"]\n')
    write(project, "m.py", BOTH)
    _, findings = run_json("--config", "elsewhere/strict.toml", "m.py", cwd=project)
    assert codes(findings) == ["RG106"]
    write(project, "elsewhere/pyproject.toml", '[tool.runguard-lint]\nselect = ["RG101"]\n')
    _, findings = run_json("--config", "elsewhere/pyproject.toml", "m.py", cwd=project)
    assert codes(findings) == ["RG101"]


def test_config_option_with_a_missing_file_exits_2(project: Path) -> None:
    write(project, "m.py", BOTH)
    result = run_cli("--no-cache", "--config", "nope.toml", "m.py", cwd=project)
    assert result.returncode == 2
    assert "nope.toml" in result.stderr


def test_command_line_select_replaces_config_select(project: Path) -> None:
    write(project, "pyproject.toml", '[tool.runguard-lint]\nselect = ["RG106"]\n')
    write(project, "m.py", BOTH)
    _, findings = run_json("--select", "RG101", "m.py", cwd=project)
    assert codes(findings) == ["RG101"]
    _, findings = run_json("--extend-select", "RG101", "m.py", cwd=project)
    assert codes(findings) == ["RG101", "RG106"]


def test_command_line_ignore_adds_to_config_ignore(project: Path) -> None:
    write(project, "pyproject.toml", '[tool.runguard-lint]\nignore = ["RG106"]\n')
    write(project, "m.py", BOTH)
    status, findings = run_json("--ignore", "RG101", "m.py", cwd=project)
    assert (status, findings) == (0, [])


def test_config_extend_select_and_preview(project: Path) -> None:
    per_call = (
        "import httpx\n\n\nasync def fetch():\n"
        "    async with httpx.AsyncClient() as client:\n"
        '        return await client.get("/")\n'
    )
    write(project, "m.py", per_call)
    write(project, "pyproject.toml", '[tool.runguard-lint]\nextend-select = ["RG402"]\n')
    _, findings = run_json("m.py", cwd=project)
    assert codes(findings) == ["RG402"]
    write(project, "pyproject.toml", "[tool.runguard-lint]\npreview = true\n")
    _, findings = run_json("m.py", cwd=project)
    assert codes(findings) == ["RG402"]


# --- bad config --------------------------------------------------------------------------------


def test_unknown_key_names_file_key_and_suggestion(project: Path) -> None:
    stderr = config_error(project, '[tool.runguard-lint]\nselct = ["RG101"]\n')
    assert str(project / "pyproject.toml") in stderr
    assert "`selct`" in stderr
    assert "did you mean `select`" in stderr


def test_unknown_key_in_runguard_lint_toml(project: Path) -> None:
    stderr = config_error(project, "extend-exclud = []\n", name="runguard-lint.toml")
    assert "runguard-lint.toml" in stderr and "`extend-exclud`" in stderr
    assert "did you mean `extend-exclude`" in stderr


def test_unknown_key_far_from_any_known_one_has_no_suggestion(project: Path) -> None:
    stderr = config_error(project, "[tool.runguard-lint]\nzzz = 1\n")
    assert "`zzz`" in stderr and "did you mean" not in stderr


@pytest.mark.parametrize(
    ("body", "key"),
    [
        ('select = "RG101"', "select"),
        ("ignore = [101]", "ignore"),
        ('jobs = "4"', "jobs"),
        ("jobs = -1", "jobs"),
        ("cache-maxsize = 0", "cache-maxsize"),
        ('respect-gitignore = "yes"', "respect-gitignore"),
        ('per-file-ignores = ["a.py"]', "per-file-ignores"),
        ('per-file-ignores = { "a.py" = "RG101" }', "per-file-ignores"),
        ('fix-style = "wrap"', "fix-style"),
        ('scope-class = "my.Scope"', "scope-class"),
        ("cache-dir = 3", "cache-dir"),
        ("extend-exclude = true", "extend-exclude"),
    ],
)
def test_wrong_type_names_the_key(project: Path, body: str, key: str) -> None:
    stderr = config_error(project, f"[tool.runguard-lint]\n{body}\n")
    assert f"`{key}`" in stderr
    assert "pyproject.toml" in stderr


@pytest.mark.parametrize(
    "body",
    [
        'select = ["RG999"]',
        'extend-select = ["XY1"]',
        'ignore = ["RG7"]',
        'per-file-ignores = { "tests/*.py" = ["RG99"] }',
    ],
)
def test_unknown_rule_code_exits_2(project: Path, body: str) -> None:
    stderr = config_error(project, f"[tool.runguard-lint]\n{body}\n")
    code = body.split('"')[-2]
    assert f"`{code}`" in stderr
    assert "pyproject.toml" in stderr


@pytest.mark.parametrize(
    "body",
    [
        '[tool.runguard_lint]\nignore = ["RG106"]\n',
        '[tool.runguard-lint]\nselect = ["RG"]\n\n[tool.runguard_lint]\nignore = ["RG106"]\n',
    ],
)
def test_underscore_table_is_an_error_naming_the_right_spelling(project: Path, body: str) -> None:
    stderr = config_error(project, body)
    assert str(project / "pyproject.toml") in stderr
    assert "[tool.runguard_lint]" in stderr and "[tool.runguard-lint]" in stderr


def test_underscore_table_in_an_explicit_config_is_an_error(project: Path) -> None:
    write(project, "conf/pyproject.toml", '[tool.runguard_lint]\nignore = ["RG106"]\n')
    write(project, "m.py", BOTH)
    result = run_cli("--no-cache", "--config", "conf/pyproject.toml", "m.py", cwd=project)
    assert result.returncode == 2
    assert "[tool.runguard-lint]" in result.stderr and "pyproject.toml" in result.stderr


def test_bad_toml_exits_2_naming_the_file(project: Path) -> None:
    stderr = config_error(project, '[tool.runguard-lint]\nselect = ["RG101"\n')
    assert "pyproject.toml" in stderr and "invalid TOML" in stderr


def test_table_that_is_not_a_table(project: Path) -> None:
    stderr = config_error(project, '[tool]\nrunguard-lint = "on"\n')
    assert "pyproject.toml" in stderr and "must be a table" in stderr


def test_dotted_keys_under_tool_are_our_config(project: Path) -> None:
    write(project, "pyproject.toml", '[tool]\nrunguard-lint.ignore = ["RG106"]\n')
    write(project, "m.py", BOTH)
    _, findings = run_json("m.py", cwd=project)
    assert codes(findings) == ["RG101"]


def test_broken_pyproject_of_another_tool_is_not_ours(project: Path) -> None:
    write(project, "pyproject.toml", "[tool.black]\nline-length = \n")
    write(project, "m.py", BOTH)
    _, findings = run_json("m.py", cwd=project)
    assert codes(findings) == ["RG101", "RG106"]


def test_bad_resources_entry_names_the_key(project: Path) -> None:
    body = (
        '[tool.runguard-lint]\n[[tool.runguard-lint.resources]]\nrule = "RG101"\n'
        'callable = "mylib.Client"\nrelease = ["close"]\nrelese_awaited = true\n'
    )
    stderr = config_error(project, body)
    assert "`relese_awaited`" in stderr and "resources entry 1" in stderr


def test_resources_extend_the_catalog(project: Path) -> None:
    write(
        project,
        "pyproject.toml",
        '[tool.runguard-lint]\n[[tool.runguard-lint.resources]]\nrule = "RG101"\n'
        'callable = "mylib.Client"\nrelease = ["close"]\ncontext_manager = "sync"\n',
    )
    write(
        project,
        "m.py",
        "import mylib\n\n\ndef call():\n    c = mylib.Client()\n"
        "    return c.get()\n\n\ndef fine():\n    with mylib.Client() as c:\n"
        "        return c.get()\n",
    )
    _, findings = run_json("m.py", cwd=project)
    assert [(f["location"]["row"], f["code"]) for f in findings] == [(5, "RG101")]
    assert "mylib.Client" in findings[0]["message"]


def test_ownership_sinks_from_config(project: Path) -> None:
    source = (
        "import httpx\nimport registry\n\n\nasync def start():\n"
        "    client = httpx.AsyncClient()\n    registry.adopt(client)\n"
    )
    write(project, "m.py", source)
    _, findings = run_json("m.py", cwd=project)
    assert codes(findings) == ["RG101"]
    write(project, "pyproject.toml", '[tool.runguard-lint]\nownership-sinks = ["registry.adopt"]\n')
    status, findings = run_json("m.py", cwd=project)
    assert (status, findings) == (0, [])


# --- per-file-ignores ---------------------------------------------------------------------------


def test_per_file_ignores(project: Path) -> None:
    write(
        project,
        "pyproject.toml",
        '[tool.runguard-lint.per-file-ignores]\n"tests/*.py" = ["RG101"]\n'
        '"scripts/*" = ["RG1"]\n"conftest.py" = ["RG106"]\n',
    )
    for name in ("tests/test_a.py", "scripts/tool.py", "src/app.py", "src/conftest.py"):
        write(project, name, BOTH)
    _, findings = run_json(".", cwd=project)
    by_file: dict[str, list[str]] = {}
    for finding in findings:
        by_file.setdefault(finding["filename"], []).append(finding["code"])
    assert by_file == {
        "tests/test_a.py": ["RG106"],
        "src/app.py": ["RG101", "RG106"],
        "src/conftest.py": ["RG101"],  # a bare file name matches in any directory
    }


def test_per_file_ignores_are_relative_to_the_config_not_the_cwd(project: Path) -> None:
    write(
        project,
        "pyproject.toml",
        '[tool.runguard-lint.per-file-ignores]\n"tests/*.py" = ["RG101"]\n',
    )
    write(project, "tests/test_a.py", BOTH)
    _, findings = run_json("test_a.py", cwd=project / "tests")
    assert codes(findings) == ["RG106"]


# --- suppression comments -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("comment", "silenced"),
    [
        ("# noqa", True),
        ("# NOQA", True),
        ("# noqa: RG101", True),
        ("# noqa:RG101", True),
        ("# noqa: rg101", True),
        ("# noqa: E501, RG101", True),
        ("# noqa: E501 RG101", True),
        ("# some reason  # noqa: RG101", True),
        ("# noqa: RG999", False),
        ("# noqa: RG106", False),
        ("# noqa: RG10", False),
        ("# not a noqa: RG101", False),
    ],
)
def test_noqa_comment(project: Path, comment: str, silenced: bool) -> None:
    write(
        project, "m.py", LEAK_HTTP.replace("httpx.AsyncClient()", f"httpx.AsyncClient()  {comment}")
    )
    _, findings = run_json("m.py", cwd=project)
    assert codes(findings) == ([] if silenced else ["RG101"])


def test_noqa_applies_only_to_its_line(project: Path) -> None:
    write(project, "m.py", LEAK_HTTP.replace("import httpx", "import httpx  # noqa"))
    _, findings = run_json("m.py", cwd=project)
    assert codes(findings) == ["RG101"]


def test_noqa_inside_a_string_does_not_count(project: Path) -> None:
    write(
        project,
        "m.py",
        LEAK_HTTP.replace("httpx.AsyncClient()", 'httpx.AsyncClient(); note = "# noqa"'),
    )
    _, findings = run_json("m.py", cwd=project)
    assert codes(findings) == ["RG101"]


def test_noqa_on_the_last_line_of_a_multiline_finding(project: Path) -> None:
    source = LEAK_HTTP.replace(
        "httpx.AsyncClient()", "httpx.AsyncClient(\n        timeout=3,\n    )  # noqa: RG101"
    )
    write(project, "m.py", source)
    status, findings = run_json("m.py", cwd=project)
    assert (status, findings) == (0, [])


def test_file_level_noqa_silences_everything(project: Path) -> None:
    write(project, "m.py", "# runguard-lint: noqa\n" + BOTH)
    status, findings = run_json("m.py", cwd=project)
    assert (status, findings) == (0, [])


def test_file_level_noqa_anywhere_in_the_file(project: Path) -> None:
    write(project, "m.py", BOTH + "\n# runguard-lint: noqa\n")
    status, findings = run_json("m.py", cwd=project)
    assert (status, findings) == (0, [])


def test_file_level_noqa_with_codes_silences_only_those(project: Path) -> None:
    write(project, "m.py", "# runguard-lint: noqa: RG106\n" + BOTH)
    _, findings = run_json("m.py", cwd=project)
    assert codes(findings) == ["RG101"]
    write(project, "m.py", "# runguard-lint: noqa: RG106, RG101\n" + BOTH)
    status, findings = run_json("m.py", cwd=project)
    assert (status, findings) == (0, [])


def test_file_level_directive_inside_a_string_does_not_count(project: Path) -> None:
    write(project, "m.py", 'DOC = "# runguard-lint: noqa"\n' + BOTH)
    _, findings = run_json("m.py", cwd=project)
    assert codes(findings) == ["RG101", "RG106"]


# --- selection rules, directly ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("select", "extend", "ignore", "preview", "expected_preview"),
    [
        (("RG",), (), (), False, set()),
        (("RG2",), (), (), False, set()),
        (("ALL",), (), (), False, set()),
        (("RG202",), (), (), False, {"RG202"}),
        (("RG",), ("RG202", "RG402"), (), False, {"RG202", "RG402"}),
        (("RG",), (), (), True, {"RG202", "RG402"}),
        (("RG2",), (), (), True, {"RG202"}),
        (("RG",), (), ("RG202",), True, {"RG402"}),
    ],
)
def test_preview_rules_resolution(
    select: tuple[str, ...],
    extend: tuple[str, ...],
    ignore: tuple[str, ...],
    preview: bool,
    expected_preview: set[str],
) -> None:
    catalog = build_catalog()
    enabled = resolve_selection(catalog, select, extend, ignore, preview)
    assert enabled & {"RG202", "RG402"} == expected_preview
    assert "RG900" in enabled


def test_rg900_stays_on_unless_ignored_by_exact_code() -> None:
    catalog = build_catalog()
    assert "RG900" in resolve_selection(catalog, ("RG101",), (), ("RG9",), False)
    assert "RG900" not in resolve_selection(catalog, ("RG",), (), ("RG900",), False)


def test_unknown_selector_is_a_config_error() -> None:
    with pytest.raises(ConfigError, match="RG5"):
        resolve_selection(build_catalog(), ("RG5",), (), (), False)


def test_json_is_valid_when_config_is_fine(project: Path) -> None:
    write(project, "pyproject.toml", '[tool.runguard-lint]\nselect = ["RG1"]\n')
    write(project, "m.py", BOTH)
    result = run_cli("--no-cache", "--output-format", "json", "m.py", cwd=project)
    assert codes(json.loads(result.stdout)) == ["RG101", "RG106"]


@pytest.mark.parametrize(
    "text",
    [
        "# runguard-lint: noqa\n",
        "# RUNGUARD-LINT : noqa\n",
        "# Runguard-L\u0131nt: noqa\n",  # the pattern takes the dotless i for an i
        "# runguard-lint noqa\n",
        "# runguard_lint: noqa\n",
        "x = 1  # noqa\n",
        "",
    ],
)
def test_the_file_directive_hint_answers_as_its_pattern(text: str) -> None:
    """The substring test before the pattern never rules out what the pattern finds."""
    assert may_have_file_directive(text) == bool(_FILE_DIRECTIVE_HINT.search(text))
    assert may_have_file_directive(text) or not _FILE_NOQA.search(text)


@pytest.mark.parametrize("comment", ["# noqa: RG101", "# NOQA: RG101", "# NoQa: rg101"])
def test_a_noqa_comment_counts_in_any_case(comment: str) -> None:
    text = f"client = make()  {comment}\n"
    assert Suppressions.parse(text).lines == {1: frozenset({"RG101"})}
    assert [d.codes for d in noqa_directives(text)] == [("RG101",)]
