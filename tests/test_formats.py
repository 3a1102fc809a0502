"""The CI formats (github, sarif, gitlab, junit) and `--output-file`, through the real CLI."""

from __future__ import annotations

import json
import re
import xml.etree.ElementTree as ET
from dataclasses import replace
from pathlib import Path
from typing import Any

import jsonschema
import pytest

from runguard_lint import __version__
from runguard_lint.catalog import build_catalog
from runguard_lint.diagnostics import Applicability, Diagnostic, Edit, Fix, Location
from runguard_lint.output import ReportContext, rule_url
from runguard_lint.output import full as full_format
from runguard_lint.output import github as github_format
from runguard_lint.output import junit as junit_format
from runguard_lint.output import sarif as sarif_format
from tests.conftest import run_cli

SCHEMA_PATH = Path(__file__).parent / "data" / "sarif-schema-2.1.0.json"

LEAK = """\
import httpx


async def fetch(url):
    client = httpx.AsyncClient()
    response = await client.get(url)
    return response.text


def read(path):
    return open(path).read()
"""

# The same finding twice: identical code, message and line text.
TWICE = """\
def load(path):
    return open(path).read()


def load(path):
    return open(path).read()
"""

BROKEN = "def broken(path=open(:\n    pass\n"

EXPECTED = [
    ("RG900", "broken.py", 1),
    ("RG101", "leak.py", 5),
    ("RG106", "leak.py", 11),
]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    (tmp_path / "leak.py").write_text(LEAK, encoding="utf-8")
    (tmp_path / "broken.py").write_text(BROKEN, encoding="utf-8")
    return tmp_path


def run_format(fmt: str, cwd: Path, *args: str, env: dict[str, str] | None = None) -> str:
    result = run_cli("--output-format", fmt, "--no-cache", *args, cwd=cwd, env=env)
    assert result.returncode in (0, 1), result.stderr
    return result.stdout


def json_findings(cwd: Path, *args: str) -> list[dict[str, Any]]:
    findings: list[dict[str, Any]] = json.loads(run_format("json", cwd, *args))
    return findings


# --- github ----------------------------------------------------------------

COMMAND = re.compile(r"^::(?P<level>error|warning|notice) (?P<props>[^:]*)::(?P<message>.*)$")


def unescape(text: str) -> str:
    for escaped, raw in (("%0D", "\r"), ("%0A", "\n"), ("%3A", ":"), ("%2C", ","), ("%25", "%")):
        text = text.replace(escaped, raw)
    return text


def parse_github(output: str) -> list[dict[str, str]]:
    commands = []
    for line in output.splitlines():
        match = COMMAND.match(line)
        assert match, f"not a workflow command: {line!r}"
        props = dict(item.split("=", 1) for item in match["props"].split(","))
        parsed = {key: unescape(value) for key, value in props.items()}
        parsed["level"] = match["level"]
        parsed["message"] = unescape(match["message"])
        commands.append(parsed)
    return commands


def test_github_annotations(project: Path) -> None:
    findings = json_findings(project)
    commands = parse_github(run_format("github", project))
    assert len(commands) == len(findings) == len(EXPECTED)
    for command, finding, (code, filename, row) in zip(commands, findings, EXPECTED):
        assert command["level"] == "error"
        assert command["file"] == filename == finding["filename"]
        assert command["line"] == str(row) == str(finding["location"]["row"])
        assert command["col"] == str(finding["location"]["column"])
        assert command["endLine"] == str(finding["end_location"]["row"])
        assert command["endColumn"] == str(finding["end_location"]["column"])
        assert command["title"] == f"runguard-lint ({code})"
        assert command["message"] == f"{code} {finding['message']}"


def test_github_escapes_properties_and_message(tmp_path: Path) -> None:
    (tmp_path / "odd, name:1.py").write_text(LEAK, encoding="utf-8")
    output = run_format("github", tmp_path)
    assert "file=odd%2C name%3A1.py," in output
    assert [c["file"] for c in parse_github(output)] == ["odd, name:1.py"] * 2

    diagnostic = Diagnostic(
        "RG106", "100% bad,\r\nreally: yes", "a,b:c%.py", Location(1, 1), Location(1, 5)
    )
    line = github_format.render([diagnostic], _context()).rstrip("\n")
    assert "\n" not in line
    assert line == (
        "::error file=a%2Cb%3Ac%25.py,line=1,col=1,endLine=1,endColumn=5,"
        "title=runguard-lint (RG106)::RG106 100%25 bad,%0D%0Areally: yes"
    )
    [parsed] = parse_github(line)
    assert parsed["file"] == "a,b:c%.py"
    assert parsed["message"] == "RG106 100% bad,\r\nreally: yes"


