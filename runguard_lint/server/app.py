"""The language server: pygls over stdio, answering from `session.Session`.

Diagnostics are published when a document is opened or saved, and after
typing pauses (`DEBOUNCE_SECONDS`), from the editor's text, never from the
file on disk. Checks run one at a time in one analysis thread, so the event
loop keeps reading the client's messages and a newer edit cancels a check
that has not started; a result for a version that is no longer current is
dropped. Code actions come from the same results: each finding's fix (as the
rule made it, titled safe or unsafe), a `# noqa` for its line (`add_noqa`),
and every safe fix of the file (`source.fixAll.runguard-lint`, the same
fixpoint as `--fix`), whose edit is computed only when the client resolves
the action, if it can.
"""

from __future__ import annotations

import asyncio
import logging
import warnings
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Optional

from lsprotocol import types
from pygls.lsp.server import LanguageServer
from pygls.uris import to_fs_path

from runguard_lint import __version__
from runguard_lint.add_noqa import AddNoqaError, add_noqa_to_text
from runguard_lint.config import ConfigError
from runguard_lint.diagnostics import Applicability, Diagnostic
from runguard_lint.fixes.edits import line_edits
from runguard_lint.server.convert import (
    SOURCE,
    Lines,
    lsp_diagnostic,
    overlaps,
    text_edits,
    workspace_edit,
)
from runguard_lint.server.session import Checked, Session

DEBOUNCE_SECONDS = 0.3
FIX_ALL = f"{types.CodeActionKind.SourceFixAll.value}.{SOURCE}"
# What changes the findings of other files when it changes on disk.
WATCHED = ("**/*.py", "**/*.pyi", "**/pyproject.toml", "**/runguard-lint.toml")

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class _Result:
    """A document version's check: its findings, or why there are none."""

    version: int | None
    checked: Checked | None  # None: excluded by the config, or it could not be checked
    error: str | None = None  # why it could not be checked (a wrong config), for the user


