"""The result cache across edits of a project: a report cached under a file's content
alone (it read no project fact) or with the facts' digest must never outlive a change
of the facts that would change it. Every warm run must say what a run without the
cache says, file for file."""

from __future__ import annotations

import json
import os
import time
from pathlib import Path
from typing import Any

from runguard_lint.analysis.project.facts import ProjectFacts
from runguard_lint.pipeline.fact_stores import SignedPickle
from runguard_lint.pipeline.files import InputFile, content_hash
from runguard_lint.pipeline.project import _text
from tests.conftest import run_cli

FACTORY = "import httpx\n\n\ndef make_client():\n    return httpx.Client()\n"
SHARED = "import httpx\n\n_client = httpx.Client()\n\n\ndef make_client():\n    return _client\n"
USER = (
    "from pkg.clients import make_client\n\n\n"
    "def fetch():\n    client = make_client()\n    return client.get('x').text\n"
)
OWN_LEAK = "def read(path):\n    handle = open(path)\n    return handle.read()\n"
PLAIN = "def add(a, b):\n    return a + b\n"


def _findings(root: Path, *cache: str) -> list[dict[str, Any]]:
    result = run_cli("--output-format", "json", *(cache or ("--no-cache",)), ".", cwd=root)
    assert result.returncode in (0, 1), result.stderr
    found = json.loads(result.stdout)
    assert isinstance(found, list)
    return sorted(found, key=lambda f: (f["filename"], f["location"]["row"], f["code"]))


def _files(findings: list[dict[str, Any]]) -> set[str]:
    return {Path(f["filename"]).as_posix() for f in findings}


def _in_package(tmp_path: Path, modules: dict[str, str]) -> tuple[Path, Path]:
    """A project with one package `pkg` holding these modules (name -> text)."""
    root = tmp_path / "project"
    package = root / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    for name, text in modules.items():
        (package / name).write_text(text)
    return root, package


def _package(tmp_path: Path) -> tuple[Path, Path]:
    """A project whose package has a factory, its caller, a leak of its own and a
    module that names nothing."""
    return _in_package(
        tmp_path,
        {"clients.py": FACTORY, "use.py": USER, "files.py": OWN_LEAK, "plain.py": PLAIN},
    )


def test_warm_runs_follow_every_edit_of_the_facts(tmp_path: Path) -> None:
    root, package = _package(tmp_path)
    cache = ("--cache-dir", str(tmp_path / "cache"))

    cold = _findings(root, *cache)
    assert cold == _findings(root)
    assert {"pkg/use.py", "pkg/files.py"} <= _files(cold)
    assert _findings(root, *cache) == cold  # warm: every file from the cache

    # The factory now hands out one shared client: its caller no longer leaks.
    (package / "clients.py").write_text(SHARED)
    shared = _findings(root, *cache)
    assert shared == _findings(root)
    assert "pkg/use.py" not in _files(shared)
    assert "pkg/files.py" in _files(shared)

    # And back: the caller's report keyed by the old facts is found again, and right.
    (package / "clients.py").write_text(FACTORY)
    assert _findings(root, *cache) == cold

    # A body edit that changes no fact, and a new file that names the factory.
    (package / "plain.py").write_text(PLAIN + "\n# edited\n")
    (package / "more.py").write_text(USER.replace("fetch", "fetch_more"))
    edited = _findings(root, *cache)
    assert edited == _findings(root)
    assert "pkg/more.py" in _files(edited)


# The same project in a grammar newer than 3.11's (PEP 695): the fact pass in the pool
# and the check read such files through their rewrite (`runguard_lint.grammar`).
NEWER_FACTORY = (
    "import httpx\n\ntype Url = str\n\n\n"
    "def make_client[T]() -> httpx.Client:\n    return httpx.Client()\n"
)
NEWER_SHARED = (
    "import httpx\n\n_client = httpx.Client()\n\n\n"
    "def make_client[T]() -> httpx.Client:\n    return _client\n"
)
NEWER_USER = (
    "from pkg.clients import make_client\n\n\n"
    "def fetch[T](url: T) -> str:\n    client = make_client()\n    return client.get(url).text\n"
)
NEWER_PLAIN = "def add[T](a: T, b: T) -> T:\n    return a\n"


