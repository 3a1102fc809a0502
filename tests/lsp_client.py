"""A minimal LSP client for the tests: JSON-RPC with Content-Length framing over a
subprocess's standard input and output, written from the protocol, not from the
server's library, so the tests see the bytes an editor would."""

from __future__ import annotations

import json
import os
import queue
import subprocess
import sys
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import IO, Any

TIMEOUT = 120.0


class LspClient:
    """`runguard-lint server` in a subprocess, spoken to as an editor would."""

    def __init__(self, cwd: Path, command: tuple[str, ...] = ("server",)) -> None:
        env = dict(os.environ)
        self.process = subprocess.Popen(
            [sys.executable, "-m", "runguard_lint", *command],
            cwd=cwd,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            env=env,
        )
        self._next_id = 0
        self._messages: queue.Queue[dict[str, Any]] = queue.Queue()
        self.notifications: list[dict[str, Any]] = []
        self.server_requests: list[dict[str, Any]] = []
        self._responses: dict[int, dict[str, Any]] = {}
        assert self.process.stdout is not None
        threading.Thread(target=self._read, args=(self.process.stdout,), daemon=True).start()

    # --- the wire --------------------------------------------------------------------

    def _read(self, stream: IO[bytes]) -> None:
        while True:
            length = None
            while True:
                header = stream.readline()
                if not header:
                    return
                if header in (b"\r\n", b"\n"):
                    break
                name, _, value = header.decode("ascii").partition(":")
                if name.strip().lower() == "content-length":
                    length = int(value.strip())
            assert length is not None, "a message without Content-Length"
            self._messages.put(json.loads(stream.read(length).decode("utf-8")))

    def _send(self, message: dict[str, Any]) -> None:
        body = json.dumps({"jsonrpc": "2.0", **message}).encode("utf-8")
        assert self.process.stdin is not None
        self.process.stdin.write(f"Content-Length: {len(body)}\r\n\r\n".encode("ascii") + body)
        self.process.stdin.flush()

    def _pump(self, deadline: float) -> None:
        """Take one message off the wire, answering the server's own requests."""
        try:
            message = self._messages.get(timeout=max(0.0, deadline - time.monotonic()))
        except queue.Empty:
            raise AssertionError(f"no message from the server in time; {self.stderr()}") from None
        if "method" in message and "id" in message:
            # A request from the server (a registration, work done progress): accept it.
            self.server_requests.append(message)
            self._send({"id": message["id"], "result": None})
        elif "method" in message:
            self.notifications.append(message)
        else:
            self._responses[message["id"]] = message

    def stderr(self) -> str:
        if self.process.poll() is None:
            return "the server is still running"
        assert self.process.stderr is not None
        return "server stderr: " + self.process.stderr.read().decode("utf-8", "replace")

    # --- what a test says ------------------------------------------------------------

    def request(self, method: str, params: Any) -> Any:
        self._next_id += 1
        ident = self._next_id
        self._send({"id": ident, "method": method, "params": params})
        deadline = time.monotonic() + TIMEOUT
        while ident not in self._responses:
            self._pump(deadline)
        response = self._responses.pop(ident)
        assert "error" not in response, response["error"]
        return response["result"]

    def notify(self, method: str, params: Any) -> None:
        self._send({"method": method, "params": params})

    def wait_for(self, method: str, accept: Callable[[dict[str, Any]], bool]) -> dict[str, Any]:
        """The first notification of `method` (seen before or arriving) whose params
        `accept`; it is consumed."""
        deadline = time.monotonic() + TIMEOUT
        while True:
            for index, message in enumerate(self.notifications):
                if message["method"] == method and accept(message["params"]):
                    del self.notifications[index]
                    params: dict[str, Any] = message["params"]
                    return params
            self._pump(deadline)

    def diagnostics(self, uri: str, version: int) -> list[dict[str, Any]]:
        params = self.wait_for(
            "textDocument/publishDiagnostics",
            lambda p: p["uri"] == uri and p.get("version") == version,
        )
        found: list[dict[str, Any]] = params["diagnostics"]
        return found

    def close(self) -> int:
        """shutdown, exit, and the server's exit status."""
        assert self.request("shutdown", None) is None
        self.notify("exit", None)
        try:
            return self.process.wait(timeout=TIMEOUT)
        finally:
            for stream in (self.process.stdin, self.process.stdout, self.process.stderr):
                if stream is not None:
                    stream.close()

    def kill(self) -> None:
        if self.process.poll() is None:
            self.process.kill()
            self.process.wait()


def apply_text_edits(text: str, edits: list[dict[str, Any]]) -> str:
    """Apply LSP TextEdits (UTF-16 positions) to text, as an editor does."""
    lines = text.splitlines(keepends=True)

    def offset(position: dict[str, int]) -> int:
        line, character = position["line"], position["character"]
        if line >= len(lines):
            return len(text)
        before = sum(len(item) for item in lines[:line])
        units = 0
        column = 0
        content = lines[line]
        while units < character and column < len(content):
            units += 2 if ord(content[column]) > 0xFFFF else 1
            column += 1
        return before + column

    spans = sorted(
        ((offset(e["range"]["start"]), offset(e["range"]["end"]), e["newText"]) for e in edits),
        reverse=True,
    )
    for start, end, new_text in spans:
        text = text[:start] + new_text + text[end:]
    return text


def edits_of(workspace_edit: dict[str, Any], uri: str) -> list[dict[str, Any]]:
    """The TextEdits of one document in a WorkspaceEdit (either shape)."""
    if workspace_edit.get("documentChanges"):
        edits: list[dict[str, Any]] = []
        for change in workspace_edit["documentChanges"]:
            if change["textDocument"]["uri"] == uri:
                edits.extend(change["edits"])
        return edits
    found: list[dict[str, Any]] = workspace_edit["changes"][uri]
    return found
