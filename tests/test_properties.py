"""Property tests of the analysis through the engine API (SPEC: the precision contract).

Programs are generated from templates: an acquisition from the resource catalog
(every import form) x a placement (function body, `if`, `try`, method, nested
function) x a shape (bare, `with`, `with` via the name later, `finally`, escape,
borrow). Three properties:

1. wrapping a flagged acquisition in `with`/`async with` (directly or via its
   name later) makes its finding disappear;
2. renaming the identifiers the program chooses (variable, function, parameter,
   class) changes no finding;
3. unrelated statements and comments inserted before the function shift the
   rows of the findings, nothing else;
4. each shape gives exactly what the precision contract says: one finding with
   the family code at the acquisition (bare, borrowed, created in a loop, put in
   a dropped local list), RG301 at a release on the normal path only, and
   nothing for `with`, `finally`, exit stacks, escapes and globals.
"""

from __future__ import annotations

import builtins
import keyword
import textwrap
from dataclasses import dataclass
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import HealthCheck, assume, given, settings

from runguard_lint.config import Settings
from runguard_lint.pipeline.check import check_source

SETTINGS = Settings(project_root=Path("."))
ENABLED = frozenset({"RG101", "RG102", "RG103", "RG105", "RG106", "RG301", "RG401"})
FAST = settings(max_examples=50, deadline=None, suppress_health_check=[HealthCheck.too_slow])


@dataclass(frozen=True)
class Acquisition:
    """One catalog acquisition as it is written in code."""

    imports: str  # import lines ("" for builtins)
    expr: str  # what is assigned (may start with `await `)
    with_expr: str  # the same acquisition as a `with` context expression
    code: str  # the family's rule
    cm: str  # "sync" or "async": which `with` closes it
    release: str  # a statement releasing `{v}` ("await ..." is fine in async only)
    needs_async: bool = False
    extra_param: str = ""  # a parameter the acquisition needs (`pool: asyncpg.Pool`)
    cm_by_name: bool = True  # whether `with <name>:` works on the acquired value

    @property
    def with_kw(self) -> str:
        return "async with" if self.cm == "async" else "with"


