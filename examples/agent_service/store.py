"""Conversation storage, shared by every agent instance."""

import sqlite3

import asyncpg


class ConversationStore:
    def __init__(self, dsn: str) -> None:
        self.dsn = dsn
        self.history = open("history.log", "a")

    async def save(self, conversation_id: str, text: str) -> None:
        pool = await asyncpg.create_pool(self.dsn)
        await pool.execute("INSERT INTO turns VALUES ($1, $2)", conversation_id, text)

    async def load(self, pool: asyncpg.Pool, conversation_id: str) -> list[str]:
        conn = await pool.acquire()
        rows = await conn.fetch("SELECT text FROM turns WHERE id = $1", conversation_id)
        await pool.release(conn)
        return [row["text"] for row in rows]


def count_turns(path: str) -> int:
    with sqlite3.connect(path) as db:
        return db.execute("SELECT count(*) FROM turns").fetchone()[0]
