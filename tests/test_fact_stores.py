"""The fact pass's stores on disk (`pipeline.fact_stores`) and the digest that keys them.

Real files in a temporary directory, signed with the test session's key (see
tests/conftest.py); what an attacker can do to them is in test_cache_integrity.
"""

from __future__ import annotations

import ast
import hashlib
import json
from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import Any

from runguard_lint import __version__
from runguard_lint.analysis.project.facts import Inherited, ProjectFacts, _Inheritance, join
from runguard_lint.analysis.project.summary import summarise
from runguard_lint.catalog import ResourceKind
from runguard_lint.config import Settings
from runguard_lint.pipeline.cache_key import cache_key, sign
from runguard_lint.pipeline.fact_stores import SignedPickle


def test_a_stored_value_loads_back_and_the_file_is_the_hmac_then_the_pickle(
    tmp_path: Path,
) -> None:
    store = SignedPickle(tmp_path, "facts-test.pickle")
    value = {f"pkg.mod{i}.f": ("self", f"arg{i % 7}") for i in range(50_000)}
    store.save(value)
    assert SignedPickle(tmp_path, "facts-test.pickle").load() == value
    assert store.path is not None
    mac, _, blob = store.path.read_bytes().partition(b"\n")
    key = cache_key()
    assert key is not None
    expected = sign(key, __version__, store.path.name, hashlib.sha256(blob).hexdigest())
    assert mac.decode() == expected


def test_a_value_that_cannot_be_pickled_leaves_the_stored_one_alone(tmp_path: Path) -> None:
    store = SignedPickle(tmp_path, "facts-test.pickle")
    store.save(("kept", 1))
    assert store.path is not None
    before = store.path.read_bytes()
    store.save(("lost", lambda: None))  # fails half-way through the pickle
    assert store.path.read_bytes() == before
    assert store.load() == ("kept", 1)
    assert [path.name for path in store.path.parent.iterdir()] == [store.path.name]


def test_a_first_line_longer_than_an_hmac_is_not_read_as_one(tmp_path: Path) -> None:
    store = SignedPickle(tmp_path, "facts-test.pickle")
    store.save("value")
    assert store.path is not None
    mac, _, blob = store.path.read_bytes().partition(b"\n")
    store.path.write_bytes(mac + b"0\n" + blob)
    assert store.load() is None


def test_a_headed_store_gives_its_head_and_unpickles_the_body_only_when_asked(
    tmp_path: Path,
) -> None:
    store = SignedPickle(tmp_path, "facts-test.pickle")
    body = {f"pkg.mod{i}.f": (f"arg{i % 7}",) for i in range(20_000)}
    store.save_headed("digest", body)
    loaded = SignedPickle(tmp_path, "facts-test.pickle").load_headed()
    assert loaded is not None
    head, later = loaded
    assert head == "digest"
    assert later() == body
    assert later() == body  # the value is kept; the bytes are let go

    # One byte of the body changed: the HMAC fails, nothing is unpickled.
    assert store.path is not None
    data = bytearray(store.path.read_bytes())
    data[-10] ^= 1
    store.path.write_bytes(bytes(data))
    assert store.load_headed() is None


def test_a_headed_body_that_cannot_be_unpickled_is_none(tmp_path: Path) -> None:
    store = SignedPickle(tmp_path, "facts-test.pickle")
    store.save_headed("digest", "body")
    assert store.path is not None
    mac, _, blob = store.path.read_bytes().partition(b"\n")
    key = cache_key()
    assert key is not None
    # A signed file whose body is cut short: the head reads, the body does not.
    cut = blob[:-3]
    mac = sign(key, __version__, store.path.name, hashlib.sha256(cut).hexdigest()).encode()
    store.path.write_bytes(mac + b"\n" + cut)
    loaded = store.load_headed()
    assert loaded is not None
    assert loaded[0] == "digest"
    assert loaded[1]() is None


