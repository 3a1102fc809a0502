"""The pre-commit hooks, run by the real pre-commit against this checkout.

`pre-commit try-repo` installs the hook repository into a fresh virtualenv
(pip, from PyPI) and runs it on a real git repository. try-repo only sees
committed, staged and modified tracked files of the hook repository, so the
test first snapshots this working tree (tracked and untracked, not ignored)
into a temporary git repository: the hooks tested are exactly the code here.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from tests.conftest import ROOT

MANIFEST = ROOT / ".pre-commit-hooks.yaml"

LEAK = (
    "import httpx\n"
    "\n"
    "\n"
    "async def fetch():\n"
    "    client = httpx.AsyncClient()\n"
    '    return await client.get("/")\n'
)
FIXED = (
    "import httpx\n"
    "\n"
    "\n"
    "async def fetch():\n"
    "    async with httpx.AsyncClient() as client:\n"
    '        return await client.get("/")\n'
)
FILE_LEAK = "def read(path):\n    handle = open(path)\n    return handle.read()\n"
_SNAPSHOT_SKIP = {
    ".git",
    ".ci-venv",
    ".venv",
    "venv",
    "__pycache__",
    ".runguard_cache",
    ".mypy_cache",
    ".ruff_cache",
    ".pytest_cache",
    ".hypothesis",
    "corpus",
}


def _git_env(home: Path) -> dict[str, str]:
    """Git without the user's global config (hooks, signing), with an identity."""
    env = dict(os.environ)
    config = home / "gitconfig"
    if not config.exists():
        config.write_text(
            "[user]\n\tname = runguard tests\n\temail = tests@example.invalid\n"
            "[commit]\n\tgpgsign = false\n[init]\n\tdefaultBranch = main\n",
            encoding="utf-8",
        )
    env.update(
        GIT_CONFIG_GLOBAL=str(config),
        GIT_CONFIG_NOSYSTEM="1",
        PRE_COMMIT_HOME=str(home / "pre-commit"),
        NO_COLOR="1",
    )
    for variable in ("GIT_DIR", "GIT_WORK_TREE", "GIT_INDEX_FILE"):
        env.pop(variable, None)
    return env


def git(repo: Path, env: dict[str, str], *args: str) -> str:
    result = subprocess.run(
        ["git", *args], cwd=repo, env=env, capture_output=True, text=True, check=False
    )
    assert result.returncode == 0, f"git {' '.join(args)}: {result.stderr}"
    return result.stdout


def _tree_files(root: Path, env: dict[str, str]) -> list[str]:
    """What a commit of the working tree would hold: tracked and untracked, not ignored."""
    if (root / ".git").exists():
        listed = git(root, env, "ls-files", "-z", "--cached", "--others", "--exclude-standard")
        return [name for name in listed.split("\0") if name and (root / name).is_file()]
    found = []
    for directory, dirnames, filenames in os.walk(root):
        dirnames[:] = [d for d in dirnames if d not in _SNAPSHOT_SKIP]
        for name in filenames:
            found.append(Path(directory, name).relative_to(root).as_posix())
    return found


@pytest.fixture(scope="module")
def home(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return tmp_path_factory.mktemp("home")


@pytest.fixture(scope="module")
def hook_repo(home: Path) -> Path:
    """This working tree, committed into a temporary git repository."""
    assert shutil.which("git"), "git is needed to test the pre-commit hooks"
    assert MANIFEST.is_file(), ".pre-commit-hooks.yaml is missing"
    env = _git_env(home)
    snapshot = home / "hook-repo"
    snapshot.mkdir()
    for name in _tree_files(ROOT, env):
        target = snapshot / name
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(ROOT / name, target)
    git(snapshot, env, "init", "-q")
    git(snapshot, env, "add", "-A")
    git(snapshot, env, "commit", "-q", "-m", "snapshot of the working tree")
    return snapshot


def make_repo(path: Path, env: dict[str, str], files: dict[str, str]) -> Path:
    path.mkdir()
    git(path, env, "init", "-q")
    commit(path, env, files)
    return path


def commit(repo: Path, env: dict[str, str], files: dict[str, str]) -> None:
    for name, text in files.items():
        target = repo / name
        target.parent.mkdir(parents=True, exist_ok=True)
        target.write_text(text, encoding="utf-8")
    git(repo, env, "add", "-A")
    git(repo, env, "commit", "-q", "-m", "change")


def try_repo(
    hook_repo: Path, repo: Path, env: dict[str, str], hook: str
) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [
            sys.executable,
            "-m",
            "pre_commit",
            "try-repo",
            str(hook_repo),
            hook,
            "--all-files",
            "--color",
            "never",
            "--verbose",
        ],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )


