"""What the language server knows between requests: settings, project facts, results.

No LSP here: a document is a path and a text, an answer is a `FileReport`
made exactly as the command line makes it. The settings are those the CLI
would find for the document's path (the nearest `runguard-lint.toml`, or
`pyproject.toml` with our table), re-read when the config file changes. The
project-wide facts are those `runguard-lint <project root>` computes (the
root is the config's directory, else the workspace folder holding the
document), through the same summary cache on disk; they are computed when a
document of the project is first checked and again after any file of it is
saved, so an unsaved edit of one module is seen by that module's own
analysis at once and by the other modules once it is saved.
"""

from __future__ import annotations

import os
import traceback
from dataclasses import dataclass, replace
from pathlib import Path

from runguard_lint.analysis.project.facts import ProjectFacts
from runguard_lint.config import ConfigError, Settings, find_config, load_settings
from runguard_lint.diagnostics import FileError, FileReport
from runguard_lint.discovery import PYTHON_SUFFIXES, discover
from runguard_lint.pipeline.cache import CACHE_DIR_NAME
from runguard_lint.pipeline.check import check_text
from runguard_lint.pipeline.files import InputFile, display_name
from runguard_lint.pipeline.fix import fix_text
from runguard_lint.pipeline.project import project_facts


@dataclass(frozen=True)
class Checked:
    """One version of one document, checked: what publishing and code actions need."""

    filename: str
    text: str
    settings: Settings
    project: ProjectFacts | None
    report: FileReport


@dataclass(frozen=True)
class _CachedSettings:
    settings: Settings
    stamp: tuple[int, int] | None  # the config file's (mtime_ns, size) when it was read


class Session:
    """Settings and project facts by project, for the documents of one editor."""

    def __init__(self, workspace_roots: tuple[Path, ...] = ()) -> None:
        self.workspace_roots = tuple(root.resolve() for root in workspace_roots)
        self._settings: dict[tuple[Path | None, Path], _CachedSettings] = {}
        self._facts: dict[Path, ProjectFacts] = {}

    # --- what a document is checked with ------------------------------------------------

    def _workspace_root(self, path: Path) -> Path | None:
        """The innermost workspace folder that holds path."""
        holding = [root for root in self.workspace_roots if path == root or root in path.parents]
        return max(holding, key=lambda root: len(root.parts)) if holding else None

    def settings_for(self, path: Path) -> Settings:
        """The settings the CLI would use for this file (ConfigError when they are wrong)."""
        config = find_config(path)
        root = (
            config.parent.resolve()
            if config is not None
            else self._workspace_root(path) or path.parent
        )
        key = (config, root)
        stamp = _stamp(config) if config is not None else None
        cached = self._settings.get(key)
        if cached is not None and cached.stamp == stamp:
            return cached.settings
        settings = load_settings(config, root)
        self._settings[key] = _CachedSettings(settings, stamp)
        self._facts.pop(settings.project_root, None)
        return settings

    def _project_root(self, path: Path, settings: Settings) -> Path | None:
        """Whose files the project facts come from: the config's directory, else the
        workspace folder; None for a file that belongs to neither (its own facts)."""
        if settings.config_path is not None:
            return settings.project_root
        return self._workspace_root(path)

    def facts_for(self, path: Path, settings: Settings) -> ProjectFacts | None:
        """The project-wide facts, as `runguard-lint <root>` computes them."""
        root = self._project_root(path, settings)
        if root is None:
            return None
        facts = self._facts.get(root)
        if facts is None:
            found = discover([str(root)], settings)
            # Named from the root, as `runguard-lint .` run there names them: the
            # facts stored by either are then the other's (`project.survey_project`).
            files = [InputFile(file, display_name(file, str(root))) for file in found.files]
            cache_dir = settings.cache_dir or settings.project_root / CACHE_DIR_NAME
            facts = project_facts(files, settings, cache_dir)
            self._facts[root] = facts
        return facts

    def excluded(self, path: Path, settings: Settings) -> bool:
        """Whether the config leaves this file out, as `--force-exclude` would (a
        file not saved yet is judged by its name)."""
        if not path.exists():
            return path.suffix not in PYTHON_SUFFIXES
        found = discover([str(path)], replace(settings, force_exclude=True))
        return not found.files

    # --- answers ------------------------------------------------------------------------

    def check(self, path: Path, text: str) -> Checked | None:
        """The findings of this text as the file at path (None: the config excludes it).

        Raises ConfigError when the project's config is wrong.
        """
        path = path.resolve()
        settings = self.settings_for(path)
        if self.excluded(path, settings):
            return None
        project = self.facts_for(path, settings)
        filename = str(path)
        try:
            report = check_text(filename, text, settings, settings.enabled_codes(), project=project)
        except Exception:
            detail = traceback.format_exc(limit=-3).strip().splitlines()[-1]
            error = FileError(filename, f"internal error: {detail}; please report it")
            report = FileReport(filename, (), (error,))
        return Checked(filename, text, settings, project, report)

    def fix_all_safe(self, checked: Checked) -> str | None:
        """The text with every safe fix applied to a fixpoint, as `--fix` would write it;
        None when nothing changes or the fixes could not be applied."""
        settings = checked.settings
        result = fix_text(
            checked.filename,
            checked.text,
            settings,
            settings.enabled_codes(),
            unsafe=False,
            project=checked.project,
        )
        return result.text if result.text != checked.text else None

    def saved(self, path: Path) -> None:
        """A file was written: the facts of the projects that hold it are stale."""
        path = path.resolve()
        for root in list(self._facts):
            if path == root or root in path.parents:
                del self._facts[root]


def _stamp(path: Path) -> tuple[int, int] | None:
    try:
        status = os.stat(path)
    except OSError:
        return None
    return status.st_mtime_ns, status.st_size


__all__ = ["Checked", "ConfigError", "Session"]
