"""Determinism: the same input gives byte-identical output, however it is run.

A tree of ~30 files (leaks of several families, clean files, a syntax error, an
undecodable file, suppressed findings, nested packages, names that sort
differently by byte and by case) is checked with `--jobs 1/2/4`, with
`--no-cache`, with a cold and a warm `--cache-dir`, and twice in a row: every
report (json, full, sarif, and a few more) and the exit status must be
identical. A corrupted cache must change nothing either.
"""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from runguard_lint.config import find_config

TIMEOUT = 300

HTTP = (
    "import httpx\n"
    "\n"
    "\n"
    "async def fetch_{n}(url):\n"
    "    client = httpx.AsyncClient()\n"
    "    return await client.get(url)\n"
)
FILE = "def read_{n}(path):\n    handle = open(path)\n    return handle.read()\n"
EXECUTOR = (
    "import concurrent.futures\n"
    "\n"
    "\n"
    "def work_{n}(items):\n"
    "    pool = concurrent.futures.ThreadPoolExecutor()\n"
    "    return list(pool.map(str, items))\n"
)
MODULE_CACHE = (
    "_RESULTS = {{}}\n"
    "\n"
    "\n"
    "def lookup_{n}(key):\n"
    "    if key not in _RESULTS:\n"
    "        _RESULTS[key] = len(key)\n"
    "    return _RESULTS[key]\n"
)
NOT_EXCEPTION_SAFE = (
    "def copy_{n}(path):\n"
    "    handle = open(path)\n"
    "    data = handle.read()\n"
    "    handle.close()\n"
    "    return data\n"
)
CLEAN = (
    "import httpx\n"
    "\n"
    "CLIENT = httpx.AsyncClient()\n"
    "\n"
    "\n"
    "async def fetch_{n}(url):\n"
    "    async with httpx.AsyncClient() as client:\n"
    "        return await client.get(url)\n"
)
SUPPRESSED = (
    "def read_{n}(path):\n    handle = open(path)  # noqa: RG106\n    return handle.read()\n"
)
SEVERAL = HTTP + "\n\n" + FILE + "\n\n" + EXECUTOR.replace("import concurrent.futures\n", "")
SEVERAL = "import concurrent.futures\n" + SEVERAL

TEMPLATES = (HTTP, FILE, EXECUTOR, MODULE_CACHE, NOT_EXCEPTION_SAFE, CLEAN, SUPPRESSED, SEVERAL)
NAMES = (
    "app.py",
    "App2.py",
    "_private.py",
    "zz_last.py",
    "b.py",
    "a_b.py",
    "a-b.py",
    "with space.py",
    "caf\u00e9.py",
    "pkg/__init__.py",
    "pkg/mod.py",
    "pkg/Z.py",
    "pkg/sub/deep.py",
    "pkg/sub/__init__.py",
    "pkg/sub/more/leaf.py",
    "tests/test_x.py",
    "src/service/api.py",
    "src/service/db.py",
    "src/service/workers.py",
    "src/util.py",
    "stubs/types.pyi",
    "scripts/run.py",
    "a/b/c/d/e.py",
    "A.py",
    "a.py",
    "x10.py",
    "x9.py",
)


def build_tree(root: Path) -> None:
    for index, name in enumerate(NAMES):
        path = root / name
        path.parent.mkdir(parents=True, exist_ok=True)
        template = TEMPLATES[index % len(TEMPLATES)]
        path.write_text(template.format(n=index), encoding="utf-8")
    (root / "broken.py").write_text("def f(x=open(:\n    pass\n", encoding="utf-8")
    (root / "latin.py").write_bytes(b"NAME = 'caf\xe9'\n")
    (root / "crlf.py").write_bytes(HTTP.format(n=99).replace("\n", "\r\n").encode())


