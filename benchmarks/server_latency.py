"""How long the language server takes to answer, on a real project.

    python benchmarks/server_latency.py PROJECT_DIR FILE [--cold]

Starts `runguard-lint server` in PROJECT_DIR (the workspace folder), opens
FILE, and prints the seconds until its first diagnostics (which include the
project-wide fact pass), then until the diagnostics of an edit (a comment
line added at the top: what typing costs once the pause has passed, the
debounce included), then for a code action request. `--cold` first removes
the project's `.runguard_cache`, so the fact pass starts without summaries.
"""

from __future__ import annotations

import argparse
import shutil
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from tests.lsp_client import LspClient


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("project", type=Path)
    parser.add_argument("file", type=Path)
    parser.add_argument("--cold", action="store_true")
    options = parser.parse_args()
    project = options.project.resolve()
    path = (project / options.file).resolve()
    if options.cold:
        shutil.rmtree(project / ".runguard_cache", ignore_errors=True)
    text = path.read_text(encoding="utf-8")
    client = LspClient(project)
    try:
        client.request(
            "initialize",
            {
                "processId": None,
                "rootUri": project.as_uri(),
                "workspaceFolders": [{"uri": project.as_uri(), "name": project.name}],
                "capabilities": {},
            },
        )
        client.notify("initialized", {})
        uri = path.as_uri()
        start = time.perf_counter()
        client.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
        )
        found = client.diagnostics(uri, 1)
        opened = time.perf_counter() - start
        start = time.perf_counter()
        client.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": 2},
                "contentChanges": [{"text": "# edited\n" + text}],
            },
        )
        client.diagnostics(uri, 2)
        changed = time.perf_counter() - start
        start = time.perf_counter()
        client.request(
            "textDocument/codeAction",
            {
                "textDocument": {"uri": uri},
                "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 0}},
                "context": {"diagnostics": []},
            },
        )
        action = time.perf_counter() - start
        client.close()
    finally:
        client.kill()
    lines = text.count("\n")
    print(f"{path.relative_to(project)}: {lines} lines, {len(found)} findings")
    facts = "cold" if options.cold else "warm"
    print(f"open -> diagnostics:   {opened:6.2f} s (fact pass {facts})")
    print(f"change -> diagnostics: {changed:6.2f} s (debounce included)")
    print(f"code action:           {action:6.2f} s")


if __name__ == "__main__":
    main()
