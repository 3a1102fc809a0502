"""Configuration: `[tool.runguard-lint]` or runguard-lint.toml -> validated Settings.

Every key is checked for name and type before anything runs, so a typo is an
error that names the file and the key (exit 2), never a silently ignored
setting.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any, Literal

from runguard_lint.catalog import Catalog, CatalogError, ResourceKind, build_catalog, parse_resource
from runguard_lint.code_style import CodeStyle

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib

DEFAULT_EXCLUDES: tuple[str, ...] = (
    ".bzr",
    ".direnv",
    ".eggs",
    ".git",
    ".hg",
    ".mypy_cache",
    ".nox",
    ".pants.d",
    ".pytype",
    ".ruff_cache",
    ".runguard_cache",
    ".svn",
    ".tox",
    ".venv",
    "__pypackages__",
    "__pycache__",
    "_build",
    "buck-out",
    "build",
    "dist",
    "node_modules",
    "site-packages",
    "venv",
)

CACHE_CLASSES: tuple[str, ...] = (
    "runguard_runtime.BoundedCache",
    "runguard_lint.runtime.BoundedCache",
    "cachetools.LRUCache",
)

SCOPE_CLASSES: tuple[str, ...] = (
    "runguard_runtime.ResourceScope",
    "runguard_lint.runtime.ResourceScope",
    "contextlib.ExitStack",
)

FixStyle = Literal["auto", "scope"]


class ConfigError(ValueError):
    """Bad configuration or command-line selection; the CLI exits 2 with it."""


@dataclass(frozen=True)
class Settings:
    """Everything one run needs to know, resolved from config and the command line."""

    project_root: Path
    config_path: Path | None = None
    select: tuple[str, ...] = ("RG",)
    extend_select: tuple[str, ...] = ()
    ignore: tuple[str, ...] = ()
    per_file_ignores: tuple[tuple[str, tuple[str, ...]], ...] = ()
    exclude: tuple[str, ...] = DEFAULT_EXCLUDES
    extend_exclude: tuple[str, ...] = ()
    respect_gitignore: bool = True
    force_exclude: bool = False
    cache_dir: Path | None = None
    # The findings accepted when the tool was adopted (runguard_lint.baseline); they
    # are left out of the report, not of the checks, so the cache does not depend on it.
    baseline: Path | None = None
    use_cache: bool = True
    jobs: int = 0
    fix_style: FixStyle = "auto"
    # "auto": the runtime's ResourceScope when the project may import it, else the stdlib's.
    scope_class: str = "auto"
    cache_maxsize: int = 10_000
    # CPU seconds one file's analysis may take before it is abandoned (RG901).
    per_file_timeout: float = 30.0
    # "auto": the runtime's BoundedCache when the project may import it, else the
    # bounded-cache fix is display-only.
    cache_class: str = "auto"
    ownership_sinks: tuple[str, ...] = ()
    # Ruff's fix-safety settings (rule selectors): see fixes/policy.py.
    extend_safe_fixes: tuple[str, ...] = ()
    extend_unsafe_fixes: tuple[str, ...] = ()
    unfixable: tuple[str, ...] = ()
    # Whether fixes may import the runtime helpers (runguard-runtime): "auto" (when the
    # checked project declares it or runguard-lint: see dependencies.py), or
    # `fix-runtime = true/false`.
    fix_runtime: Literal["auto", "yes", "no"] = "auto"
    # The distributions the checked project declares (normalised names): a fix never
    # imports a package outside them and the standard library.
    declared: frozenset[str] = frozenset()
    # The checked project's line length and oldest target Python (Ruff's or Black's
    # config): the lines a fix writes follow them (see fixes/wrap.py).
    code_style: CodeStyle = field(default_factory=CodeStyle)
    resources: tuple[ResourceKind, ...] = ()
    preview: bool = False
    # RG900 on every file (`check-syntax`), not only on files that can hold a finding.
    check_syntax: bool = False
    # Off only to prove the prefilter sound (tests compare findings with and without).
    prefilter: bool = True
    # Whether fixes carry their edits (for --fix, --diff, json, sarif) or only say that
    # they exist (the human report), which spares rendering and compiling each one.
    fix_edits: bool = True
    catalog: Catalog = field(default_factory=build_catalog, compare=False)

    @property
    def runtime_allowed(self) -> bool:
        """Whether a fix may import the runtime helpers into the checked code."""
        if self.fix_runtime != "auto":
            return self.fix_runtime == "yes"
        from runguard_lint.dependencies import RUNTIME_DISTRIBUTIONS

        return bool(self.declared & RUNTIME_DISTRIBUTIONS)

    @property
    def runtime_module(self) -> str:
        """The module a fix imports the runtime helpers from (see dependencies.py)."""
        from runguard_lint.dependencies import runtime_module

        return runtime_module(self.declared)

    def declares(self, distribution: str) -> bool:
        """Whether the checked project declares `distribution` (a normalised name)."""
        return distribution in self.declared

    @property
    def all_excludes(self) -> tuple[str, ...]:
        return (*self.exclude, *self.extend_exclude)

    def enabled_codes(self) -> frozenset[str]:
        """The rule codes that run, by Ruff's rules for prefixes and preview."""
        return resolve_selection(
            self.catalog, self.select, self.extend_select, self.ignore, self.preview
        )

    def facts_fingerprint(self) -> str:
        """What the project's facts need of the settings: what shapes the catalog (the
        fact pass asks nothing else), so that a run with another selection, or the
        language server (which renders fixes), reads the facts another run stored."""
        return f"{self.resources!r}|{','.join(self.ownership_sinks)}"

    def fingerprint(self) -> str:
        """What the cache key needs of the settings: everything that changes findings."""
        parts = [
            ",".join(sorted(self.enabled_codes())),
            self.fix_style,
            self.scope_class,
            str(self.cache_maxsize),
            self.cache_class,
            ",".join(self.ownership_sinks),
            ",".join(self.extend_safe_fixes),
            ",".join(self.extend_unsafe_fixes),
            ",".join(self.unfixable),
            self.fix_runtime,
            ",".join(sorted(self.declared)),
            repr(self.code_style),
            repr(self.resources),
            str(self.prefilter),
            str(self.fix_edits),
            str(self.check_syntax),
        ]
        return "|".join(parts)


