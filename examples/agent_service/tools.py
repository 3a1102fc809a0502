"""Tools an LLM agent calls, each on every step of every conversation."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import faiss
import httpx
from openai import AsyncOpenAI

_embedding_cache = {}


async def search_web(query: str) -> str:
    """Called on every agent step: a new connection pool each time."""
    client = httpx.AsyncClient(timeout=10)
    response = await client.get("https://search.example.invalid", params={"q": query})
    return response.text


async def summarise(text: str) -> str:
    llm = AsyncOpenAI()
    reply = await llm.chat.completions.create(
        model="gpt-4o-mini", messages=[{"role": "user", "content": text}]
    )
    return reply.choices[0].message.content or ""


async def embed(text: str) -> list[float]:
    if text not in _embedding_cache:
        async with httpx.AsyncClient() as client:
            response = await client.post("https://embed.example.invalid", json={"input": text})
        _embedding_cache[text] = response.json()["embedding"]
    return _embedding_cache[text]


def _parse_pdf(path: str) -> str:
    with open(path, "rb") as handle:
        return handle.read().decode("latin-1")


async def read_document(path: str) -> str:
    loop = asyncio.get_running_loop()
    return await loop.run_in_executor(ThreadPoolExecutor(max_workers=4), _parse_pdf, path)


def nearest(vector: list[float]) -> list[int]:
    index = faiss.read_index("docs.faiss")
    _, ids = index.search([vector], 5)
    return list(ids[0])
