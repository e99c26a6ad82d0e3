"""Change feeds: how the API learns that a job changed, sooner than by reading it again.

``POST /train?wait=``, ``GET /jobs/{id}/events`` and a DELETE of a running job wait for
a job to change. The watcher (``service.jobs.watch``) reads a job again when its store's
feed says that it (or some job) changed, and at least every ``FALLBACK_POLL`` seconds
whatever the feed says, so a lost notification delays an answer but never loses it.

- Redis: every transition publishes the job's id on a channel (in the transaction that
  makes it); the feed is one subscription, idle when nothing happens.
- SQLite has no notifications between processes. Its ``data_version`` changes whenever
  another connection commits; reading it costs no I/O, so the feed reads it every
  ``SQLITE_TICK`` seconds, and only while someone waits for a job; ``IDLE_CLOSE`` seconds
  after the last waiter it closes its connection, so an idle API holds no extra file.
"""

from __future__ import annotations

import abc
import logging
import sqlite3
from collections.abc import Awaitable, Callable
from pathlib import Path

import anyio
import anyio.to_thread
import redis.asyncio as aioredis
from redis.exceptions import ConnectionError as RedisConnectionError
from redis.exceptions import TimeoutError as RedisTimeoutError

from service.redaction import redact

__all__ = ["FALLBACK_POLL", "SQLITE_TICK", "ChangeFeed", "RedisChangeFeed", "SqliteChangeFeed"]

logger = logging.getLogger("rnnlab.jobs")

FALLBACK_POLL = 1.0  # seconds: a watched job is read at least this often, feed or not
SQLITE_TICK = 0.005  # seconds between two looks at SQLite's data_version while watching
RECONNECT = 1.0  # seconds before a lost subscription is made again
IDLE_CLOSE = 5.0  # seconds without watchers after which the SQLite feed closes its connection

Changed = Callable[[str | None], None]
"""Called with a job's id when that job changed, or None when some job may have."""
Watching = Callable[[], Awaitable[None]]
"""Returns once someone waits for a job (at once if someone does)."""


class ChangeFeed(abc.ABC):
    """A backend's notifications of job changes, followed by the API's watcher."""

    @abc.abstractmethod
    async def follow(self, changed: Changed, watching: Watching) -> None:
        """Call ``changed`` for every change until cancelled; never raises for an outage."""


class NoFeed(ChangeFeed):
    """A backend without notifications: the watcher's fallback poll is all there is."""

    async def follow(self, changed: Changed, watching: Watching) -> None:
        await anyio.sleep_forever()


class RedisChangeFeed(ChangeFeed):
    """One subscription to the channel the Redis store publishes job ids on."""

    def __init__(self, url: str, channel: str) -> None:
        self._url = url
        self._channel = channel

    async def follow(self, changed: Changed, watching: Watching) -> None:
        down = False
        while True:
            client = aioredis.Redis.from_url(self._url, socket_connect_timeout=1.0)
            try:
                async with client.pubsub() as pubsub:
                    await pubsub.subscribe(self._channel)
                    if down:
                        logger.info("job change feed: subscribed again")
                        changed(None)  # what changed meanwhile went unheard
                    down = False
                    async for message in pubsub.listen():
                        if message["type"] == "message":
                            data = message["data"]
                            changed(data.decode() if isinstance(data, bytes) else str(data))
            except (RedisConnectionError, RedisTimeoutError, OSError) as exc:
                if not down:  # once per outage: the fallback poll carries on meanwhile
                    logger.warning("job change feed lost (%s); polling", redact(str(exc)))
                down = True
            finally:
                await client.aclose()
            await anyio.sleep(RECONNECT)


class SqliteChangeFeed(ChangeFeed):
    """``PRAGMA data_version`` of the database, read while someone waits for a job."""

    def __init__(self, path: Path) -> None:
        self._path = path

    async def follow(self, changed: Changed, watching: Watching) -> None:
        connection: sqlite3.Connection | None = None
        last: int | None = None
        try:
            while True:
                if connection is None:
                    await watching()
                else:
                    with anyio.move_on_after(IDLE_CLOSE) as idle:
                        await watching()
                    if idle.cancelled_caught:  # nobody waits: give the file back
                        connection.close()
                        connection, last = None, None
                        continue
                try:
                    if connection is None:
                        connection = await anyio.to_thread.run_sync(self._connect)
                    version = await anyio.to_thread.run_sync(_data_version, connection)
                except sqlite3.Error:
                    connection = None  # the fallback poll carries on; try again later
                    await anyio.sleep(RECONNECT)
                    continue
                if last is not None and version != last:
                    changed(None)
                last = version
                await anyio.sleep(SQLITE_TICK)
        finally:
            if connection is not None:
                connection.close()

    def _connect(self) -> sqlite3.Connection:
        # A connection of its own: data_version counts commits by *other* connections.
        # check_same_thread=False: one task uses it, from whichever worker thread.
        uri = f"{self._path.resolve().as_uri()}?mode=ro"
        return sqlite3.connect(uri, uri=True, timeout=1.0, check_same_thread=False)


def _data_version(connection: sqlite3.Connection) -> int:
    row = connection.execute("pragma data_version").fetchone()
    return int(row[0])
