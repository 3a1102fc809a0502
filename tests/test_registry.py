"""A rule is a unit: its TOML, its module, its fixture (and golden file) or it fails here.

The registry derives every set of codes from rules/*.toml and
runguard_lint/rules/*.py; these tests make a half-added rule fail in CI. Each
rule's documented `example` must be reported by that rule and its
`use_instead` must not, as Fixit runs a rule's VALID/INVALID cases.
"""

from __future__ import annotations

import importlib
import re
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from runguard_lint import registry
from runguard_lint.catalog import CatalogError, _load_rule, build_catalog, rules_dir
from runguard_lint.config import Settings
from runguard_lint.pipeline.check import check_source
from tests.conftest import FIXTURES, ROOT

CATALOG = build_catalog()
CODES = sorted(CATALOG.rules)
SETTINGS = Settings(project_root=ROOT)
MODULES = Path(registry.__file__).parent / "rules"


def test_every_toml_has_a_module_and_every_module_a_toml() -> None:
    modules = {p.stem.upper() for p in MODULES.glob("rg*.py")}
    assert modules == set(CODES)
    assert set(registry.rules()) == set(CODES)


@pytest.mark.parametrize("code", CODES)
def test_rule_module_exposes_its_rule(code: str) -> None:
    module = importlib.import_module(registry.module_name(code))
    assert module.RULE.code == code
    assert registry.needs([code]), f"{code} declares no needs: the prefilter would drop its files"


def test_needs_come_from_the_tomls_alone(tmp_path: Path) -> None:
    """The prefilter learns what each rule needs without loading a rule (and LibCST),
    and a TOML whose `needs` names no known need is refused."""
    probe = (
        "import sys\n"
        "from runguard_lint import registry\n"
        "print(sorted(n.value for n in registry.needs(['RG201', 'RG402'])))\n"
        "print('libcst' in sys.modules, 'runguard_lint.rules.rg402' in sys.modules)\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", probe], capture_output=True, text=True, check=True, cwd=tmp_path
    )
    assert done.stdout.splitlines() == [
        "['acquisitions', 'dict-caches', 'with-items']",
        "False False",
    ]
    text = (rules_dir() / "RG401.toml").read_text(encoding="utf-8")
    bad = tmp_path / "RG401.toml"
    bad.write_text(text.replace('needs = ["acquisitions"]', 'needs = ["everything"]'))
    with pytest.raises(CatalogError, match="unknown: everything"):
        _load_rule(bad)


@pytest.mark.parametrize("code", CODES)
def test_rule_has_a_fixture_and_a_golden_file_when_fixable(code: str) -> None:
    assert (FIXTURES / f"{code}.py").is_file(), f"{code} has no fixtures/{code}.py"
    golden = FIXTURES / f"{code}.fixed.py"
    if CATALOG.rules[code].fixable:
        assert golden.is_file(), f"{code} offers a fix but has no fixtures/{code}.fixed.py"
    else:
        assert not golden.exists(), f"{code} has a golden file but its TOML says fix = none"


@pytest.mark.parametrize("code", CODES)
def test_no_rule_code_literal_outside_its_own_module(code: str) -> None:
    quoted = re.compile(rf"[\"']{code}[\"']")
    own = MODULES / f"{code.lower()}.py"
    offenders = [
        str(path.relative_to(ROOT))
        for path in (ROOT / "runguard_lint").rglob("*.py")
        if path != own and quoted.search(path.read_text(encoding="utf-8"))
    ]
    assert not offenders, f'"{code}" written out in {offenders}: derive it from the registry'


def _findings(code: str, source: str) -> list[str]:
    data = textwrap.dedent(source).encode("utf-8")
    report = check_source("example.py", data, SETTINGS, frozenset({code}))
    assert not report.errors, report.errors
    return [d.code for d in report.diagnostics]


_DOCUMENTED = [code for code in CODES if CATALOG.rules[code].example]


@pytest.mark.parametrize("code", _DOCUMENTED)
def test_documented_example_is_reported(code: str) -> None:
    assert code in _findings(code, CATALOG.rules[code].example)


@pytest.mark.parametrize("code", [c for c in _DOCUMENTED if CATALOG.rules[c].use_instead])
def test_documented_remedy_is_not_reported(code: str) -> None:
    assert code not in _findings(code, CATALOG.rules[code].use_instead)


def test_a_rule_without_its_module_fails_loudly(tmp_path: Path) -> None:
    """A TOML added without its module stops the run with a message naming both."""
    copy = tmp_path / "rules"
    copy.mkdir()
    for path in rules_dir().glob("*.toml"):
        copy.joinpath(path.name).write_text(path.read_text(encoding="utf-8"), encoding="utf-8")
    rg900_text = copy.joinpath("RG900.toml").read_text(encoding="utf-8")
    copy.joinpath("RG999.toml").write_text(
        rg900_text.replace('code = "RG900"', 'code = "RG999"'), encoding="utf-8"
    )
    program = (
        "import runguard_lint.catalog as c, pathlib, sys\n"
        f"c.rules_dir = lambda: pathlib.Path({str(copy)!r})\n"
        "from runguard_lint import registry\n"
        "try:\n"
        "    registry.rules()\n"
        "except c.CatalogError as error:\n"
        "    print(error)\n"
        "    sys.exit(3)\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", program], capture_output=True, text=True, cwd=ROOT, timeout=120
    )
    assert result.returncode == 3, result.stderr
    assert "RG999" in result.stdout and "runguard_lint.rules.rg999" in result.stdout
