"""Hostile input: every odd file gets a clear answer, and nothing else is lost.

SPEC "Bad input gets a clear answer, and nothing is lost" and "Exit status".
Each test puts one hostile file NEXT TO an ordinary leaking file (`leak.py`,
RG101 at 3:9) and runs the real CLI in a subprocess with a timeout. It asserts
that the run finishes (no hang, no traceback, no death by signal), that the
leak in `leak.py` is still reported, that the hostile file is named (an RG900
with a reason, a finding in it, or a stderr line), and that the exit status is
1 when findings remain and 2 only for usage, config or internal errors.

Already covered elsewhere, so not repeated here: a missing path, a syntax
error, an unreadable file, symlink loops, invalid UTF-8, an unknown declared
encoding, a latin-1 file with a cookie, a BOM, empty files, a non-Python file
named explicitly, a directory named `x.py` (tests/test_cli.py,
tests/test_discovery.py) and invalid TOML / wrong keys in the config
(tests/test_config.py).
"""

from __future__ import annotations

import json
import marshal
import os
import subprocess
import sys
from dataclasses import dataclass
from importlib.util import MAGIC_NUMBER
from pathlib import Path
from typing import Any

import pytest

from runguard_lint.config import Settings, find_config
from runguard_lint.pipeline.check import check_source

LEAK = "import httpx\nasync def f():\n    c = httpx.AsyncClient()\n    return await c.get('/')\n"
LEAK_AT = ("leak.py", 3, "RG101")

# An acquisition that must be analysed (so the file reaches the LibCST stage),
# followed by a statement in which the hostile expression is put.
DEEP_HEAD = "import httpx\nasync def g():\n    c = httpx.AsyncClient()\n"
DEEP_TAIL = "    return await c.get('/')\n"

# Generous: the machine is shared; a hang is what this catches, not slowness.
TIMEOUT = 240

ERROR_PREFIX = "runguard-lint: error:"


