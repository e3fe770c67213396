"""Connections to the record store for the read side: a small pool, opened on first use.

The public site's connections are read-only at the server
(``default_transaction_read_only``): whatever a request reaches, it cannot
write. Every statement has a time limit, so a slow query answers 503 rather
than holding a connection. The officials' API (report issuing) uses a pool
that may write (:func:`read_write_store`).
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import Any

import psycopg
from psycopg_pool import AsyncConnectionPool, PoolTimeout

STATEMENT_TIMEOUT_MS = 5_000
#: What a broken store looks like to a handler: answer 503, never a traceback.
UNAVAILABLE: tuple[type[Exception], ...] = (psycopg.OperationalError, PoolTimeout)


class Store:
    """A lazily opened :class:`AsyncConnectionPool` on ``url``."""

    def __init__(self, url: str, *, read_only: bool, max_size: int = 4) -> None:
        options = f"-c statement_timeout={STATEMENT_TIMEOUT_MS}"
        if read_only:
            options += " -c default_transaction_read_only=on"
        self._pool = AsyncConnectionPool(
            url,
            min_size=1,
            max_size=max_size,
            open=False,
            timeout=10.0,
            kwargs={"autocommit": True, "options": options},
        )
        self._opened = False
        self._lock = asyncio.Lock()

    @asynccontextmanager
    async def connection(self) -> AsyncIterator[psycopg.AsyncConnection[Any]]:
        if not self._opened:
            async with self._lock:
                if not self._opened:
                    await self._pool.open(wait=False)
                    self._opened = True
        async with self._pool.connection() as conn:
            yield conn

    async def close(self) -> None:
        if self._opened:
            await self._pool.close()
            self._opened = False


def read_only_store(url: str) -> Store:
    return Store(url, read_only=True)


def read_write_store(url: str) -> Store:
    return Store(url, read_only=False, max_size=2)