class RunguardServer(LanguageServer):
    """The pygls server plus what it remembers between messages."""

    def __init__(self) -> None:
        super().__init__(
            "runguard-lint", __version__, text_document_sync_kind=types.TextDocumentSyncKind.Full
        )
        self.session = Session()
        # One analysis thread: the session and LibCST are used by one check at a time.
        self.analysis = ThreadPoolExecutor(max_workers=1, thread_name_prefix="runguard-check")
        self.results: dict[str, _Result] = {}
        self.pending: dict[str, asyncio.Task[None]] = {}
        self.shown_errors: set[str] = set()
        # Counts the changes on disk: a result made before the latest one is not kept.
        self.generation = 0

    # --- checking ----------------------------------------------------------------------

    def _check_now(self, uri: str, path: Path, text: str, version: int | None) -> _Result:
        """In the analysis thread."""
        try:
            return _Result(version, self.session.check(path, text))
        except ConfigError as error:
            return _Result(version, None, str(error))
        except Exception as error:  # the server must outlive any one file
            logger.exception("checking %s failed", path)
            message = f"{path}: internal error: {type(error).__name__}: {error}; please report it"
            return _Result(version, None, message)

    async def result(self, uri: str) -> _Result | None:
        """The check of the document's current version, made now if need be."""
        document = self.workspace.get_text_document(uri)
        known = self.results.get(uri)
        if known is not None and known.version == document.version:
            return known
        path = _path_of(uri)
        if path is None:
            return None
        generation = self.generation
        loop = asyncio.get_running_loop()
        result = await loop.run_in_executor(
            self.analysis, self._check_now, uri, path, document.source, document.version
        )
        current = self.workspace.get_text_document(uri).version == result.version
        if current and generation == self.generation:
            self.results[uri] = result  # made with facts that are still current
        return result

    def schedule(self, uri: str, delay: float) -> None:
        """Check the document after `delay` seconds of quiet, then publish."""
        previous = self.pending.pop(uri, None)
        if previous is not None:
            previous.cancel()
        self.pending[uri] = asyncio.ensure_future(self._check_and_publish(uri, delay))

    async def _check_and_publish(self, uri: str, delay: float) -> None:
        if delay:
            await asyncio.sleep(delay)
        if uri not in self.workspace.text_documents:
            return
        result = await self.result(uri)
        if result is None or self.workspace.get_text_document(uri).version != result.version:
            return  # a newer edit has its own check scheduled
        if self.pending.get(uri) is asyncio.current_task():
            del self.pending[uri]
        self.publish(uri, result)

    def publish(self, uri: str, result: _Result) -> None:
        diagnostics: list[types.Diagnostic] = []
        if result.error is not None:
            self._show_once(result.error)
        checked = result.checked
        if checked is not None:
            lines = Lines(checked.text, self.encoding)
            diagnostics = [lsp_diagnostic(d, lines) for d in checked.report.diagnostics]
            for error in checked.report.errors:
                self.window_log_message(
                    types.LogMessageParams(
                        type=types.MessageType.Error, message=f"{error.filename}: {error.message}"
                    )
                )
        self.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=diagnostics, version=result.version)
        )

    def _show_once(self, message: str) -> None:
        if message in self.shown_errors:
            return
        self.shown_errors.add(message)
        self.window_show_message(
            types.ShowMessageParams(
                type=types.MessageType.Error, message=f"runguard-lint: {message}"
            )
        )

    @property
    def encoding(self) -> str:
        return str(self.workspace.position_encoding or types.PositionEncodingKind.Utf16)

    def files_changed(self, paths: list[Path], saved_uri: str | None) -> None:
        """Files were written: what they tell the other modules (their factories, what
        they close) or the config may have changed, so the project facts are read
        again and every open document is checked again (the saved one at once)."""

        def forget() -> None:
            for path in paths:
                self.session.saved(path)

        # In the analysis thread, behind any check already queued there.
        self.analysis.submit(forget)
        self.generation += 1
        self.results.clear()
        for uri in list(self.workspace.text_documents):
            self.schedule(uri, 0 if uri == saved_uri else DEBOUNCE_SECONDS)

    # --- code actions ------------------------------------------------------------------

    def _edit(self, uri: str, version: int | None, edits: list[types.TextEdit]) -> Any:
        versioned = bool(
            _capability(self.client_capabilities, "workspace", "workspace_edit", "document_changes")
        )
        return workspace_edit(uri, version, edits, versioned)

    def can_resolve_edits(self) -> bool:
        properties = _capability(
            self.client_capabilities,
            "text_document",
            "code_action",
            "resolve_support",
            "properties",
        )
        return bool(properties) and "edit" in properties

    def fix_action(
        self, uri: str, version: int | None, diagnostic: Diagnostic, lines: Lines
    ) -> types.CodeAction | None:
        fix = diagnostic.fix
        if fix is None or not fix.edits:
            return None
        safe = fix.applicability is Applicability.SAFE
        return types.CodeAction(
            title=f"{diagnostic.code}: {fix.message} ({'safe' if safe else 'unsafe'} fix)",
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[lsp_diagnostic(diagnostic, lines)],
            is_preferred=safe,
            edit=self._edit(uri, version, text_edits(fix.edits, lines)),
        )

    def noqa_action(
        self, uri: str, version: int | None, checked: Checked, diagnostic: Diagnostic, lines: Lines
    ) -> types.CodeAction | None:
        try:
            result = add_noqa_to_text(checked.text, [diagnostic])
        except AddNoqaError:
            return None
        if not result.silenced or result.text == checked.text:
            return None
        edits = text_edits(line_edits(checked.text, result.text), lines)
        return types.CodeAction(
            title=f"{diagnostic.code}: add `# noqa: {diagnostic.code}` to this line",
            kind=types.CodeActionKind.QuickFix,
            diagnostics=[lsp_diagnostic(diagnostic, lines)],
            edit=self._edit(uri, version, edits),
        )

    async def fix_all_edit(self, uri: str, result: _Result) -> Any:
        """The edit of every safe fix, or None when there is nothing to apply."""
        checked = result.checked
        if checked is None:
            return None
        loop = asyncio.get_running_loop()
        fixed = await loop.run_in_executor(self.analysis, self.session.fix_all_safe, checked)
        if fixed is None:
            return None
        lines = Lines(checked.text, self.encoding)
        return self._edit(uri, result.version, text_edits(line_edits(checked.text, fixed), lines))


def _capability(root: object, *names: str) -> Any:
    """A nested client capability, or None where any level is missing."""
    value: Any = root
    for name in names:
        value = getattr(value, name, None)
        if value is None:
            return None
    return value


def _path_of(uri: str) -> Path | None:
    path = to_fs_path(uri) if uri.startswith("file:") else None
    return Path(path) if path else None


def _wanted(kind: str, only: Optional[list[str]]) -> bool:
    """Whether the client asked for this kind of action (`only` lists kinds or their
    parents: `source` covers `source.fixAll.runguard-lint`)."""
    return only is None or any(kind == want or kind.startswith(want + ".") for want in only)