def test_warm_runs_follow_the_facts_of_files_in_a_newer_grammar(tmp_path: Path) -> None:
    root = tmp_path / "project"
    package = root / "pkg"
    package.mkdir(parents=True)
    (package / "__init__.py").write_text("")
    (package / "clients.py").write_text(NEWER_FACTORY)
    (package / "use.py").write_text(NEWER_USER)
    (package / "plain.py").write_text(NEWER_PLAIN)
    cache = ("--cache-dir", str(tmp_path / "cache"))

    cold = _findings(root, *cache)
    assert cold == _findings(root)
    assert "pkg/use.py" in _files(cold)
    assert not any(f["code"] == "RG900" for f in cold)
    assert _findings(root, *cache) == cold

    (package / "clients.py").write_text(NEWER_SHARED)
    shared = _findings(root, *cache)
    assert shared == _findings(root)
    assert "pkg/use.py" not in _files(shared)

    (package / "clients.py").write_text(NEWER_FACTORY)
    assert _findings(root, *cache) == cold


REGISTRY = "_SEEN = {}\n\n\ndef remember(key, text):\n    _SEEN[key] = len(text)\n"
LITERAL_CALLER = "from pkg.registry import remember\n\nremember('openai', 'x')\n"
DATA_CALLER = (
    "from pkg.registry import remember\n\n\n"
    "def on_request(request_id, text):\n    remember(request_id, text)\n"
)


def test_warm_runs_follow_the_callers_of_a_registry(tmp_path: Path) -> None:
    """Whether a registry's keys are bounded is decided by its callers in other modules
    (every call passes a constant): editing only a caller must change the registry's
    report on a warm run, and the summaries read back from the cache say the same."""
    root, package = _in_package(tmp_path, {"registry.py": REGISTRY, "setup.py": LITERAL_CALLER})
    cache = ("--cache-dir", str(tmp_path / "cache"))

    bounded = _findings(root, *cache)
    assert bounded == _findings(root)
    assert "pkg/registry.py" not in _files(bounded)
    assert _findings(root, *cache) == bounded

    (package / "setup.py").write_text(DATA_CALLER)
    growing = _findings(root, *cache)
    assert growing == _findings(root)
    assert [f["code"] for f in growing if f["filename"].endswith("registry.py")] == ["RG201"]

    (package / "setup.py").write_text(LITERAL_CALLER)
    assert _findings(root, *cache) == bounded


def _stored(cache: Path, pattern: str) -> bytes:
    [path] = list(cache.rglob(pattern))
    return path.read_bytes()