ACQUISITIONS: tuple[Acquisition, ...] = (
    Acquisition(
        "import httpx",
        "httpx.AsyncClient(timeout=5)",
        "httpx.AsyncClient(timeout=5)",
        "RG101",
        "async",
        "await {v}.aclose()",
        needs_async=True,
    ),
    Acquisition("import httpx as hx", "hx.Client()", "hx.Client()", "RG101", "sync", "{v}.close()"),
    Acquisition(
        "from httpx import AsyncClient as AC",
        "AC()",
        "AC()",
        "RG101",
        "async",
        "await {v}.aclose()",
        needs_async=True,
    ),
    Acquisition(
        "import requests",
        "requests.Session()",
        "requests.Session()",
        "RG101",
        "sync",
        "{v}.close()",
    ),
    Acquisition(
        "import aiohttp",
        "aiohttp.ClientSession()",
        "aiohttp.ClientSession()",
        "RG101",
        "async",
        "await {v}.close()",
        needs_async=True,
    ),
    Acquisition(
        "from openai import AsyncOpenAI",
        "AsyncOpenAI()",
        "AsyncOpenAI()",
        "RG101",
        "async",
        "await {v}.close()",
        needs_async=True,
    ),
    Acquisition(
        "import anthropic",
        "anthropic.Anthropic()",
        "anthropic.Anthropic()",
        "RG101",
        "sync",
        "{v}.close()",
    ),
    Acquisition(
        "import urllib3",
        "urllib3.PoolManager()",
        "urllib3.PoolManager()",
        "RG101",
        "sync",
        "{v}.clear()",
    ),
    Acquisition(
        "import asyncpg",
        "await asyncpg.create_pool(DSN)",
        "asyncpg.create_pool(DSN)",
        "RG102",
        "async",
        "await {v}.close()",
        needs_async=True,
    ),
    Acquisition(
        "import psycopg",
        "psycopg.connect(DSN)",
        "psycopg.connect(DSN)",
        "RG102",
        "sync",
        "{v}.close()",
    ),
    Acquisition("import redis", "redis.Redis()", "redis.Redis()", "RG102", "sync", "{v}.close()"),
    Acquisition(
        "from pymongo import MongoClient as Mongo",
        "Mongo(DSN)",
        "Mongo(DSN)",
        "RG102",
        "sync",
        "{v}.close()",
    ),
    Acquisition(
        "import psycopg_pool",
        "psycopg_pool.ConnectionPool(DSN)",
        "psycopg_pool.ConnectionPool(DSN)",
        "RG102",
        "sync",
        "{v}.close()",
    ),
    Acquisition(
        "import concurrent.futures",
        "concurrent.futures.ThreadPoolExecutor(max_workers=2)",
        "concurrent.futures.ThreadPoolExecutor(max_workers=2)",
        "RG103",
        "sync",
        "{v}.shutdown()",
    ),
    Acquisition(
        "from concurrent.futures import ProcessPoolExecutor as PPE",
        "PPE()",
        "PPE()",
        "RG103",
        "sync",
        "{v}.shutdown(wait=False)",
    ),
    Acquisition(
        "import multiprocessing as mp",
        "mp.Pool(2)",
        "mp.Pool(2)",
        "RG103",
        "sync",
        "{v}.terminate()",
    ),
    Acquisition(
        "import asyncpg",
        "await pool.acquire()",
        "pool.acquire()",
        "RG105",
        "async",
        "await pool.release({v})",
        needs_async=True,
        extra_param="pool: asyncpg.Pool",
        cm_by_name=False,
    ),
    Acquisition(
        "import sqlalchemy\nENGINE = sqlalchemy.create_engine('sqlite://')",
        "ENGINE.connect()",
        "ENGINE.connect()",
        "RG105",
        "sync",
        "{v}.close()",
    ),
    Acquisition("", "open(PATH)", "open(PATH)", "RG106", "sync", "{v}.close()"),
    Acquisition(
        "import io", "io.open(PATH, 'rb')", "io.open(PATH, 'rb')", "RG106", "sync", "{v}.close()"
    ),
    Acquisition(
        "import socket",
        "socket.create_connection((HOST, 80))",
        "socket.create_connection((HOST, 80))",
        "RG106",
        "sync",
        "{v}.close()",
    ),
    Acquisition(
        "import socket", "socket.socket()", "socket.socket()", "RG106", "sync", "{v}.close()"
    ),
    Acquisition(
        "import subprocess",
        # With a pipe: a child given none and never waited for is a detached one.
        "subprocess.Popen(CMD, stdout=subprocess.PIPE)",
        "subprocess.Popen(CMD, stdout=subprocess.PIPE)",
        "RG106",
        "sync",
        "{v}.wait()",
    ),
    Acquisition(
        "from tempfile import NamedTemporaryFile as NTF",
        "NTF()",
        "NTF()",
        "RG106",
        "sync",
        "{v}.close()",
    ),
    Acquisition(
        "import tempfile",
        "tempfile.TemporaryDirectory()",
        "tempfile.TemporaryDirectory()",
        "RG106",
        "sync",
        "{v}.cleanup()",
    ),
    Acquisition(
        "import zipfile",
        "zipfile.ZipFile(PATH)",
        "zipfile.ZipFile(PATH)",
        "RG106",
        "sync",
        "{v}.close()",
    ),
    Acquisition(
        "import tarfile", "tarfile.open(PATH)", "tarfile.open(PATH)", "RG106", "sync", "{v}.close()"
    ),
)

# Uses of the resource that neither release it nor transfer it.
USES = ("print({v})", "log({v})", "_ = repr({v})", "assert {v} is not None", "log(id({v}))")

# Where the acquisition sits: (header lines, indentation added to the body).
PLACEMENTS = ("body", "if", "try", "method", "nested")

# Shapes of the function; which are findings per SPEC.
SHAPES_FLAGGED = ("bare", "borrow", "loop", "list_dropped")
SHAPES_FINE = (
    "with",
    "with_later",
    "finally",
    "guarded_finally",
    "exit_stack",
    "returned",
    "stored",
    "closure",
    "global",
)
SHAPES_RG301 = ("normal_release",)
SHAPES = SHAPES_FLAGGED + SHAPES_FINE + SHAPES_RG301

HEADER = textwrap.dedent(
    """\
    import contextlib

    DSN = "postgresql://db/app"
    PATH = "data.bin"
    HOST = "example.invalid"
    CMD = ["true"]


    def log(*values):
        # Writes to a stream, which can be a closed pipe: a call that can raise.
        print(*values)
        return values
    """
)

RESERVED = (
    set(keyword.kwlist)
    | set(keyword.softkwlist)
    | set(dir(builtins))
    | {
        "log",
        "self",
        "flag",
        "httpx",
        "hx",
        "AC",
        "requests",
        "aiohttp",
        "AsyncOpenAI",
        "anthropic",
        "urllib3",
        "asyncpg",
        "psycopg",
        "redis",
        "Mongo",
        "psycopg_pool",
        "concurrent",
        "PPE",
        "mp",
        "io",
        "socket",
        "subprocess",
        "NTF",
        "tempfile",
        "zipfile",
        "tarfile",
        "DSN",
        "PATH",
        "HOST",
        "CMD",
        "holder",
        "inner",
        "contextlib",
        "stack",
        "items",
        "outer",
        "CONSTANT",
        "NAMES",
        "CONSTANT_FLAG",
        "Unrelated",
        "unrelated_helper",
        "os",
        "pool",
        "ENGINE",
        "sqlalchemy",
    }
)


