"""The fact pass's second-pass names, by the fact each comes from (`collect.name_origins`):
what `benchmarks/fact_pass.py` reports, and what `interesting_names` joins."""

from __future__ import annotations

import textwrap
from pathlib import Path

from runguard_lint.analysis.project.collect import (
    NAME_ORIGINS,
    dependency_names,
    interesting_names,
    modules_under,
    name_origins,
    summary_of_text,
    wants_summary,
)
from runguard_lint.config import Settings

FIRST = textwrap.dedent(
    """
    import httpx

    _CACHE = {}


    def make_client():
        return httpx.Client()


    def shut(client):
        client.close()


    def lookup(key):
        return _CACHE[key]


    class Holder:
        def __init__(self):
            self.client = httpx.Client()


    def startup():
        return configure(1)
    """
)

# Names no fact gives: a module-level function that calls nothing, and a local.
QUIET = textwrap.dedent(
    """
    def plain(x):
        y = x + 1
        return y
    """
)


def test_each_name_comes_from_the_fact_that_gives_it(tmp_path: Path) -> None:
    catalog = Settings(project_root=tmp_path).catalog
    summaries = [
        summary_of_text(str(tmp_path / "app" / name), text, catalog)
        for name, text in (("first.py", FIRST), ("quiet.py", QUIET))
    ]
    found = name_origins([s for s in summaries if s is not None])
    assert tuple(found) == NAME_ORIGINS
    assert "make_client" in found["fresh"]
    assert "shut" in found["releases"]
    assert "lookup" in found["keyed"]
    assert "Holder" in found["classes"]
    # Every function that calls something in a module naming a resource builds, as far
    # as the first pass knows: this is what makes the second pass wide on real code.
    assert {"make_client", "startup"} <= found["builders"]
    assert found["permits"] == set()
    every = set().union(*found.values())
    assert "plain" not in every and "y" not in every
    assert interesting_names(s for s in summaries if s is not None) == every


def test_the_first_pass_asks_for_constructor_and_permit_type_names_as_words() -> None:
    catalog = Settings(project_root=Path(".")).catalog
    # Built once per catalog: every module of the project is asked.
    assert catalog.constructor_pattern is catalog.constructor_pattern
    assert wants_summary("client = httpx.AsyncClient()\n", catalog)
    assert wants_summary("from threading import Semaphore\n", catalog)
    assert not wants_summary("value = make(AsyncClientFactory)\n", catalog)
    assert not wants_summary("def plain(x):\n    return x + 1\n", catalog)
    assert catalog.transports == {
        kind.callable: frozenset(kind.transport_keywords)
        for kind in catalog.resources
        if kind.callable and kind.transport_keywords
    }
    assert catalog.transports  # httpx's `transport=`, at least
    summary = summary_of_text("app/net.py", "import httpx\nc = httpx.Client()\n", catalog)
    assert summary is not None and summary.names_resources
    quiet = summary_of_text("app/quiet.py", QUIET, catalog)
    assert quiet is not None and not quiet.names_resources


def test_the_modules_of_called_project_functions_are_demanded() -> None:
    catalog = Settings(project_root=Path(".")).catalog
    service = summary_of_text(
        "app/service.py",
        textwrap.dedent(
            """
            import json
            import httpx
            from app.util.quiet import close_quietly

            def fetch(url):
                client = httpx.Client()
                try:
                    return json.loads(client.get(url).text)
                finally:
                    close_quietly(client)
            """
        ),
        catalog,
    )
    assert service is not None
    demanded = modules_under(dependency_names([service]), frozenset({"app"}))
    # The helper's module and the packages above it (a re-export may live there);
    # nothing outside the project's top-level names (json, httpx).
    assert {"app", "app.util", "app.util.quiet"} <= demanded
    assert not {name for name in demanded if not name.startswith("app")}
    # A flat layout: each top-level module is a top-level name of its own.
    flat = summary_of_text(
        "service.py",
        "from quiet import close_quietly\n\ndef f(c):\n    close_quietly(c)\n",
        catalog,
    )
    assert flat is not None
    assert "quiet" in modules_under(dependency_names([flat]), frozenset({"quiet", "service"}))


def test_a_later_pass_asks_for_every_name_its_modules_give() -> None:
    catalog = Settings(project_root=Path(".")).catalog
    wrapper = summary_of_text(
        "app/get.py",
        textwrap.dedent(
            """
            from app.make import make_client

            def get_client():
                return make_client()

            class Agent:
                def __init__(self):
                    self.http = get_client()

            def main():
                Agent().run()
            """
        ),
        catalog,
    )
    assert wrapper is not None and not wrapper.names_resources
    # In the first pass such a module would give nothing: it names no resource.
    assert interesting_names([wrapper]) == frozenset()
    # Taken by a later pass (it names `make_client`), it gives its wrapper, its class
    # and the function that builds the class.
    assert {"get_client", "Agent", "main"} <= interesting_names([wrapper], later=True)
