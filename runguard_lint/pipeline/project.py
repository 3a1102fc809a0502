"""The project-wide fact pass of a run, before any file is checked.

Every file given is read and decoded once here (cheap next to parsing); the
fact pass parses only the modules that can matter (see
analysis.project.collect) and reuses summaries from earlier runs by content
hash. The facts then travel to the workers in the worker context, and their
digest joins the content hash in the result cache's key: a file's findings
depend on what the other modules tell about their functions and classes.

The summaries file sits in the project's cache directory, where a pull
request can forge it (a summary saying a leaking factory hands its resource
away would silence its callers), so each entry is stored as JSON text with an
HMAC under the user's cache key (see cache_key); one that fails is recomputed.
"""

from __future__ import annotations

import json
import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from runguard_lint import __version__
from runguard_lint.analysis.project.collect import Source, collect
from runguard_lint.analysis.project.facts import ProjectFacts
from runguard_lint.analysis.project.summary import SUMMARY_FORMAT, ModuleSummary
from runguard_lint.config import Settings
from runguard_lint.pipeline.cache_key import cache_key, sign, verify
from runguard_lint.pipeline.files import DecodeFailure, InputFile, content_hash, decode, read_bytes


def project_facts(
    files: Sequence[InputFile], settings: Settings, cache_dir: Path | None
) -> ProjectFacts:
    """The facts of the files being checked, with summaries cached in cache_dir."""
    sources: list[Source] = []
    for file in files:
        data = read_bytes(file.path)
        if isinstance(data, str):
            continue
        try:
            text = decode(data).text
        except DecodeFailure:
            continue
        sources.append(Source(str(file.path), text, content_hash(data)))
    store = _SummaryStore(cache_dir)
    facts, summaries = collect(sources, settings.catalog, store.load())
    store.save(summaries)
    return facts


class _SummaryStore:
    """Module summaries by content hash, one JSON file per tool version."""

    def __init__(self, directory: Path | None) -> None:
        self._secret = cache_key() if directory else None
        # No key, no store: a summary that cannot be authenticated is never trusted.
        self.path = (
            directory / __version__ / f"summaries-{SUMMARY_FORMAT}.json"
            if directory and self._secret
            else None
        )
        self._known: dict[str, ModuleSummary] = {}

    def load(self) -> dict[str, ModuleSummary]:
        if self.path is None or self._secret is None:
            return {}
        try:
            with self.path.open("r", encoding="utf-8") as handle:
                raw = json.load(handle)
            if not isinstance(raw, dict):
                return {}
            known: dict[str, ModuleSummary] = {}
            for digest, entry in raw.items():
                if not isinstance(entry, dict):
                    continue
                text = entry.get("summary")
                if isinstance(text, str) and verify(
                    self._secret, entry.get("hmac"), __version__, digest, text
                ):
                    known[digest] = ModuleSummary.from_json(json.loads(text))
            self._known = known
        except (OSError, ValueError, KeyError, TypeError, AssertionError):
            self._known = {}
        return self._known

    def save(self, summaries: dict[str, ModuleSummary]) -> None:
        """Write what this run used (atomically); a failure only costs speed next time."""
        if self.path is None or self._secret is None or summaries.keys() == self._known.keys():
            return
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            payload = {}
            for digest, summary in summaries.items():
                text = json.dumps(summary.to_json(), separators=(",", ":"))
                payload[digest] = {
                    "summary": text,
                    "hmac": sign(self._secret, __version__, digest, text),
                }
            handle, temporary = tempfile.mkstemp(dir=self.path.parent, suffix=".tmp")
            with os.fdopen(handle, "w", encoding="utf-8") as stream:
                json.dump(payload, stream, separators=(",", ":"))
            os.replace(temporary, self.path)
        except OSError:
            return