def test_github_preview_rules_are_warnings(tmp_path: Path) -> None:
    diagnostic = Diagnostic("RG402", "per call", "x.py", Location(2, 3), Location(2, 9))
    assert github_format.render([diagnostic], _context()).startswith("::warning file=x.py,")


def test_github_no_findings_prints_nothing(tmp_path: Path) -> None:
    (tmp_path / "clean.py").write_text("x = 1\n", encoding="utf-8")
    assert run_format("github", tmp_path) == ""


# --- sarif -----------------------------------------------------------------


def validate_sarif(log: dict[str, Any]) -> None:
    schema = json.loads(SCHEMA_PATH.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator = validator_class(schema, format_checker=validator_class.FORMAT_CHECKER)
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.absolute_path))
    assert not errors, "\n".join(f"{list(e.absolute_path)}: {e.message}" for e in errors)


def test_sarif_validates_and_points_at_the_findings(project: Path) -> None:
    findings = json_findings(project)
    log = json.loads(run_format("sarif", project))
    validate_sarif(log)

    assert log["version"] == "2.1.0"
    assert log["$schema"].endswith("sarif-schema-2.1.0.json")
    [run] = log["runs"]
    driver = run["tool"]["driver"]
    assert driver["name"] == "runguard-lint"
    assert driver["version"] == __version__
    assert driver["informationUri"].startswith("https://")
    rules = driver["rules"]
    ids = [rule["id"] for rule in rules]
    assert ids == sorted(ids)
    assert {"RG101", "RG106", "RG900", "RG402"} <= set(ids)
    for rule in rules:
        assert rule["name"] and rule["shortDescription"]["text"]
        assert rule["fullDescription"]["text"]
        assert rule["helpUri"] == rule_url(rule["id"])
        assert rule["defaultConfiguration"]["level"] in ("error", "warning")
    by_id = {rule["id"]: rule for rule in rules}
    assert by_id["RG101"]["name"] == "http-client-not-closed"
    assert by_id["RG101"]["defaultConfiguration"]["level"] == "error"
    assert by_id["RG402"]["defaultConfiguration"]["level"] == "warning"

    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == project.resolve().as_uri() + "/"
    results = run["results"]
    assert [
        (
            r["ruleId"],
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"],
            r["locations"][0]["physicalLocation"]["region"]["startLine"],
        )
        for r in results
    ] == EXPECTED
    for result, finding in zip(results, findings):
        assert rules[result["ruleIndex"]]["id"] == result["ruleId"]
        assert result["level"] == "error"
        assert result["message"]["text"] == finding["message"]
        physical = result["locations"][0]["physicalLocation"]
        assert physical["artifactLocation"]["uriBaseId"] == "%SRCROOT%"
        assert physical["region"] == {
            "startLine": finding["location"]["row"],
            "startColumn": finding["location"]["column"],
            "endLine": finding["end_location"]["row"],
            "endColumn": finding["end_location"]["column"],
        }
        # Whatever fix the CLI offers, SARIF carries the same edits.
        if finding["fix"] is None:
            assert "fixes" not in result
        else:
            [fix] = result["fixes"]
            assert fix["description"]["text"] == finding["fix"]["message"]
            replacements = fix["artifactChanges"][0]["replacements"]
            assert len(replacements) == len(finding["fix"]["edits"])


def test_sarif_uris_are_relative_to_the_project_root(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.runguard-lint]\n", encoding="utf-8")
    package = tmp_path / "my pkg"
    package.mkdir()
    (package / "leak.py").write_text(LEAK, encoding="utf-8")
    log = json.loads(run_format("sarif", package))
    validate_sarif(log)
    [run] = log["runs"]
    assert run["originalUriBaseIds"]["%SRCROOT%"]["uri"] == tmp_path.resolve().as_uri() + "/"
    locations = {
        json.dumps(r["locations"][0]["physicalLocation"]["artifactLocation"], sort_keys=True)
        for r in run["results"]
    }
    assert locations == {
        json.dumps({"uri": "my%20pkg/leak.py", "uriBaseId": "%SRCROOT%"}, sort_keys=True)
    }


