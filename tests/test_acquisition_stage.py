"""The prefilter's acquisition stage: which calls send a function to LibCST.

A `with` item that closes what it acquires is released by construction, so it sends
nothing on, whether the catalog knows it as a callable (`open(path)`) or as a method
of an imported type (`path.open()`), unless the rule that judges `with` items (RG402)
runs. Each case is also checked for soundness: the same findings with the prefilter
as without it."""

from __future__ import annotations

import ast
import dataclasses
import re
import textwrap

import pytest

from runguard_lint.config import Settings
from runguard_lint.pipeline.check import check_text
from runguard_lint.prefilter import acquisitions
from runguard_lint.prefilter.acquisitions import acquisition_candidates
from runguard_lint.prefilter.syntax import import_map
from tests.conftest import ROOT

SETTINGS = Settings(project_root=ROOT)
UNFILTERED = dataclasses.replace(SETTINGS, prefilter=False)


def _candidate_lines(source: str, *, keep_with_items: bool = False) -> list[int]:
    tree = ast.parse(source)
    found = acquisition_candidates(tree, source, SETTINGS.catalog, keep_with_items)
    return sorted(node.lineno for node in found)


def _findings(source: str, settings: Settings) -> list[tuple[str, int]]:
    report = check_text("example.py", source, settings, settings.enabled_codes())
    assert not report.errors, report.errors
    return [(d.code, d.location.row) for d in report.diagnostics]


PATH_OPEN_IN_WITH = """
import pathlib


def read(name):
    with pathlib.Path(name).open() as handle:
        return handle.read()
"""

PATH_OPEN_KEPT = """
import pathlib


def read(name):
    handle = pathlib.Path(name).open()
    return handle.read()
"""

# `connect` is also a method of SQLAlchemy's engines, whose `with` closes; psycopg2's
# connection as a `with` item commits or rolls back but stays open.
CALLABLE_BEHIND_METHOD = """
import psycopg2
import sqlalchemy


def store(dsn, row):
    with psycopg2.connect(dsn) as conn:
        conn.cursor().execute("insert", row)
"""


def test_a_closing_method_in_with_sends_nothing_on() -> None:
    source = textwrap.dedent(PATH_OPEN_IN_WITH)
    assert _candidate_lines(source) == []
    assert _candidate_lines(source, keep_with_items=True) == [6]


def test_the_same_method_outside_with_is_kept_and_reported() -> None:
    source = textwrap.dedent(PATH_OPEN_KEPT)
    assert _candidate_lines(source) == [6]
    assert ("RG106", 6) in _findings(source, SETTINGS)


def test_a_callable_that_does_not_close_in_with_is_kept_behind_a_method_name() -> None:
    source = textwrap.dedent(CALLABLE_BEHIND_METHOD)
    assert _candidate_lines(source) == [7]
    assert ("RG102", 7) in _findings(source, SETTINGS)


# A call that loads into its receiver acquires the receiver: its `with` releases nothing.
LOAD_INTO_RECEIVER = """
from annoy import AnnoyIndex


def search(path, vector):
    index = AnnoyIndex(40, "angular")
    with index.load(path):
        return index.get_nns_by_vector(vector, 10)
"""

START_INTO_RECEIVER = """
from multiprocessing.managers import SyncManager


def shared():
    manager = SyncManager()
    with manager.start():
        return manager.dict()
"""

# One name, imported as two modules in two functions: the call may be either.
TWO_IMPORTS_OF_ONE_NAME = """
import sqlalchemy


def a():
    import psycopg as db
    return db


def b(dsn):
    import psycopg2 as db
    with db.connect(dsn) as conn:
        conn.cursor().execute("select 1")
"""


def test_a_with_item_that_loads_into_its_receiver_is_kept() -> None:
    assert _candidate_lines(textwrap.dedent(LOAD_INTO_RECEIVER)) == [7]
    assert _candidate_lines(textwrap.dedent(START_INTO_RECEIVER)) == [7]


