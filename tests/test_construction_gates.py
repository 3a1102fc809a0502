"""What a module summary records of each construction for RG401's "built per call":
which parameters a call of a project class passes (`Construction.given`), and which
parameters must be None for a default that `__init__` holds to be built at all
(`Construction.unless`). The join's use of both is pinned by the `defaults` fixture
project; here each shape of test is pinned on its own."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from runguard_lint.analysis.project.collect import summary_of_text
from runguard_lint.analysis.project.summary import Construction, Lifetime, ModuleSummary
from runguard_lint.config import Settings

CATALOG = Settings(project_root=Path(".")).catalog


def _summary(body: str, params: str = "self, client=None, url=None, flag=False") -> ModuleSummary:
    source = "from app.models import Client\n\n\nclass Holder:\n"
    source += f"    def __init__({params}):\n"
    source += textwrap.indent(textwrap.dedent(body), "        ")
    summary = summary_of_text("app/holder.py", source, CATALOG)
    assert summary is not None
    return summary


def _held(summary: ModuleSummary) -> Construction:
    (site,) = [
        c
        for c in summary.constructions
        if c.callee == "app.models.Client" and c.lifetime is Lifetime.HELD
    ]
    return site


@pytest.mark.parametrize(
    "body",
    [
        "self.client = client or Client()",
        "self.client = client if client is not None else Client()",
        "self.client = Client() if client is None else client",
        "if client is None:\n    client = Client()\nself.client = client",
        "if not client:\n    client = Client()\nself.client = client",
        "if client is not None:\n    self.client = client\nelse:\n    self.client = Client()",
        "if client is not None:\n    self.client = client\n    return\nself.client = Client()",
        "if client:\n    self.client = client\nelif url:\n    self.client = Client()\n"
        "else:\n    raise ValueError(url)",
        # Both must be None: a call that passes either one never builds it.
        "if client is None and url is None:\n    self.client = Client()",
    ],
)
def test_a_default_built_only_without_the_parameter(body: str) -> None:
    assert "client" in _held(_summary(body)).unless


@pytest.mark.parametrize(
    "body",
    [
        "self.client = Client()",
        "if flag:\n    self.client = Client()",  # about another parameter's truth
        # Rebound first: the test is about the new value, not the caller's argument.
        "if flag:\n    client = None\nif client is None:\n    client = Client()\n"
        "self.client = client",
        # Either may be None: the call may pass `client` and still build it.
        "if client is None or url is None:\n    self.client = Client()",
        "if client is not None:\n    pass\nself.client = Client()",  # nothing leaves
    ],
)
def test_a_default_built_whatever_the_parameter(body: str) -> None:
    assert "client" not in _held(_summary(body)).unless


def test_what_a_call_of_a_project_class_passes() -> None:
    source = textwrap.dedent(
        """
        import httpx
        from app.holder import Holder

        SHARED = httpx.Client()

        def handle(shared, options, args):
            a = Holder(SHARED, url=None, flag=True, name="", size=0, items=[])
            e = Holder(shared, flag=False)
            b = Holder(**options)
            c = Holder(*args)
            d = httpx.Client(timeout=3)
            return a, b, c, d, e
        """
    )
    summary = summary_of_text("app/service.py", source, CATALOG)
    assert summary is not None
    given = {c.callee: [] for c in summary.constructions}
    for c in summary.constructions:
        given[c.callee].append(c.given)
    # Positions by index. A false constant passes nothing, nor does a parameter of the
    # caller handed on (it may be None); unpacking may pass anything (the two
    # unpacking sites are alike, and a summary keeps alike sites once).
    assert sorted(given["app.holder.Holder"]) == [(), ("*",), ("0", "flag")]
    assert sorted(given["httpx.Client"]) == [(), ("timeout",)]


def test_a_held_construction_names_its_attribute() -> None:
    summary = _summary(
        "self.client = client or Client()\nself.pool = [Client()]\nother = Client()\n"
        "self.spare = other\n"
    )
    held = {
        (c.attribute, c.unless)
        for c in summary.constructions
        if c.callee == "app.models.Client" and c.lifetime is Lifetime.HELD
    }
    # Stored on `self` by its own statement, bare or in what the statement keeps: the
    # attribute; through a local, "?" (any).
    assert held == {("client", ("client",)), ("pool", ()), ("?", ())}
