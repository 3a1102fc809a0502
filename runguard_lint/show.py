"""`--show-settings`: the settings a run would use, after the config file and the
command line, written as the config keys a user would type (TOML values), so a
puzzling result can be traced to the key that caused it."""

from __future__ import annotations

import json
from pathlib import Path

from runguard_lint.config import Settings


def _value(value: object) -> str:
    """A TOML value (JSON's spelling of strings, lists, booleans and numbers is TOML's)."""
    if isinstance(value, Path):
        return json.dumps(str(value))
    if isinstance(value, tuple):
        return json.dumps(list(value))
    return json.dumps(value)


def describe_settings(settings: Settings) -> str:
    config = str(settings.config_path) if settings.config_path else "none (defaults)"
    lines = [
        f"# config file: {config}",
        f"# project root: {settings.project_root}",
        f"# enabled rules: {', '.join(sorted(settings.enabled_codes()))}",
        f"select = {_value(settings.select)}",
        f"extend-select = {_value(settings.extend_select)}",
        f"ignore = {_value(settings.ignore)}",
        f"preview = {_value(settings.preview)}",
        "per-file-ignores = {"
        + ", ".join(f"{json.dumps(p)} = {_value(c)}" for p, c in settings.per_file_ignores)
        + "}",
        f"exclude = {_value(settings.exclude)}",
        f"extend-exclude = {_value(settings.extend_exclude)}",
        f"respect-gitignore = {_value(settings.respect_gitignore)}",
        f"force-exclude = {_value(settings.force_exclude)}",
        f"cache-dir = {_value(settings.cache_dir or '.runguard_cache')}",
        f"baseline = {_value(settings.baseline or '')}",
        f"jobs = {_value(settings.jobs)}",
        f"fix-style = {_value(settings.fix_style)}",
        f"scope-class = {_value(settings.scope_class)}",
        f"cache-maxsize = {_value(settings.cache_maxsize)}",
        f"cache-class = {_value(settings.cache_class)}",
        f"ownership-sinks = {_value(settings.ownership_sinks)}",
        f"# resources added by the config: {len(settings.resources)}",
    ]
    for kind in settings.resources:
        lines.append(f"#   {kind.rule}: {kind.callable or kind.method}")
    return "".join(line + "\n" for line in lines)
