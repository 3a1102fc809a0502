"""The secret that authenticates the cache files, kept outside the working tree.

`.runguard_cache/` lives in the project, so a pull request can add to it: an
entry with a leaking file's sha256 and no findings would silence the file on
every warm run. Each cache entry therefore carries an HMAC under a key that
the project cannot see or set: 32 random bytes created once, with mode 0600,
in the user's cache directory (`$XDG_CACHE_HOME/runguard-lint/key`, else
`~/.cache/runguard-lint/key`), or in `$RUNGUARD_LINT_CACHE_KEY_DIR` when that
is set (tests, CI sandboxes). An entry whose HMAC does not match is ignored
and recomputed. Without a usable key the caches are neither read nor written:
slower, never wrong.
"""

from __future__ import annotations

import hashlib
import hmac
import os
import secrets
from functools import lru_cache
from pathlib import Path

KEY_DIR_ENV = "RUNGUARD_LINT_CACHE_KEY_DIR"
KEY_FILE_NAME = "key"
KEY_BYTES = 32


def key_directory() -> Path:
    """Where the key lives: the environment's override, else the user's cache directory."""
    override = os.environ.get(KEY_DIR_ENV)
    if override:
        return Path(override)
    xdg = os.environ.get("XDG_CACHE_HOME")
    base = Path(xdg) if xdg and os.path.isabs(xdg) else Path.home() / ".cache"
    return base / "runguard-lint"


@lru_cache(maxsize=4)
def _load(directory: Path) -> bytes | None:
    path = directory / KEY_FILE_NAME
    try:
        directory.mkdir(parents=True, exist_ok=True, mode=0o700)
        descriptor = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    except FileExistsError:
        pass  # made by an earlier run (or a concurrent one): read it below
    except OSError:
        return None
    else:
        # Written in one call right after creation; a run that reads it meanwhile sees
        # a short key and just skips the cache this once.
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(secrets.token_bytes(KEY_BYTES))
    try:
        key = path.read_bytes()
    except OSError:
        return None
    return key if len(key) >= KEY_BYTES else None


def cache_key() -> bytes | None:
    """This user's cache key, created on first use; None when it cannot be had."""
    return _load(key_directory())


def sign(key: bytes, *parts: str) -> str:
    """The HMAC-SHA256 of the parts (joined unambiguously), as hex."""
    message = "\0".join(parts).encode("utf-8", errors="surrogatepass")
    return hmac.new(key, message, hashlib.sha256).hexdigest()


def verify(key: bytes, mac: object, *parts: str) -> bool:
    """Whether `mac` is the HMAC of the parts, compared in constant time."""
    return isinstance(mac, str) and hmac.compare_digest(mac, sign(key, *parts))