def test_edits_that_keep_the_facts_reuse_them_and_stay_right(tmp_path: Path) -> None:
    """A few changed files whose summaries are what they were (a comment, a body edit
    that moves no fact, a new file that names nothing the facts know) keep the joined
    facts: no summary is stored again. Any other edit joins them anew. Either way the
    warm run says what a run without the cache says."""
    root, package = _package(tmp_path)
    cache_dir = tmp_path / "cache"
    cache = ("--cache-dir", str(cache_dir))
    cold = _findings(root, *cache)
    assert {"pkg/use.py", "pkg/files.py"} <= _files(cold)
    summaries = _stored(cache_dir, "summaries-*.pickle")

    # A comment in the factory's module: same summary, same facts, same findings.
    (package / "clients.py").write_text(FACTORY + "# a comment\n")
    assert _findings(root, *cache) == cold == _findings(root)
    # Twice in a row: the edited module's new summary is kept with the facts.
    (package / "clients.py").write_text(FACTORY + "# another comment\n")
    assert _findings(root, *cache) == cold
    # The caller now closes its client: its own report changes, the facts do not.
    closing = USER.replace(
        "    client = make_client()\n    return client.get('x').text\n",
        "    with make_client() as client:\n        return client.get('x').text\n",
    )
    (package / "use.py").write_text(closing)
    closed = _findings(root, *cache)
    assert closed == _findings(root)
    assert "pkg/use.py" not in _files(closed)
    # A new module that names nothing the facts know, and one such module removed.
    (package / "more.py").write_text(PLAIN.replace("add", "more"))
    (package / "plain.py").unlink()
    assert _findings(root, *cache) == closed == _findings(root)
    assert _stored(cache_dir, "summaries-*.pickle") == summaries, "the facts were joined anew"

    # The factory now hands out a shared client: its summary changes, the facts too.
    (package / "clients.py").write_text(SHARED)
    shared = _findings(root, *cache)
    assert shared == _findings(root)
    assert _stored(cache_dir, "summaries-*.pickle") != summaries
    # And back, with the caller leaking again: the old facts are found anew.
    (package / "clients.py").write_text(FACTORY)
    (package / "use.py").write_text(USER)
    back = _findings(root, *cache)
    assert back == _findings(root)
    assert "pkg/use.py" in _files(back)

    # A module that starts naming a resource moves into the first pass, and a module
    # that the first pass summarised is removed.
    (package / "more.py").write_text("import httpx\n\n\n" + PLAIN)
    assert _findings(root, *cache) == _findings(root)
    (package / "files.py").unlink()
    fewer = _findings(root, *cache)
    assert fewer == _findings(root)
    assert "pkg/files.py" not in _files(fewer)


def test_a_new_package_marker_renames_modules_and_joins_the_facts_anew(tmp_path: Path) -> None:
    """`__init__.py` added below the root renames every module under it: the facts
    the last run joined name the old modules and cannot be kept, though no summarised
    file changed its content."""
    root = tmp_path / "project"
    package = root / "pkg"
    package.mkdir(parents=True)
    (package / "clients.py").write_text(FACTORY)
    (package / "use.py").write_text(USER)
    cache = ("--cache-dir", str(tmp_path / "cache"))
    loose = _findings(root, *cache)
    assert loose == _findings(root)
    (package / "__init__.py").write_text("")
    packaged = _findings(root, *cache)
    assert packaged == _findings(root)
    assert "pkg/use.py" in _files(packaged)
    assert packaged != loose


def test_a_file_rewritten_with_the_same_size_and_time_is_read_again(tmp_path: Path) -> None:
    """Files whose status (size, times, inode) is what it was when the last run hashed
    them are not read again; a rewrite that keeps the size and puts the modification
    time back still changes the change time, and is read."""
    root = tmp_path / "project"
    root.mkdir()
    leak = root / "files.py"
    leak.write_text(OWN_LEAK)
    (root / "plain.py").write_text(PLAIN)
    time.sleep(2.1)  # older than the file system's clock can blur
    cache = ("--cache-dir", str(tmp_path / "cache"))
    cold = _findings(root, *cache)
    assert _files(cold) == {"files.py"}
    assert _findings(root, *cache) == cold
    before = leak.stat()
    closed = OWN_LEAK.replace("open(path)", "list(path)")
    assert len(closed) == len(OWN_LEAK)
    leak.write_text(closed)
    os.utime(leak, ns=(before.st_atime_ns, before.st_mtime_ns))
    assert leak.stat().st_size == before.st_size
    assert leak.stat().st_mtime_ns == before.st_mtime_ns
    assert _findings(root, *cache) == [] == _findings(root)


WORKER = (
    "import subprocess\n\nfrom pkg.log import logger\n\n\n"
    "def run(cmd):\n    p = subprocess.Popen(cmd)\n    logger.info('started')\n"
    "    try:\n        p.communicate()\n    finally:\n        p.kill()\n"
)
LOGGER = "import logging\n\nlogger = logging.getLogger(__name__)\n"


