"""Plain `--fix` keeps what programs do: executed before and after, same answers, fewer descriptors.

A module written the leaky way, in a project that does not depend on
runguard-lint, is fixed by the real CLI (`--fix`, safe fixes only) into a
copy. Each scenario then runs in a fresh interpreter against the original and
the fixed copy: a real loopback HTTP server, a real sqlite file, real files and
a real thread pool. The answers must be the same; the open descriptors after
the run no more than before (fewer where the original leaked); the fixed file
imports nothing the project does not declare; and a fire-and-forget job handed
to an executor still runs without the call waiting for it.
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
    not Path("/proc/self/fd").is_dir(), reason="counts descriptors through /proc/self/fd"
)

APP = '''\
"""An app written the way that leaks."""

import sqlite3
import threading
import time
from concurrent.futures import ThreadPoolExecutor

import httpx

DONE = threading.Event()


def fetch(url: str) -> str:
    client = httpx.Client(timeout=10)
    response = client.get(url)
    text = response.text
    return text


def save_all(paths: list[str], text: str) -> int:
    for path in paths:
        open(path, "w").write(text)
    return len(open(paths[0]).read())


def log_all(path: str, lines: list[str]) -> int:
    for line in lines:
        print(line, file=open(path, "a"))
    return len(open(path).read().splitlines())


def count_rows(path: str) -> int:
    with sqlite3.connect(path) as db:
        db.execute("create table if not exists t (x)")
        db.execute("insert into t values (1)")
        return db.execute("select count(*) from t").fetchone()[0]


def _job() -> None:
    time.sleep(0.3)
    DONE.set()


def fire_and_forget(workers: int) -> None:
    executor = ThreadPoolExecutor(max_workers=workers)
    executor.submit(_job)
'''

RUN = """
import gc, json, os, sys, tempfile, time
gc.disable()
import app

def descriptors():
    return len(os.listdir("/proc/self/fd"))

url, scratch = sys.argv[1], sys.argv[2]
before = descriptors()
texts = [app.fetch(url) for _ in range(50)]
paths = [os.path.join(scratch, f"f{i}.txt") for i in range(50)]
saved = [app.save_all(paths, "hello") for _ in range(5)]
rows = [app.count_rows(os.path.join(scratch, "db.sqlite")) for _ in range(20)]
logged = app.log_all(os.path.join(scratch, "log.txt"), [str(i) for i in range(100)])
started = time.monotonic()
app.fire_and_forget(2)
returned_after = time.monotonic() - started
job_ran = app.DONE.wait(5)
print(json.dumps({
    "texts": sorted(set(texts)),
    "saved": saved,
    "rows": rows,
    "logged": logged,
    "file": open(paths[-1]).read(),
    "returned_quickly": returned_after < 0.2,
    "job_ran": job_ran,
    "leaked_descriptors": descriptors() - before,
}))
"""


@pytest.fixture(scope="module")
def programs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    root = tmp_path_factory.mktemp("fix-behaviour")
    before = root / "before"
    before.mkdir()
    (before / "app.py").write_text(APP, encoding="utf-8")
    (before / "requirements.txt").write_text("httpx\n", encoding="utf-8")
    after = root / "after"
    shutil.copytree(before, after)
    result = run_cli("--fix", "--no-cache", "app.py", cwd=after)
    assert "Fixed 7 findings" in result.stdout, result.stdout + result.stderr
    for directory in (before, after):
        (directory / "run.py").write_text(textwrap.dedent(RUN), encoding="utf-8")
    return {"before": before, "after": after}


def _run(directory: Path, url: str, scratch: Path) -> dict[str, object]:
    scratch.mkdir()
    result = subprocess.run(
        [sys.executable, "run.py", url, str(scratch)],
        cwd=directory,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 0, result.stderr
    measured: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return measured


def test_the_safe_fixes_are_the_shortest_stdlib_ones(programs: dict[str, Path]) -> None:
    fixed = (programs["after"] / "app.py").read_text(encoding="utf-8")
    assert "runguard_lint" not in fixed  # the project does not declare it
    assert "    with httpx.Client(timeout=10) as client:\n" in fixed
    # the temporary is closed right after the one statement that uses it, per iteration
    assert '        with open(path, "w") as f:\n            f.write(text)\n' in fixed
    assert "    with open(paths[0]) as f:\n        return len(f.read())\n" in fixed
    assert "with contextlib.closing(sqlite3.connect(path)) as db, db:" in fixed
    # a temporary passed by keyword: an exit stack around just that statement, per line
    assert (
        "        with contextlib.ExitStack() as scope:\n"
        '            print(line, file=scope.enter_context(open(path, "a")))\n'
    ) in fixed
    # neither waits for nor cancels the job it was handed
    assert "        executor.shutdown(wait=False)\n" in fixed
    assert "cancel_futures" not in fixed


def test_same_answers_and_no_more_descriptors(
    programs: dict[str, Path], server_url: str, tmp_path: Path
) -> None:
    before = _run(programs["before"], server_url, tmp_path / "before")
    after = _run(programs["after"], server_url, tmp_path / "after")
    leaked_before = before.pop("leaked_descriptors")
    leaked_after = after.pop("leaked_descriptors")
    assert after == before
    assert before["job_ran"] is True and before["returned_quickly"] is True
    assert isinstance(leaked_before, int) and isinstance(leaked_after, int)
    assert leaked_before >= 50, leaked_before  # one socket per fetch, never closed
    assert leaked_after <= 2, leaked_after


PERMITS = """\
import threading