def test_a_with_item_kept_when_any_import_of_its_name_does_not_close() -> None:
    assert _candidate_lines(textwrap.dedent(TWO_IMPORTS_OF_ONE_NAME)) == [12]


@pytest.mark.parametrize(
    "source",
    [
        PATH_OPEN_IN_WITH,
        PATH_OPEN_KEPT,
        CALLABLE_BEHIND_METHOD,
        LOAD_INTO_RECEIVER,
        START_INTO_RECEIVER,
        TWO_IMPORTS_OF_ONE_NAME,
    ],
    ids=[
        "path-open-in-with",
        "path-open-kept",
        "callable-behind-method",
        "load-into-receiver",
        "start-into-receiver",
        "two-imports-of-one-name",
    ],
)
def test_the_stage_is_sound(source: str) -> None:
    text = textwrap.dedent(source)
    assert _findings(text, SETTINGS) == _findings(text, UNFILTERED)


# Names a catalog method (`start`, `load`) on something of no type the catalog knows.
NO_CATALOG_IMPORT = """
import json


def run(worker, path):
    worker.start()
    data = json.load(open(path))
    return data
"""

# Each source with the line of its one candidate.
FROM_ITS_IMPORTS = {
    "method of an imported type": ("import threading\n\ndef f(lock):\n    lock.acquire()\n", 4),
    "callable under an alias": ("from httpx import Client as C\n\ndef f():\n    c = C()\n", 4),
    "module under an alias": ("import httpx as h\n\ndef f():\n    c = h.Client()\n", 4),
    "builtin open": ("def f(path):\n    handle = open(path)\n", 2),
    # Identifiers are NFKC-normalised: `open` in full-width letters is the builtin.
    "builtin open, full width": (
        "def f(path):\n    Client = \uff4f\uff50\uff45\uff4e(path)\n    return 1\n",
        2,
    ),
}


def test_a_file_that_imports_no_catalog_module_is_ruled_out_before_the_walk() -> None:
    # `open` is the builtin: kept; `worker.start()` names a method of no imported type.
    assert _candidate_lines(textwrap.dedent(NO_CATALOG_IMPORT)) == [7]
    without_open = textwrap.dedent(NO_CATALOG_IMPORT).replace("open(path)", "path")
    assert acquisitions._may_acquire(without_open, {"json": {"json"}}, SETTINGS.catalog) is False
    assert _candidate_lines(without_open) == []


@pytest.mark.parametrize(("source", "line"), FROM_ITS_IMPORTS.values(), ids=FROM_ITS_IMPORTS.keys())
def test_what_the_imports_allow_is_walked(source: str, line: int) -> None:
    assert _candidate_lines(source) == [line]


def test_the_import_check_rules_out_only_files_the_walk_finds_nothing_in(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """On every fixture, the candidates are those the walk finds without the check."""
    texts = {}
    for path in sorted((ROOT / "fixtures").rglob("*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            texts[path] = (text, ast.parse(text))
        except SyntaxError:
            continue
    catalog = SETTINGS.catalog
    checked = {p: acquisition_candidates(t, s, catalog, False) for p, (s, t) in texts.items()}
    ruled_out = [
        p
        for p, (s, t) in texts.items()
        if catalog.distinctive_pattern.search(s)
        and not acquisitions._may_acquire(s, import_map(t), catalog)
    ]
    monkeypatch.setattr(acquisitions, "_may_acquire", lambda *_: True)
    walked = {p: acquisition_candidates(t, s, catalog, False) for p, (s, t) in texts.items()}
    assert checked == walked
    assert sum(map(bool, walked.values())) > 30
    assert len(ruled_out) > 5


@pytest.mark.parametrize(
    "text",
    [
        "open(p)",
        "f = open",
        "reopen(p)",
        "open_file()",
        "_open",
        "opener",
        "x.open()",
        "éopen",
        "reopen(p); open(q)",
        "reopened = 1\nopen",
        "",
        "OPEN",
    ],
)
def test_open_as_a_word_is_found_as_the_word_boundary_pattern_finds_it(text: str) -> None:
    assert acquisitions._names_open(text) == bool(re.search(r"\bopen\b", text))
