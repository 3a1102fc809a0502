"""Fuzzing with hypothesmith: the engine never raises, `--fix` never breaks code.

Programs come from hypothesmith's `from_grammar()` (token soup the grammar
allows, often not valid Python) and `from_node()` (LibCST trees, valid syntax).
So that they reach the slow stage (LibCST and metadata), they are also placed
next to catalog acquisitions: wrapped into a function that also creates an
HTTP client, an executor, a file handle and writes a module-level dict, or
left at module level before such a function. Properties:

1. `check_source` never raises, returns only known codes, positions inside the
   file, and no internal rule errors;
2. the prefilter is sound: every finding made without it is made with it;
3. `fix_text` (and `--fix --unsafe-fixes` on real files) either leaves the text
   untouched or produces code that compiles.

CI runs a bounded, derandomized number of examples (30 per test); set
RUNGUARD_FUZZ_EXAMPLES=500 for a longer, randomized run.
"""

from __future__ import annotations

import ast
import os
import subprocess
import sys
import textwrap
import warnings
from pathlib import Path

import hypothesis.strategies as st
import hypothesmith
import pytest
from hypothesis import HealthCheck, given, settings

from runguard_lint.config import Settings
from runguard_lint.pipeline.check import check_source
from runguard_lint.pipeline.fix import fix_text

_ENV = "RUNGUARD_FUZZ_EXAMPLES"
EXAMPLES = int(os.environ.get(_ENV, "30"))
LONG_RUN = _ENV in os.environ
pytestmark = pytest.mark.filterwarnings("ignore::SyntaxWarning")

FUZZ = settings(
    max_examples=EXAMPLES,
    deadline=None,
    database=None,  # nothing written into the checkout
    derandomize=not LONG_RUN,  # CI: the same examples every run, never flaky
    suppress_health_check=[
        HealthCheck.too_slow,
        HealthCheck.filter_too_much,
        HealthCheck.data_too_large,
        HealthCheck.large_base_example,
    ],
)

SETTINGS = Settings(project_root=Path("."))
NO_PREFILTER = Settings(project_root=Path("."), prefilter=False)
ENABLED = SETTINGS.enabled_codes() | {"RG202", "RG402"}
KNOWN = frozenset(SETTINGS.catalog.rules)

PRELUDE = "import concurrent.futures\nimport functools\nimport httpx\n_CACHE = {}\n"
ACQUISITIONS = (
    "    client = httpx.AsyncClient()\n"
    "    pool = concurrent.futures.ThreadPoolExecutor()\n"
    "    handle = open(url)\n"
    "    _CACHE[key] = handle.read()\n"
)
LEAKY = (
    "\n\n@functools.lru_cache(maxsize=None)\n"
    "async def _fuzz_leak(url, key):\n" + ACQUISITIONS + "    return await client.get(url)\n"
)

GENERATED = st.one_of(hypothesmith.from_grammar(), hypothesmith.from_node())
# Several programs in one example: hypothesmith's targeting allows one draw per example.
UNTARGETED = st.one_of(
    hypothesmith.from_grammar(auto_target=False), hypothesmith.from_node(auto_target=False)
)


def in_function(generated: str) -> str:
    """The generated code inside a function that also acquires resources."""
    body = textwrap.indent(generated, "    ") if generated.strip() else ""
    return (
        PRELUDE
        + "\n\nasync def _fuzz(url, key):\n"
        + ACQUISITIONS
        + body
        + ("" if body.endswith("\n") or not body else "\n")
        + "    return await client.get(url)\n"
    )


def at_module_level(generated: str) -> str:
    """The generated code as module-level code, with a leaking function after it."""
    return PRELUDE + generated + ("" if generated.endswith("\n") else "\n") + LEAKY


def placed(generated: str, inside: bool) -> str:
    source = in_function(generated) if inside else at_module_level(generated)
    if inside and not _parses(source):
        # Indenting changed what the code means (a line continuation, a `\f`):
        # module level still puts it before the LibCST stage.
        source = at_module_level(generated)
    return source


def _parses(source: str) -> bool:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            ast.parse(source)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return False
    return True


def _compiles(source: str) -> str | None:
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            compile(source, "fuzz.py", "exec", dont_inherit=True)
    except (SyntaxError, ValueError, RecursionError, MemoryError) as error:
        return f"{type(error).__name__}: {error}"
    return None


