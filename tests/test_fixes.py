"""`--fix`, `--unsafe-fixes` and `--diff` through the real CLI, and the write-back guarantees.

Golden files: `fixtures/<CODE>.fixed.py` is what `--fix --unsafe-fixes`
(with the fixture's `# select:` codes) makes of a copy of `fixtures/<CODE>.py`.
Each fixed output must also compile, be a fixpoint (fixing it again changes
nothing) and, linted again, offer no fix. When a fixture or a fix changes on
purpose, regenerate the golden files and review the diff:

    RUNGUARD_LINT_UPDATE_GOLDEN=1 python -m pytest -q tests/test_fixes.py

Fix crashes are re-raised in these runs (RUNGUARD_LINT_DEBUG_FIXES), so a
broken shape fails loudly instead of silently offering no fix.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
import subprocess
from pathlib import Path

import pytest

from runguard_lint.diagnostics import Edit, Location
from runguard_lint.fixes.edits import apply_edits
from runguard_lint.pipeline.fix import _conflict, write_back
from tests.conftest import FIXTURES, run_cli
from tests.test_fixtures import selected_codes

FIXABLE = ("RG100", "RG101", "RG102", "RG103", "RG104", "RG105", "RG106", "RG201", "RG202", "RG301")
# Fixed as a project that depends on runguard-lint; the others as one that does not
# (the standard library's ExitStack and functools, display-only where a helper is needed).
RUNTIME_GOLDENS = ("RG201",)
UPDATE = bool(os.environ.get("RUNGUARD_LINT_UPDATE_GOLDEN"))
DEBUG = {"RUNGUARD_LINT_DEBUG_FIXES": "1"}

LEAKY = """\
import httpx


async def fetch(url: str, timeout: float) -> str:
    client = httpx.AsyncClient(timeout=timeout)
    response = await client.get(url)
    return response.text


def read(path: str) -> str:
    f = open(path)
    return f.read()
