"""Files in a grammar newer than the interpreter's are analysed, not called syntax errors.

Each file below is written in the grammar of a Python newer than 3.9 (PEP 695
type parameters and aliases and PEP 701 f-strings from 3.12, type parameter
defaults from 3.13, `match` from 3.10, `except*` from 3.11) and leaks a
client. The real CLI runs on them with the interpreter running the tests:
`.ci/other-pythons` runs this module on the oldest Python of the machine too,
where the running `ast` reads none of these grammars.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from tests.conftest import run_cli, run_json

NEWER_GRAMMAR = {
    "alias_and_generic_function.py": (
        "import httpx\n"
        "\n"
        "type Payload = dict[str, object]\n"
        "\n"
        "\n"
        "async def fetch[T](url: str, kind: type[T]) -> T:\n"
        "    client = httpx.AsyncClient()\n"
        "    return (await client.get(url)).json()\n",
        7,
    ),
    "generic_class.py": (
        "import httpx\n"
        "\n"
        "\n"
        "class Api[T: str, *Ts, **P]:\n"
        "    def get(self, path: T) -> bytes:\n"
        "        session = httpx.Client()\n"
        "        return session.get(path).content\n",
        6,
    ),
    "nested_fstring.py": (
        "import httpx\n"
        "\n"
        "\n"
        "def report(row: dict[str, str]) -> str:\n"
        "    client = httpx.Client()\n"
        '    return f"{client.get(f"/rows/{row["id"]}").text!r:>{row["width"]}}"\n',
        5,
    ),
    "type_parameter_default.py": (
        "import httpx\n"
        "\n"
        "\n"
        "def first[T = bytes](url: str) -> T:\n"
        "    client = httpx.Client()\n"
        "    return client.get(url).content\n",
        5,
    ),
    "match_statement.py": (
        "import httpx\n"
        "\n"
        "\n"
        "def route(event: object) -> object:\n"
        "    match event:\n"
        "        case {'kind': 'fetch', 'url': str(url)} if url:\n"
        "            client = httpx.Client()\n"
        "            return client.get(url)\n"
        "        case [first, *rest]:\n"
        "            return first\n"
        "        case _:\n"
        "            return None\n",
        7,
    ),
    "except_star.py": (
        "import httpx\n"
        "\n"
        "\n"
        "def call(url: str) -> object:\n"
        "    try:\n"
        "        client = httpx.Client()\n"
        "        return client.get(url)\n"
        "    except* ValueError as group:\n"
        "        return group\n",
        6,
    ),
}


@pytest.fixture
def newer(tmp_path: Path) -> Path:
    for name, (text, _line) in NEWER_GRAMMAR.items():
        (tmp_path / name).write_text(text)
    return tmp_path


def test_newer_grammar_leaks_are_reported_whatever_runs_the_tool(newer: Path) -> None:
    code, findings = run_json(".", cwd=newer)
    assert code == 1
    found = {(f["filename"], f["location"]["row"], f["code"]) for f in findings}
    expected = {(name, line, "RG101") for name, (_text, line) in NEWER_GRAMMAR.items()}
    assert found == expected, f"on Python {sys.version_info[:2]}"


def test_newer_grammar_without_resources_is_clean(tmp_path: Path) -> None:
    (tmp_path / "types_only.py").write_text(
        "type Pair[K, V = int] = tuple[K, V]\n\n\n"
        "def label[T](value: T) -> str:\n"
        "    return f\"{value!r} in {'x'} {f'{value}'}\"\n"
    )
    result = run_cli("--no-cache", ".", cwd=tmp_path)
    assert result.returncode == 0, result.stdout + result.stderr
    assert "RG900" not in result.stdout


def test_a_file_no_grammar_accepts_is_still_rg900(tmp_path: Path) -> None:
    (tmp_path / "broken.py").write_text(
        "import httpx\n\ntype Alias = int\n\n\ndef f[T](:\n    c = httpx.Client()\n"
    )
    code, findings = run_json(".", cwd=tmp_path)
    assert code == 1
    assert [f["code"] for f in findings] == ["RG900"]


def test_a_factory_in_newer_grammar_is_known_to_its_callers(tmp_path: Path) -> None:
    # The project fact pass reads the factory's module through the same grammar.
    (tmp_path / "factory.py").write_text(
        "import httpx\n\n\ndef make_client[T](kind: type[T]) -> httpx.Client:\n"
        "    return httpx.Client()\n"
    )
    (tmp_path / "use.py").write_text(
        "from factory import make_client\n\n\n"
        "def fetch(url: str) -> bytes:\n"
        "    client = make_client(bytes)\n"
        "    return client.get(url).content\n"
    )
    _code, findings = run_json(".", cwd=tmp_path)
    assert ("use.py", 5) in {(f["filename"], f["location"]["row"]) for f in findings}


def test_a_class_pattern_builds_nothing_whatever_runs_the_tool(tmp_path: Path) -> None:
    # `case Session():` tests what `obj` is; read through an older grammar it must not
    # become a construction of `Session` per call of `handle` (a false RG401).
    (tmp_path / "owners.py").write_text(
        "import httpx\n\n\nclass Session:\n    def __init__(self) -> None:\n"
        "        self.client = httpx.Client()\n\n\nSESSION = Session()\n"
    )
    (tmp_path / "handler.py").write_text(
        "from owners import Session\n\n\n"
        "def handle(obj: object) -> int:\n"
        "    match obj:\n"
        "        case Session(client=client):\n"
        "            return id(client)\n"
        "        case _:\n"
        "            return 0\n"
    )
    code, findings = run_json(".", cwd=tmp_path)
    assert (code, findings) == (0, []), f"on Python {sys.version_info[:2]}"
