"""RG201/RG202 beyond the fixtures: prefilter soundness, messages, where findings point."""

from __future__ import annotations

import ast
import dataclasses
import textwrap
from pathlib import Path

import pytest

from runguard_lint import registry
from runguard_lint.config import Settings
from runguard_lint.diagnostics import Diagnostic
from runguard_lint.pipeline.check import check_text
from runguard_lint.prefilter import dict_uses, may_report
from runguard_lint.prefilter.caches import cache_names, cache_units, has_functools_cache
from tests.conftest import FIXTURES, ROOT
from tests.test_fixtures import FIXTURE_FILES, selected_codes

CACHE_CODES = frozenset({"RG201", "RG202"})
SETTINGS = Settings(project_root=ROOT)
UNFILTERED = dataclasses.replace(SETTINGS, prefilter=False)
CHECK_SYNTAX = dataclasses.replace(SETTINGS, check_syntax=True)


def _findings(
    text: str, codes: frozenset[str] = CACHE_CODES, settings: Settings = SETTINGS
) -> list[Diagnostic]:
    report = check_text("example.py", textwrap.dedent(text), settings, codes)
    assert not report.errors, report.errors
    return list(report.diagnostics)


def _summary(diagnostics: list[Diagnostic]) -> list[tuple[str, int, int, str]]:
    return [(d.code, d.location.row, d.location.column, d.message) for d in diagnostics]


@pytest.mark.parametrize("fixture", FIXTURE_FILES, ids=lambda p: p.stem)
def test_prefilter_is_sound_on_fixtures(fixture: Path) -> None:
    """The cheap stages never drop a finding: same results with and without them."""
    text = fixture.read_text(encoding="utf-8")
    codes = frozenset(selected_codes(fixture).split(",")) | CACHE_CODES
    # With the syntax check of every file, as the prefilter-free run makes it.
    filtered = check_text(str(fixture), text, CHECK_SYNTAX, codes)
    unfiltered = check_text(str(fixture), text, UNFILTERED, codes)
    assert _summary(list(filtered.diagnostics)) == _summary(list(unfiltered.diagnostics))
    # The text gate before any parse (`may_report`) keeps every file in which a rule
    # other than the syntax check reports something; the rest get no RG900 by design.
    reported = {d.code for d in unfiltered.diagnostics} - {"RG900", "RG100"}
    if reported:
        assert may_report(text, SETTINGS, registry.needs(codes), frozenset())
    gated = check_text(str(fixture), text, SETTINGS, codes)
    expected = [d for d in _summary(list(unfiltered.diagnostics)) if reported or d[0] != "RG900"]
    assert _summary(list(gated.diagnostics)) == expected


@pytest.mark.parametrize(
    "source",
    [
        "from collections import OrderedDict as OD\n_cache = OD()\n",
        "import collections as c\n_cache = c.defaultdict(list)\n",
        "class A:\n    if True:\n        _cache: dict[str, int] = {}\n",
        "try:\n    import x\nexcept ImportError:\n    _cache = dict()\n",
        "_cache = {  # filled at run time\n}\n",
        "_cache = {\\\n}\n",
    ],
)
def test_cache_prefilter_keeps_aliases_and_nesting(source: str) -> None:
    assert cache_names(ast.parse(source)) == {"_cache"}
    written = source + "def put(k):\n    A._cache[k] = 1\n    _cache[k] = 1\n"
    assert cache_units(ast.parse(written), written) is not None


def test_cache_prefilter_drops_function_locals() -> None:
    assert not cache_names(ast.parse("def f():\n    seen = {}\n    return seen\n"))


@pytest.mark.parametrize(
    "write",
    [
        "_cache[k] = v",
        "_cache[k]: int = v",
        "_cache[k] += 1",
        "_cache[k].append(v)",
        "_cache[k][j] = v",
        "a, _cache[k] = v",
        "_cache.setdefault(k, v)",
        "_cache.update({k: v})",
        "_cache |= {k: v}",
        "self._cache[k] = v",
        "type(self)._cache.setdefault(k, v)",
    ],
)
def test_cache_prefilter_keeps_every_write_form(write: str) -> None:
    source = (
        "_cache = {}\nclass A:\n    _cache = {}\n"
        f"    def put(self, k, v, j):\n        {write}\n"
    )
    assert cache_units(ast.parse(source), source) is not None
    lambda_form = "_cache = {}\nput = lambda k, v: _cache.setdefault(k, v)\n"
    assert cache_units(ast.parse(lambda_form), lambda_form) is not None


