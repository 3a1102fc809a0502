"""`runguard-lint server`: real LSP conversations with the server in a subprocess.

Every answer is compared with what the command line says of the same file:
the server must publish the findings `runguard-lint <project>` reports, and
its code actions must make the text `--fix` writes.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

from lsprotocol.types import Position

from runguard_lint.diagnostics import Location
from runguard_lint.server.convert import Lines
from runguard_lint.server.session import Session
from tests.conftest import ROOT, run_cli
from tests.lsp_client import LspClient, apply_text_edits, edits_of

LEAK = (
    "import httpx\n"
    "\n"
    "\n"
    "async def fetch(url):\n"
    "    client = httpx.AsyncClient(base_url=url)\n"
    '    response = await client.get("/")\n'
    "    return response.text\n"
)
CAPABILITIES: dict[str, Any] = {
    "general": {"positionEncodings": ["utf-16"]},
    "workspace": {
        "workspaceEdit": {"documentChanges": True},
        "didChangeWatchedFiles": {"dynamicRegistration": True},
    },
    "textDocument": {
        "publishDiagnostics": {"versionSupport": True},
        "codeAction": {
            "resolveSupport": {"properties": ["edit"]},
            "codeActionLiteralSupport": {
                "codeActionKind": {"valueSet": ["quickfix", "source.fixAll"]}
            },
        },
    },
}


def _project(tmp_path: Path, config: str = "[tool.runguard-lint]\n") -> Path:
    project = tmp_path / "project"
    (project / "pkg").mkdir(parents=True)
    (project / "pyproject.toml").write_text(config, encoding="utf-8")
    (project / "pkg" / "__init__.py").write_text("", encoding="utf-8")
    return project


def _start(project: Path, capabilities: dict[str, Any] | None = None) -> LspClient:
    client = LspClient(project)
    result = client.request(
        "initialize",
        {
            "processId": None,
            "rootUri": project.as_uri(),
            "workspaceFolders": [{"uri": project.as_uri(), "name": "project"}],
            "capabilities": CAPABILITIES if capabilities is None else capabilities,
        },
    )
    assert result["serverInfo"]["name"] == "runguard-lint"
    client.notify("initialized", {})
    return client


def _open(client: LspClient, path: Path, text: str, version: int = 1) -> str:
    uri = path.as_uri()
    client.notify(
        "textDocument/didOpen",
        {"textDocument": {"uri": uri, "languageId": "python", "version": version, "text": text}},
    )
    return uri


def _change(client: LspClient, uri: str, text: str, version: int) -> None:
    client.notify(
        "textDocument/didChange",
        {"textDocument": {"uri": uri, "version": version}, "contentChanges": [{"text": text}]},
    )


def _cli_findings(project: Path) -> dict[str, list[tuple[str, int, int, int, int]]]:
    """What `runguard-lint .` reports in the project, as LSP ranges by absolute path."""
    result = run_cli("--output-format", "json", "--no-cache", ".", cwd=project)
    assert result.returncode in (0, 1), result.stderr
    found: dict[str, list[tuple[str, int, int, int, int]]] = {}
    for item in json.loads(result.stdout):
        start, end = item["location"], item["end_location"]
        found.setdefault(str((project / item["filename"]).resolve()), []).append(
            (item["code"], start["row"] - 1, start["column"] - 1, end["row"] - 1, end["column"] - 1)
        )
    return found


def _ranges(diagnostics: list[dict[str, Any]]) -> list[tuple[str, int, int, int, int]]:
    return [
        (
            d["code"],
            d["range"]["start"]["line"],
            d["range"]["start"]["character"],
            d["range"]["end"]["line"],
            d["range"]["end"]["character"],
        )
        for d in diagnostics
    ]


def _cli_fixed(project: Path, relative: str, text: str) -> str:
    """What `runguard-lint --fix` writes for this text, in a copy of the project."""
    copy = project.parent / "fix-copy"
    shutil.rmtree(copy, ignore_errors=True)
    shutil.copytree(project, copy)
    (copy / relative).write_text(text, encoding="utf-8")
    result = run_cli("--fix", "--no-cache", ".", cwd=copy)
    assert result.returncode in (0, 1), result.stderr
    return (copy / relative).read_text(encoding="utf-8")


def test_conversation_diagnostics_actions_and_changes(tmp_path: Path) -> None:
    project = _project(tmp_path)
    module = project / "pkg" / "tools.py"
    module.write_text(LEAK, encoding="utf-8")
    expected = _cli_findings(project)[str(module.resolve())]
    assert [item[:2] for item in expected] == [("RG101", 4)]
    client = _start(project)
    try:
        # didOpen: the findings the CLI reports, at the same places.
        uri = _open(client, module, LEAK)
        published = client.diagnostics(uri, 1)
        assert _ranges(published) == expected
        assert published[0]["source"] == "runguard-lint"
        assert published[0]["severity"] == 2  # a warning
        assert published[0]["codeDescription"]["href"].endswith("/RG101.toml")

        # codeAction on the finding: its fix (titled safe) and a noqa for the line.
        actions = client.request(
            "textDocument/codeAction",
            {
                "textDocument": {"uri": uri},
                "range": published[0]["range"],
                "context": {"diagnostics": published},
            },
        )
        by_kind: dict[str, list[dict[str, Any]]] = {}
        for action in actions:
            by_kind.setdefault(action["kind"], []).append(action)
        fix, noqa = by_kind["quickfix"]
        assert fix["title"].startswith("RG101: ") and fix["title"].endswith("(safe fix)")
        assert fix["isPreferred"] is True
        assert fix["edit"]["documentChanges"][0]["textDocument"] == {"uri": uri, "version": 1}
        fixed = apply_text_edits(LEAK, edits_of(fix["edit"], uri))
        assert fixed == _cli_fixed(project, "pkg/tools.py", LEAK)
        assert "async with httpx.AsyncClient(base_url=url) as client:" in fixed
        assert noqa["title"] == "RG101: add `# noqa: RG101` to this line"
        silenced = apply_text_edits(LEAK, edits_of(noqa["edit"], uri))
        assert (
            silenced.splitlines()[4]
            == "    client = httpx.AsyncClient(base_url=url)  # noqa: RG101"
        )

        # source.fixAll: offered without its edit, which resolving computes.
        (fix_all,) = by_kind["source.fixAll.runguard-lint"]
        assert "edit" not in fix_all
        resolved = client.request("codeAction/resolve", fix_all)
        assert apply_text_edits(LEAK, edits_of(resolved["edit"], uri)) == fixed

        # Only the kinds asked for (an editor's fix-all on save asks for source.fixAll).
        only = client.request(
            "textDocument/codeAction",
            {
                "textDocument": {"uri": uri},
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                "context": {"diagnostics": [], "only": ["source.fixAll"]},
            },
        )
        assert [action["kind"] for action in only] == ["source.fixAll.runguard-lint"]

        # didChange: the finding moves with the code, from the editor's text (not the disk).
        moved = LEAK.replace("async def", "# one\n# two\nasync def")
        _change(client, uri, moved, 2)
        assert [item[:2] for item in _ranges(client.diagnostics(uri, 2))] == [("RG101", 6)]

        # Typing: only the text the typing paused on is checked and published.
        for version in (3, 4, 5):
            _change(client, uri, moved.replace("# two", "# two" + "!" * version), version)
        assert [item[:2] for item in _ranges(client.diagnostics(uri, 5))] == [("RG101", 6)]
        assert not [
            n
            for n in client.notifications
            if n["method"] == "textDocument/publishDiagnostics" and n["params"]["uri"] == uri
        ]

        # Typing the fix by hand: the finding goes away.
        _change(client, uri, fixed, 6)
        assert client.diagnostics(uri, 6) == []
        assert (
            client.request(
                "textDocument/codeAction",
                {
                    "textDocument": {"uri": uri},
                    "range": {
                        "start": {"line": 4, "character": 0},
                        "end": {"line": 4, "character": 0},
                    },
                    "context": {"diagnostics": []},
                },
            )
            == []
        )
        assert module.read_text(encoding="utf-8") == LEAK  # the server never writes
        assert client.close() == 0
    finally:
        client.kill()


def test_project_facts_and_saving(tmp_path: Path) -> None:
    """A factory in another module makes a call an acquisition, as `runguard-lint .`
    sees it; saving a module makes the other open modules checked again."""
    project = _project(tmp_path)
    factory = project / "pkg" / "factory.py"
    factory.write_text(
        "import httpx\n\n\ndef make_client():\n    return httpx.AsyncClient(timeout=10)\n",
        encoding="utf-8",
    )
    use = project / "pkg" / "use.py"
    use_text = (
        "from pkg.factory import make_client\n"
        "\n"
        "\n"
        "async def fetch(url):\n"
        "    client = make_client()\n"
        "    response = await client.get(url)\n"
        "    return response.text\n"
    )
    use.write_text(use_text, encoding="utf-8")
    expected = _cli_findings(project)[str(use.resolve())]
    assert [item[:2] for item in expected] == [("RG101", 4)]
    client = _start(project)
    try:
        use_uri = _open(client, use, use_text)
        assert _ranges(client.diagnostics(use_uri, 1)) == expected

        # The factory no longer builds a client: once saved, the caller is clean.
        not_a_factory = "def make_client():\n    return object()\n"
        factory_uri = _open(client, factory, factory.read_text(encoding="utf-8"))
        client.diagnostics(factory_uri, 1)
        _change(client, factory_uri, not_a_factory, 2)
        assert client.diagnostics(factory_uri, 2) == []
        factory.write_text(not_a_factory, encoding="utf-8")
        client.notify("textDocument/didSave", {"textDocument": {"uri": factory_uri}})
        assert client.diagnostics(use_uri, 1) == []

        # A change on disk outside the editor (a checkout): the server asked to watch
        # Python files and the config, and checks the open documents again.
        (registration,) = [
            request["params"]["registrations"][0]
            for request in client.server_requests
            if request["method"] == "client/registerCapability"
        ]
        assert registration["method"] == "workspace/didChangeWatchedFiles"
        globs = {watcher["globPattern"] for watcher in registration["registerOptions"]["watchers"]}
        assert {"**/*.py", "**/pyproject.toml"} <= globs
        factory.write_text(
            "import httpx\n\n\ndef make_client():\n    return httpx.AsyncClient()\n",
            encoding="utf-8",
        )
        client.notify(
            "workspace/didChangeWatchedFiles",
            {"changes": [{"uri": factory_uri, "type": 2}]},
        )
        assert _ranges(client.diagnostics(use_uri, 1)) == expected

        client.notify("textDocument/didClose", {"textDocument": {"uri": use_uri}})
        closed = client.wait_for("textDocument/publishDiagnostics", lambda p: p["uri"] == use_uri)
        assert closed["diagnostics"] == []
        assert client.close() == 0
    finally:
        client.kill()


def test_config_is_the_projects(tmp_path: Path) -> None:
    """The config of the document's project applies: per-file-ignores, excludes, and a
    wrong key is shown to the user rather than ignored."""
    project = _project(
        tmp_path,
        '[tool.runguard-lint]\nextend-exclude = ["generated"]\n'
        'per-file-ignores = { "pkg/quiet.py" = ["RG101"] }\n',
    )
    (project / "generated").mkdir()
    broken = tmp_path / "broken"
    broken.mkdir()
    (broken / "pyproject.toml").write_text("[tool.runguard-lint]\nselectt = []\n", encoding="utf-8")
    client = _start(project)
    try:
        loud = _open(client, project / "pkg" / "loud.py", LEAK)
        assert [d["code"] for d in client.diagnostics(loud, 1)] == ["RG101"]
        quiet = _open(client, project / "pkg" / "quiet.py", LEAK)
        assert client.diagnostics(quiet, 1) == []
        # Excludes are judged on the file as saved (an editor opens files that exist).
        (project / "generated" / "out.py").write_text(LEAK, encoding="utf-8")
        generated = _open(client, project / "generated" / "out.py", LEAK)
        assert client.diagnostics(generated, 1) == []

        wrong = _open(client, broken / "mod.py", LEAK)
        assert client.diagnostics(wrong, 1) == []
        shown = client.wait_for("window/showMessage", lambda p: "selectt" in p["message"])
        assert shown["type"] == 1  # an error
        assert "did you mean `select`" in shown["message"]
        assert client.close() == 0
    finally:
        client.kill()


def test_positions_are_in_the_clients_units(tmp_path: Path) -> None:
    """Columns count UTF-16 code units by default, code points when the client asks
    for UTF-32: a character outside the BMP before the finding tells them apart."""
    project = _project(tmp_path)
    text = LEAK.replace("    client = ", '    tag = "\U0001f600"; client = ')
    module = project / "pkg" / "emoji.py"
    for encodings, expected in ((["utf-16"], 25), (["utf-32"], 24)):
        capabilities = {**CAPABILITIES, "general": {"positionEncodings": encodings}}
        client = _start(project, capabilities)
        try:
            uri = _open(client, module, text)
            (diagnostic,) = client.diagnostics(uri, 1)
            assert diagnostic["range"]["start"] == {"line": 4, "character": expected}
            assert client.close() == 0
        finally:
            client.kill()


def test_fix_all_without_resolve_support(tmp_path: Path) -> None:
    """A client that cannot resolve code actions gets the edit with the action, and an
    unversioned WorkspaceEdit when it does not take documentChanges."""
    project = _project(tmp_path)
    module = project / "pkg" / "tools.py"
    client = _start(project, {})
    try:
        uri = _open(client, module, LEAK)
        client.diagnostics(uri, 1)
        actions = client.request(
            "textDocument/codeAction",
            {
                "textDocument": {"uri": uri},
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                "context": {"diagnostics": [], "only": ["source"]},
            },
        )
        (fix_all,) = actions
        assert set(fix_all["edit"]) == {"changes"}
        assert apply_text_edits(LEAK, fix_all["edit"]["changes"][uri]) == _cli_fixed(
            project, "pkg/tools.py", LEAK
        )
        # A client built from constants gets the shared singleton: an unsafe fix, not
        # preferred, and not part of "every safe fix".
        shared = _open(client, project / "pkg" / "shared.py", LEAK.replace("base_url=url", ""))
        (diagnostic,) = client.diagnostics(shared, 1)
        actions = client.request(
            "textDocument/codeAction",
            {
                "textDocument": {"uri": shared},
                "range": diagnostic["range"],
                "context": {"diagnostics": [diagnostic]},
            },
        )
        assert [action["kind"] for action in actions] == ["quickfix", "quickfix"]
        assert actions[0]["title"].endswith("(unsafe fix)")
        assert actions[0]["isPreferred"] is False
        assert client.close() == 0
    finally:
        client.kill()


def test_lines_split_as_python_does() -> None:
    """A form feed ends no line (LSP and Python agree); a \\r alone does."""
    lines = Lines("a = 1\x0c  b = 2\rc = 3\n", "utf-16")
    assert lines.position(Location(1, 10)) == Position(line=0, character=9)
    assert lines.position(Location(2, 1)) == Position(line=1, character=0)
    # The row after the last line ending: where an edit that appends ends.
    assert lines.position(Location(3, 1)) == Position(line=2, character=0)


def test_server_needs_its_extra() -> None:
    """Without pygls the command says which extra to install, and exits 2."""
    code = (
        "import sys\n"
        "sys.modules['pygls'] = None\n"  # makes `import pygls` fail, as if not installed
        "sys.argv = ['runguard-lint', 'server']\n"
        "from runguard_lint.cli import main\n"
        "main()\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
    )
    assert result.returncode == 2
    assert "pip install 'runguard-lint[server]'" in result.stderr
    assert result.stdout == ""


def test_a_path_named_server_is_still_checkable(tmp_path: Path) -> None:
    """`server` alone is the server; `server/`, or `server` with any option, is a path."""
    (tmp_path / "server").mkdir()
    (tmp_path / "server" / "app.py").write_text(LEAK, encoding="utf-8")
    for args in (("server/",), ("--no-cache", "server"), ("./server",)):
        result = run_cli(*args, "--output-format", "concise", cwd=tmp_path)
        assert result.returncode == 1, result.stderr
        assert "server/app.py:5:14: RG101" in result.stdout
    # With nothing else, even here, it is the server: it answers LSP, then exits.
    client = LspClient(tmp_path)
    try:
        client.request("initialize", {"processId": None, "rootUri": None, "capabilities": {}})
        assert client.close() == 0
    finally:
        client.kill()


def test_server_module_layout() -> None:
    """The command line imports the server (and pygls) only when it is asked for."""
    code = (
        "import sys\n"
        "import runguard_lint.cli\n"
        "print(sorted(m for m in sys.modules if m.startswith(('pygls', 'lsprotocol'))))\n"
    )
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, timeout=120, cwd=ROOT
    )
    assert result.stdout.strip() == "[]", result.stderr


def test_a_save_that_keeps_the_facts_reuses_them(tmp_path: Path) -> None:
    """After a save, the server's fact pass is the CLI's warm one: the other files are
    not read again, and a saved file that tells the project what it told it before
    keeps the joined facts (no summary is stored again); one that changes them joins
    them anew."""
    project = _project(tmp_path)
    factory = project / "pkg" / "factory.py"
    factory_text = "import httpx\n\n\ndef make_client():\n    return httpx.Client()\n"
    factory.write_text(factory_text, encoding="utf-8")
    use = project / "pkg" / "use.py"
    use.write_text("from pkg.factory import make_client\n", encoding="utf-8")
    session = Session((project,))
    settings = session.settings_for(use)
    first = session.facts_for(use, settings)
    assert first is not None and "pkg.factory.make_client" in first.factories
    [summaries] = list(project.rglob("summaries-*.pickle"))
    stored = summaries.read_bytes()

    factory.write_text(factory_text + "# a comment\n", encoding="utf-8")
    session.saved(factory)
    kept = session.facts_for(use, settings)
    assert kept is not None and kept.digest == first.digest
    assert summaries.read_bytes() == stored

    factory.write_text("def make_client():\n    return object()\n", encoding="utf-8")
    session.saved(factory)
    changed = session.facts_for(use, settings)
    assert changed is not None and changed.digest != first.digest
    assert "pkg.factory.make_client" not in changed.factories


def test_the_server_reads_back_the_facts_the_command_line_stored(tmp_path: Path) -> None:
    """`runguard-lint .` run at the project's root and the server name the files alike,
    so the server's first analysis reads the stored facts back instead of joining them
    anew (the summaries store is not written again)."""
    project = _project(tmp_path)
    (project / "pkg" / "factory.py").write_text(
        "import httpx\n\n\ndef make_client():\n    return httpx.Client()\n", encoding="utf-8"
    )
    use = project / "pkg" / "use.py"
    use.write_text("from pkg.factory import make_client\n", encoding="utf-8")
    result = run_cli(".", cwd=project)
    assert result.returncode == 0, result.stderr
    [summaries] = list(project.rglob("summaries-*.pickle"))
    stored = summaries.stat().st_mtime_ns, summaries.read_bytes()
    session = Session((project,))
    facts = session.facts_for(use, session.settings_for(use))
    assert facts is not None and "pkg.factory.make_client" in facts.factories
    assert (summaries.stat().st_mtime_ns, summaries.read_bytes()) == stored
