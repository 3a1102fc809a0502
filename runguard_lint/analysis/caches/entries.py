"""What the entries of a cache hold, from the values written into it.

Resources built on the spot (a dict of clients keyed by their settings) make
a keyed singleton, not a cache of traffic. Embeddings and model or HTTP
responses make entries whose size is worth telling.
"""

from __future__ import annotations

import enum
from collections.abc import Iterator, Sequence

import libcst as cst

from runguard_lint.analysis.caches.syntax import local_sources
from runguard_lint.analysis.names import ModuleFacts
from runguard_lint.analysis.project.view import ProjectView
from runguard_lint.analysis.tree import walk
from runguard_lint.catalog import Catalog

_EMBEDDING_WORDS = ("embed", "vector", "vec")
_EMBEDDING_ANNOTATIONS = ("list[float]", "ndarray", "tensor")
_RESPONSE_WORDS = ("response", "completion", "reply", "answer", "llm")
_RESPONSE_CALL_PARTS = frozenset(
    {
        "completions",
        "responses",
        "messages",
        "chat",
        "invoke",
        "ainvoke",
        "generate",
        "agenerate",
        "complete",
        "acomplete",
        "urlopen",
        "fetch",
        "request",
    }
)
_HTTP_VERBS = frozenset({"get", "post", "put", "patch", "request", "json"})
_HTTP_RECEIVERS = frozenset(
    {"requests", "httpx", "session", "client", "http", "aiohttp", "resp", "response"}
)


class EntryKind(enum.Enum):
    """What one entry of a cache holds, when its name or values give it away."""

    EMBEDDING = "embedding"
    RESPONSE = "response"


def holds_resources(
    facts: ModuleFacts,
    catalog: Catalog,
    values: Sequence[cst.BaseExpression],
    view: ProjectView,
) -> bool:
    """Whether every value written is a resource built on the spot (a client, pool,
    transport, session...), by a catalog constructor or a project factory, or a project
    class that keeps such a resource it is given (`view`, the project's facts): a dict
    of those keyed by their settings is the keyed singleton that the fixes for clients
    built from call data recommend, not a cache of traffic, and evicting from it would
    drop a pool still in use. What a class is called says nothing: a value of a class
    no fact knows is data."""
    if not values:
        return False
    for value in values:
        sources = _sources(facts, value)
        if not any(_builds_resource(facts, source, catalog, view, set()) for source in sources):
            return False
    return True


def _sources(facts: ModuleFacts, value: cst.BaseExpression) -> list[cst.BaseExpression]:
    """The value, and what a local name was bound from in its function."""
    # A global set elsewhere says nothing about what this function stores.
    return [value, *local_sources(facts, value)] if isinstance(value, cst.Name) else [value]


def _builds_resource(
    facts: ModuleFacts,
    expression: cst.BaseExpression,
    catalog: Catalog,
    view: ProjectView,
    seen: set[int],
) -> bool:
    """Whether the expression builds a resource; `seen`: the calls already asked
    about on this path (`t = Wrap(t)` in a closure refers to itself)."""
    if isinstance(expression, cst.Await):
        expression = expression.expression
    if not isinstance(expression, cst.Call) or id(expression) in seen:
        return False
    seen.add(id(expression))
    names = facts.external_names(expression.func)
    if names & set(catalog.by_callable):
        return True
    if view.factory(expression) is not None:
        # `get_anthropic_client(api_key)`, a project function that returns a fresh one.
        return True
    if "logging.getLogger" in names:
        # The logging module keeps each logger for good already: a dict of them keyed
        # by name holds nothing the process would not hold anyway.
        return True
    if view.builds_holder(expression):
        # `GitHubClient(token)`, a project class that keeps a resource it builds, or
        # `RetrySession()`, one derived from a catalog class.
        return True
    # `RetryTransport(pool)`: a project class that keeps the resource it is given,
    # built on the spot.
    return any(
        view.instance_keeps(expression, argument)
        and any(
            _builds_resource(facts, source, catalog, view, seen)
            for source in _sources(facts, argument.value)
        )
        for argument in expression.args
    )


def entry_kind(
    facts: ModuleFacts,
    name: str,
    annotation: cst.Annotation | None,
    values: Sequence[cst.BaseExpression],
) -> EntryKind | None:
    """What one entry holds, from the cache's name and annotation and the values written."""
    name = name.lower()
    annotation_text = ""
    if annotation is not None:
        annotation_text = facts.module.code_for_node(annotation.annotation).lower()
    calls = [call for value in _value_sources(facts, values) for call in _call_names(value)]
    if (
        any(word in name for word in _EMBEDDING_WORDS)
        or any(word in annotation_text for word in _EMBEDDING_ANNOTATIONS)
        or any("embed" in call for call in calls)
    ):
        return EntryKind.EMBEDDING
    if any(word in name for word in _RESPONSE_WORDS) or any(
        _is_response_call(call) for call in calls
    ):
        return EntryKind.RESPONSE
    return None


def _value_sources(
    facts: ModuleFacts, values: Sequence[cst.BaseExpression]
) -> list[cst.BaseExpression]:
    """The written values, and what the local names in them were bound from."""
    sources = list(values)
    for value in values:
        for node in walk(value):
            if isinstance(node, cst.Name):
                sources.extend(local_sources(facts, node))
    return sources


def _call_names(expression: cst.BaseExpression) -> Iterator[str]:
    """Lower-cased dotted names of the calls in expression (`client.embeddings.create`)."""
    for node in walk(expression):
        if isinstance(node, cst.Call):
            dotted = _call_path(node.func)
            if dotted:
                yield dotted.lower()


def _call_path(func: cst.BaseExpression) -> str | None:
    """`a.b.c` for a callee, looking through calls and subscripts on the way."""
    parts: list[str] = []
    current: cst.BaseExpression = func
    while True:
        if isinstance(current, cst.Name):
            parts.append(current.value)
            break
        if isinstance(current, cst.Attribute):
            parts.append(current.attr.value)
            current = current.value
        elif isinstance(current, cst.Call):
            current = current.func
        elif isinstance(current, cst.Subscript):
            current = current.value
        else:
            break
    return ".".join(reversed(parts)) if parts else None


def _is_response_call(dotted: str) -> bool:
    parts = dotted.split(".")
    if set(parts) & _RESPONSE_CALL_PARTS:
        return True
    return parts[-1] in _HTTP_VERBS and bool(set(parts[:-1]) & _HTTP_RECEIVERS)
