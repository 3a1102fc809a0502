"""The fixes change what a program holds at run time, measured before and after.

One module of agent tools, written the leaky way, is fixed by the real CLI
(`--fix --unsafe-fixes`, `cache-maxsize = 1000`, in a project that declares
runguard-lint as a dependency) into a copy; each measurement
then imports the original or the fixed copy in a fresh interpreter:

- an `httpx.AsyncClient` per call, against a local keep-alive HTTP/1.1
  server: open sockets after 100 calls (with the cyclic GC paused, so nothing
  is freed by luck; the leaked transports are held by the event loop anyway);
- an executor per tool call whose work is abandoned by `asyncio.wait_for`
  timeouts: live threads after 30 calls;
- a module-level embedding cache fed 50,000 distinct keys: its size.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.conftest import run_cli

pytestmark = pytest.mark.skipif(
    not Path("/proc/self/fd").is_dir(), reason="counts sockets through /proc/self/fd"
)

TOOLS = '''\
"""Agent tools, written the way that leaks."""

import asyncio
import threading
from concurrent.futures import ThreadPoolExecutor

import httpx

RELEASE = threading.Event()
_embeddings = {}


async def fetch(url: str) -> str:
    client = httpx.AsyncClient(timeout=10)
    response = await client.get(url)
    return response.text


def slow_tool() -> str:
    RELEASE.wait(30)
    return "done"


async def call_tool() -> str:
    loop = asyncio.get_running_loop()
    executor = ThreadPoolExecutor(max_workers=2)
    return await loop.run_in_executor(executor, slow_tool)


def embed(text: str) -> list[float]:
    if text not in _embeddings:
        _embeddings[text] = [float(len(text))]
    return _embeddings[text]
'''

SOCKETS = """
import asyncio, gc, json, os, sys
gc.disable()
import tools

def sockets():
    count = 0
    for fd in os.listdir("/proc/self/fd"):
        try:
            count += os.readlink(f"/proc/self/fd/{fd}").startswith("socket:")
        except OSError:
            pass
    return count

async def main(url):
    before = sockets()
    for _ in range(100):
        assert await tools.fetch(url) == "ok"
    print(json.dumps({"open_sockets": sockets() - before}))

asyncio.run(main(sys.argv[1]))
"""

THREADS = """
import asyncio, json, threading
import tools

async def main():
    before = threading.active_count()
    for _ in range(30):
        try:
            await asyncio.wait_for(tools.call_tool(), 0.05)
        except asyncio.TimeoutError:
            pass
    print(json.dumps({"new_threads": threading.active_count() - before}))
    tools.RELEASE.set()

asyncio.run(main())
"""

CACHE = """
import json
import tools

for number in range(50_000):
    tools.embed(f"document {number}")
print(json.dumps({"cache_entries": len(tools._embeddings)}))
"""


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    """`before/` and `after/`, each with tools.py; after/ fixed by the CLI."""
    root = tmp_path_factory.mktemp("runtime-effect")
    before = root / "before"
    before.mkdir()
    (before / "tools.py").write_text(TOOLS, encoding="utf-8")
    after = root / "after"
    shutil.copytree(before, after)
    (after / "runguard-lint.toml").write_text("cache-maxsize = 1000\n", encoding="utf-8")
    # The app depends on runguard-lint, so the fixes may import its runtime helpers.
    (after / "requirements.txt").write_text("httpx\nrunguard-lint\n", encoding="utf-8")
    result = run_cli("--fix", "--unsafe-fixes", "--no-cache", "tools.py", cwd=after)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "Fixed 3 findings" in result.stdout
    for program, text in (("sockets.py", SOCKETS), ("threads.py", THREADS), ("cache.py", CACHE)):
        for directory in (before, after):
            (directory / program).write_text(textwrap.dedent(text), encoding="utf-8")
    return {"before": before, "after": after}


def _measure(directory: Path, program: str, *args: str) -> dict[str, int]:
    result = subprocess.run(
        [sys.executable, program, *args], cwd=directory, capture_output=True, text=True, timeout=60
    )
    assert result.returncode == 0, result.stderr
    measured: dict[str, int] = json.loads(result.stdout.strip().splitlines()[-1])
    return measured


def test_the_fix_shares_clients_executors_and_bounds_the_cache(programs: dict[str, Path]) -> None:
    fixed = (programs["after"] / "tools.py").read_text(encoding="utf-8")
    assert "@per_loop" in fixed and "client = _fetch_client()" in fixed
    assert "@functools.cache" in fixed and "executor = _call_tool_executor()" in fixed
    assert "_embeddings = BoundedCache(maxsize=1000)" in fixed


def test_sockets_stop_piling_up(programs: dict[str, Path], server_url: str) -> None:
    before = _measure(programs["before"], "sockets.py", server_url)["open_sockets"]
    after = _measure(programs["after"], "sockets.py", server_url)["open_sockets"]
    assert before >= 95, before  # one keep-alive connection per call, never closed
    assert after <= 2, after  # one shared client per event loop, one connection


def test_blocked_threads_stay_bounded(programs: dict[str, Path]) -> None:
    before = _measure(programs["before"], "threads.py")["new_threads"]
    after = _measure(programs["after"], "threads.py")["new_threads"]
    assert before >= 30, before  # one stuck worker per abandoned call
    assert after <= 2, after  # the shared executor's max_workers


def test_cache_is_bounded(programs: dict[str, Path]) -> None:
    before = _measure(programs["before"], "cache.py")["cache_entries"]
    after = _measure(programs["after"], "cache.py")["cache_entries"]
    assert before == 50_000
    assert after == 1000
