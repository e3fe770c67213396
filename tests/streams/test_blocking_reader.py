"""Blocking Redis reads (XREAD BLOCK) outlast their block time, and still fail on a dead Redis.

Issue 20, item 4: the live-event streams blocked 15 s on a link whose socket
timeout was redis-py 8's default 5 s, so every idle stream broke. The
end-to-end check is ``tests/integration/test_live_events_idle.py``.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
import redis.asyncio as aioredis

from creditwatch.embedded import EmbeddedRedis
from streams.serving import view as serving


def test_a_read_blocking_longer_than_the_command_timeout_ends_empty_not_in_error(
    tmp_path: Path,
) -> None:
    block_s = serving.REDIS_TIMEOUT_S + 1  # longer than any plain command may take
    server = EmbeddedRedis(tmp_path).start()

    async def idle_read() -> object:
        reader = serving.blocking_reader(server.url, block_s)
        try:
            return await reader.xread({"quiet-stream": "$"}, block=int(block_s * 1000))
        finally:
            await reader.aclose()

    try:
        assert not asyncio.run(idle_read())  # nothing came: an empty answer, no TimeoutError
    finally:
        server.stop()


def test_a_redis_that_stops_answering_still_fails_a_blocking_read() -> None:
    async def scenario() -> None:
        # Accepts the connection, reads the commands, never answers.
        server = await asyncio.start_server(lambda r, w: None, "127.0.0.1", 0)
        port = server.sockets[0].getsockname()[1]
        reader = serving.blocking_reader(f"redis://127.0.0.1:{port}/0", 0.2)
        try:
            with pytest.raises(aioredis.RedisError):
                await asyncio.wait_for(reader.xread({"s": "$"}, block=200), timeout=30)
        finally:
            await reader.aclose()
            server.close()

    asyncio.run(scenario())