@dataclass(frozen=True)
class Run:
    returncode: int
    stdout: str
    stderr: str
    findings: list[dict[str, Any]]

    def where(self) -> set[tuple[str, int, str]]:
        return {(f["filename"], f["location"]["row"], f["code"]) for f in self.findings}

    def about(self, name: str) -> list[dict[str, Any]]:
        return [f for f in self.findings if f["filename"] == name]

    def error_lines(self) -> list[str]:
        return [line for line in self.stderr.splitlines() if line.startswith(ERROR_PREFIX)]


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A temp project holding the ordinary leaking file, and no config above it."""
    assert find_config(tmp_path) is None, "a config above the temp dir would skew the tests"
    (tmp_path / "leak.py").write_text(LEAK, encoding="utf-8")
    return tmp_path


def run_raw(
    project: Path, *args: str, timeout: float = TIMEOUT
) -> subprocess.CompletedProcess[str]:
    """The real CLI; a run that does not finish in time is a failure, not a hang."""
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    command = [sys.executable, "-m", "runguard_lint", *args]
    try:
        result = subprocess.run(
            command,
            cwd=project,
            capture_output=True,
            text=True,
            encoding="utf-8",
            errors="surrogateescape",
            env=env,
            timeout=timeout,
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"`runguard-lint {' '.join(args)}` did not finish within {timeout} s")
    _assert_no_crash(result)
    return result


def _assert_no_crash(result: subprocess.CompletedProcess[str]) -> None:
    if result.returncode < 0:
        pytest.fail(
            f"the run died from signal {-result.returncode}; stderr:\n{result.stderr[-2000:]}"
        )
    if "Traceback (most recent call last)" in result.stderr:
        last = result.stderr.strip().splitlines()[-1]
        pytest.fail(
            f"the run crashed with a traceback (exit {result.returncode}): {last}\n"
            f"...{result.stderr[-1500:]}"
        )


def lint(project: Path, *paths: str, timeout: float = TIMEOUT) -> Run:
    """`runguard-lint --no-cache --output-format json PATHS` (default `.`)."""
    result = run_raw(
        project, "--no-cache", "--output-format", "json", *(paths or (".",)), timeout=timeout
    )
    try:
        findings = json.loads(result.stdout)
    except ValueError:
        pytest.fail(
            f"standard output is not the JSON report (exit {result.returncode}):\n"
            f"{result.stdout[-1000:]}\nstderr:\n{result.stderr[-2000:]}"
        )
    return Run(result.returncode, result.stdout, result.stderr, findings)


def assert_survived(run: Run, hostile: str) -> None:
    """The leak is still found, the hostile file is named, the exit status fits."""
    assert LEAK_AT in run.where(), f"the other file was not checked: {run.findings}\n{run.stderr}"
    named = bool(run.about(hostile)) or any(hostile in line for line in run.error_lines())
    assert named, f"{hostile} is not named in the report or on stderr:\n{run.stderr}"
    expected = 2 if run.error_lines() else 1
    assert run.returncode == expected, (run.returncode, run.stderr)


def assert_rg900(run: Run, hostile: str, *reasons: str) -> dict[str, Any]:
    """The hostile file is exactly one RG900 whose message gives the reason; exit 1."""
    assert_survived(run, hostile)
    found = run.about(hostile)
    assert [f["code"] for f in found] == ["RG900"], found
    message = found[0]["message"]
    assert message.split(":", 1)[-1].strip(), f"RG900 without a reason: {message!r}"
    for reason in reasons:
        assert reason in message, (reason, message)
    assert run.returncode == 1 and not run.error_lines(), run.stderr
    return found[0]


def leak_variant(text: str = LEAK) -> str:
    """The same leak under another function name, for the hostile file itself."""
    return text.replace("def f()", "def g()")


# --- line endings and encodings ---------------------------------------------------------


def test_crlf_line_endings(project: Path) -> None:
    (project / "crlf.py").write_bytes(leak_variant().replace("\n", "\r\n").encode())
    run = lint(project)
    assert_survived(run, "crlf.py")
    assert run.where() == {LEAK_AT, ("crlf.py", 3, "RG101")}
    [finding] = run.about("crlf.py")
    assert (finding["location"]["column"], finding["end_location"]) == (9, {"row": 3, "column": 28})


def test_old_mac_and_mixed_line_endings(project: Path) -> None:
    (project / "cr.py").write_bytes(leak_variant().replace("\n", "\r").encode())
    (project / "mixed.py").write_bytes(
        b"import httpx\r\n\nasync def g():\r    x = 1\n    c = httpx.AsyncClient()\r\n"
        b"    return await c.get('/')\r"
    )
    run = lint(project)
    assert_survived(run, "cr.py")
    assert run.where() == {LEAK_AT, ("cr.py", 3, "RG101"), ("mixed.py", 5, "RG101")}


def test_bom_crlf_and_utf8_cookie_together(project: Path) -> None:
    text = "# -*- coding: utf-8 -*-\n" + leak_variant()
    (project / "bom.py").write_bytes(b"\xef\xbb\xbf" + text.replace("\n", "\r\n").encode())
    run = lint(project)
    assert_survived(run, "bom.py")
    assert ("bom.py", 4, "RG101") in run.where()


def test_bom_contradicting_a_latin1_cookie(project: Path) -> None:
    (project / "liar.py").write_bytes(
        b"\xef\xbb\xbf# -*- coding: latin-1 -*-\n" + leak_variant().encode()
    )
    assert_rg900(lint(project), "liar.py", "cannot decode")


def test_utf16_file(project: Path) -> None:
    (project / "wide.py").write_bytes(leak_variant().encode("utf-16"))
    assert_rg900(lint(project), "wide.py", "cannot decode")


def test_null_byte(project: Path) -> None:
    (project / "nul.py").write_bytes(leak_variant().encode() + b"x = '\x00'\n")
    assert_rg900(lint(project), "nul.py", "null")


def test_compiled_bytecode_saved_as_py(project: Path) -> None:
    source = (project / "leak.py").read_text(encoding="utf-8")
    code = compile(source, "leak.py", "exec")
    (project / "binary.py").write_bytes(MAGIC_NUMBER + b"\0" * 12 + marshal.dumps(code))
    assert_rg900(lint(project), "binary.py")


def test_inconsistent_tabs_and_spaces(project: Path) -> None:
    (project / "tabs.py").write_bytes(
        b"import httpx\nasync def g():\n    c = httpx.AsyncClient()\n\treturn await c.get('/')\n"
    )
    assert_rg900(lint(project), "tabs.py", "tabs")


# --- size -----------------------------------------------------------------------------------


def test_five_megabyte_module_with_a_leak_at_the_end(project: Path) -> None:
    """A generated module (as protobuf and friends write them): big literals, some
    functions, and one leak in its last lines."""
    parts = ['"""Generated."""\nimport httpx\n\n']
    size, index = 0, 0
    while size < 5_000_000:
        part = f"_BLOB_{index} = {('x' * 990)!r}\n"
        if index % 50 == 0:
            part += f"\n\ndef helper_{index}(value):\n    return value + {index}\n\n\n"
        parts.append(part)
        size += len(part)
        index += 1
    parts.append("\n\n" + leak_variant().split("\n", 1)[1])
    text = "".join(parts)
    (project / "big.py").write_text(text, encoding="utf-8")
    assert (project / "big.py").stat().st_size >= 5_000_000
    run = lint(project)
    assert_survived(run, "big.py")
    assert ("big.py", text.count("\n") - 1, "RG101") in run.where()


def test_two_megabyte_line(project: Path) -> None:
    (project / "wide_line.py").write_text(
        leak_variant() + "X = '" + "a" * 2_000_000 + "'\n", encoding="utf-8"
    )
    run = lint(project)
    assert_survived(run, "wide_line.py")
    assert ("wide_line.py", 3, "RG101") in run.where()


# --- nesting: what CPython rejects ------------------------------------------------------


def test_3000_nested_parentheses(project: Path) -> None:
    """CPython's parser refuses nesting deeper than 200 before LibCST (whose native
    parser segfaults on this) is ever reached."""
    depth = 3000
    (project / "parens.py").write_text(
        leak_variant() + "x = " + "(" * depth + "1" + ")" * depth + "\n", encoding="utf-8"
    )
    finding = assert_rg900(lint(project), "parens.py", "too many nested parentheses")
    assert finding["location"]["row"] == 5


def test_500_nested_blocks(project: Path) -> None:
    """CPython's tokenizer stops at 100 levels of indentation."""
    lines = ["import httpx", "async def g():"]
    lines += ["    " * (level + 1) + "if True:" for level in range(500)]
    lines += ["    " * 501 + "c = httpx.AsyncClient()", "    " * 501 + "return await c.get('/')"]
    (project / "blocks.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    assert_rg900(lint(project), "blocks.py", "indentation")


def test_20000_term_expression(project: Path) -> None:
    (project / "chain.py").write_text(
        leak_variant() + "x = " + " + ".join(["1"] * 20_000) + "\n", encoding="utf-8"
    )
    assert_rg900(lint(project), "chain.py", "nested")


def test_parser_stack_overflow_gives_a_reason(project: Path) -> None:
    """`ast.parse` raises a MemoryError with no message ("parser stack overflow")
    on a 3,000-term power chain: the RG900 must still say why."""
    (project / "power.py").write_text(
        DEEP_HEAD + "    x = " + " ** ".join(["c"] * 3000) + "\n" + DEEP_TAIL, encoding="utf-8"
    )
    assert_rg900(lint(project), "power.py", "nested")


# --- nesting: what CPython accepts, deep enough to stress LibCST ------------------------


def test_98_nested_blocks_reach_the_analysis(project: Path) -> None:
    depth = 98  # + the function body: 99 indentation levels, CPython's limit is 100
    lines = ["import httpx", "async def g():"]
    lines += ["    " * (level + 1) + "if True:" for level in range(depth)]
    body = "    " * (depth + 1)
    lines += [body + "c = httpx.AsyncClient()", body + "return await c.get('/')"]
    (project / "blocks.py").write_text("\n".join(lines) + "\n", encoding="utf-8")
    run = lint(project)
    assert_survived(run, "blocks.py")
    assert ("blocks.py", depth + 3, "RG101") in run.where()


def test_199_nested_parentheses_reach_the_analysis(project: Path) -> None:
    depth = 199
    (project / "parens.py").write_text(
        DEEP_HEAD + "    x = " + "(" * depth + "c" + ")" * depth + "\n" + DEEP_TAIL,
        encoding="utf-8",
    )
    run = lint(project)
    assert_survived(run, "parens.py")
    assert {f["code"] for f in run.about("parens.py")} <= {"RG101", "RG900"}


def test_150_deep_nested_calls_reach_the_analysis(project: Path) -> None:
    depth = 150
    (project / "calls.py").write_text(
        DEEP_HEAD + "    x = " + "f(" * depth + "c" + ")" * depth + "\n" + DEEP_TAIL,
        encoding="utf-8",
    )
    run = lint(project)
    assert_survived(run, "calls.py")
    assert {f["code"] for f in run.about("calls.py")} <= {"RG101", "RG900"}


DEEP_EXPRESSIONS = {
    # Flat lists in `ast` (so CPython accepts them), deep trees in LibCST.
    "plus_chain": lambda n: " + ".join(["c"] * n),
    "attribute_chain": lambda n: "c" + ".a" * n,
    "not_chain": lambda n: "not " * n + "c",
}


@pytest.mark.parametrize("shape", sorted(DEEP_EXPRESSIONS))
def test_3000_deep_expression_accepted_by_cpython(project: Path, shape: str) -> None:
    """Recursion limits in LibCST's metadata resolution must not take the run down:
    the file is reported (RG900, or its findings) and the other files are kept."""
    expression = DEEP_EXPRESSIONS[shape](3000)
    (project / "deep.py").write_text(
        DEEP_HEAD + "    x = " + expression + "\n" + DEEP_TAIL, encoding="utf-8"
    )
    run = lint(project)
    assert_survived(run, "deep.py")


def test_native_parser_segfault_is_reported(project: Path) -> None:
    """A 10,000-term `or` chain is one flat BoolOp for CPython but kills LibCST 1.9's
    native parser with SIGSEGV: the worker dies, the file is retried alone, and it
    is reported; `leak.py` (checked in the same pool) is not lost."""
    (project / "segv.py").write_text(
        DEEP_HEAD + "    x = " + " or ".join(["c"] * 10_000) + "\n" + DEEP_TAIL, encoding="utf-8"
    )
    for index in range(4):  # company in the pool that breaks
        (project / f"other_{index}.py").write_text(leak_variant(), encoding="utf-8")
    run = lint(project, "--jobs", "2", ".")
    assert_survived(run, "segv.py")
    found = run.about("segv.py")
    assert [f["code"] for f in found] == ["RG900"], found
    assert "crashed" in found[0]["message"]
    assert {(f"other_{i}.py", 3, "RG101") for i in range(4)} <= run.where()


def test_engine_never_raises_on_a_deep_expression() -> None:
    """The engine API (used in-process by `-` and by editors) turns a recursion
    failure inside LibCST's metadata resolution into a report, whatever the
    recursion limit of the calling process."""
    settings = Settings(project_root=Path("."))
    source = DEEP_HEAD + "    x = c" + ".a" * 1000 + "\n" + DEEP_TAIL
    report = check_source("deep.py", source.encode(), settings)
    assert report.diagnostics or report.errors
    assert {d.code for d in report.diagnostics} <= {"RG101", "RG900"}


# --- standard input ---------------------------------------------------------------------


def test_stdin_survives_the_native_parser_segfault(tmp_path: Path) -> None:
    """Standard input gets the same crash isolation as files."""
    source = DEEP_HEAD + "    x = " + " or ".join(["c"] * 10_000) + "\n" + DEEP_TAIL
    result = _stdin_run(tmp_path, source)
    findings = json.loads(result.stdout)
    assert [(f["filename"], f["code"]) for f in findings] == [("segv.py", "RG900")]
    assert result.returncode == 1


def test_stdin_survives_a_deep_expression(tmp_path: Path) -> None:
    source = DEEP_HEAD + "    x = c" + ".a" * 1000 + "\n" + DEEP_TAIL
    result = _stdin_run(tmp_path, source)
    findings = json.loads(result.stdout)
    assert {f["filename"] for f in findings} == {"segv.py"}
    assert result.returncode == 1


def _stdin_run(cwd: Path, source: str) -> subprocess.CompletedProcess[str]:
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    command = [
        sys.executable,
        "-m",
        "runguard_lint",
        "--no-cache",
        "--output-format",
        "json",
        "--stdin-filename",
        "segv.py",
    ]
    try:
        result = subprocess.run(
            command, cwd=cwd, input=source, capture_output=True, text=True, env=env, timeout=TIMEOUT
        )
    except subprocess.TimeoutExpired:
        pytest.fail(f"the stdin run did not finish within {TIMEOUT} s")
    _assert_no_crash(result)
    return result


# --- --fix on hostile input --------------------------------------------------------------


def _fix(project: Path) -> tuple[Run, str]:
    result = run_raw(
        project, "--no-cache", "--fix", "--unsafe-fixes", "--output-format", "json", "."
    )
    run = Run(result.returncode, result.stdout, result.stderr, json.loads(result.stdout))
    fixed = (project / "leak.py").read_text(encoding="utf-8")
    assert fixed != LEAK, "leak.py was not fixed"
    compile(fixed, "leak.py", "exec")
    return run, fixed


@pytest.mark.parametrize(
    "expression",
    [
        pytest.param(" + ".join(["c"] * 3000), id="metadata_recursion"),
        pytest.param(" or ".join(["c"] * 10_000), id="native_parser_segfault"),
    ],
)
def test_fix_survives_a_file_that_cannot_be_analysed(project: Path, expression: str) -> None:
    deep = project / "deep.py"
    deep.write_text(DEEP_HEAD + "    x = " + expression + "\n" + DEEP_TAIL, encoding="utf-8")
    before = deep.read_bytes()
    run, _ = _fix(project)
    assert deep.read_bytes() == before, "a file that could not be analysed was rewritten"
    assert run.about("deep.py") or any("deep.py" in line for line in run.error_lines())
    assert run.returncode == (2 if run.error_lines() else 1), run.stderr


def test_fix_keeps_old_mac_line_endings(project: Path) -> None:
    """SPEC: `--fix` keeps the file's line endings, the last one included."""
    cr = project / "cr.py"
    cr.write_bytes(b"def read(path):\r    handle = open(path)\r    return handle.read()\r")
    result = run_raw(project, "--no-cache", "--fix", "cr.py")
    assert result.returncode == 0, result.stdout
    data = cr.read_bytes()
    assert data != b"def read(path):\r    handle = open(path)\r    return handle.read()\r"
    assert b"\n" not in data, data
    assert data.endswith(b"\r"), f"the last line ending was dropped: {data!r}"
    compile(data, "cr.py", "exec")


# --- odd files and names ----------------------------------------------------------------


@pytest.mark.skipif(not hasattr(os, "mkfifo"), reason="no named pipes on this platform")
@pytest.mark.parametrize("named_explicitly", [False, True], ids=["walked", "explicit"])
def test_named_pipe_called_x_py_does_not_hang(project: Path, named_explicitly: bool) -> None:
    """Reading a FIFO blocks until a writer comes: never read what is not a regular file."""
    os.mkfifo(project / "pipe.py")
    paths = ("pipe.py", "leak.py") if named_explicitly else (".",)
    run = lint(project, *paths, timeout=20)
    assert LEAK_AT in run.where()
    assert run.about("pipe.py") or "pipe.py" in run.stderr
    assert run.returncode == (2 if run.error_lines() else 1)


def test_explicit_dangling_symlink_is_named_as_given(project: Path) -> None:
    (project / "dangling.py").symlink_to(project / "nowhere.py")
    run = lint(project, "dangling.py", "leak.py")
    assert_survived(run, "dangling.py")


NON_UTF8_NAME = b"caf\xe9.py".decode("utf-8", "surrogateescape")


@pytest.mark.parametrize(
    "output_format", ["full", "concise", "json", "github", "gitlab", "junit", "sarif"]
)
def test_file_name_that_is_not_utf8(project: Path, output_format: str) -> None:
    try:
        (project / NON_UTF8_NAME).write_text(leak_variant(), encoding="utf-8")
    except (OSError, UnicodeEncodeError):
        pytest.skip("this file system refuses non-UTF-8 file names")
    result = run_raw(project, "--no-cache", "--output-format", output_format, ".")
    assert result.returncode == 1, result.stderr[-2000:]
    assert "leak.py" in result.stdout
    if output_format == "sarif":
        uris = {
            r["locations"][0]["physicalLocation"]["artifactLocation"]["uri"]
            for r in json.loads(result.stdout)["runs"][0]["results"]
        }
        assert len(uris) == 2, uris
    if output_format == "json":
        assert len(json.loads(result.stdout)) == 2


# --- configuration ----------------------------------------------------------------------


def test_config_file_that_is_not_utf8(project: Path) -> None:
    (project / "runguard-lint.toml").write_bytes(b'ignore = ["RG106"]\n# caf\xe9\n')
    result = run_raw(project, "--no-cache", ".")
    assert result.returncode == 2, result.stderr[-2000:]
    assert "runguard-lint.toml" in result.stderr


def test_pyproject_with_our_table_that_is_not_utf8(project: Path) -> None:
    """Not silently passed over: the user's settings would be ignored without a word."""
    (project / "pyproject.toml").write_bytes(
        b'[tool.runguard-lint]\nignore = ["RG101"]\n# caf\xe9\n'
    )
    result = run_raw(project, "--no-cache", ".")
    assert result.returncode == 2, (result.returncode, result.stdout[-1000:])
    assert "pyproject.toml" in result.stderr