@pytest.mark.parametrize(
    "source",
    [
        "_registry = {}\n_registry['a'] = 1\ndef get(k):\n    return _registry.get(k)\n",
        "_registry = {}\nfor name in ('a', 'b'):\n    _registry[name] = len(name)\n",
        "_registry = {}\ndef f(k):\n    other = {}\n    other[k] = 1\n",
    ],
)
def test_cache_prefilter_drops_dicts_no_function_writes(source: str) -> None:
    assert cache_units(ast.parse(source), source) is None


@pytest.mark.parametrize(
    "source",
    [
        "from functools import cache as memo\n@memo\ndef f(text): ...\n",
        "from functools import lru_cache as lc\n@lc(None)\ndef f(text): ...\n",
        "import functools as ft\n@ft.cache\ndef f(text): ...\n",
    ],
)
def test_functools_prefilter_keeps_aliases(source: str) -> None:
    assert has_functools_cache(ast.parse(source))


def test_aliased_cache_is_found_end_to_end() -> None:
    findings = _findings("""
        from collections import OrderedDict as OD
        _seen = OD()

        def see(url):
            _seen[url] = True
    """)
    assert [(d.code, d.location.row, d.location.column) for d in findings] == [("RG201", 3, 1)]


def test_message_names_cache_writer_cost_and_remedy() -> None:
    settings = dataclasses.replace(SETTINGS, cache_maxsize=5_000)
    [finding] = _findings(
        """
        import openai

        client = openai.OpenAI()
        _cache: dict[str, list[float]] = {}

        def embed(text: str) -> list[float]:
            if text not in _cache:
                result = client.embeddings.create(model="m", input=text)
                _cache[text] = result.data[0].embedding
            return _cache[text]
    """,
        settings=settings,
    )
    assert finding.location.row == 5
    assert finding.end_location.column == len("_cache") + 1
    assert "`_cache`" in finding.message
    assert "`embed()`" in finding.message
    assert "~6 KB" in finding.message and "~300 MB a day" in finding.message
    assert "BoundedCache(maxsize=5_000)" in finding.message
    assert "lru_cache(maxsize=...)" in finding.message


def test_class_level_cache_message_names_the_class() -> None:
    [finding] = _findings("""
        class Search:
            _results = {}

            def run(self, query):
                self._results[query] = query.split()
                return self._results[query]
    """)
    assert "`Search._results`" in finding.message
    assert "`Search.run()`" in finding.message
    assert (finding.location.row, finding.location.column) == (3, 5)


def test_global_writes_and_rebinding_resolve_by_scope() -> None:
    """A local that shadows the cache's name is not the cache; `global` rebinding evicts."""
    shadowed = _findings("""
        _cache = {}

        def local_only(key):
            _cache = {}
            _cache[key] = key
            return _cache
    """)
    assert shadowed == []
    rebound = _findings("""
        _cache = {}

        def put(key):
            _cache[key] = key

        def reset():
            global _cache
            _cache = {}
    """)
    assert rebound == []


def test_writes_in_several_functions_are_one_finding() -> None:
    [finding] = _findings("""
        _cache = {}

        def a(key):
            _cache[key] = 1

        def b(key):
            _cache.setdefault(key, 2)
    """)
    assert "`a()` (and 1 more function)" in finding.message


def test_functools_cache_points_at_the_decorator() -> None:
    [finding] = _findings(
        """
        import functools

        class Repo:
            @functools.lru_cache(maxsize=None)
            def get(self, user_id: int) -> str:
                return str(user_id)
    """,
        codes=frozenset({"RG202"}),
    )
    assert (finding.code, finding.location.row, finding.location.column) == ("RG202", 5, 5)
    assert "`user_id`" in finding.message


def test_fixtures_exist() -> None:
    assert (FIXTURES / "RG201.py").is_file() and (FIXTURES / "RG202.py").is_file()


def test_message_names_the_parameters_keys_come_from() -> None:
    [finding] = _findings("""
        _derived = {}

        def lookup(user: str, query: str, verbose: bool = False) -> str:
            key = f"{user}:{query}:{verbose}"
            _derived[key] = query.upper()
            return _derived[key]
    """)
    assert (
        "written by `lookup()` with keys from its call data (`user`, `query`), " in finding.message
    )


def test_type_keys_next_to_data_name_only_the_data() -> None:
    [finding] = _findings("""
        from pydantic import TypeAdapter

        _parsed = {}

        def parse(model: type, payload: bytes):
            _parsed[(model, payload)] = TypeAdapter(model).validate_json(payload)
    """)
    assert "(`payload`)" in finding.message


