"""The user documentation says what the code does: every config key is documented,
and the examples a user copies are run here."""

from __future__ import annotations

import json
import re
import subprocess
from pathlib import Path

import pytest

from runguard_lint.catalog import _RESOURCE_KEYS
from runguard_lint.config import _KEY_TYPES, load_settings
from tests.conftest import ROOT, run_cli

DOCS = ROOT / "docs"
FENCE = re.compile(r"^```(\w*)\n(.*?)^```", re.MULTILINE | re.DOTALL)


def _blocks(path: Path, language: str) -> list[str]:
    return [
        body for lang, body in FENCE.findall(path.read_text(encoding="utf-8")) if lang == language
    ]


def _block_named(path: Path, language: str, marker: str) -> str:
    """The code block whose first line is the comment `marker`, without that line."""
    for body in _blocks(path, language):
        first, _, rest = body.partition("\n")
        if first.strip() == marker:
            return rest
    raise AssertionError(f"{path.name}: no {language} block starting with {marker!r}")


def test_every_config_key_is_documented() -> None:
    text = (DOCS / "configuration.md").read_text(encoding="utf-8")
    headings = set(re.findall(r"^### `([a-z-]+)`$", text, re.MULTILINE))
    missing = set(_KEY_TYPES) - headings - {"resources"}
    assert not missing, f"document these keys in docs/configuration.md: {missing}"
    assert "### `[[tool.runguard-lint.resources]]`" in text
    rows = set(re.findall(r"^\| `([a-z_]+)` \|", text, re.MULTILINE))
    assert rows == _RESOURCE_KEYS, f"resource keys: {_RESOURCE_KEYS ^ rows}"


@pytest.mark.parametrize("name", ["configuration.md", "adoption.md"])
def test_documented_config_tables_load(name: str, tmp_path: Path) -> None:
    """Every `[tool.runguard-lint]` example is a valid config."""
    examples = [body for body in _blocks(DOCS / name, "toml") if "[tool.runguard-lint" in body]
    assert examples
    for index, body in enumerate(examples):
        config = tmp_path / str(index) / "pyproject.toml"
        config.parent.mkdir()
        config.write_text(body, encoding="utf-8")
        load_settings(config, config.parent)


def test_company_client_example(tmp_path: Path) -> None:
    """The `acme_llm` example of docs/configuration.md, run as a user would."""
    doc = DOCS / "configuration.md"
    project = tmp_path / "project"
    (project / "agent").mkdir(parents=True)
    module = project / "agent" / "tools.py"
    module.write_text(_block_named(doc, "python", "# agent/tools.py"), encoding="utf-8")

    # Without the config, the company's client is unknown: nothing to report.
    bare = run_cli("--no-cache", "--output-format", "concise", "agent", cwd=project)
    assert bare.returncode == 0, bare.stdout + bare.stderr

    (project / "pyproject.toml").write_text(
        _block_named(doc, "toml", "# pyproject.toml"), encoding="utf-8"
    )
    console = _blocks(doc, "console")
    (session,) = [body for body in console if "acme_llm" in body]
    command, *expected = session.splitlines()
    assert command == "$ runguard-lint --output-format concise agent"
    result = run_cli(*command.split()[2:], "--no-cache", cwd=project)
    assert result.returncode == 1, result.stderr
    assert result.stdout.splitlines()[: len(expected)] == expected

    fixed = run_cli("--fix", "--no-cache", "agent", cwd=project)
    assert fixed.returncode == 0, fixed.stdout + fixed.stderr
    text = module.read_text(encoding="utf-8")
    assert "    with acme_llm.ChatClient(api_key=api_key) as client:\n" in text
    assert "    async with acme_llm.AsyncChatClient(api_key=api_key) as client:\n" in text
    assert "    adopt(acme_llm.ChatClient(api_key=api_key))\n" in text


def _precommit_rev(path: Path) -> str:
    (rev,) = re.findall(r"^\s+rev: ([0-9a-f]{40}|v[\w.]+)", path.read_text(encoding="utf-8"), re.M)
    return rev


def test_precommit_rev_exists_and_has_the_hooks() -> None:
    """The `rev` the docs pin names a commit of this repository whose hook manifest
    declares the hooks they use (pre-commit would fail on anything else)."""
    rev = _precommit_rev(DOCS / "ci.md")
    assert _precommit_rev(ROOT / "README.md") == rev
    manifest = subprocess.run(
        ["git", "show", f"{rev}:.pre-commit-hooks.yaml"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=False,
    )
    assert manifest.returncode == 0, f"rev {rev} is not in this repository: {manifest.stderr}"
    for hook in ("runguard-lint", "runguard-lint-fix"):
        assert f"- id: {hook}\n" in manifest.stdout


def test_gitlab_job_writes_a_code_quality_report(tmp_path: Path) -> None:
    """The runguard-lint line of the documented GitLab job, run on a project."""
    (job,) = [body for body in _blocks(DOCS / "ci.md", "yaml") if "codequality" in body]
    (line,) = [line for line in job.splitlines() if line.strip().startswith("- runguard-lint")]
    (tmp_path / "app.py").write_text("def read(path):\n    return open(path).read()\n")
    result = run_cli(*line.strip()[2:].split()[1:], "--no-cache", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    (issue,) = json.loads((tmp_path / "gl-code-quality.json").read_text(encoding="utf-8"))
    assert issue["check_name"] == "RG106"
    assert issue["location"]["path"] == "app.py"


def test_readme_links_the_guides_and_keeps_its_two_commands() -> None:
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    for guide in ("configuration.md", "adoption.md", "editors.md", "ci.md"):
        assert f"](docs/{guide})" in readme
        assert (DOCS / guide).is_file()
    commands = [line for line in readme.splitlines() if line.startswith("python3 -m venv")]
    assert commands == [
        "python3 -m venv .venv && . .venv/bin/activate && pip install . && "
        "runguard-lint examples/agent_service",
        "python3 -m venv .venv && . .venv/bin/activate && pip install -e '.[test]' && "
        "python -m pytest -q",
    ]