@pytest.fixture(scope="module")
def tree(tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("determinism")
    assert find_config(root) is None, "a config above the temp dir would skew the tests"
    build_tree(root)
    return root


def run(root: Path, *args: str) -> tuple[int, bytes, bytes]:
    env = dict(os.environ)
    env.pop("NO_COLOR", None)
    command = [sys.executable, "-m", "runguard_lint", *args, "."]
    result = subprocess.run(command, cwd=root, capture_output=True, env=env, timeout=TIMEOUT)
    assert result.returncode in (0, 1, 2), result.stderr.decode(errors="replace")[-2000:]
    assert b"Traceback" not in result.stderr, result.stderr.decode(errors="replace")[-2000:]
    return result.returncode, result.stdout, result.stderr


def test_json_is_identical_across_jobs_runs_and_cache(tree: Path, tmp_path: Path) -> None:
    cache = str(tmp_path / "cache")
    fmt = ("--output-format", "json")
    reference = run(tree, *fmt, "--no-cache", "--jobs", "1")
    status, stdout, _ = reference
    assert status == 1 and stdout.count(b'"code"') >= 20, stdout[:2000]
    assert b'"broken.py"' in stdout and b'"latin.py"' in stdout
    variants = {
        "--jobs 2": run(tree, *fmt, "--no-cache", "--jobs", "2"),
        "--jobs 4": run(tree, *fmt, "--no-cache", "--jobs", "4"),
        "--jobs 2, again": run(tree, *fmt, "--no-cache", "--jobs", "2"),
        "cold cache": run(tree, *fmt, "--cache-dir", cache, "--jobs", "2"),
        "warm cache, --jobs 1": run(tree, *fmt, "--cache-dir", cache, "--jobs", "1"),
        "warm cache, --jobs 4": run(tree, *fmt, "--cache-dir", cache, "--jobs", "4"),
    }
    assert any(Path(cache).rglob("*.json")), "the cache was not written"
    for name, outcome in variants.items():
        assert outcome[:2] == reference[:2], f"{name}: the report differs"
        assert outcome[2] == reference[2], f"{name}: stderr differs"


@pytest.mark.parametrize("output_format", ["full", "sarif", "junit"])
def test_other_formats_are_identical_across_jobs_and_cache(
    tree: Path, tmp_path: Path, output_format: str
) -> None:
    cache = str(tmp_path / "cache")
    fmt = ("--output-format", output_format)
    reference = run(tree, *fmt, "--no-cache", "--jobs", "1")
    assert reference[0] == 1 and reference[1]
    variants = {
        "--jobs 4": run(tree, *fmt, "--no-cache", "--jobs", "4"),
        "cold cache": run(tree, *fmt, "--cache-dir", cache, "--jobs", "2"),
        "warm cache": run(tree, *fmt, "--cache-dir", cache, "--jobs", "1"),
    }
    for name, outcome in variants.items():
        assert outcome == reference, f"{name}: the {output_format} output differs"


def test_a_corrupted_cache_changes_nothing(tree: Path, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    fmt = ("--output-format", "json")
    reference = run(tree, *fmt, "--no-cache", "--jobs", "2")
    assert run(tree, *fmt, "--cache-dir", str(cache), "--jobs", "2") == reference
    buckets = sorted(path for path in cache.rglob("*.json"))
    assert buckets, "the cache was not written"
    for garbage in (
        b"\x00\xff not json",
        b'{"app.py": {"sha256": 1, "diagnostics": "x"}}',
        b"[]",
        b"",
    ):
        for bucket in buckets:
            bucket.write_bytes(garbage)
        assert run(tree, *fmt, "--cache-dir", str(cache), "--jobs", "2") == reference, garbage


def test_a_cached_file_that_changes_is_checked_again(tmp_path: Path) -> None:
    root = tmp_path / "project"
    root.mkdir()
    cache = str(tmp_path / "cache")
    (root / "m.py").write_text(CLEAN.format(n=1), encoding="utf-8")
    fmt = ("--output-format", "json", "--cache-dir", cache)
    assert run(root, *fmt)[:2] == (0, b"[]\n")
    (root / "m.py").write_text(HTTP.format(n=1), encoding="utf-8")
    status, stdout, _ = run(root, *fmt)
    assert status == 1 and b'"RG101"' in stdout
    assert run(root, *fmt) == run(root, "--output-format", "json", "--no-cache")


def test_a_file_that_kills_its_worker_gives_the_same_report(tmp_path: Path) -> None:
    """The crash-isolation path (pool broken, files retried one per process) must not
    change the report or its order."""
    root = tmp_path / "project"
    root.mkdir()
    for index in range(5):
        (root / f"m{index}.py").write_text(HTTP.format(n=index), encoding="utf-8")
    (root / "k.py").write_text(
        "import httpx\nasync def g():\n    c = httpx.AsyncClient()\n    x = "
        + " or ".join(["c"] * 10_000)
        + "\n    return await c.get('/')\n",
        encoding="utf-8",
    )
    fmt = ("--output-format", "json", "--no-cache")
    reference = run(root, *fmt, "--jobs", "1")
    assert reference[0] == 1 and b'"k.py"' in reference[1]
    assert run(root, *fmt, "--jobs", "2") == reference
    assert run(root, *fmt, "--jobs", "4") == reference