LOCK = threading.Lock()
ENTRIES = []


def record(entry):
    LOCK.acquire()
    if not entry:
        raise ValueError("empty entry")
    ENTRIES.append(entry)
    LOCK.release()
"""

PERMITS_MAIN = """
import json
import permits

permits.record("a")
try:
    permits.record("")
except ValueError:
    pass
free = permits.LOCK.acquire(timeout=0.5)  # the failed call must have given the lock back
print(json.dumps({"entries": permits.ENTRIES, "lock_free_after_error": free}))
"""


def test_a_moved_permit_release_keeps_the_answer_and_frees_the_lock(tmp_path: Path) -> None:
    """RG301 on a lock: `--fix` moves `release()` into `finally`. Run before and after:
    the same entries, and only the fixed code gives the lock back when the call raises."""
    results = {}
    for name in ("before", "after"):
        directory = tmp_path / name
        directory.mkdir()
        (directory / "permits.py").write_text(PERMITS, encoding="utf-8")
        (directory / "main.py").write_text(PERMITS_MAIN, encoding="utf-8")
        if name == "after":
            fixed = run_cli("--fix", "--no-cache", "--select", "RG301", "permits.py", cwd=directory)
            assert fixed.returncode == 0, fixed.stdout + fixed.stderr
        ran = subprocess.run(
            [sys.executable, "main.py"], cwd=directory, capture_output=True, text=True, timeout=60
        )
        assert ran.returncode == 0, ran.stderr
        results[name] = json.loads(ran.stdout)
    assert results["before"]["entries"] == results["after"]["entries"] == ["a"]
    assert results["before"]["lock_free_after_error"] is False
    assert results["after"]["lock_free_after_error"] is True
    fixed_text = (tmp_path / "after" / "permits.py").read_text(encoding="utf-8")
    assert "    finally:\n        LOCK.release()\n" in fixed_text


def _before_and_after(
    tmp_path: Path,
    files: dict[str, str],
    fix_args: tuple[str, ...],
    fixed_count: int,
    main_args: tuple[str, ...] = (),
) -> dict[str, dict[str, object]]:
    """Write `files` into `before/` and `after/`, fix `after/` with the real CLI (`--fix
    --no-cache` and `fix_args`, which must report `fixed_count` findings fixed), run
    `main.py MAIN_ARGS` in each and return what each printed, read as JSON."""
    results: dict[str, dict[str, object]] = {}
    for name in ("before", "after"):
        directory = tmp_path / name
        directory.mkdir()
        for filename, text in files.items():
            (directory / filename).write_text(text, encoding="utf-8")
        if name == "after":
            fixed = run_cli("--fix", "--no-cache", *fix_args, cwd=directory)
            assert fixed.returncode == 0, fixed.stdout + fixed.stderr
            assert f"Fixed {fixed_count} findings" in fixed.stdout, fixed.stdout
        ran = subprocess.run(
            [sys.executable, "main.py", *main_args],
            cwd=directory,
            capture_output=True,
            text=True,
            timeout=60,
        )
        assert ran.returncode == 0, ran.stderr
        results[name] = json.loads(ran.stdout)
    return results


BRANCHES = """\
import httpx