def test_sarif_fixes_are_valid(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.chdir(tmp_path)
    fix = Fix(
        Applicability.SAFE,
        "Use `with`",
        (
            Edit(
                "    with open(path) as f:\n        return f.read()\n",
                Location(11, 1),
                Location(12, 1),
            ),
        ),
    )
    diagnostic = Diagnostic(
        "RG106", "`open` never closed", "leak.py", Location(11, 12), Location(11, 22), fix
    )
    log = sarif_format.as_dict([diagnostic], _context(tmp_path))
    validate_sarif(log)
    [result] = log["runs"][0]["results"]
    [sarif_fix] = result["fixes"]
    assert sarif_fix["description"]["text"] == "Use `with`"
    [change] = sarif_fix["artifactChanges"]
    assert change["artifactLocation"] == {"uri": "leak.py", "uriBaseId": "%SRCROOT%"}
    assert change["replacements"] == [
        {
            "deletedRegion": {"startLine": 11, "startColumn": 1, "endLine": 12, "endColumn": 1},
            "insertedContent": {"text": "    with open(path) as f:\n        return f.read()\n"},
        }
    ]


def test_sarif_file_outside_the_project_root_gets_an_absolute_uri(tmp_path: Path) -> None:
    outside = tmp_path / "elsewhere" / "x.py"
    diagnostic = Diagnostic("RG106", "never closed", str(outside), Location(1, 1), Location(1, 2))
    log = sarif_format.as_dict([diagnostic], _context(tmp_path / "project"))
    validate_sarif(log)
    location = log["runs"][0]["results"][0]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"] == {"uri": outside.resolve().as_uri()}


def test_sarif_no_findings_is_valid(tmp_path: Path) -> None:
    (tmp_path / "clean.py").write_text("x = 1\n", encoding="utf-8")
    log = json.loads(run_format("sarif", tmp_path))
    validate_sarif(log)
    assert log["runs"][0]["results"] == []


def test_sarif_is_deterministic(project: Path) -> None:
    assert run_format("sarif", project) == run_format("sarif", project, "--jobs", "2")


# --- gitlab ----------------------------------------------------------------


def test_gitlab_report(project: Path) -> None:
    (project / "twice.py").write_text(TWICE, encoding="utf-8")
    issues = json.loads(run_format("gitlab", project))
    assert isinstance(issues, list)
    assert [
        (i["check_name"], i["location"]["path"], i["location"]["lines"]["begin"]) for i in issues
    ] == [*EXPECTED, ("RG106", "twice.py", 2), ("RG106", "twice.py", 6)]
    for issue in issues:
        assert set(issue) >= {"description", "check_name", "fingerprint", "severity", "location"}
        assert issue["severity"] == "major"
        assert issue["check_name"] in issue["description"]
        assert issue["location"]["lines"]["end"] >= issue["location"]["lines"]["begin"]
        assert re.fullmatch(r"[0-9a-f]{32}", issue["fingerprint"])
    fingerprints = [issue["fingerprint"] for issue in issues]
    assert len(set(fingerprints)) == len(fingerprints)


def test_gitlab_fingerprints_survive_shifted_lines(project: Path) -> None:
    (project / "twice.py").write_text(TWICE, encoding="utf-8")
    before = json.loads(run_format("gitlab", project))
    for name in ("leak.py", "broken.py", "twice.py"):
        path = project / name
        path.write_text("\n\n\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    after = json.loads(run_format("gitlab", project))
    assert [i["location"]["lines"]["begin"] for i in after] == [
        i["location"]["lines"]["begin"] + 3 for i in before
    ]
    assert [i["fingerprint"] for i in after] == [i["fingerprint"] for i in before]


def test_gitlab_fingerprint_changes_with_the_finding(project: Path) -> None:
    before = {i["check_name"]: i["fingerprint"] for i in json.loads(run_format("gitlab", project))}
    leak = project / "leak.py"
    leak.write_text(
        leak.read_text(encoding="utf-8").replace("open(path)", "open(path, 'rb')"), encoding="utf-8"
    )
    after = {i["check_name"]: i["fingerprint"] for i in json.loads(run_format("gitlab", project))}
    assert after["RG101"] == before["RG101"]
    assert after["RG900"] == before["RG900"]
    assert after["RG106"] != before["RG106"]


def test_gitlab_paths_relative_to_ci_project_dir(project: Path) -> None:
    sub = project / "sub"
    sub.mkdir()
    (sub / "leak.py").write_text(LEAK, encoding="utf-8")
    issues = json.loads(run_format("gitlab", sub, env={"CI_PROJECT_DIR": str(project)}))
    assert {i["location"]["path"] for i in issues} == {"sub/leak.py"}


def test_gitlab_no_findings(tmp_path: Path) -> None:
    (tmp_path / "clean.py").write_text("x = 1\n", encoding="utf-8")
    assert json.loads(run_format("gitlab", tmp_path)) == []


# --- junit -----------------------------------------------------------------


def test_junit_report(project: Path) -> None:
    findings = json_findings(project)
    output = run_format("junit", project)
    assert output.startswith('<?xml version="1.0" encoding="UTF-8"?>')
    root = ET.fromstring(output)
    assert root.tag == "testsuites"
    assert root.get("name") == "runguard-lint"
    assert root.get("failures") == str(len(EXPECTED))
    suites = root.findall("testsuite")
    assert [s.get("name") for s in suites] == ["broken.py", "leak.py"]
    assert [s.get("failures") for s in suites] == ["1", "2"]
    cases = root.findall("testsuite/testcase")
    assert len(cases) == len(findings)
    for case, finding, (code, filename, row) in zip(cases, findings, EXPECTED):
        assert case.get("classname") == filename
        assert case.get("file") == filename
        assert case.get("line") == str(row)
        assert case.get("name") == f"runguard-lint.{code}"
        failure = case.find("failure")
        assert failure is not None
        assert failure.get("type") == code
        assert failure.get("message") == finding["message"]
        assert failure.text is not None
        assert failure.text.startswith(f"{filename}:{row}:{finding['location']['column']}: {code}")


def test_junit_escapes_markup_and_control_characters() -> None:
    message = 'bad <tag> & "quote"\x00\x1b \ud800 end'
    diagnostic = Diagnostic("RG106", message, "a<b>&.py", Location(1, 1), Location(1, 2))
    output = junit_format.render([diagnostic], _context())
    root = ET.fromstring(output.encode("utf-8"))
    failure = root.find("testsuite/testcase/failure")
    assert failure is not None
    assert failure.get("message") == 'bad <tag> & "quote"\ufffd\ufffd \ufffd end'
    assert root.find("testsuite").get("name") == "a<b>&.py"  # type: ignore[union-attr]


def test_junit_no_findings_has_one_passing_case(tmp_path: Path) -> None:
    (tmp_path / "clean.py").write_text("x = 1\n", encoding="utf-8")
    root = ET.fromstring(run_format("junit", tmp_path))
    assert root.get("failures") == "0"
    cases = root.findall("testsuite/testcase")
    assert len(cases) == 1
    assert cases[0].find("failure") is None


# --- --output-file ---------------------------------------------------------


@pytest.mark.parametrize("fmt", ["github", "sarif", "gitlab", "junit", "json"])
def test_output_file(project: Path, fmt: str) -> None:
    expected = run_format(fmt, project)
    report = project / "reports" / f"report.{fmt}"
    report.parent.mkdir()
    # A real subprocess per format: the same report as the in-process run above.
    result = run_cli(
        "--output-format",
        fmt,
        "--no-cache",
        "--output-file",
        str(report),
        ".",
        cwd=project,
        process=True,
    )
    assert result.returncode == 1, result.stderr
    assert result.stdout == ""
    assert report.read_text(encoding="utf-8") == expected


def test_the_plain_full_report_is_the_coloured_one_without_its_styles() -> None:
    """Without colour the full report is built as text, without rich: it must say what
    rich prints with colour, less the styles (control characters dropped as rich drops
    them, wide characters under their carets, the display-only help, the summary)."""
    safe = Fix(Applicability.SAFE, "close it", (Edit("", Location(2, 1), Location(2, 1)),))
    shown = Fix(
        Applicability.DISPLAY_ONLY, "wait for it", (Edit("", Location(3, 1), Location(3, 1)),)
    )
    diagnostics = [
        Diagnostic(
            "RG101", "a client\x07 left open", "a.py", Location(2, 5), Location(2, 20), safe
        ),
        Diagnostic("RG106", "a process", "a.py", Location(3, 9), Location(4, 2), shown),
        Diagnostic("RG201", "a cache", "b.py", Location(1, 1), Location(1, 4)),
    ]
    sources = {
        "a.py": ["import httpx\n", "    c = httpx.Client()  # \u6f22\u5b57\r\n", "\tp = run()\n"],
        "b.py": ["C = {}\n"],
    }
    base = _context()

    def context(color: bool) -> ReportContext:
        return replace(base, color=color, source_lines=lambda name: sources.get(name, ()))

    plain = full_format.render(diagnostics, context(False))
    coloured = full_format.render(diagnostics, context(True))
    assert "\x1b[" in coloured and "\x1b[" not in plain
    assert plain == re.sub(r"\x1b\[[0-9;]*m", "", coloured)
    assert "\x07" not in plain and "help (display-only fix, never applied)" in plain
    assert plain.endswith("Found 3 findings in 2 files.\n[*] 1 fixable with `--fix`.\n")


# --- helpers ---------------------------------------------------------------


def _context(root: Path | None = None) -> ReportContext:
    return ReportContext(rules=build_catalog().rules, project_root=root or Path.cwd())
