"""`runguard-lint server`: a Language Server over standard input and output.

`session` holds what the server knows (settings, project facts, results) and
knows nothing of LSP; `convert` turns findings and fixes into LSP values;
`app` is the pygls server. pygls and lsprotocol come with the `server` extra
(`pip install 'runguard-lint[server]'`), so the command line imports this
package's `app` only when the server is asked for.
"""

from __future__ import annotations

MISSING_EXTRA = (
    "the language server needs pygls and lsprotocol, which come with the `server` "
    "extra: pip install 'runguard-lint[server]'"
)


class ServerUnavailable(Exception):
    """pygls or lsprotocol is not installed."""


def serve() -> None:
    """Run the server until the client says `exit` (ServerUnavailable without pygls)."""
    try:
        import lsprotocol  # noqa: F401
        import pygls  # noqa: F401
    except ImportError:
        raise ServerUnavailable(MISSING_EXTRA) from None
    from runguard_lint.server.app import serve as serve_stdio

    serve_stdio()
