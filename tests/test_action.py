"""The GitHub Action (`action.yml`): its shape, and its run steps really run.

GitHub runs a composite action's `run` steps with `bash --noprofile --norc
-eo pipefail`, after replacing each `${{ ... }}` expression; the steps here get
the same treatment, with the action path pointed at this checkout and a
temporary directory as `runner.temp`. The one `uses:` step (setup-python) is
stood in for by the interpreter running the tests, first on PATH.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import yaml

from tests.conftest import ROOT

ACTION = ROOT / "action.yml"
EXPRESSION = re.compile(r"\$\{\{\s*([^}]*?)\s*\}\}")
LEAK = (
    "import httpx\n"
    "\n"
    "\n"
    "async def fetch(url):\n"
    "    client = httpx.AsyncClient(base_url=url)\n"
    '    return await client.get("/")\n'
)


def _action() -> dict[str, Any]:
    loaded: dict[str, Any] = yaml.safe_load(ACTION.read_text(encoding="utf-8"))
    return loaded


def test_action_is_a_composite_whose_expressions_name_real_inputs() -> None:
    action = _action()
    assert action["runs"]["using"] == "composite"
    inputs = action["inputs"]
    assert {"paths", "args", "version", "sarif-file", "python-version"} <= set(inputs)
    for name, spec in inputs.items():
        assert spec.get("description"), name
        assert "default" in spec, name
    referenced = set()
    for expression in EXPRESSION.findall(ACTION.read_text(encoding="utf-8")):
        if expression.startswith("inputs."):
            referenced.add(expression.removeprefix("inputs."))
    assert referenced, "the steps use the inputs"
    assert referenced <= set(inputs), referenced - set(inputs)
    assert referenced == set(inputs), f"inputs never used: {set(inputs) - referenced}"
    for step in action["runs"]["steps"]:
        if "run" in step:
            assert step["shell"] == "bash", step["name"]
            # Inputs come in through env, never spliced into the script (no injection).
            assert "${{" not in step["run"], step["name"]


def _evaluate(value: str, context: Mapping[str, str]) -> str:
    """Replace `${{ name }}` by its value (the action uses nothing but plain names)."""
    return EXPRESSION.sub(lambda match: context[match.group(1)], value)


def _context(inputs: Mapping[str, str], runner_temp: Path) -> dict[str, str]:
    context = {"github.action_path": str(ROOT), "runner.temp": str(runner_temp)}
    for name, spec in _action()["inputs"].items():
        context[f"inputs.{name}"] = inputs.get(name, spec["default"])
    return context


def _run_step(
    step: Mapping[str, Any], context: Mapping[str, str], cwd: Path
) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env["PATH"] = os.pathsep.join([str(Path(sys.executable).parent), env.get("PATH", "")])
    env.pop("VIRTUAL_ENV", None)
    for name, value in step.get("env", {}).items():
        env[name] = _evaluate(str(value), context)
    script = cwd.parent / "step.sh"
    script.write_text(_evaluate(step["run"], context), encoding="utf-8")
    return subprocess.run(
        ["bash", "--noprofile", "--norc", "-eo", "pipefail", str(script)],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
    )


def _step(name: str) -> dict[str, Any]:
    for step in _action()["runs"]["steps"]:
        if step["name"] == name:
            found: dict[str, Any] = step
            return found
    raise AssertionError(f"no step {name!r}")


def test_action_installs_its_checkout_and_reports(tmp_path: Path) -> None:
    project = tmp_path / "repo"
    (project / "src").mkdir(parents=True)
    (project / "src" / "tools.py").write_text(LEAK, encoding="utf-8")
    (project / "src" / "clean.py").write_text("VALUE = 1\n", encoding="utf-8")
    runner_temp = tmp_path / "runner-temp"
    runner_temp.mkdir()
    steps = _action()["runs"]["steps"]
    assert [step.get("uses", "").split("@")[0] for step in steps if "uses" in step] == [
        "actions/setup-python"
    ]

    inputs = {"paths": "src", "sarif-file": "runguard.sarif"}
    context = _context(inputs, runner_temp)
    install = _run_step(_step("Install runguard-lint"), context, project)
    assert install.returncode == 0, install.stderr
    assert install.stdout.startswith("runguard-lint, version")

    run = _run_step(_step("Run runguard-lint"), context, project)
    assert run.returncode == 1, run.stderr  # findings fail the step, as they should
    annotations = [line for line in run.stdout.splitlines() if line.startswith("::")]
    assert len(annotations) == 1
    assert annotations[0].startswith("::error file=src/tools.py,line=5,")
    assert "RG101" in annotations[0]
    sarif = json.loads((project / "runguard.sarif").read_text(encoding="utf-8"))
    assert sarif["version"] == "2.1.0"
    (result,) = sarif["runs"][0]["results"]
    assert result["ruleId"] == "RG101"

    # `args` reach the command line: another selection, nothing to report, exit 0.
    quiet = _run_step(
        _step("Run runguard-lint"),
        _context({"paths": "src", "args": "--select RG106"}, runner_temp),
        project,
    )
    assert quiet.returncode == 0, quiet.stderr
    assert not [line for line in quiet.stdout.splitlines() if line.startswith("::")]