def _known_prefix(catalog: Catalog, selector: str) -> bool:
    return selector == "ALL" or any(code.startswith(selector) for code in catalog.rules)


def resolve_selection(
    catalog: Catalog,
    select: Sequence[str],
    extend_select: Sequence[str],
    ignore: Sequence[str],
    preview: bool,
) -> frozenset[str]:
    """Turn selectors into codes.

    A prefix (`RG`, `RG1`) selects the default-on rules it covers, and the
    preview rules too under `--preview`; an exact code always selects its rule.
    An always-on rule (the syntax error) is on whatever `select` says, since an
    unreadable file must never pass silently; only its exact code in `ignore`
    turns it off.
    """
    for selector in (*select, *extend_select, *ignore):
        if not _known_prefix(catalog, selector):
            raise ConfigError(f"unknown rule selector `{selector}` (see --list-rules)")

    def matches(selector: str) -> set[str]:
        chosen: set[str] = set()
        for code, rule in catalog.rules.items():
            by_prefix = selector == "ALL" or code.startswith(selector)
            if selector == code or (
                by_prefix and (rule.default == "on" or (rule.preview and preview))
            ):
                chosen.add(code)
        return chosen

    always_on = {code for code, rule in catalog.rules.items() if rule.always_on}
    enabled = set(always_on)
    for selector in (*select, *extend_select):
        enabled |= matches(selector)
    for selector in ignore:
        enabled -= matches(selector) | ({selector} if selector in catalog.rules else set())
    enabled |= always_on - set(ignore)
    return frozenset(enabled)


_KEY_TYPES: dict[str, str] = {
    "select": "list of rule codes",
    "extend-select": "list of rule codes",
    "ignore": "list of rule codes",
    "per-file-ignores": "table of glob = list of rule codes",
    "exclude": "list of globs",
    "extend-exclude": "list of globs",
    "respect-gitignore": "boolean",
    "force-exclude": "boolean",
    "cache-dir": "string",
    "baseline": "string (a path)",
    "jobs": "integer",
    "fix-style": '"auto" or "scope"',
    "scope-class": "one of " + ", ".join(SCOPE_CLASSES),
    "cache-maxsize": "positive integer",
    "per-file-timeout": "positive number of seconds",
    "cache-class": "one of " + ", ".join(CACHE_CLASSES),
    "ownership-sinks": "list of qualified names",
    "extend-safe-fixes": "list of rule codes",
    "extend-unsafe-fixes": "list of rule codes",
    "unfixable": "list of rule codes",
    "fix-runtime": "boolean",
    "resources": "array of tables",
    "preview": "boolean",
    "check-syntax": "boolean",
}