@dataclass(frozen=True)
class Names:
    var: str = "res"
    func: str = "handler"
    param: str = "arg"
    cls: str = "Service"


def _body(acq: Acquisition, shape: str, n: Names, uses: tuple[str, ...]) -> list[str]:
    """The statements of the function that holds the acquisition (unindented)."""
    v = n.var
    use_lines = [u.format(v=v) for u in uses] or ["pass"]
    if shape == "bare":
        return [f"{v} = {acq.expr}", *use_lines]
    if shape == "borrow":
        return [f"{v} = {acq.expr}", *use_lines, f"log({v}, {n.param})"]
    if shape == "with":
        return [f"{acq.with_kw} {acq.with_expr} as {v}:", *("    " + u for u in use_lines)]
    if shape == "with_later":
        return [f"{v} = {acq.expr}", f"{acq.with_kw} {v}:", *("    " + u for u in use_lines)]
    if shape == "finally":
        return [
            f"{v} = {acq.expr}",
            "try:",
            *("    " + u for u in use_lines),
            "finally:",
            "    " + acq.release.format(v=v),
        ]
    if shape == "guarded_finally":
        return [
            f"{v} = None",
            "try:",
            f"    {v} = {acq.expr}",
            *("    " + u for u in use_lines),
            "finally:",
            f"    if {v} is not None:",
            "        " + acq.release.format(v=v),
        ]
    if shape == "exit_stack":
        if acq.cm == "async":
            return [
                "async with contextlib.AsyncExitStack() as stack:",
                f"    {v} = await stack.enter_async_context({acq.with_expr})",
                *("    " + u for u in use_lines),
            ]
        return [
            "with contextlib.ExitStack() as stack:",
            f"    {v} = stack.enter_context({acq.with_expr})",
            *("    " + u for u in use_lines),
        ]
    if shape == "loop":
        return [
            f"for _ in range({n.param}):",
            f"    {v} = {acq.expr}",
            *("    " + u for u in use_lines),
            acq.release.format(v=v),
        ]
    if shape == "list_dropped":
        return ["items = []", f"items.append({acq.expr})", "log(len(items))"]
    if shape == "global":
        return [f"global {v}", f"{v} = {acq.expr}", *use_lines]
    if shape == "normal_release":
        return [f"{v} = {acq.expr}", *use_lines, acq.release.format(v=v)]
    if shape == "returned":
        return [f"{v} = {acq.expr}", *use_lines, f"return {v}"]
    if shape == "stored":
        return [f"{v} = {acq.expr}", *use_lines, f"holder.{v} = {v}"]
    if shape == "closure":
        return [f"{v} = {acq.expr}", *use_lines, f"return lambda: log({v})"]
    raise AssertionError(shape)


@dataclass(frozen=True)
class Program:
    text: str
    acquisition_row: int  # 1-based row of the acquiring call
    release_row: int | None  # 1-based row of the last release statement, if any


def build(
    acq: Acquisition,
    shape: str,
    placement: str,
    is_async: bool,
    uses: tuple[str, ...],
    names: Names = Names(),
    prelude: tuple[str, ...] = (),
) -> Program:
    """One module: imports, header, prelude (unrelated lines), then the function."""
    body = _body(acq, shape, names, uses)
    is_async = is_async or acq.needs_async or acq.expr.startswith("await ")
    kw = "async def" if is_async else "def"
    params = f"{names.param}, holder" if shape == "stored" else names.param
    if acq.extra_param:
        params += ", " + acq.extra_param
    if placement == "body":
        head, indent = [f"{kw} {names.func}({params}):"], "    "
    elif placement == "if":
        head, indent = [f"{kw} {names.func}({params}):", "    if flag:"], "        "
    elif placement == "try":
        head, indent = [f"{kw} {names.func}({params}):", "    try:"], "        "
    elif placement == "method":
        head = [f"class {names.cls}:", f"    {kw} {names.func}(self, {params}):"]
        indent = "        "
    elif placement == "nested":
        head = ["def outer():", f"    {kw} {names.func}({params}):"]
        indent = "        "
    else:
        raise AssertionError(placement)
    lines = [*head, *(indent + line for line in body)]
    if placement == "try":
        lines += ["    except ValueError:", "        log(None)"]
    if placement == "if":
        lines += ["    log(None)"]
    if placement == "nested":
        lines += [f"    return {names.func}"]
    prefix = [acq.imports] if acq.imports else []
    prefix += ["", "", *HEADER.splitlines(), "", "flag = True", "", *prelude, "", ""]
    text = "\n".join([*prefix, *lines]) + "\n"
    marker = acq.with_expr if shape in ("with", "exit_stack") else acq.expr
    row = next(
        i
        for i, line in enumerate(text.splitlines(), start=1)
        if marker in line and not line.lstrip().startswith(("import", "from"))
    )
    release = acq.release.format(v=names.var)
    release_rows = [
        i for i, line in enumerate(text.splitlines(), start=1) if line.strip() == release
    ]
    return Program(text, row, release_rows[-1] if release_rows else None)