def _encode(source: str) -> bytes:
    # Generated string literals may hold lone surrogates: then the bytes are not
    # UTF-8, which is hostile input of its own (an RG900), not a reason to skip.
    return source.encode("utf-8", "surrogatepass")


def assert_engine_survives(source: str) -> None:
    data = _encode(source)
    lines = source.count("\n") + 2
    found: dict[bool, set[tuple[str, int, int]]] = {}
    for prefilter, run_settings in ((True, SETTINGS), (False, NO_PREFILTER)):
        report = check_source("fuzz.py", data, run_settings, enabled=ENABLED)
        codes = {d.code for d in report.diagnostics}
        assert codes <= KNOWN, f"unknown codes {codes - KNOWN}"
        assert codes <= ENABLED | {"RG900"}, f"codes that were not enabled: {codes - ENABLED}"
        internal = [e.message for e in report.errors if "too deeply nested" not in e.message]
        assert not internal, f"internal errors (prefilter={prefilter}): {internal}"
        for d in report.diagnostics:
            assert d.filename == "fuzz.py"
            assert 1 <= d.location.row <= lines and d.location.column >= 1, d
            assert d.end_location >= d.location or d.code == "RG900", d
        found[prefilter] = {
            (d.code, d.location.row, d.location.column)
            for d in report.diagnostics
            if d.code != "RG900"
        }
    missed = found[False] - found[True]
    assert not missed, f"the prefilter dropped findings: {sorted(missed)}"


@FUZZ
@given(hypothesmith.from_grammar())
def test_engine_never_raises_on_grammar_programs(source: str) -> None:
    assert_engine_survives(source)


@FUZZ
@given(hypothesmith.from_node())
def test_engine_never_raises_on_libcst_programs(source: str) -> None:
    assert_engine_survives(source)


@FUZZ
@given(GENERATED, st.booleans())
def test_engine_never_raises_next_to_resources(generated: str, inside: bool) -> None:
    assert_engine_survives(placed(generated, inside))


@FUZZ
@given(GENERATED, st.booleans())
def test_fix_leaves_the_text_alone_or_compiles(generated: str, inside: bool) -> None:
    source = placed(generated, inside)
    result = fix_text("fuzz.py", source, SETTINGS, ENABLED, unsafe=True)
    if result.text != source:
        problem = _compiles(result.text)
        assert problem is None, f"--fix wrote code that does not compile: {problem}"
        assert result.fixed > 0


# --- the same through the command line, on real files (a handful: subprocesses) -----------

CLI_FILES = 6


def _cli_supports_fix() -> bool:
    result = subprocess.run(
        [sys.executable, "-m", "runguard_lint", "--help"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    return "--fix" in result.stdout and "--unsafe-fixes" in result.stdout


@pytest.fixture(scope="module")
def cli_fix() -> bool:
    return _cli_supports_fix()


@settings(FUZZ, max_examples=max(2, EXAMPLES // 10))
@given(st.lists(st.tuples(UNTARGETED, st.booleans()), min_size=CLI_FILES, max_size=CLI_FILES))
def test_cli_fix_leaves_files_alone_or_compiling(
    tmp_path_factory: pytest.TempPathFactory, cli_fix: bool, programs: list[tuple[str, bool]]
) -> None:
    if not cli_fix:
        pytest.fail("`--fix --unsafe-fixes` is not a command-line option yet (SPEC: Command line)")
    root = tmp_path_factory.mktemp("fuzz_cli")
    originals: dict[str, bytes] = {}
    for index, (generated, inside) in enumerate(programs):
        data = _encode(placed(generated, inside))
        (root / f"fuzz_{index}.py").write_bytes(data)
        originals[f"fuzz_{index}.py"] = data
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    result = subprocess.run(
        [sys.executable, "-m", "runguard_lint", "--no-cache", "--fix", "--unsafe-fixes", "."],
        cwd=root,
        capture_output=True,
        text=True,
        errors="replace",
        env=env,
        timeout=600,
    )
    assert result.returncode in (0, 1), (result.returncode, result.stderr[-3000:])
    assert "Traceback (most recent call last)" not in result.stderr, result.stderr[-3000:]
    for name, before in originals.items():
        after = (root / name).read_bytes()
        if after != before:
            problem = _compiles(after.decode("utf-8"))
            assert problem is None, f"{name}: --fix wrote code that does not compile: {problem}"
