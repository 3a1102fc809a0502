"""The caches in the project cannot be forged: a pull request that adds a
`.runguard_cache/` entry saying a leaking file is clean must not silence it.

Every run is the real CLI in a subprocess; the caches are real files, edited
here as an attacker would. The key lives where RUNGUARD_LINT_CACHE_KEY_DIR
says (tests/conftest.py points it at a temporary directory).
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import pickle
import stat
from pathlib import Path
from typing import Any

import pytest

from runguard_lint import __version__
from runguard_lint.pipeline.cache_key import cache_key, sign
from tests.conftest import run_cli

LEAK = "def read(path):\n    handle = open(path)\n    return handle.read()\n"


def _check(root: Path, cache: Path, env: dict[str, str] | None = None) -> tuple[int, list[Any]]:
    result = run_cli("--output-format", "json", "--cache-dir", str(cache), ".", cwd=root, env=env)
    assert result.returncode in (0, 1), result.stderr
    assert "Traceback" not in result.stderr
    return result.returncode, json.loads(result.stdout)


def _bucket(cache: Path) -> Path:
    buckets = [path for path in cache.rglob("*.json") if not path.name.startswith("summaries")]
    assert len(buckets) == 1, buckets
    return buckets[0]


def _sign(key: bytes, *parts: str) -> str:
    return hmac.new(key, "\0".join(parts).encode(), hashlib.sha256).hexdigest()


def _project(tmp_path: Path) -> tuple[Path, Path]:
    root = tmp_path / "project"
    root.mkdir()
    (root / "leak.py").write_text(LEAK, encoding="utf-8")
    return root, root / ".runguard_cache"


def test_a_forged_result_cache_entry_is_ignored(tmp_path: Path) -> None:
    root, cache = _project(tmp_path)
    status, findings = _check(root, cache)
    assert status == 1 and [f["code"] for f in findings] == ["RG106"]
    bucket = _bucket(cache)
    entry = json.loads(bucket.read_text(encoding="utf-8"))["leak.py"]
    digest = entry["sha256"]
    forgeries: list[dict[str, Any]] = [
        {"sha256": digest, "diagnostics": []},  # the old, unsigned shape
        {"sha256": digest, "diagnostics": "[]"},  # no HMAC
        {"sha256": digest, "diagnostics": "[]", "hmac": entry["hmac"]},  # tampered
        # Signed with a key of the attacker's own.
        {"sha256": digest, "diagnostics": "[]", "hmac": _sign(b"k" * 32, digest, "[]")},
    ]
    for forged in forgeries:
        bucket.write_text(json.dumps({"leak.py": forged}), encoding="utf-8")
        status, findings = _check(root, cache)
        assert status == 1, forged
        assert [f["code"] for f in findings] == ["RG106"], forged


def test_warm_runs_still_read_entries_signed_with_the_users_key(tmp_path: Path) -> None:
    """The check is what keeps a forgery out, not a cache that is never read: an
    entry signed with the real key (which no pull request can see) is believed."""
    root, cache = _project(tmp_path)
    _check(root, cache)
    bucket = _bucket(cache)
    entry = json.loads(bucket.read_text(encoding="utf-8"))["leak.py"]
    key = (Path(os.environ["RUNGUARD_LINT_CACHE_KEY_DIR"]) / "key").read_bytes()
    signed = _sign(key, bucket.stem, "leak.py", entry["sha256"], "[]")
    forged = {"sha256": entry["sha256"], "diagnostics": "[]", "hmac": signed}
    bucket.write_text(json.dumps({"leak.py": forged}), encoding="utf-8")
    assert _check(root, cache) == (0, [])


def test_the_key_is_created_once_outside_the_project_with_mode_0600(tmp_path: Path) -> None:
    root, cache = _project(tmp_path)
    env = {"RUNGUARD_LINT_CACHE_KEY_DIR": "", "XDG_CACHE_HOME": str(tmp_path / "xdg")}
    _check(root, cache, env)
    key = tmp_path / "xdg" / "runguard-lint" / "key"
    assert stat.S_IMODE(key.stat().st_mode) == 0o600
    first = key.read_bytes()
    assert len(first) == 32
    assert _check(root, cache, env)[0] == 1
    assert key.read_bytes() == first
    assert not list(root.rglob("key"))


def test_a_forged_project_summary_store_is_never_unpickled(tmp_path: Path) -> None:
    root, cache = _project(tmp_path)
    (root / "app.py").write_text(
        "import leak\n\n\ndef main(path):\n    return leak.read(path)\n", encoding="utf-8"
    )
    reference = _check(root, cache)
    [summaries] = list(cache.rglob("summaries-*.pickle"))
    genuine = summaries.read_bytes()
    mac, _, blob = genuine.partition(b"\n")
    assert blob, "the project pass summarised nothing"
    marker = tmp_path / "ran"
    # The genuine signature over a different pickle: one that runs code when loaded.
    summaries.write_bytes(mac + b"\n" + pickle.dumps(_Payload(str(marker))))
    _bucket(cache).unlink()  # so that the findings come from the project pass again
    for joined in cache.rglob("facts-*.pickle"):
        joined.unlink()  # and the facts from the summaries, not from the last run's join
    assert _check(root, cache) == reference
    assert not marker.exists(), "a forged summary store was loaded"
    # What is stored again is the real summaries, under a real signature.
    assert summaries.read_bytes() == genuine


class _Payload:
    """A pickle that, once loaded, leaves a file behind: what a forged cache would run."""

    def __init__(self, marker: str) -> None:
        self.marker = marker

    def __reduce__(self) -> tuple[Any, ...]:
        return (Path.touch, (Path(self.marker),))


@pytest.mark.parametrize("stored", ["joined-*.pickle", "facts-*.pickle", "reach-*.pickle"])
def test_forged_joined_facts_are_never_unpickled(tmp_path: Path, stored: str) -> None:
    """The facts the last run joined, and which files they leave out of reach."""
    root, cache = _project(tmp_path)
    (root / "app.py").write_text(
        "import leak\n\n\ndef main(path):\n    return leak.read(path)\n", encoding="utf-8"
    )
    reference = _check(root, cache)
    [joined] = list(cache.rglob(stored))
    marker = tmp_path / "ran"
    forged_mac = _sign(b"not the user's key", "x")
    joined.write_bytes(forged_mac.encode() + b"\n" + pickle.dumps(_Payload(str(marker))))
    _bucket(cache).unlink()  # so that the findings come from the project pass again
    assert _check(root, cache) == reference
    assert not marker.exists(), "a forged pickle was loaded"
    # The run stored them again with a real signature.
    assert joined.read_bytes().partition(b"\n")[0] != forged_mac.encode()


def test_unchanged_files_reuse_the_joined_facts(tmp_path: Path) -> None:
    root, cache = _project(tmp_path)
    (root / "app.py").write_text(
        "import leak\n\n\ndef main(path):\n    return leak.read(path)\n", encoding="utf-8"
    )
    reference = _check(root, cache)
    [summaries] = list(cache.rglob("summaries-*.pickle"))
    summaries.unlink()
    _bucket(cache).unlink()
    # Nothing changed: the facts are read back, no summary is needed or written.
    assert _check(root, cache) == reference
    assert not summaries.exists()
    # A new file that names nothing the facts know: they still hold, no summary needed.
    (root / "other.py").write_text("X = 1\n", encoding="utf-8")
    assert _check(root, cache) == reference
    assert not summaries.exists()
    # A file whose summary changes: the facts are joined anew from summaries, which
    # are stored again.
    (root / "leak.py").write_text(LEAK.replace("handle.read()", "handle"), encoding="utf-8")
    _code, findings = _check(root, cache)
    assert summaries.exists()
    assert findings != reference[1]


def test_a_stored_summary_that_does_not_load_is_made_again(tmp_path: Path) -> None:
    """A summary the store holds under the user's key but that no longer loads (written
    by another build of the same version) counts as missing: the module is summarised
    again, never left out of the facts."""
    root, cache = _project(tmp_path)
    (root / "factory.py").write_text(
        "import httpx\n\n\ndef make():\n    return httpx.Client()\n", encoding="utf-8"
    )
    user = (
        "from factory import make\n\n\n"
        "def run():\n    client = make()\n    return client.get('x')\n"
    )
    (root / "user.py").write_text(user, encoding="utf-8")
    _check(root, cache)
    [summaries] = list(cache.rglob("summaries-*.pickle"))
    _mac, _, blob = summaries.read_bytes().partition(b"\n")
    fingerprint, blobs, first = pickle.loads(blob)
    [key] = [key for key in blobs if key.endswith(":factory")]
    blobs[key] = b"not a pickle"
    blob = pickle.dumps((fingerprint, blobs, first))
    secret = cache_key()
    assert secret is not None
    mac = sign(secret, __version__, summaries.name, hashlib.sha256(blob).hexdigest())
    summaries.write_bytes(mac.encode() + b"\n" + blob)
    # The caller changes: the facts are joined anew, with the factory summarised again.
    (root / "user.py").write_text(user.replace("run", "run2"), encoding="utf-8")
    cached = _check(root, cache)
    _code, findings = cached
    assert [f["code"] for f in findings if f["filename"] == "user.py"] == ["RG101"]
    assert cached == _check(root, tmp_path / "fresh-cache")