def test_a_new_module_that_a_summary_asked_for_joins_the_facts_anew(tmp_path: Path) -> None:
    """A module named by a summary (the logger a module logs with) but absent from the
    project tells nothing; once a file of that name is added, the fact pass summarises
    it on demand, though its text names no resource, and the facts change with it."""
    root, package = _in_package(tmp_path, {"worker.py": WORKER})
    cache = ("--cache-dir", str(tmp_path / "cache"))
    unknown = _findings(root, *cache)
    assert unknown == _findings(root)
    assert [f["code"] for f in unknown] == ["RG301"]  # the log call might raise
    (package / "log.py").write_text(LOGGER)
    known = _findings(root, *cache)
    assert known == _findings(root) == []
    (package / "log.py").unlink()
    assert _findings(root, *cache) == unknown


def test_a_stub_that_takes_over_a_modules_name_joins_the_facts_anew(tmp_path: Path) -> None:
    """`log.pyi` added next to `log.py` is the module `pkg.log` the join looks up
    from then on: what it says of `logger` is what the facts must say."""
    root, package = _in_package(tmp_path, {"worker.py": WORKER, "log.py": LOGGER})
    cache = ("--cache-dir", str(tmp_path / "cache"))
    assert _findings(root, *cache) == _findings(root) == []
    (package / "log.pyi").write_text("import logging\n\nlogger: logging.Logger\n")
    assert _findings(root, *cache) == _findings(root)


def test_text_read_for_the_facts_must_be_the_content_hashed(tmp_path: Path) -> None:
    """A file saved again between its hash and the reading of its text tells the run
    nothing: a summary of the new text must not be stored under the old hash."""
    path = tmp_path / "factory.py"
    path.write_bytes(FACTORY.encode())
    digest = content_hash(FACTORY.encode())
    file = InputFile(path, "factory.py")
    assert _text(file, digest) == FACTORY
    path.write_bytes(SHARED.encode())
    assert _text(file, digest) is None


def test_facts_that_cannot_be_read_back_are_joined_again(tmp_path: Path) -> None:
    """A warm run reads the stored facts only when a file must be checked with them;
    if they cannot be unpickled then (their file signed, so only a damaged pickle),
    the facts are joined again and the findings are what a run without the cache says."""
    root, package = _package(tmp_path)
    cache_dir = tmp_path / "cache"
    cache = ("--cache-dir", str(cache_dir))
    cold = _findings(root, *cache)
    [path] = list(cache_dir.rglob("facts-*.pickle"))
    store = SignedPickle(path.parent.parent, path.name)
    loaded = store.load_headed()
    assert loaded is not None
    digest = loaded[0]
    store.save_headed(digest, "not the facts")
    # Nothing changed: every report comes from the cache, the facts are not read.
    assert _findings(root, *cache) == cold
    # A comment in the caller: the facts hold, but the caller is checked with them,
    # and they are joined again.
    (package / "use.py").write_text(USER + "# a comment\n")
    edited = _findings(root, *cache)
    assert edited == _findings(root)
    assert "pkg/use.py" in _files(edited)
    again = store.load_headed()
    assert again is not None and again[0] == digest
    assert isinstance(again[1](), ProjectFacts)


def test_another_selection_reads_the_stored_facts_back(tmp_path: Path) -> None:
    """The facts depend on the catalog, not on which rules run: a run with another
    selection reads back what the last run joined (the summaries are not stored again),
    and says what a run without the cache says."""
    root, _package_dir = _package(tmp_path)
    cache_dir = tmp_path / "cache"
    cache = ("--cache-dir", str(cache_dir))
    assert "pkg/use.py" in _files(_findings(root, *cache))
    [summaries] = list(cache_dir.rglob("summaries-*.pickle"))
    stored = summaries.stat().st_mtime_ns, summaries.read_bytes()
    only = _findings(root, *cache, "--select", "RG101")
    assert only == _findings(root, "--select", "RG101")
    assert {f["code"] for f in only} == {"RG101"}
    assert (summaries.stat().st_mtime_ns, summaries.read_bytes()) == stored