"""


def fix(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return run_cli("--no-cache", "--jobs", "1", *args, cwd=cwd, env=DEBUG)


def findings(*args: str, cwd: Path) -> list[dict[str, object]]:
    result = fix("--output-format", "json", *args, cwd=cwd)
    assert result.returncode in (0, 1), result.stderr
    parsed: list[dict[str, object]] = json.loads(result.stdout)
    return parsed


# --- golden files, fixpoint, compiles ------------------------------------------------------


@pytest.mark.parametrize("code", FIXABLE)
def test_golden_fix(code: str, tmp_path: Path) -> None:
    fixture = FIXTURES / f"{code}.py"
    if not fixture.exists():
        pytest.skip(f"{fixture.name} is not written yet")
    select = selected_codes(fixture)
    target = tmp_path / fixture.name
    shutil.copyfile(fixture, target)
    if code in RUNTIME_GOLDENS:
        # A project that declares the runtime: its bounded cache may be imported.
        (tmp_path / "requirements.txt").write_text("runguard-runtime>=0.1\n", encoding="utf-8")
    result = fix("--fix", "--unsafe-fixes", "--select", select, target.name, cwd=tmp_path)
    assert result.returncode in (0, 1), result.stdout + result.stderr
    assert "error" not in result.stderr, result.stderr
    fixed = target.read_text(encoding="utf-8")
    golden = FIXTURES / f"{code}.fixed.py"
    if UPDATE:
        golden.write_text(fixed, encoding="utf-8")
    assert golden.exists(), f"no {golden.name}: run with RUNGUARD_LINT_UPDATE_GOLDEN=1"
    assert fixed == golden.read_text(encoding="utf-8"), f"{golden.name} is out of date"
    compile(fixed, str(target), "exec", dont_inherit=True)
    assert fixed != fixture.read_text(encoding="utf-8"), "nothing was fixed"

    left = findings("--unsafe-fixes", "--select", select, target.name, cwd=tmp_path)
    # Display-only fixes (a wait, or a helper the project lacks) stay: never applied.
    assert [
        f
        for f in left
        if isinstance(f["fix"], dict) and f["fix"]["applicability"] != "display-only"
    ] == []

    again = fix("--fix", "--unsafe-fixes", "--select", select, target.name, cwd=tmp_path)
    assert again.returncode in (0, 1), again.stderr
    assert target.read_text(encoding="utf-8") == fixed
    assert "Fixed" not in again.stdout


def test_every_fixable_rule_has_a_golden_file() -> None:
    missing = [
        code
        for code in FIXABLE
        if (FIXTURES / f"{code}.py").exists() and not (FIXTURES / f"{code}.fixed.py").exists()
    ]
    assert missing == []


# --- what the CLI does with fixes ---------------------------------------------------------


def test_json_carries_fixes_whose_edits_apply(tmp_path: Path) -> None:
    source = tmp_path / "leaky.py"
    source.write_text(LEAKY, encoding="utf-8")
    found = findings("leaky.py", cwd=tmp_path)
    assert {f["code"] for f in found} == {"RG101", "RG106"}
    for finding in found:
        raw = finding["fix"]
        assert isinstance(raw, dict) and raw["applicability"] == "safe"
        edits = [
            Edit(e["content"], Location(**e["location"]), Location(**e["end_location"]))
            for e in raw["edits"]
        ]
        compile(apply_edits(LEAKY, edits), "leaky.py", "exec")


def test_fix_applies_safe_fixes_and_reports_the_rest(tmp_path: Path) -> None:
    (tmp_path / "leaky.py").write_text(LEAKY, encoding="utf-8")
    result = fix("--fix", "leaky.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Fixed 2 findings. All checks passed!" in result.stdout
    fixed = (tmp_path / "leaky.py").read_text(encoding="utf-8")
    assert "    async with httpx.AsyncClient(timeout=timeout) as client:\n" in fixed
    assert "    with open(path) as f:\n        return f.read()\n" in fixed


def test_a_fix_that_leaves_another_rules_finding_is_applied(tmp_path: Path) -> None:
    """Closing a client per call ends RG101 and leaves the preview RG402 ("built per
    call"): the fix worked, and the fixer must not take it for one that did not."""
    (tmp_path / "one.py").write_text(
        "import httpx\n\n\ndef ping(url):\n    client = httpx.Client()\n"
        "    return client.get(url).status_code\n",
        encoding="utf-8",
    )
    result = fix("--fix", "--select", "RG101,RG402", "one.py", cwd=tmp_path)
    assert "did not end the finding" not in result.stderr, result.stderr
    assert result.returncode == 1, result.stdout + result.stderr
    fixed = (tmp_path / "one.py").read_text(encoding="utf-8")
    assert "    with httpx.Client() as client:\n        return client.get(url)" in fixed
    assert "RG402" in result.stdout and "RG101" not in result.stdout


SHARED = (
    "import httpx\n\n\nasync def get(url):\n    client = httpx.AsyncClient(timeout=10)\n"
    "    return (await client.get(url)).text\n"
)


def test_plain_fix_applies_the_safe_alternative_of_an_unsafe_fix(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("httpx\nrunguard-lint\n", encoding="utf-8")
    source = tmp_path / "shared.py"
    source.write_text(SHARED, encoding="utf-8")
    result = fix("--fix", "shared.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "    async with httpx.AsyncClient(timeout=10) as client:\n" in source.read_text(
        encoding="utf-8"
    )
    source.write_text(SHARED, encoding="utf-8")
    result = fix("--fix", "--unsafe-fixes", "shared.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    fixed = source.read_text(encoding="utf-8")
    assert "@per_loop\ndef _get_client():\n    return httpx.AsyncClient(timeout=10)\n" in fixed
    assert "from runguard_lint.runtime import per_loop\n" in fixed


def test_a_helper_the_project_lacks_makes_the_fix_display_only(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("httpx\n", encoding="utf-8")
    source = tmp_path / "shared.py"
    source.write_text(SHARED, encoding="utf-8")
    (tmp_path / "runguard-lint.toml").write_text('fix-style = "auto"\n', encoding="utf-8")
    found = findings("--unsafe-fixes", "shared.py", cwd=tmp_path)
    assert found[0]["fix"] is not None
    # the safe `async with` is what --unsafe-fixes applies: per_loop would need the runtime
    assert found[0]["fix"]["applicability"] == "safe"  # type: ignore[index]
    result = fix("--fix", "--unsafe-fixes", "shared.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    fixed = source.read_text(encoding="utf-8")
    assert "runguard_lint" not in fixed and "runguard_runtime" not in fixed
    assert "    async with httpx.AsyncClient(timeout=10) as client:\n" in fixed


MEMO = (
    "import httpx\n\n_pages = {}\n\n\ndef page(url):\n    if url in _pages:\n"
    "        return _pages[url]\n    _pages[url] = httpx.get(url).text\n    return _pages[url]\n"
)


def test_a_missing_runtime_names_the_stdlib_only_distribution(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("httpx\n", encoding="utf-8")
    (tmp_path / "memo.py").write_text(MEMO, encoding="utf-8")
    result = fix("--diff", "--unsafe-fixes", "--select", "RG201", "memo.py", cwd=tmp_path)
    assert "RG201 display-only fix, never applied" in result.stderr, result.stderr
    assert "needs `BoundedCache` from `runguard-runtime`" in result.stderr
    assert "add `runguard-runtime` to its dependencies" in result.stderr
    assert "+from runguard_runtime import BoundedCache" in result.stderr
    assert (tmp_path / "memo.py").read_text(encoding="utf-8") == MEMO


def test_fix_runtime_config_allows_the_runtime(tmp_path: Path) -> None:
    (tmp_path / "runguard-lint.toml").write_text("fix-runtime = true\n", encoding="utf-8")
    source = tmp_path / "shared.py"
    source.write_text(SHARED, encoding="utf-8")
    result = fix("--fix", "--unsafe-fixes", "shared.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    # Declared nowhere: the import is the one the messages recommend declaring.
    assert "from runguard_runtime import per_loop\n" in source.read_text(encoding="utf-8")


@pytest.mark.parametrize(
    ("declaration", "module"),
    [
        ("runguard-runtime>=0.1", "runguard_runtime"),
        ("RunGuard_Runtime", "runguard_runtime"),
        ("runguard-lint", "runguard_lint.runtime"),
        ("runguard-lint\nrunguard-runtime", "runguard_runtime"),
    ],
)
def test_fixes_import_the_runtime_the_project_declares(
    tmp_path: Path, declaration: str, module: str
) -> None:
    dependencies = ", ".join(f'"{line}"' for line in ["httpx", *declaration.splitlines()])
    (tmp_path / "pyproject.toml").write_text(
        f'[project]\nname = "app"\nversion = "1"\ndependencies = [{dependencies}]\n',
        encoding="utf-8",
    )
    source = tmp_path / "shared.py"
    source.write_text(SHARED, encoding="utf-8")
    result = fix("--fix", "--unsafe-fixes", "shared.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert f"from {module} import per_loop\n" in source.read_text(encoding="utf-8")


def test_a_process_release_is_display_only(tmp_path: Path) -> None:
    text = (
        "import subprocess\n\n\ndef serve(cmd):\n"
        "    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)\n    return proc.pid\n"
    )
    source = tmp_path / "serve.py"
    source.write_text(text, encoding="utf-8")
    found = findings("--unsafe-fixes", "serve.py", cwd=tmp_path)
    assert [f["fix"]["applicability"] for f in found] == ["display-only"]  # type: ignore[index]
    result = fix("--fix", "--unsafe-fixes", "serve.py", cwd=tmp_path)
    assert result.returncode == 1
    assert source.read_text(encoding="utf-8") == text
    assert "help (display-only fix, never applied)" in result.stdout


def test_extend_unsafe_fixes_and_unfixable(tmp_path: Path) -> None:
    (tmp_path / "leaky.py").write_text(LEAKY, encoding="utf-8")
    (tmp_path / "runguard-lint.toml").write_text(
        'extend-unsafe-fixes = ["RG101"]\nunfixable = ["RG106"]\n', encoding="utf-8"
    )
    found = {f["code"]: f["fix"] for f in findings("leaky.py", cwd=tmp_path)}
    assert found["RG106"] is None
    assert found["RG101"]["applicability"] == "unsafe"  # type: ignore[index]
    result = fix("--fix", "leaky.py", cwd=tmp_path)
    assert result.returncode == 1
    assert (tmp_path / "leaky.py").read_text(encoding="utf-8") == LEAKY
    (tmp_path / "runguard-lint.toml").write_text(
        'extend-safe-fixes = ["RG104"]\n', encoding="utf-8"
    )
    assert fix("--fix", "leaky.py", cwd=tmp_path).returncode == 0


def test_a_client_configured_after_construction_is_never_shared(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text("requests\n", encoding="utf-8")
    (tmp_path / "api.py").write_text(
        "import os\n\nimport requests\n\nKEY = os.environ['KEY']\n\n\n"
        "def tenant(url, cookie):\n    session = requests.Session()\n"
        "    session.cookies.set('t', cookie)\n    return session.get(url).text\n\n\n"
        "def keyed(url):\n    session = requests.Session(KEY)\n    return session.get(url).text\n",
        encoding="utf-8",
    )
    for finding in findings("--unsafe-fixes", "api.py", cwd=tmp_path):
        fix_raw = finding["fix"]
        assert fix_raw is None or "lazy loader" not in fix_raw["message"]  # type: ignore[index]


def test_fix_style_scope_always_picks_the_safe_fix(tmp_path: Path) -> None:
    (tmp_path / "runguard-lint.toml").write_text('fix-style = "scope"\n', encoding="utf-8")
    source = tmp_path / "shared.py"
    source.write_text(
        "import httpx\n\n\nasync def get(url):\n"
        "    client = httpx.AsyncClient(timeout=10)\n"
        "    return (await client.get(url)).text\n",
        encoding="utf-8",
    )
    result = fix("--fix", "--unsafe-fixes", "shared.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "    async with httpx.AsyncClient(timeout=10) as client:\n" in source.read_text(
        encoding="utf-8"
    )


def test_a_named_resource_without_with_gets_try_finally(tmp_path: Path) -> None:
    source = tmp_path / "db.py"
    source.write_text(
        "import asyncpg\n\n\nasync def count(dsn):\n"
        "    conn = await asyncpg.connect(dsn)\n"
        "    return await conn.fetchval('select 1')\n",
        encoding="utf-8",
    )
    result = fix("--fix", "db.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert source.read_text(encoding="utf-8") == (
        "import asyncpg\n\n\nasync def count(dsn):\n"
        "    conn = await asyncpg.connect(dsn)\n"
        "    try:\n"
        "        return await conn.fetchval('select 1')\n"
        "    finally:\n"
        "        await conn.close()\n"
    )


def test_scope_class_from_config_is_used_for_a_temporary(tmp_path: Path) -> None:
    (tmp_path / "runguard-lint.toml").write_text(
        'scope-class = "runguard_lint.runtime.ResourceScope"\n', encoding="utf-8"
    )
    source = tmp_path / "log.py"
    source.write_text(
        "def log(path, lines):\n    for line in lines:\n"
        '        print(line, file=open(path, "a"))\n',
        encoding="utf-8",
    )
    result = fix("--fix", "log.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert source.read_text(encoding="utf-8") == (
        "from runguard_lint.runtime import ResourceScope\n\n"
        "def log(path, lines):\n    for line in lines:\n"
        '        with ResourceScope("log") as scope:\n'
        '            print(line, file=scope.enter(open(path, "a")))\n'
    )


def test_an_executor_in_async_code_is_never_waited_for(tmp_path: Path) -> None:
    source = tmp_path / "tools.py"
    source.write_text(
        "import asyncio\nfrom concurrent.futures import ThreadPoolExecutor\n\n\n"
        "async def run(job, workers: int):\n"
        "    ex = ThreadPoolExecutor(max_workers=workers)\n"
        "    return await asyncio.get_running_loop().run_in_executor(ex, job)\n",
        encoding="utf-8",
    )
    result = fix("--fix", "--unsafe-fixes", "tools.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert (
        "    try:\n        return await asyncio.get_running_loop().run_in_executor(ex, job)\n"
        "    finally:\n        ex.shutdown(wait=False)\n" in source.read_text(encoding="utf-8")
    )


def test_diff_prints_and_writes_nothing(tmp_path: Path) -> None:
    source = tmp_path / "leaky.py"
    source.write_text(LEAKY, encoding="utf-8")
    before = source.stat()
    result = fix("--diff", "leaky.py", cwd=tmp_path)
    assert result.returncode == 1, result.stderr
    assert result.stdout.startswith("--- a/leaky.py\n+++ b/leaky.py\n")
    assert "+    with open(path) as f:\n" in result.stdout
    assert "Would fix 2 findings." in result.stderr
    assert source.read_text(encoding="utf-8") == LEAKY
    assert source.stat().st_mtime_ns == before.st_mtime_ns
    clean = tmp_path / "clean.py"
    clean.write_text("x = 1\n", encoding="utf-8")
    assert fix("--diff", "clean.py", cwd=tmp_path).returncode == 0


def test_fix_from_standard_input_prints_the_fixed_source(tmp_path: Path) -> None:
    result = run_cli("--fix", "--no-cache", "-", input_text=LEAKY, cwd=tmp_path, env=DEBUG)
    assert result.returncode == 0, result.stderr
    assert "    with open(path) as f:\n" in result.stdout
    compile(result.stdout, "<stdin>", "exec")
    assert "Fixed 2 findings" in result.stderr


def test_unparsable_file_is_left_alone(tmp_path: Path) -> None:
    source = tmp_path / "broken.py"
    source.write_text("def f(:\n    open('x')\n", encoding="utf-8")
    result = fix("--fix", "broken.py", cwd=tmp_path)
    assert result.returncode == 1
    assert "RG900" in result.stdout
    assert source.read_text(encoding="utf-8") == "def f(:\n    open('x')\n"


# --- the bytes on disk ----------------------------------------------------------------------


def test_crlf_stays_crlf(tmp_path: Path) -> None:
    source = tmp_path / "crlf.py"
    source.write_bytes(LEAKY.replace("\n", "\r\n").encode())
    assert fix("--fix", "crlf.py", cwd=tmp_path).returncode == 0
    data = source.read_bytes()
    assert b"    with open(path) as f:\r\n        return f.read()\r\n" in data
    assert data.count(b"\n") == data.count(b"\r\n")


def test_latin1_file_keeps_its_encoding(tmp_path: Path) -> None:
    text = "# -*- coding: latin-1 -*-\nGREETING = 'h\xe9llo'\n" + LEAKY
    source = tmp_path / "latin.py"
    source.write_bytes(text.encode("latin-1"))
    result = fix("--fix", "latin.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    data = source.read_bytes()
    assert b"GREETING = 'h\xe9llo'" in data
    fixed = data.decode("latin-1")
    assert "    async with httpx.AsyncClient(timeout=timeout) as client:\n" in fixed
    compile(data, "latin.py", "exec")


def test_bom_is_kept(tmp_path: Path) -> None:
    source = tmp_path / "bom.py"
    source.write_bytes(b"\xef\xbb\xbf" + LEAKY.encode())
    assert fix("--fix", "bom.py", cwd=tmp_path).returncode == 0
    data = source.read_bytes()
    assert data.startswith(b"\xef\xbb\xbfimport httpx\n")
    assert b"with open(path) as f:" in data


def test_permissions_are_kept(tmp_path: Path) -> None:
    source = tmp_path / "tool.py"
    source.write_text(LEAKY, encoding="utf-8")
    source.chmod(0o751)
    assert fix("--fix", "tool.py", cwd=tmp_path).returncode == 0
    assert stat.S_IMODE(source.stat().st_mode) == 0o751
    assert "with open(path) as f:" in source.read_text(encoding="utf-8")


def test_symlink_stays_a_link(tmp_path: Path) -> None:
    real = tmp_path / "real.py"
    real.write_text(LEAKY, encoding="utf-8")
    link = tmp_path / "link.py"
    link.symlink_to(real)
    assert write_back(link, LEAKY.encode(), b"x = 1\n") is None
    assert link.is_symlink()
    assert real.read_text(encoding="utf-8") == "x = 1\n"


def test_fix_never_writes_through_a_symlink_to_outside(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    outside = elsewhere / "shared.py"
    outside.write_text(LEAKY, encoding="utf-8")
    inside = project / "real" / "mine.py"
    inside.parent.mkdir()
    inside.write_text(LEAKY, encoding="utf-8")
    (project / "out_link.py").symlink_to(outside)
    (project / "in_link.py").symlink_to(inside)
    result = fix("--fix", ".", cwd=project)
    # The outside file is checked (its findings remain), not rewritten, and the run says so.
    assert result.returncode == 1, result.stderr
    assert outside.read_text(encoding="utf-8") == LEAKY
    assert "out_link.py" in result.stdout
    warnings = [line for line in result.stderr.splitlines() if "not rewritten" in line]
    assert len(warnings) == 1 and "out_link.py" in warnings[0]
    # The link to a file inside is fixed in its target, and stays a link.
    assert (project / "in_link.py").is_symlink()
    assert "with open(path) as f:" in inside.read_text(encoding="utf-8")


def test_add_noqa_never_writes_through_a_symlink_to_outside(tmp_path: Path) -> None:
    project, elsewhere = tmp_path / "project", tmp_path / "elsewhere"
    project.mkdir()
    elsewhere.mkdir()
    outside = elsewhere / "shared.py"
    outside.write_text(LEAKY, encoding="utf-8")
    (project / "out_link.py").symlink_to(outside)
    result = fix("--add-noqa", ".", cwd=project)
    assert result.returncode == 1
    assert outside.read_text(encoding="utf-8") == LEAKY
    assert "out_link.py" in result.stderr and "not rewritten" in result.stderr
    # Named on the command line, the file itself is the user's to change.
    named = fix("--add-noqa", str(outside), cwd=project)
    assert named.returncode == 0, named.stderr
    assert "# noqa" in outside.read_text(encoding="utf-8")


def test_file_changed_on_disk_is_not_overwritten(tmp_path: Path) -> None:
    source = tmp_path / "busy.py"
    source.write_text(LEAKY, encoding="utf-8")
    original = source.read_bytes()
    edited = original + b"# saved by an editor meanwhile\n"
    source.write_bytes(edited)
    problem = write_back(source, original, b"fixed = True\n")
    assert problem is not None and "changed on disk" in problem
    assert source.read_bytes() == edited
    assert [p.name for p in tmp_path.iterdir()] == ["busy.py"]  # no temporary left behind


def test_write_back_replaces_atomically(tmp_path: Path) -> None:
    source = tmp_path / "ok.py"
    source.write_bytes(b"old = 1\n")
    assert write_back(source, b"old = 1\n", b"new = 2\n") is None
    assert source.read_bytes() == b"new = 2\n"
    assert [p.name for p in tmp_path.iterdir()] == ["ok.py"]


# --- choosing fixes in one round ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("first", "second", "conflict"),
    [
        ((0, 5, "a"), (5, 9, "b"), False),  # touching replacements
        ((0, 5, "a"), (4, 9, "b"), True),  # overlapping
        ((3, 3, "x"), (3, 3, "x"), False),  # the same import added twice: shared
        ((3, 3, "x"), (3, 3, "y"), True),  # two insertions at one place: order unknown
        ((3, 3, "x"), (0, 3, "y"), True),  # an insertion at the edge of a replacement
    ],
)
def test_edit_conflicts(
    first: tuple[int, int, str], second: tuple[int, int, str], conflict: bool
) -> None:
    assert _conflict(first, second) is conflict
    assert _conflict(second, first) is conflict


def test_cache_class_config_picks_cachetools(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "app"\ndependencies = ["cachetools>=5"]\n\n'
        '[tool.runguard-lint]\ncache-class = "cachetools.LRUCache"\ncache-maxsize = 500\n',
        encoding="utf-8",
    )
    module = tmp_path / "embeddings.py"
    text = (
        "_cache = {}\n\n\ndef embed(text: str) -> list[float]:\n"
        "    if text not in _cache:\n        _cache[text] = [float(len(text))]\n"
        "    return _cache[text]\n"
    )
    module.write_text(text, encoding="utf-8")
    result = run_cli("--no-cache", "--fix", "--unsafe-fixes", "embeddings.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    fixed = module.read_text(encoding="utf-8")
    assert "from cachetools import LRUCache" in fixed
    assert "_cache = LRUCache(maxsize=500)" in fixed
    compile(fixed, "embeddings.py", "exec")
    # Without the dependency declared, the fix is only shown: it would not import.
    (tmp_path / "pyproject.toml").write_text(
        '[tool.runguard-lint]\ncache-class = "cachetools.LRUCache"\n', encoding="utf-8"
    )
    module.write_text(text, encoding="utf-8")
    result = run_cli("--no-cache", "--fix", "--unsafe-fixes", "embeddings.py", cwd=tmp_path)
    assert result.returncode == 1
    assert module.read_text(encoding="utf-8") == text
    assert "needs `cachetools`, which this project does not declare" in result.stdout


@pytest.mark.parametrize("module", ["runguard_runtime", "runguard_lint.runtime"])
def test_cache_class_names_the_runtime_import(tmp_path: Path, module: str) -> None:
    """Either name of the runtime's cache, set in config, is the import the fix writes
    (config says the project imports it, so the fix applies)."""
    (tmp_path / "pyproject.toml").write_text(
        f'[tool.runguard-lint]\ncache-class = "{module}.BoundedCache"\n', encoding="utf-8"
    )
    (tmp_path / "memo.py").write_text(MEMO, encoding="utf-8")
    result = run_cli("--no-cache", "--fix", "--unsafe-fixes", "memo.py", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    fixed = (tmp_path / "memo.py").read_text(encoding="utf-8")
    assert f"from {module} import BoundedCache\n" in fixed
    assert "_pages = BoundedCache(maxsize=10_000)\n" in fixed


def test_cache_class_rejects_unknown_classes(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.runguard-lint]\ncache-class = "dict"\n', encoding="utf-8"
    )
    (tmp_path / "x.py").write_text("x = 1\n", encoding="utf-8")
    result = run_cli("--no-cache", "x.py", cwd=tmp_path)
    assert result.returncode == 2
    assert "cache-class" in result.stderr and "pyproject.toml" in result.stderr


def test_a_fix_that_would_wait_for_a_child_process_is_never_applied(tmp_path: Path) -> None:
    """`with subprocess.Popen(...)` waits for the child on exit: a server started and
    left running (`Popen(["ollama", "serve"])`) would block its caller forever, so the
    fix is display-only, even with --unsafe-fixes."""
    source = (
        "import subprocess\n\n\ndef start():\n"
        '    subprocess.Popen(["ollama", "serve"], stdout=subprocess.PIPE)\n'
    )
    target = tmp_path / "start.py"
    target.write_text(source, encoding="utf-8")
    for flags in (("--fix",), ("--fix", "--unsafe-fixes")):
        result = run_cli("--no-cache", *flags, str(target), cwd=tmp_path)
        assert target.read_text(encoding="utf-8") == source
        assert "RG106" in result.stdout and "display-only" in result.stdout


OUTLIVING = """\
import asyncio

import httpx
import pymongo
from openai import OpenAI


def collection(uri):
    client = pymongo.MongoClient(uri)
    return client["db"]["coll"]


def database(uri):
    client = pymongo.MongoClient(uri)
    db = client["db"]
    return db


async def spawn(url):
    client = httpx.AsyncClient()
    asyncio.create_task(client.get(url))


def borrowed(shared):
    client = OpenAI(http_client=shared)
    return client.models.list()


def borrowed_or(x=None):
    http = x or httpx.Client()
    return http.get("u").text
"""


def test_no_safe_fix_closes_what_outlives_the_function(tmp_path: Path) -> None:
    (tmp_path / "outliving.py").write_text(OUTLIVING, encoding="utf-8")
    found = findings("--unsafe-fixes", "outliving.py", cwd=tmp_path)
    assert len(found) == 5
    for finding in found:
        raw = finding["fix"]
        assert raw is None or raw["applicability"] != "safe", finding  # type: ignore[index]
    result = fix("--fix", "outliving.py", cwd=tmp_path)
    assert result.returncode == 1
    assert (tmp_path / "outliving.py").read_text(encoding="utf-8") == OUTLIVING


def test_a_moved_release_that_waits_in_async_code_is_display_only(tmp_path: Path) -> None:
    text = (
        "from concurrent.futures import ThreadPoolExecutor\n\n\n"
        "async def run(job, items):\n    ex = ThreadPoolExecutor()\n"
        "    results = list(ex.map(job, items))\n    ex.shutdown()\n    return results\n"
    )
    (tmp_path / "jobs.py").write_text(text, encoding="utf-8")
    found = [f for f in findings("--unsafe-fixes", "jobs.py", cwd=tmp_path) if f["code"] == "RG301"]
    assert [f["fix"]["applicability"] for f in found] == ["display-only"]  # type: ignore[index]
    fix("--fix", "--unsafe-fixes", "jobs.py", cwd=tmp_path)
    assert (tmp_path / "jobs.py").read_text(encoding="utf-8") == text


def test_a_temporary_kept_past_its_statement_is_not_closed_after_it(tmp_path: Path) -> None:
    (tmp_path / "files.py").write_text(
        "import sys\n\n\ndef first_lines(paths):\n"
        "    handles = [open(p) for p in paths]\n"
        "    return [h.readline() for h in handles]\n\n\n"
        "def pick(path):\n    f = open(path) if path != '-' else sys.stdin\n"
        "    return f.read()\n",
        encoding="utf-8",
    )
    before = (tmp_path / "files.py").read_text(encoding="utf-8")
    # Only a scope around the whole body can hold them: not safe; with --unsafe-fixes
    # the files opened in the comprehension share one exit stack holding every use.
    assert fix("--fix", "files.py", cwd=tmp_path).returncode == 1
    assert (tmp_path / "files.py").read_text(encoding="utf-8") == before
    fix("--fix", "--unsafe-fixes", "files.py", cwd=tmp_path)
    fixed = (tmp_path / "files.py").read_text(encoding="utf-8")
    assert "        return [h.readline() for h in handles]\n" in fixed
    # one conditional file alone gets no whole-body scope
    assert "    f = open(path) if path != '-' else sys.stdin\n    return f.read()\n" in fixed


def test_diff_shows_display_only_fixes_apart_from_the_patch(tmp_path: Path) -> None:
    text = (
        "import subprocess\n\n\ndef serve(cmd):\n"
        "    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE)\n    return proc.pid\n\n\n"
        "def read(path):\n    f = open(path)\n    return f.read()\n"
    )
    (tmp_path / "serve.py").write_text(text, encoding="utf-8")
    result = fix("--diff", "serve.py", cwd=tmp_path)
    assert result.returncode == 1
    assert "with open(path) as f:" in result.stdout
    assert "Popen" not in result.stdout  # the patch holds only what --fix applies
    assert "RG106 display-only fix, never applied" in result.stderr
    assert "+    with subprocess.Popen(cmd, stdout=subprocess.PIPE) as proc:" in result.stderr
    assert (tmp_path / "serve.py").read_text(encoding="utf-8") == text
