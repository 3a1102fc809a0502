"""What the checked project declares, read from real files in a temporary project."""

from __future__ import annotations

from pathlib import Path

from runguard_lint.dependencies import declared_dependencies


def test_pyproject_dependencies_groups_and_poetry(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[project]\n"
        'name = "app"\n'
        'dependencies = ["httpx>=0.27", "RunGuard_Lint[extra]==0.1; python_version>\'3.8\'"]\n'
        "[project.optional-dependencies]\n"
        'cache = ["cachetools"]\n'
        "[dependency-groups]\n"
        'dev = ["pytest", {include-group = "cache"}]\n'
        "[tool.poetry.dependencies]\n"
        'python = "^3.11"\n'
        'Redis = "^5"\n',
        encoding="utf-8",
    )
    package = tmp_path / "src" / "app"
    package.mkdir(parents=True)
    declared = declared_dependencies(package / "main.py")
    assert {"httpx", "runguard-lint", "cachetools", "pytest", "redis"} <= declared
    assert "python" not in declared


def test_requirements_files(tmp_path: Path) -> None:
    (tmp_path / "requirements.txt").write_text(
        "# pinned\n-r base.txt\nhttpx==0.27.0  # client\n--index-url https://x\n",
        encoding="utf-8",
    )
    (tmp_path / "requirements").mkdir()
    (tmp_path / "requirements" / "prod.txt").write_text("runguard-lint\n", encoding="utf-8")
    assert declared_dependencies(tmp_path) == {"httpx", "runguard-lint"}


def test_no_project_declares_nothing(tmp_path: Path) -> None:
    lone = tmp_path / "a" / "b"
    lone.mkdir(parents=True)
    assert "runguard-lint" not in declared_dependencies(lone)