SERVICE = (
    "import httpx\n\n\nclass Service:\n    def __init__(self):\n"
    "        self.http = httpx.Client()\n\n    def run(self):\n        return self.http.get('x')\n"
)
MAIN = "from pkg.svc import Service\n\n\ndef main():\n    service = Service()\n    service.run()\n"
RERUN = "# runs main again\ndef rerun():\n    from pkg import start\n\n    start()\n"
CLI = "from pkg.util import rerun\n\nif __name__ == '__main__':\n    rerun()\n"


def test_a_file_kept_in_only_by_its_own_names_is_dropped_after_an_edit(tmp_path: Path) -> None:
    """`util` is summarised because its comment names `main` (a function that builds an
    owner; util calls it through the package's alias `start`), and `cli` because it
    names `rerun`, util's own. Once the comment no longer names `main`, nothing but
    util's own names would keep util in: a warm run must say what a cold run says,
    which takes neither."""
    root, package = _in_package(
        tmp_path, {"svc.py": SERVICE, "main.py": MAIN, "util.py": RERUN, "cli.py": CLI}
    )
    (package / "__init__.py").write_text("from pkg.main import main as start\n")
    cache = ("--cache-dir", str(tmp_path / "cache"))
    assert _findings(root, *cache) == _findings(root)
    (package / "util.py").write_text(RERUN.replace("runs main", "runs it"))
    assert _findings(root, *cache) == _findings(root)


def test_files_of_equal_content_each_ask_for_their_own_modules(tmp_path: Path) -> None:
    """Two modules of equal text in two packages import a helper of the same name from
    their own package: one closes what it is given, the other hands it back. Each
    module's imports are its own, so both helpers are summarised, whichever of the two
    modules a round took first; an edit that only changes that order keeps the
    findings of a cold run."""
    root = tmp_path / "project"
    user = (
        "import httpx\n\nfrom .u import shut\n\n\n"
        "def foo():\n    h = httpx.Client()\n    h.get('x')\n    shut(h)\n"
    )
    for package, helper in (("pkg1", "    handle.close()\n"), ("pkg2", "    return handle\n")):
        (root / package).mkdir(parents=True)
        (root / package / "__init__.py").write_text("")
        (root / package / "x.py").write_text(user)
        (root / package / "u.py").write_text(f"def shut(handle):\n{helper}")
    (root / "c.py").write_text("from pkg1.x import foo\n\n\ndef go():\n    foo()\n")
    cache = ("--cache-dir", str(tmp_path / "cache"))
    cold = _findings(root)
    assert _findings(root, *cache) == cold
    # pkg1's helper closes: its caller's client is released (not exception-safe), not
    # never closed, which is what a run that missed pkg1's helper would say.
    found = {(Path(f["filename"]).as_posix(), f["code"]) for f in cold}
    assert ("pkg1/x.py", "RG301") in found and ("pkg1/x.py", "RG101") not in found
    (root / "c.py").write_text("from pkg1.x import foo\n\n\ndef go():\n    foo()  # make\n")
    assert _findings(root, *cache) == _findings(root) == cold


def test_a_file_under_a_new_top_level_name_joins_the_facts_anew(tmp_path: Path) -> None:
    """`pkg.x` hands its client to `helper.shut`, a module of a top-level name the
    project does not have yet: nothing is asked for it. Once `helper.py` is added
    (closing what it is given), the demand steps ask for it, and a warm run must see
    the release as a cold run does."""
    root, _package = _in_package(
        tmp_path,
        {
            "x.py": (
                "import httpx\n\nfrom helper import shut\n\n\n"
                "def foo():\n    h = httpx.Client()\n    h.get('x')\n    shut(h)\n"
            )
        },
    )
    (root / "c.py").write_text("from pkg.x import foo\n\n\ndef go():\n    foo()\n")
    cache = ("--cache-dir", str(tmp_path / "cache"))
    before = _findings(root, *cache)
    assert before == _findings(root)
    assert [f["code"] for f in before] == ["RG101"]
    (root / "helper.py").write_text("def shut(handle):\n    handle.close()\n")
    after = _findings(root, *cache)
    assert after == _findings(root)
    assert [f["code"] for f in after] == ["RG301"]