def _filled() -> ProjectFacts:
    """Facts with every table holding something, in no particular order."""
    kind = ResourceKind(rule="RG101", callable="app.make_client", may_be_borrowed=True)
    return ProjectFacts(
        factories={"app.make_client": kind},
        fresh_gates={"app.make_client": frozenset({1, 0})},
        releasers={"app.close_all": frozenset({2, 0})},
        takers={"app.Pool.add": frozenset({0})},
        params={"app.make_client": ("url", "timeout"), "app.b": ()},
        built_per_call={"app.Worker": "app.run"},
        closed_by_builders={"app.Worker": frozenset({"session", "pool"})},
        classes=frozenset({"app.Worker", "app.Pool"}),
        aliases={"app.Client": "httpx.Client", "app.a": "app.b"},
        resource_aliases=frozenset({"Client"}),
        properties=frozenset({"app.Pool.session"}),
        permit_takers={"app.take": "app.SLOTS"},
        permit_givers={"app.give": "app.SLOTS"},
        constant_params={"app.lookup": frozenset({0})},
        loggers=frozenset({"app.log", "app.LOG"}),
        logger_factories=frozenset({"app.get_logger"}),
        released_by_class={"app.Sub": frozenset({"b", "a"})},
        enums=frozenset({"app.Mode", "app.Kind"}),
        resource_holders=frozenset({"app.Tenant", "app.Pool"}),
        idle_defaults={"app.Store": frozenset({"engine", "cache"})},
        modules=frozenset({"app", "app.models"}),
    )


def test_the_digest_is_the_hash_of_every_table_sorted_in_one_json_object() -> None:
    """Computed a table at a time, the digest is the hash of one JSON object of every
    table, sorted: the same whatever order the facts were joined in."""
    facts = _filled()

    def pairs(table: Mapping[str, frozenset[Any]]) -> list[Any]:
        return sorted((name, sorted(members)) for name, members in table.items())

    payload = {
        "factories": [["app.make_client", "RG101", "app.make_client", True, False]],
        "fresh_gates": pairs(facts.fresh_gates),
        "releasers": pairs(facts.releasers),
        "takers": pairs(facts.takers),
        "params": sorted(facts.params.items()),
        "per_call": sorted(facts.built_per_call.items()),
        "closed_by_builders": pairs(facts.closed_by_builders),
        "classes": sorted(facts.classes),
        "aliases": sorted(facts.aliases.items()),
        "properties": sorted(facts.properties),
        "permit_takers": sorted(facts.permit_takers.items()),
        "permit_givers": sorted(facts.permit_givers.items()),
        "constant_params": pairs(facts.constant_params),
        "loggers": sorted(facts.loggers),
        "logger_factories": sorted(facts.logger_factories),
        "released_by_class": pairs(facts.released_by_class),
        "idle_defaults": pairs(facts.idle_defaults),
        "enums": sorted(facts.enums),
        "resource_holders": sorted(facts.resource_holders),
        "modules": sorted(facts.modules),
        "inheritance": [],
    }
    whole = hashlib.sha256(json.dumps(payload).encode()).hexdigest()[:16]
    assert facts.digest == whole
    reordered = replace(
        _filled(),
        params=dict(reversed(list(facts.params.items()))),
        aliases=dict(reversed(list(facts.aliases.items()))),
    )
    assert reordered.digest == whole


HIERARCHY = """
import httpx


class Base:
    def open(self, url):
        self.url = url

    def close(self):
        pass


class Mid(Base):
    def close(self, force):
        pass


class Leaf(Mid):
    pass


class Mixin:
    def open(self, path, mode):
        pass


class Both(Mixin, Leaf):
    pass


class Remote(httpx.Client):
    pass


class Far(Remote):
    pass
"""


def test_inherited_entries_are_answered_as_the_copies_were() -> None:
    """`params` and `takers` answer a subclass's inherited methods on lookup; entry for
    entry they are the tables `_Inheritance` copies out (first class in the order that
    defines the method wins; a base outside the project ends the search)."""
    tree = ast.parse(HIERARCHY)
    summary = summarise(tree, "app", "", frozenset({"close"}))
    facts = join([summary], Settings(project_root=Path(".")).catalog)
    params = facts.params
    assert isinstance(params, Inherited)
    modules = {summary.module: summary}
    own = {f"app.{name}": value for name, value in summary.params.items()}
    classes = frozenset(summary.classes)
    eager = _Inheritance(modules, ProjectFacts(), classes, frozenset(own))(own)
    assert dict(params.items()) == eager
    assert len(params) == len(eager)
    assert params and not Inherited({}, params.orders, params.defined)
    assert params["app.Leaf.open"] == ("url",)
    assert params["app.Leaf.close"] == ("force",)
    assert params["app.Both.open"] == ("path", "mode")
    assert "app.Far.send" not in params  # httpx's, not the project's
    assert "app.Leaf.missing" not in params
    assert "Leaf.open" not in params
    assert facts.takers["app.Leaf.open"] == frozenset({0})  # `self.url = url` keeps it