def test_private_method_message_names_the_method() -> None:
    [finding] = _findings("""
        class Importer:
            _modules = {}

            @classmethod
            def _import(cls, name: str):
                cls._modules[name] = name.title()
                return cls._modules[name]

            def plugin(self, plugin_name: str):
                return self._import(plugin_name)
    """)
    assert "`Importer._modules`" in finding.message
    assert "`Importer._import()` with keys from its call data (`name`)" in finding.message


def test_a_table_built_from_call_data_gives_data_keys() -> None:
    """`data["method"]` is bounded only when `data` is: here it comes from the request."""
    [finding] = _findings("""
        _by_method = {}

        def handle(request):
            data = request.json()
            method = data["method"]
            _by_method[method] = data
    """)
    assert "`handle()`" in finding.message


def test_type_helpers_that_call_each_other_terminate() -> None:
    assert (
        _findings("""
        from typing import get_origin

        _origins = {}

        def _left(tp, depth):
            return _right(tp, depth - 1) if depth else None

        def _right(tp, depth):
            return _left(tp, depth) or get_origin(tp)

        def origin(tp):
            _origins[tp] = _left(tp, 3)
    """)
        == []
    )
    [finding] = _findings("""
        _seen = {}

        def _ping(value, depth):
            return _pong(value, depth)

        def _pong(value, depth):
            return _ping(value, depth - 1) if depth else value

        def see(value):
            _seen[value] = _ping(value, 3)
    """)
    assert "`see()`" in finding.message


def test_functools_cache_keeps_only_parameters_with_data_callers() -> None:
    [finding] = _findings(
        """
        import functools

        @functools.lru_cache(maxsize=None)
        def _render(template: str, user_name: str) -> str:
            return template.format(user_name)

        def greet(user_name: str) -> str:
            return _render("Hello {}", user_name)
    """,
        codes=frozenset({"RG202"}),
    )
    assert "one entry per distinct value of `user_name` " in finding.message


def test_a_same_module_function_named_like_a_typing_helper_is_judged_by_its_body() -> None:
    [finding] = _findings("""
        _parsed = {}

        def get_args(argv):
            return argv.split()

        def parse(command_line):
            _parsed[command_line] = get_args(command_line)
    """)
    assert "(`command_line`)" in finding.message


# Shapes where RG201's verdict depends on code outside the writer: its callers, their
# callers, helpers it hands a parameter to, decorators. The prefilter stubs every
# function it deems irrelevant, so each must give the same findings as the whole file.
_CLOSURE_CASES = {
    "called only at import, through a set-up function": (
        """
        _seen = {}

        def _remember(key, value):
            _seen[key] = value

        def unrelated(x):
            return x + 1

        def setup(names):
            for name in names:
                _remember(name, len(name))

        setup(["a", "b"])
        """,
        0,
    ),
    "also called at request time, two levels up": (
        """
        _seen = {}

        def _remember(key, value):
            _seen[key] = value

        def _middle(key):
            _remember(key, 1)

        def handle(request):
            _middle(request.path)

        def unrelated(x):
            return x + 1
        """,
        1,
    ),
    "private function always called with constants": (
        """
        _clients = {}

        def _client(name):
            _clients[name] = object()
            return _clients[name]

        def search(query):
            return _client("search"), query

        def index(doc):
            return _client("index"), doc

        def unrelated(x):
            return x + 1
        """,
        0,
    ),
    "private method called with constants and with data": (
        """
        class Store:
            _cache = {}

            def _load(self, name):
                self._cache[name] = name.upper()

            def fixed(self):
                self._load("config")

            def lookup(self, user_key):
                self._load(user_key)

            def unrelated(self, x):
                return x + 1
        """,
        1,
    ),
    "key is a type, through a helper": (
        """
        _adapters = {}

        def _hints(tp):
            return tp.__qualname__

        def adapter(tp):
            _hints(tp)
            _adapters[tp] = object()

        def unrelated(x):
            return x + 1
        """,
        0,
    ),
    "writer used as a decorator inside another function": (
        """
        _handlers = {}

        def on(event):
            _handlers[event] = True
            return event

        def install(app):
            @on
            def started():
                pass

        def unrelated(x):
            return x + 1
        """,
        None,
    ),
}


@pytest.mark.parametrize("case", sorted(_CLOSURE_CASES), ids=lambda name: name.replace(" ", "-"))
def test_prefilter_keeps_what_rg201_follows(case: str) -> None:
    source, expected = _CLOSURE_CASES[case]
    filtered = _findings(source, frozenset({"RG201"}))
    unfiltered = _findings(source, frozenset({"RG201"}), settings=UNFILTERED)
    assert _summary(filtered) == _summary(unfiltered)
    if expected is not None:
        assert len(filtered) == expected


