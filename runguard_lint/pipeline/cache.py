"""The result cache in `.runguard_cache/`: a warm run re-parses nothing.

Entries are keyed by the file's content hash and name, inside a bucket named
by the tool version and everything in the settings and catalog that changes
findings. The bucket is one JSON file written atomically (temp file +
rename), so two runs at once can lose each other's new entries but never
corrupt the cache. Diagnostics are turned into JSON and back here only, for
the check and the fix paths alike.

The cache sits in the project, where a pull request can forge it, so every
entry carries an HMAC (see cache_key) over the bucket, the file name, the
content hash and the findings' JSON text; an entry that fails it is ignored
and the file is checked again. The findings are stored as that JSON text so a
lookup costs one HMAC and one parse, with no re-serialising.
"""

from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any

from runguard_lint import __version__
from runguard_lint.config import Settings
from runguard_lint.diagnostics import Applicability, Diagnostic, Edit, FileReport, Fix, Location
from runguard_lint.pipeline.cache_key import cache_key, sign, verify
from runguard_lint.pipeline.files import replace_cache_file

CACHE_DIR_NAME = ".runguard_cache"


class ResultCache:
    """File reports by (file name, content hash) for one settings fingerprint."""

    def __init__(self, directory: Path, fingerprint: str, secret: bytes | None = None) -> None:
        key = hashlib.sha256(f"{__version__}|{fingerprint}".encode()).hexdigest()[:24]
        self.directory = directory
        self.path = directory / __version__ / f"{key}.json"
        self._bucket = key
        # No key, no cache: an entry that cannot be authenticated is never trusted.
        self._secret = secret if secret is not None else cache_key()
        self._entries: dict[str, Any] = {}
        self._dirty = False
        if self._secret is None:
            return
        try:
            with self.path.open("r", encoding="utf-8") as handle:
                loaded = json.load(handle)
            if isinstance(loaded, dict):
                self._entries = loaded
        except (OSError, ValueError):
            self._entries = {}

    @classmethod
    def for_settings(cls, settings: Settings, directory: Path | None) -> ResultCache:
        """The bucket for these settings in `directory`, else in the configured cache
        directory, else in `.runguard_cache/` at the project root."""
        where = directory or settings.cache_dir or settings.project_root / CACHE_DIR_NAME
        return cls(where, settings.fingerprint())

    def get(self, filename: str, digest: str) -> FileReport | None:
        entry = self._entries.get(filename)
        if self._secret is None or not isinstance(entry, dict) or entry.get("sha256") != digest:
            return None
        text = entry.get("diagnostics")
        if not isinstance(text, str) or not verify(
            self._secret, entry.get("hmac"), self._bucket, filename, digest, text
        ):
            return None  # forged, tampered with, or from another key: check the file
        if text == "[]":  # most files, most runs
            return FileReport(filename, ())
        try:
            diagnostics = tuple(_diagnostic_from_json(filename, raw) for raw in json.loads(text))
        except (KeyError, TypeError, ValueError):
            return None
        return FileReport(filename, diagnostics)

    def put(self, filename: str, digest: str, report: FileReport) -> None:
        if self._secret is None:
            return
        text = json.dumps(
            [_diagnostic_to_json(d) for d in report.diagnostics], separators=(",", ":")
        )
        self._entries[filename] = {
            "sha256": digest,
            "diagnostics": text,
            "hmac": sign(self._secret, self._bucket, filename, digest, text),
        }
        self._dirty = True

    def save(self) -> None:
        """Write the bucket atomically; a failure to write only costs speed next time."""
        if not self._dirty:
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            gitignore = self.directory / ".gitignore"
            if not gitignore.exists():
                gitignore.write_text("# Created by runguard-lint\n*\n", encoding="utf-8")
            text = json.dumps(self._entries, separators=(",", ":"))
            replace_cache_file(self.path, [text.encode("utf-8")])
        except OSError:
            return


def _fix_to_json(fix: Fix | None) -> dict[str, Any] | None:
    if fix is None:
        return None
    return {
        "applicability": fix.applicability.value,
        "message": fix.message,
        "edits": [
            {
                "content": e.content,
                "location": [e.location.row, e.location.column],
                "end_location": [e.end_location.row, e.end_location.column],
            }
            for e in fix.edits
        ],
    }


def _fix_from_json(fix_raw: dict[str, Any] | None) -> Fix | None:
    if fix_raw is None:
        return None
    return Fix(
        applicability=Applicability(fix_raw["applicability"]),
        message=fix_raw["message"],
        edits=tuple(
            Edit(e["content"], Location(*e["location"]), Location(*e["end_location"]))
            for e in fix_raw["edits"]
        ),
    )


def _diagnostic_to_json(diagnostic: Diagnostic) -> dict[str, Any]:
    return {
        "code": diagnostic.code,
        "message": diagnostic.message,
        "location": [diagnostic.location.row, diagnostic.location.column],
        "end_location": [diagnostic.end_location.row, diagnostic.end_location.column],
        "fix": _fix_to_json(diagnostic.fix),
        "alternative": _fix_to_json(diagnostic.alternative),
    }


def _diagnostic_from_json(filename: str, raw: dict[str, Any]) -> Diagnostic:
    fix = _fix_from_json(raw["fix"])
    alternative = _fix_from_json(raw.get("alternative"))
    return Diagnostic(
        code=raw["code"],
        message=raw["message"],
        filename=filename,
        location=Location(*raw["location"]),
        end_location=Location(*raw["end_location"]),
        fix=fix,
        alternative=alternative,
    )
