"""The same jobs done right: shared clients, scoped cleanup. Nothing to report here."""

import contextlib

import httpx

_client = httpx.AsyncClient(timeout=10)  # one pool for the process


async def search_web(query: str) -> str:
    response = await _client.get("https://search.example.invalid", params={"q": query})
    return response.text


def read_config(path: str) -> str:
    with open(path, encoding="utf-8") as handle:
        return handle.read()


@contextlib.contextmanager
def session():
    client = httpx.Client()
    try:
        yield client
    finally:
        client.close()