def fetch(url, mode):
    try:
        if mode == "plain":
            client = httpx.Client(timeout=10)
            try:
                response = client.get(url)
            except httpx.TransportError:
                response = client.get(url + "/again")
            text = "plain:" + response.text
        else:
            client = httpx.Client(timeout=10, headers={"x-mode": mode})
            text = mode + ":" + client.get(url).text
    except httpx.HTTPError as error:
        text = f"error: {error}"
    return text
"""

BRANCHES_MAIN = """
import gc, json, os, sys
gc.disable()
import branches

before = len(os.listdir("/proc/self/fd"))
texts = [branches.fetch(sys.argv[1], mode) for mode in ["plain", "json"] * 20]
print(json.dumps({
    "texts": sorted(set(texts)),
    "leaked_descriptors": len(os.listdir("/proc/self/fd")) - before,
}))
"""


def test_a_name_bound_in_two_branches_gets_a_with_per_branch(
    server_url: str, tmp_path: Path
) -> None:
    """`client` bound in both branches of an `if` (instructor's cli/batch.py shape): each
    branch's client gets its own `with` (a safe fix), not one exit stack around the whole
    body. Run before and after: the same answers, and the fixed code closes every client."""
    files = {"branches.py": BRANCHES, "main.py": BRANCHES_MAIN, "requirements.txt": "httpx\n"}
    results = _before_and_after(tmp_path, files, ("branches.py",), 2, (server_url,))
    fixed_text = (tmp_path / "after" / "branches.py").read_text(encoding="utf-8")
    assert "ExitStack" not in fixed_text and "scope" not in fixed_text
    assert "            with httpx.Client(timeout=10) as client:\n" in fixed_text
    assert (
        '            with httpx.Client(timeout=10, headers={"x-mode": mode}) as client:\n'
        '                text = mode + ":" + client.get(url).text\n'
    ) in fixed_text
    assert results["before"]["texts"] == results["after"]["texts"] == ["json:ok", "plain:ok"]
    assert results["before"]["leaked_descriptors"] >= 20, results["before"]
    assert results["after"]["leaked_descriptors"] <= 1, results["after"]


def test_branches_inside_a_loop_are_not_told_apart(tmp_path: Path) -> None:
    """In a loop, a later iteration's other branch may use this iteration's client: the
    first branch's client gets no `with` that would close it at the end of its branch."""
    looped = (
        "import httpx\n\n\ndef fetch(url, modes):\n    texts = []\n    for mode in modes:\n"
        '        if mode == "new":\n            client = httpx.Client(timeout=10)\n'
        "        else:\n            texts.append(client.get(url).text)\n    return texts\n"
    )
    (tmp_path / "looped.py").write_text(looped, encoding="utf-8")
    result = run_cli("--diff", "--no-cache", "--unsafe-fixes", "looped.py", cwd=tmp_path)
    assert "with httpx.Client(timeout=10) as client:" not in result.stdout + result.stderr


LOOPS = """\
def count_texts(paths):
    count = 0
    for path in paths:
        handle = open(path)
        if not path.endswith(".txt"):
            continue
        count += len(handle.read())
        handle.close()
    return count


def first_text(paths):
    found = None
    for path in paths:
        handle = open(path)
        if path.endswith(".txt"):
            found = path
            break
        handle.close()
    return found
"""

LOOPS_MAIN = """
import json, os, sys, warnings
import loops

names = sorted(os.listdir(sys.argv[1]))
paths = [os.path.join(sys.argv[1], name) for name in names]
# A file dropped without close() is closed by its finaliser, which warns: count those.
with warnings.catch_warnings(record=True) as dropped:
    warnings.simplefilter("always", ResourceWarning)
    counted = [loops.count_texts(paths) for _ in range(10)]
    firsts = [os.path.basename(loops.first_text(paths)) for _ in range(10)]
print(json.dumps({
    "counted": sorted(set(counted)),
    "firsts": sorted(set(firsts)),
    "dropped_open": sum(issubclass(w.category, ResourceWarning) for w in dropped),
}))
"""


def test_a_release_moved_past_continue_and_break_keeps_the_answers(tmp_path: Path) -> None:
    """RG301 where a loop's `continue` skips the close, and where a `break` leaves the loop
    before it: `--fix` puts the rest of the round in `try`/`finally`. Run before and after
    on real files: the same answers, and the fixed code drops no file unclosed."""
    scratch = tmp_path / "files"
    scratch.mkdir()
    for name, text in (("a.log", "x"), ("b.txt", "hello"), ("c.log", "yy"), ("d.txt", "hi")):
        (scratch / name).write_text(text, encoding="utf-8")
    files = {"loops.py": LOOPS, "main.py": LOOPS_MAIN}
    results = _before_and_after(tmp_path, files, ("loops.py",), 2, (str(scratch),))
    assert results["before"]["counted"] == results["after"]["counted"] == [7]
    assert results["before"]["firsts"] == results["after"]["firsts"] == ["b.txt"]
    # Each count_texts call drops the two .log files unclosed, each first_text call b.txt.
    assert results["before"]["dropped_open"] == 30, results["before"]
    assert results["after"]["dropped_open"] == 0, results["after"]


SHARED_OR_BUILT = """\
import httpx

SHARED = httpx.Client(timeout=10)


def fetch(url, mode):
    if mode == "a":
        client = httpx.Client(timeout=10)
    elif mode == "b":
        client = httpx.Client(timeout=10, headers={"x-mode": mode})
    else:
        client = SHARED
    text = mode + ":" + client.get(url).text
    return text
"""

SHARED_OR_BUILT_MAIN = """
import gc, json, os, sys
gc.disable()
import clients

before = len(os.listdir("/proc/self/fd"))
texts = [clients.fetch(sys.argv[1], mode) for mode in ["a", "b", "c"] * 20]
print(json.dumps({
    "texts": sorted(set(texts)),
    "leaked_descriptors": len(os.listdir("/proc/self/fd")) - before,
}))
"""


def test_two_branches_that_build_and_one_that_shares_are_fixed_in_turn(
    server_url: str, tmp_path: Path
) -> None:
    """A client built on two branches of an `if`/`elif` and taken from a module-level one on
    the third (khoj's shape): `--fix --unsafe-fixes` applies the two fixes in turn. Run
    before and after: the same answers; the fixed code holds at most the shared client's
    connection and the one client it now builds once, and never closes the shared one."""
    files = {
        "clients.py": SHARED_OR_BUILT,
        "main.py": SHARED_OR_BUILT_MAIN,
        "requirements.txt": "httpx\n",
    }
    fix = ("--unsafe-fixes", "clients.py")
    results = _before_and_after(tmp_path, files, fix, 2, (server_url,))
    fixed_text = (tmp_path / "after" / "clients.py").read_text(encoding="utf-8")
    assert "SHARED.close" not in fixed_text and "scope.callback(client.close)" in fixed_text
    assert results["before"]["texts"] == results["after"]["texts"] == ["a:ok", "b:ok", "c:ok"]
    assert results["before"]["leaked_descriptors"] >= 40, results["before"]
    assert results["after"]["leaked_descriptors"] <= 2, results["after"]