def test_manifest_is_valid() -> None:
    result = subprocess.run(
        [sys.executable, "-m", "pre_commit", "validate-manifest", str(MANIFEST)],
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr


def test_manifest_declares_both_hooks() -> None:
    from pre_commit.clientlib import load_manifest

    hooks = {hook["id"]: hook for hook in load_manifest(str(MANIFEST))}
    assert set(hooks) == {"runguard-lint", "runguard-lint-fix"}
    for hook in hooks.values():
        assert hook["language"] == "python"
        assert hook["types_or"] == ["python", "pyi"]
        assert hook["require_serial"] is False
        assert "--force-exclude" in hook["entry"].split()
        assert hook["entry"].split()[0] == "runguard-lint"
    assert "--fix" in hooks["runguard-lint-fix"]["entry"].split()
    assert "--fix" not in hooks["runguard-lint"]["entry"].split()


def test_hook_fails_on_a_leak_skips_excluded_paths_and_passes_once_fixed(
    hook_repo: Path, home: Path, tmp_path: Path
) -> None:
    env = _git_env(home)
    repo = make_repo(
        tmp_path / "project",
        env,
        {
            "pyproject.toml": '[tool.runguard-lint]\nextend-exclude = ["vendored"]\n',
            "app/client.py": LEAK,
            "app/typed.pyi": "x: int\n",
            "vendored/lib.py": LEAK,
            "README.md": "handle = open(path)\n",
        },
    )
    failed = try_repo(hook_repo, repo, env, "runguard-lint")
    output = failed.stdout + failed.stderr
    assert failed.returncode == 1, output
    assert "runguard-lint" in output and "Failed" in output
    assert "app/client.py" in output and "RG101" in output
    # pre-commit names every tracked Python file; the config's exclude still applies.
    assert "vendored" not in output
    assert "Found 1 finding in 1 file." in output

    commit(repo, env, {"app/client.py": FIXED})
    passed = try_repo(hook_repo, repo, env, "runguard-lint")
    assert passed.returncode == 0, passed.stdout + passed.stderr
    assert "Passed" in passed.stdout


def _cli_has_fix() -> bool:
    result = subprocess.run(
        [sys.executable, "-m", "runguard_lint", "--help"],
        capture_output=True,
        text=True,
        check=False,
    )
    return "--fix" in result.stdout


@pytest.mark.skipif(not _cli_has_fix(), reason="the CLI has no --fix option yet")
def test_fix_hook_rewrites_the_file(hook_repo: Path, home: Path, tmp_path: Path) -> None:
    env = _git_env(home)
    repo = make_repo(tmp_path / "project", env, {"files.py": FILE_LEAK})
    first = try_repo(hook_repo, repo, env, "runguard-lint-fix")
    assert first.returncode == 1, first.stdout + first.stderr
    assert "files were modified by this hook" in first.stdout
    fixed = (repo / "files.py").read_text(encoding="utf-8")
    assert fixed != FILE_LEAK and "with open(path)" in fixed
    compile(fixed, "files.py", "exec")
    git(repo, env, "commit", "-q", "-am", "fixed")
    second = try_repo(hook_repo, repo, env, "runguard-lint-fix")
    assert second.returncode == 0, second.stdout + second.stderr


def test_documented_config_runs(hook_repo: Path, home: Path, tmp_path: Path) -> None:
    """docs/ci.md's `.pre-commit-config.yaml`, run by `pre-commit run`. The repository
    URL is swapped for the snapshot of this checkout and `rev` for its commit (GitHub
    is out of reach here; tests/test_docs.py checks the documented rev exists)."""
    text = (ROOT / "docs" / "ci.md").read_text(encoding="utf-8")
    (block,) = [
        body
        for body in re.findall(r"^```yaml\n(.*?)^```", text, re.MULTILINE | re.DOTALL)
        if body.startswith("# .pre-commit-config.yaml")
    ]
    config = yaml.safe_load(block)
    (documented,) = config["repos"]
    assert documented["repo"] == "https://github.com/runguard-lint/runguard-lint"
    assert [hook["id"] for hook in documented["hooks"]] == ["runguard-lint"]
    env = _git_env(home)
    documented["repo"] = str(hook_repo)
    documented["rev"] = git(hook_repo, env, "rev-parse", "HEAD").strip()
    repo = make_repo(
        tmp_path / "project",
        env,
        {".pre-commit-config.yaml": yaml.safe_dump(config), "app/client.py": LEAK},
    )

    def run() -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "pre_commit", "run", "--all-files", "--color", "never"],
            cwd=repo,
            env=env,
            capture_output=True,
            text=True,
            timeout=900,
            check=False,
        )

    failed = run()
    assert failed.returncode == 1, failed.stdout + failed.stderr
    assert "app/client.py" in failed.stdout and "RG101" in failed.stdout
    commit(repo, env, {"app/client.py": FIXED})
    passed = run()
    assert passed.returncode == 0, passed.stdout + passed.stderr