def test_helpers_of_test_modules_called_with_literals_are_bounded() -> None:
    """Nothing outside a test module calls its helpers: literal callers bound the keys,
    as for a private function; the same code in a library module is reported."""
    source = textwrap.dedent("""
        from collections import defaultdict

        traces = defaultdict(lambda: 0)

        def trace(key: str) -> None:
            traces[key] += 1

        def test_a() -> None:
            trace("init")
            trace("add")
    """)
    for name in ("test_traces.py", "tests/traces_test.py", "conftest.py"):
        assert not check_text(name, source, SETTINGS, frozenset({"RG201"})).diagnostics
    [finding] = check_text("traces.py", source, SETTINGS, frozenset({"RG201"})).diagnostics
    assert finding.code == "RG201"


def test_module_names_are_bounded_by_the_installed_modules() -> None:
    """A key used as a module name (`import_module(name)`, `sys.modules[name]`) has
    as many values as there are importable modules, not as there are requests."""
    assert not _findings("""
        import importlib
        import sys

        _modules = {}

        def load(name: str):
            if name not in _modules:
                _modules[name] = importlib.import_module(name)
            return _modules[name]

        _locks = {}

        def _lock(module):
            return _locks.setdefault(module, object())

        def require(module):
            with _lock(module):
                return sys.modules[module] if module in sys.modules else None
    """)


# Shapes a review found the prefilter getting wrong (each compared with and without it).
_REVIEW_CASES = {
    "update with **kwargs": """
        _cache = {}

        def put(kw):
            _cache.update(**kw)
    """,
    "alias imported twice": """
        from collections import defaultdict as D
        _cache = D(list)

        def put(key, v):
            _cache[key].append(v)

        def other():
            from foo import bar as D
            return D
    """,
    "setdefault with **{...}": """
        _cache = {}

        def put(key, v):
            _cache.setdefault(**{"key": key})
    """,
    "writer referenced in a class body": """
        _cache = {}


        def _get(name):
            _cache[name] = 1
            return _cache[name]


        _get("a")


        class Handlers:
            handler = staticmethod(_get)
    """,
    "private method called from a class-body lambda": """
        class A:
            _cache = {}

            @classmethod
            def _get(cls, name):
                cls._cache[name] = 1
                return cls._cache[name]


        A._get("a")


        class B:
            handler = staticmethod(lambda x: A._get(x))
    """,
    "cache named in a return annotation": """
        _cache = {}


        def f(key) -> register(_cache):
            _cache[key] = 1
    """,
    "write in a nested class": """
        _cache = {}


        class Outer:
            class Inner:
                def get(self, key):
                    _cache[key] = 1
                    return _cache[key]
    """,
    "method under an if in a class body": """
        import sys

        _cache = {}


        class Store:
            if sys.version_info >= (3, 8):
                def get(self, key):
                    _cache[key] = 1
                    return _cache[key]
    """,
    "global set to a pool in another function": """
        _cache = {}
        POOL = None


        def init():
            global POOL
            POOL = ConnectionPool()


        def get(key):
            _cache[key] = POOL
            return _cache[key]
    """,
    "method used as another class's decorator": """
        class Registry:
            _items = {}

            def add(self, key):
                self._items[key] = 1


        registry = Registry()


        class Views:
            @registry.add
            def index(self):
                return "hi"
    """,
}


@pytest.mark.parametrize("case", sorted(_REVIEW_CASES), ids=lambda name: name.replace(" ", "-"))
def test_prefilter_agrees_with_the_full_analysis(case: str) -> None:
    source = textwrap.dedent(_REVIEW_CASES[case])
    codes = SETTINGS.enabled_codes()
    filtered = check_text("m.py", source, SETTINGS, codes)
    unfiltered = check_text("m.py", source, UNFILTERED, codes)
    assert _summary(list(filtered.diagnostics)) == _summary(list(unfiltered.diagnostics))


def test_eviction_in_a_method_without_acquisitions_is_seen_when_acquisition_rules_run() -> None:
    """With the acquisition rules on, the prefilter stubs methods that hold no acquisition;
    the cache rule must not then run on that partial view (the refcounted `pop` in
    `__del__` was blanked and the dict called unbounded)."""
    source = """
        from qdrant_client import QdrantClient

        _clients: dict[str, tuple[QdrantClient, int]] = {}

        class Store:
            def __del__(self):
                client, count = _clients.pop(self._path)
                if count > 1:
                    _clients[self._path] = (client, count - 1)

            def connect(self, path):
                self._path = path
                if path in _clients:
                    self._client, count = _clients[path]
                    _clients[path] = (self._client, count + 1)
                else:
                    self._client = QdrantClient(path=path)
                    _clients[path] = (self._client, 1)
    """
    codes = CACHE_CODES | {"RG101", "RG102", "RG106", "RG301", "RG401"}
    assert _findings(source, codes) == []
    assert _findings(source, codes, UNFILTERED) == []