def find_config(start: Path) -> Path | None:
    """The nearest runguard-lint.toml, or pyproject.toml with our table, at or above start."""
    directory = start if start.is_dir() else start.parent
    directory = directory.resolve()
    for candidate_dir in (directory, *directory.parents):
        dedicated = candidate_dir / "runguard-lint.toml"
        if dedicated.is_file():
            return dedicated
        pyproject = candidate_dir / "pyproject.toml"
        if pyproject.is_file() and _has_our_table(pyproject):
            return pyproject
    return None


def _has_our_table(pyproject: Path) -> bool:
    try:
        data = pyproject.read_bytes()
    except OSError:
        return False
    if b"runguard-lint" not in data and b"runguard_lint" not in data:
        return False
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError:
        # It names our table but cannot be read as TOML: say so rather than ignore it.
        raise ConfigError(
            f"{pyproject}: the file is not valid UTF-8, so its [tool.runguard-lint] table "
            "cannot be read; save it as UTF-8"
        ) from None
    try:
        tool = tomllib.loads(text).get("tool", {})
    except tomllib.TOMLDecodeError:
        # Ours if it names our table; then loading it reports the TOML error.
        return "[tool.runguard-lint" in text or "[tool.runguard_lint" in text
    if not isinstance(tool, dict):
        return False
    _reject_misspelled_table(pyproject, tool)
    # Any TOML spelling counts: `[tool.runguard-lint]`, `[tool]` + `runguard-lint.x = ...`.
    return "runguard-lint" in tool


def _reject_misspelled_table(path: Path, tool: Mapping[str, Any]) -> None:
    """`[tool.runguard_lint]` (the module's name) looks right but would be ignored, so
    the settings the user wrote would silently not apply: an error instead."""
    if "runguard_lint" in tool:
        raise ConfigError(
            f"{path}: the table is spelled [tool.runguard_lint]; runguard-lint reads "
            "[tool.runguard-lint] (with a hyphen): rename the table"
        )


def _read_table(path: Path) -> Mapping[str, Any]:
    try:
        with path.open("rb") as handle:
            document = tomllib.load(handle)
    except OSError as error:
        raise ConfigError(f"{path}: cannot read the config file ({error.strerror})") from None
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(f"{path}: invalid TOML: {error}") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: the config file is not valid UTF-8; save it as UTF-8") from None
    if path.name == "pyproject.toml":
        tool = document.get("tool", {})
        if isinstance(tool, dict):
            _reject_misspelled_table(path, tool)
        table = document.get("tool", {}).get("runguard-lint", {})
        if not isinstance(table, dict):
            raise ConfigError(f"{path}: [tool.runguard-lint] must be a table")
        return table
    return document


def _want_list(path: Path, key: str, value: object) -> tuple[str, ...]:
    if not isinstance(value, list) or not all(isinstance(item, str) for item in value):
        raise ConfigError(f"{path}: `{key}` must be a {_KEY_TYPES[key]}, got {value!r}")
    return tuple(value)


def _want_bool(path: Path, key: str, value: object) -> bool:
    if not isinstance(value, bool):
        raise ConfigError(f"{path}: `{key}` must be a boolean, got {value!r}")
    return value