def build_server() -> RunguardServer:
    server = RunguardServer()

    @server.feature(types.INITIALIZE)
    def initialize(ls: RunguardServer, params: types.InitializeParams) -> None:
        roots = [to_fs_path(folder.uri) for folder in params.workspace_folders or ()]
        if not roots and params.root_uri:
            roots = [to_fs_path(params.root_uri)]
        ls.session = Session(tuple(Path(root) for root in roots if root))

    @server.feature(types.INITIALIZED)
    def initialized(ls: RunguardServer, params: types.InitializedParams) -> None:
        # Files changed outside the editor (a checkout, a pull, the config edited in
        # another window) change the facts and settings too: ask to be told.
        if _capability(
            ls.client_capabilities, "workspace", "did_change_watched_files", "dynamic_registration"
        ):
            watchers = [types.FileSystemWatcher(glob_pattern=glob) for glob in WATCHED]
            ls.client_register_capability(
                types.RegistrationParams(
                    registrations=[
                        types.Registration(
                            id="runguard-lint-watched-files",
                            method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                            register_options=types.DidChangeWatchedFilesRegistrationOptions(
                                watchers=watchers
                            ),
                        )
                    ]
                )
            )

    @server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)
    def watched_files_changed(
        ls: RunguardServer, params: types.DidChangeWatchedFilesParams
    ) -> None:
        paths = [path for path in (_path_of(change.uri) for change in params.changes) if path]
        ls.files_changed(paths, saved_uri=None)

    @server.feature(types.TEXT_DOCUMENT_DID_OPEN)
    def did_open(ls: RunguardServer, params: types.DidOpenTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, 0)

    @server.feature(types.TEXT_DOCUMENT_DID_CHANGE)
    def did_change(ls: RunguardServer, params: types.DidChangeTextDocumentParams) -> None:
        ls.schedule(params.text_document.uri, DEBOUNCE_SECONDS)

    @server.feature(types.TEXT_DOCUMENT_DID_SAVE, types.SaveOptions(include_text=False))
    def did_save(ls: RunguardServer, params: types.DidSaveTextDocumentParams) -> None:
        saved = params.text_document.uri
        path = _path_of(saved)
        ls.files_changed([path] if path is not None else [], saved_uri=saved)

    @server.feature(types.TEXT_DOCUMENT_DID_CLOSE)
    def did_close(ls: RunguardServer, params: types.DidCloseTextDocumentParams) -> None:
        uri = params.text_document.uri
        pending = ls.pending.pop(uri, None)
        if pending is not None:
            pending.cancel()
        ls.results.pop(uri, None)
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=[])
        )

    @server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(
            code_action_kinds=[types.CodeActionKind.QuickFix, FIX_ALL], resolve_provider=True
        ),
    )
    async def code_action(
        ls: RunguardServer, params: types.CodeActionParams
    ) -> list[types.CodeAction] | None:
        uri = params.text_document.uri
        result = await ls.result(uri)
        if result is None or result.checked is None:
            return None
        checked = result.checked
        version = result.version
        lines = Lines(checked.text, ls.encoding)
        only = [str(kind) for kind in params.context.only] if params.context.only else None
        actions: list[types.CodeAction] = []
        if _wanted(types.CodeActionKind.QuickFix, only):
            for diagnostic in checked.report.diagnostics:
                where = lines.range(diagnostic.location, diagnostic.end_location)
                if not overlaps(where, params.range):
                    continue
                fix = ls.fix_action(uri, version, diagnostic, lines)
                if fix is not None:
                    actions.append(fix)
                noqa = ls.noqa_action(uri, version, checked, diagnostic, lines)
                if noqa is not None:
                    actions.append(noqa)
        safe_fixes = any(
            d.fix is not None and d.fix.applicability is Applicability.SAFE
            for d in checked.report.diagnostics
        )
        if safe_fixes and _wanted(FIX_ALL, only):
            fix_all = types.CodeAction(
                title="runguard-lint: apply every safe fix",
                kind=FIX_ALL,
                data={"uri": uri, "version": version},
            )
            if not ls.can_resolve_edits():
                fix_all.edit = await ls.fix_all_edit(uri, result)
                fix_all.data = None
            if fix_all.data is not None or fix_all.edit is not None:
                actions.append(fix_all)
        return actions

    @server.feature(types.CODE_ACTION_RESOLVE)
    async def resolve(ls: RunguardServer, action: types.CodeAction) -> types.CodeAction:
        data = action.data if isinstance(action.data, dict) else {}
        uri = data.get("uri")
        if action.kind != FIX_ALL or not isinstance(uri, str):
            return action
        result = await ls.result(uri)
        if result is not None and result.version == data.get("version"):
            action.edit = await ls.fix_all_edit(uri, result)
        return action

    @server.feature(types.SHUTDOWN)
    def shutdown(ls: RunguardServer, params: None) -> None:
        for task in ls.pending.values():
            task.cancel()
        ls.analysis.shutdown(wait=False, cancel_futures=True)

    return server


def serve() -> None:
    """Talk LSP on standard input and output until the client says `exit`."""
    logging.basicConfig(level=logging.WARNING, format="runguard-lint server: %(message)s")
    # The stdlib parser warns about the checked code (`"\d"` escapes) on every
    # keystroke; that is the business of the user's other tools, not this log.
    warnings.filterwarnings("ignore", category=SyntaxWarning)
    build_server().start_io()