CLASS_BODIES = """
_CACHE = {}


def remember(key):
    _CACHE[key] = compute(key)
    return _CACHE[key]


class Model:
    name: str = "x"
    size: int = 3


class Reader:
    kind = "reader"

    def peek(self):
        return _CACHE.get("a")


class Registered:
    hook = staticmethod(remember)
"""


def test_a_class_body_the_dict_analysis_cannot_reach_is_stubbed() -> None:
    """A class whose body names neither a dict the rule may report nor a function it
    keeps is blanked whole; the others keep their bodies (and their kept methods)."""
    from runguard_lint.prefilter import analysis_plan

    text = textwrap.dedent(CLASS_BODIES)
    plan = analysis_plan(ast.parse(text), text, SETTINGS, registry.needs(CACHE_CODES))
    assert plan is not None
    focused = plan.apply(text)
    assert "name: str" not in focused and "class Model:" in focused
    assert 'kind = "reader"' in focused and "_CACHE.get" in focused
    assert "staticmethod(remember)" in focused
    assert _summary(_findings(text)) == _summary(_findings(text, settings=UNFILTERED))


# Class bodies that reach a reported dict without naming it or a kept function plainly.
REACHING_CLASS_BODIES = [
    # A nested class's method writes the dict; another class registers it by decorator.
    """
    class Outer:
        class Hooks:
            _seen = {}

            def track(self, thing):
                self._seen[thing.key] = thing.value

    hooks = Outer.Hooks()


    class Handlers:
        @hooks.track
        def handle(self):
            pass
    """,
    # A nested class's private method, called from another class's body with call data.
    """
    class Outer:
        class Loader:
            _cache = {}

            def _get(self, name):
                if name not in self._cache:
                    self._cache[name] = compute(name)
                return self._cache[name]

            def fixed(self):
                return self._get("a")


    class User:
        loaded = Outer.Loader()._get(input())
    """,
    # A string annotation, which LibCST's scopes count as a reference.
    """
    _CACHE = {}

    def remember(key, value):
        _CACHE[key] = value

    remember("a", 1)

    class C:
        x: "remember"
    """,
    # A dict evicted elsewhere is no candidate, but a kept function writes it too.
    """
    _A = {}
    _B = {}

    def put(key, value):
        _A[key] = value
        _B[key] = value

    class Janitor:
        def reset(self):
            _B.clear()
    """,
    # `global` and a definition rebinding the dict's name in a class body.
    """
    _CACHE = {}

    def remember(key, value):
        _CACHE[key] = value

    class Reset:
        global _CACHE
        def _CACHE(self):
            return None
    """,
]


@pytest.mark.parametrize(
    "source",
    REACHING_CLASS_BODIES,
    ids=[
        "nested-decorator",
        "nested-private-call",
        "string-annotation",
        "released-elsewhere",
        "global-rebinding",
    ],
)
def test_class_bodies_that_reach_a_dict_stay_in_view(source: str) -> None:
    text = textwrap.dedent(source)
    for codes in (CACHE_CODES, SETTINGS.enabled_codes()):
        filtered = _summary(_findings(text, codes))
        assert filtered == _summary(_findings(text, codes, settings=UNFILTERED))


def test_surely_released_walks_only_what_names_a_dict_and_finds_the_same(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    """Walked only where a line names one of the dicts, the eviction and escape search
    answers as the walk of the whole module does (every line taken for one that names
    a dict)."""
    sources = {}
    for path in sorted(ROOT.glob("fixtures/**/*.py")):
        text = path.read_text(encoding="utf-8", errors="replace")
        try:
            tree = ast.parse(text)
        except SyntaxError:
            continue
        names = {
            target.id
            for statement in tree.body
            if isinstance(statement, ast.Assign)
            for target in statement.targets
            if isinstance(target, ast.Name)
        }
        if names:
            sources[path] = (tree, text, names)
    pruned = {p: dict_uses.surely_released(t, s, n) for p, (t, s, n) in sources.items()}
    monkeypatch.setattr(
        dict_uses, "hit_rows", lambda _pattern, text: list(range(1, text.count("\n") + 2))
    )
    whole = {p: dict_uses.surely_released(t, s, n) for p, (t, s, n) in sources.items()}
    assert pruned == whole
    assert sum(map(bool, whole.values())) > 10