def _want_int(path: Path, key: str, value: object, minimum: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        raise ConfigError(f"{path}: `{key}` must be an integer >= {minimum}, got {value!r}")
    return value


def load_settings(config_path: Path | None, project_root: Path) -> Settings:
    """Read and validate a config file (or none) into Settings."""
    if config_path is None:
        return Settings(project_root=project_root)
    table = _read_table(config_path)
    root = config_path.parent.resolve()
    for key in table:
        if key not in _KEY_TYPES:
            suggestion = _closest(key, _KEY_TYPES)
            hint = f"; did you mean `{suggestion}`?" if suggestion else ""
            raise ConfigError(
                f"{config_path}: unknown key `{key}` in the runguard-lint config{hint}"
            )
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key in (
            "select",
            "extend-select",
            "ignore",
            "exclude",
            "extend-exclude",
            "ownership-sinks",
            "extend-safe-fixes",
            "extend-unsafe-fixes",
            "unfixable",
        ):
            values[key.replace("-", "_")] = _want_list(config_path, key, value)
        elif key in ("respect-gitignore", "force-exclude", "preview", "check-syntax"):
            values[key.replace("-", "_")] = _want_bool(config_path, key, value)
        elif key == "fix-runtime":
            values["fix_runtime"] = "yes" if _want_bool(config_path, key, value) else "no"
        elif key == "jobs":
            values["jobs"] = _want_int(config_path, key, value, 0)
        elif key == "cache-maxsize":
            values["cache_maxsize"] = _want_int(config_path, key, value, 1)
        elif key == "per-file-timeout":
            if isinstance(value, bool) or not isinstance(value, (int, float)) or value <= 0:
                raise ConfigError(
                    f"{config_path}: `per-file-timeout` must be a positive number of "
                    f"seconds, got {value!r}"
                )
            values["per_file_timeout"] = float(value)
        elif key == "cache-dir":
            if not isinstance(value, str):
                raise ConfigError(f"{config_path}: `cache-dir` must be a string, got {value!r}")
            values["cache_dir"] = (root / value).resolve()
        elif key == "baseline":
            if not isinstance(value, str) or not value:
                raise ConfigError(f"{config_path}: `baseline` must be a path, got {value!r}")
            values["baseline"] = (root / value).resolve()
        elif key == "fix-style":
            if value not in ("auto", "scope"):
                raise ConfigError(
                    f'{config_path}: `fix-style` must be "auto" or "scope", got {value!r}'
                )
            values["fix_style"] = value
        elif key in ("cache-class", "scope-class"):
            choices = CACHE_CLASSES if key == "cache-class" else SCOPE_CLASSES
            if value not in choices:
                raise ConfigError(
                    f"{config_path}: `{key}` must be one of {', '.join(choices)}, got {value!r}"
                )
            values[key.replace("-", "_")] = value
        elif key == "per-file-ignores":
            values["per_file_ignores"] = _per_file_ignores(config_path, value)
        elif key == "resources":
            values["resources"] = _resources(config_path, value)
    settings = Settings(project_root=root, config_path=config_path, **values)
    return with_catalog(settings, config_path)


def with_catalog(settings: Settings, where: Path | None) -> Settings:
    """Rebuild the catalog for the settings' extra resources and sinks, and check codes."""
    try:
        catalog = build_catalog(settings.resources, settings.ownership_sinks)
    except CatalogError as error:
        raise ConfigError(f"{where or 'config'}: {error}") from None
    updated = replace(settings, catalog=catalog)
    try:
        updated.enabled_codes()
        for _pattern, codes in updated.per_file_ignores:
            for code in codes:
                if not _known_prefix(catalog, code):
                    raise ConfigError(f"unknown rule code `{code}` in `per-file-ignores`")
        for key, codes in (
            ("extend-safe-fixes", updated.extend_safe_fixes),
            ("extend-unsafe-fixes", updated.extend_unsafe_fixes),
            ("unfixable", updated.unfixable),
        ):
            for code in codes:
                if not _known_prefix(catalog, code):
                    raise ConfigError(f"unknown rule code `{code}` in `{key}`")
    except ConfigError as error:
        raise ConfigError(f"{where or 'command line'}: {error}") from None
    return updated


def _per_file_ignores(path: Path, value: object) -> tuple[tuple[str, tuple[str, ...]], ...]:
    if not isinstance(value, dict):
        raise ConfigError(f"{path}: `per-file-ignores` must be a {_KEY_TYPES['per-file-ignores']}")
    return tuple(
        (pattern, _want_list(path, "per-file-ignores", codes)) for pattern, codes in value.items()
    )


def _resources(path: Path, value: object) -> tuple[ResourceKind, ...]:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        raise ConfigError(f"{path}: `resources` must be an array of tables ([[...resources]])")
    kinds = []
    for index, entry in enumerate(value, start=1):
        try:
            kinds.append(parse_resource(entry, None, f"{path}: resources entry {index}"))
        except CatalogError as error:
            raise ConfigError(str(error)) from None
    return tuple(kinds)


def _closest(key: str, known: Mapping[str, str]) -> str | None:
    import difflib

    matches = difflib.get_close_matches(key, list(known), n=1, cutoff=0.6)
    return matches[0] if matches else None


def default_jobs() -> int:
    """All cores, as Ruff does."""
    return max(1, os.cpu_count() or 1)
