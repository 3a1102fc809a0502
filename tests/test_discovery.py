"""Which files get checked: walking, excludes, .gitignore, explicit paths, odd files.

Runs the real CLI on real trees (and real git repositories) in temp dirs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from runguard_lint.config import find_config
from tests.conftest import run_cli, run_json

LEAK = "def read(path):\n    handle = open(path)\n    return handle.read()\n"


def write(root: Path, relative: str, text: str = LEAK) -> Path:
    path = root / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    return path


def files(findings: list[dict[str, Any]]) -> list[str]:
    return sorted({f["filename"] for f in findings})


@pytest.fixture
def project(tmp_path: Path) -> Path:
    assert find_config(tmp_path) is None, "a config above the temp dir would skew the tests"
    return tmp_path


def git_init(root: Path) -> None:
    assert shutil.which("git"), "git is needed for the .gitignore tests"
    subprocess.run(["git", "init", "-q", str(root)], check=True, capture_output=True)


# --- walking and excludes ---------------------------------------------------------------------


def test_default_excludes_are_skipped_when_walking(project: Path) -> None:
    write(project, "app.py")
    for excluded in (
        ".venv/lib/site.py",
        "venv/x.py",
        "build/lib/x.py",
        "dist/x.py",
        "node_modules/pkg/x.py",
        ".tox/py/x.py",
        "__pycache__/x.py",
        ".git/hooks/x.py",
        "src/build/x.py",
        ".runguard_cache/x.py",
        "lib/site-packages/x.py",
        ".mypy_cache/x.py",
    ):
        write(project, excluded)
    _, findings = run_json(".", cwd=project)
    assert files(findings) == ["app.py"]


def test_explicit_file_in_an_excluded_directory_is_checked(project: Path) -> None:
    write(project, "build/gen.py")
    _, findings = run_json("build/gen.py", cwd=project)
    assert files(findings) == ["build/gen.py"]
    # An explicit excluded directory is walked as well (as in Ruff).
    _, findings = run_json("build", cwd=project)
    assert files(findings) == ["build/gen.py"]


def test_force_exclude_applies_excludes_to_explicit_paths(project: Path) -> None:
    write(project, "app.py")
    write(project, "build/gen.py")
    write(project, "src/build/deep.py")
    write(project, "legacy/old.py")
    write(project, "pyproject.toml", '[tool.runguard-lint]\nextend-exclude = ["legacy"]\n')
    args = ("app.py", "build/gen.py", "src/build/deep.py", "legacy/old.py")
    _, findings = run_json(*args, cwd=project)
    assert files(findings) == ["app.py", "build/gen.py", "legacy/old.py", "src/build/deep.py"]
    status, findings = run_json("--force-exclude", *args, cwd=project)
    assert (status, files(findings)) == (1, ["app.py"])
    status, findings = run_json("--force-exclude", "legacy", cwd=project)
    assert (status, findings) == (0, [])


def test_exclude_replaces_the_defaults_and_extend_exclude_adds(project: Path) -> None:
    write(project, "app.py")
    write(project, "build/gen.py")
    write(project, "generated/models.py")
    write(project, "pkg/migrations/0001.py")
    write(
        project,
        "pyproject.toml",
        '[tool.runguard-lint]\nextend-exclude = ["generated", "pkg/migrations/*.py"]\n',
    )
    _, findings = run_json(".", cwd=project)
    assert files(findings) == ["app.py"]
    write(project, "pyproject.toml", '[tool.runguard-lint]\nexclude = ["generated"]\n')
    _, findings = run_json(".", cwd=project)
    assert files(findings) == ["app.py", "build/gen.py", "pkg/migrations/0001.py"]


def test_pyi_files_are_found(project: Path) -> None:
    write(project, "pkg/stub.pyi")
    write(project, "pkg/notes.txt")
    write(project, "pkg/data.pyc", "")
    _, findings = run_json(".", cwd=project)
    assert files(findings) == ["pkg/stub.pyi"]


def test_a_directory_named_like_a_python_file_is_walked(project: Path) -> None:
    write(project, "weird.py/inner.py")
    _, findings = run_json(".", cwd=project)
    assert files(findings) == ["weird.py/inner.py"]
    _, findings = run_json("weird.py", cwd=project)
    assert files(findings) == ["weird.py/inner.py"]


def test_explicit_non_python_file_is_skipped_with_a_message(project: Path) -> None:
    write(project, "README.md", "# Title\n")
    write(project, "app.py")
    result = run_cli("--no-cache", "--output-format", "json", "README.md", "app.py", cwd=project)
    assert result.returncode == 1, result.stderr
    assert "README.md" in result.stderr and "not a Python file" in result.stderr
    assert files(json.loads(result.stdout)) == ["app.py"]
    alone = run_cli("--no-cache", "README.md", cwd=project)
    assert alone.returncode == 0
    assert "README.md" in alone.stderr


def test_explicit_script_with_a_python_shebang_is_checked(project: Path) -> None:
    write(project, "bin/tool", "#!/usr/bin/env python3\n" + LEAK)
    write(project, "bin/shell", "#!/bin/sh\necho hi\n")
    _, findings = run_json("bin/tool", cwd=project)
    assert [(f["filename"], f["location"]["row"]) for f in findings] == [("bin/tool", 3)]


def test_symlink_loops_do_not_hang(project: Path) -> None:
    write(project, "app.py")
    loop = project / "loop"
    loop.mkdir()
    (loop / "up").symlink_to(project, target_is_directory=True)
    (loop / "self").symlink_to(loop, target_is_directory=True)
    (project / "alias.py").symlink_to(project / "app.py")
    (project / "dangling.py").symlink_to(project / "missing.py")
    result = subprocess.run(
        [sys.executable, "-m", "runguard_lint", "--no-cache", "--output-format", "json", "."],
        cwd=project,
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert result.returncode == 1, result.stderr
    findings = json.loads(result.stdout)
    # The file and its symlinked alias are one file, checked once.
    assert len(findings) == 1
    assert findings[0]["filename"] in ("app.py", "alias.py")


def test_duplicate_paths_are_checked_once(project: Path) -> None:
    write(project, "app.py")
    _, findings = run_json("app.py", ".", "./app.py", cwd=project)
    assert len(findings) == 1


# --- .gitignore -----------------------------------------------------------------------------------


def test_gitignore_is_honoured_in_a_git_repository(project: Path) -> None:
    git_init(project)
    write(project, ".gitignore", "generated/\nsecret_*.py\n!secret_ok.py\n")
    write(project, "app.py")
    write(project, "generated/models.py")
    write(project, "secret_keys.py")
    write(project, "secret_ok.py")
    write(project, "pkg/.gitignore", "local.py\n")
    write(project, "pkg/local.py")
    write(project, "pkg/mod.py")
    write(project, ".git/info/exclude", "scratch.py\n")
    write(project, "scratch.py")
    _, findings = run_json(".", cwd=project)
    assert files(findings) == ["app.py", "pkg/mod.py", "secret_ok.py"]
    # From a subdirectory, the repository's .gitignore still applies.
    _, findings = run_json(".", cwd=project / "pkg")
    assert files(findings) == ["mod.py"]


def test_explicit_gitignored_file_is_checked_unless_force_exclude(project: Path) -> None:
    git_init(project)
    write(project, ".gitignore", "secret_*.py\ngenerated/\n")
    write(project, "secret_keys.py")
    write(project, "generated/models.py")
    _, findings = run_json("secret_keys.py", "generated/models.py", cwd=project)
    assert files(findings) == ["generated/models.py", "secret_keys.py"]
    status, findings = run_json(
        "--force-exclude", "secret_keys.py", "generated/models.py", cwd=project
    )
    assert (status, findings) == (0, [])


def test_respect_gitignore_false(project: Path) -> None:
    git_init(project)
    write(project, ".gitignore", "generated/\n")
    write(project, "generated/models.py")
    write(project, "pyproject.toml", "[tool.runguard-lint]\nrespect-gitignore = false\n")
    _, findings = run_json(".", cwd=project)
    assert files(findings) == ["generated/models.py"]


# --- files that cannot be read, decoded or parsed -------------------------------------------------


def test_unreadable_file(project: Path) -> None:
    locked = write(project, "locked.py")
    write(project, "app.py")
    locked.chmod(0)
    try:
        # Root (as in many CI containers) reads the file anyway: then it is an ordinary file.
        readable = os.access(locked, os.R_OK)
        status, findings = run_json(".", cwd=project)
    finally:
        locked.chmod(0o644)
    found = {(f["filename"], f["code"]): f for f in findings}
    assert status == 1
    assert ("app.py", "RG106") in found, "the other files are still checked"
    if readable:
        assert ("locked.py", "RG106") in found
    else:
        message = found[("locked.py", "RG900")]["message"]
        assert "cannot read" in message and "ermission" in message


def test_undecodable_bytes_are_rg900_naming_the_problem(project: Path) -> None:
    (project / "bad.py").write_bytes(b"x = 1\ny = 2\nname = 'caf\xe9'\n")
    write(project, "app.py")
    status, findings = run_json(".", cwd=project)
    assert status == 1
    found = {f["filename"]: f for f in findings}
    assert found["bad.py"]["code"] == "RG900"
    message = found["bad.py"]["message"]
    assert "cannot decode" in message and "line 3" in message and "utf-8" in message
    assert found["app.py"]["code"] == "RG106"


def test_undecodable_bytes_in_the_first_lines(project: Path) -> None:
    (project / "bad.py").write_bytes(b"name = 'caf\xe9'\n")
    _, findings = run_json("bad.py", cwd=project)
    assert [f["code"] for f in findings] == ["RG900"]
    assert "cannot decode" in findings[0]["message"]


def test_unknown_declared_encoding_is_rg900(project: Path) -> None:
    (project / "bad.py").write_bytes(b"# -*- coding: klingon -*-\nx = 1\n")
    _, findings = run_json("bad.py", cwd=project)
    assert [f["code"] for f in findings] == ["RG900"]
    assert "klingon" in findings[0]["message"]


def test_latin1_file_with_an_encoding_cookie_decodes(project: Path) -> None:
    (project / "latin.py").write_bytes(
        b"# -*- coding: latin-1 -*-\nNAME = 'caf\xe9'\n\n\n" + LEAK.encode()
    )
    (project / "bom.py").write_bytes(b"\xef\xbb\xbf" + LEAK.encode())
    _, findings = run_json(".", cwd=project)
    assert sorted((f["filename"], f["location"]["row"], f["code"]) for f in findings) == [
        ("bom.py", 2, "RG106"),
        ("latin.py", 6, "RG106"),
    ]


def test_empty_and_whitespace_files_are_fine(project: Path) -> None:
    write(project, "empty.py", "")
    write(project, "blank.py", "\n\n   \n")
    status, findings = run_json(".", cwd=project)
    assert (status, findings) == (0, [])