def findings(program: Program | str) -> list[tuple[int, int, str]]:
    text = program.text if isinstance(program, Program) else program
    report = check_source("x.py", text.encode("utf-8"), SETTINGS, enabled=ENABLED)
    assert not report.errors, report.errors
    return sorted((d.location.row, d.location.column, d.code) for d in report.diagnostics)


def rows_codes(found: list[tuple[int, int, str]]) -> list[tuple[int, str]]:
    return sorted((row, code) for row, _, code in found)


acquisitions = st.sampled_from(ACQUISITIONS)
placements = st.sampled_from(PLACEMENTS)
uses = st.lists(st.sampled_from(USES), min_size=0, max_size=3).map(tuple)
identifiers = st.from_regex(r"[A-Za-z][A-Za-z0-9_]{0,11}", fullmatch=True).filter(
    lambda s: s not in RESERVED and not s.startswith("__")
)
name_sets = st.lists(identifiers, min_size=4, max_size=4, unique=True).map(
    lambda xs: Names(var=xs[0], func=xs[1], param=xs[2], cls=xs[3])
)
unrelated = st.sampled_from(
    (
        "# an unrelated comment",
        "# runguard is not mentioned here",
        "CONSTANT = 42",
        "NAMES = ['a', 'b']",
        "def unrelated_helper():\n    return 1",
        "class Unrelated:\n    x = 1",
        "import os",
        "if CONSTANT_FLAG := False:\n    pass",
        "",
    )
)


@FAST
@given(
    acq=acquisitions,
    placement=placements,
    is_async=st.booleans(),
    use=uses,
    wrap=st.sampled_from(("with", "with_later")),
)
def test_with_makes_the_finding_disappear(
    acq: Acquisition, placement: str, is_async: bool, use: tuple[str, ...], wrap: str
) -> None:
    assume(wrap != "with_later" or acq.cm_by_name)
    bare = build(acq, "bare", placement, is_async, use)
    assert (bare.acquisition_row, acq.code) in rows_codes(findings(bare)), bare.text
    wrapped = build(acq, wrap, placement, is_async, use)
    assert findings(wrapped) == [], wrapped.text


@FAST
@given(
    acq=acquisitions,
    placement=placements,
    is_async=st.booleans(),
    use=uses,
    shape=st.sampled_from(SHAPES),
    names=name_sets,
)
def test_renaming_changes_nothing(
    acq: Acquisition, placement: str, is_async: bool, use: tuple[str, ...], shape: str, names: Names
) -> None:
    assume(shape != "with_later" or acq.cm_by_name)
    original = build(acq, shape, placement, is_async, use)
    renamed = build(acq, shape, placement, is_async, use, names=names)
    assert rows_codes(findings(original)) == rows_codes(findings(renamed)), renamed.text


@FAST
@given(
    acq=acquisitions,
    placement=placements,
    is_async=st.booleans(),
    use=uses,
    shape=st.sampled_from(SHAPES),
    prelude=st.lists(unrelated, max_size=5).map(tuple),
)
def test_unrelated_lines_only_shift_rows(
    acq: Acquisition,
    placement: str,
    is_async: bool,
    use: tuple[str, ...],
    shape: str,
    prelude: tuple[str, ...],
) -> None:
    assume(shape != "with_later" or acq.cm_by_name)
    original = build(acq, shape, placement, is_async, use)
    shifted = build(acq, shape, placement, is_async, use, prelude=prelude)
    shift = shifted.acquisition_row - original.acquisition_row
    assert shift == sum(len(p.split("\n")) for p in prelude)
    before = findings(original)
    after = findings(shifted)
    assert [(row + shift, col, code) for row, col, code in before] == after, shifted.text


@pytest.mark.parametrize("shape", SHAPES)
@settings(max_examples=12, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(acq=acquisitions, placement=placements, is_async=st.booleans(), use=uses)
def test_shapes_match_the_precision_contract(
    acq: Acquisition, placement: str, is_async: bool, use: tuple[str, ...], shape: str
) -> None:
    assume(shape != "with_later" or acq.cm_by_name)
    if shape in SHAPES_RG301 and not use:
        use = ("log({v})",)  # something between acquisition and release that can raise
    program = build(acq, shape, placement, is_async, use)
    found = rows_codes(findings(program))
    if shape in SHAPES_RG301:
        assert found == [(program.release_row, "RG301")], program.text
    elif shape in SHAPES_FLAGGED:
        assert found == [(program.acquisition_row, acq.code)], program.text
    else:
        assert found == [], program.text
