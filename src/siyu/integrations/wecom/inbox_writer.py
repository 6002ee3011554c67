"""Writing verified callbacks to the inbox in small batches from a few threads ("group commit").

At hundreds of callbacks a second a statement and a commit per request cost more CPU than
everything else the endpoint does. Requests instead hand their inbox entry to this writer and
await the outcome: a writer thread takes whatever is waiting (up to ``max_batch``), stores it with
``wecom.service.store_events`` in one transaction — one multi-row insert for the inbox, one for the
handler jobs — and only after the commit answers each request. A batch is whatever arrived while
the previous ones were written, so an idle endpoint writes one row at once and a busy one writes
more per commit: latency stays about one commit, throughput follows the load. ``threads`` batches
are written at a time, so one slow commit does not hold up everything behind it.

Nothing is acknowledged before it is committed; a request whose batch failed gets the error (WeCom
then retries). Threads start on first use and end after ``idle_seconds`` without work.
"""

from __future__ import annotations

import asyncio
import queue
import threading
from dataclasses import dataclass

import structlog

from siyu.kit.clock import Clock
from siyu.kit.db import Database
from siyu.models.wecom import CallbackStatus
from siyu.wecom import service
from siyu.wecom.service import InboxEntry

log = structlog.get_logger("siyu.wecom.inbox")


@dataclass
class _Pending:
    entry: InboxEntry
    loop: asyncio.AbstractEventLoop
    future: asyncio.Future


def _settle(future: asyncio.Future, status: CallbackStatus | None, error: BaseException | None) -> None:
    if future.cancelled():  # the caller went away; the row is stored all the same
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(status)


class InboxWriter:
    """One per application: batches inbox writes of the callback endpoint (see the module doc)."""

    def __init__(self, database: Database, clock: Clock, *, threads: int = 2, max_batch: int = 200,
                 idle_seconds: float = 10.0) -> None:
        self.database, self.clock = database, clock
        self.threads, self.max_batch, self.idle_seconds = threads, max_batch, idle_seconds
        self._queue: queue.Queue[_Pending] = queue.Queue()
        self._lock = threading.Lock()
        self._running = 0

    async def store(self, entry: InboxEntry) -> CallbackStatus:
        """Store ``entry`` (with the batch it lands in); ``received`` or ``duplicate`` once committed."""
        loop = asyncio.get_running_loop()
        future = loop.create_future()
        self._queue.put(_Pending(entry, loop, future))
        with self._lock:
            while self._running < self.threads:
                self._running += 1
                threading.Thread(target=self._run, name="wecom-inbox-writer", daemon=True).start()
        return await future

    def _next_batch(self) -> list[_Pending] | None:
        try:
            batch = [self._queue.get(timeout=self.idle_seconds)]
        except queue.Empty:
            with self._lock:
                # Checked under the lock: ``store`` starts a new thread after this one has gone.
                if self._queue.empty():
                    self._running -= 1
                    return None
            return []
        while len(batch) < self.max_batch:
            try:
                batch.append(self._queue.get_nowait())
            except queue.Empty:
                break
        return batch

    def _run(self) -> None:
        while (batch := self._next_batch()) is not None:
            if batch:
                self._write(batch)

    def _write(self, batch: list[_Pending]) -> None:
        try:
            with self.database.session() as session:
                statuses = service.store_events(session, [p.entry for p in batch], self.clock)
        except Exception as error:  # noqa: BLE001 — every waiting request learns it failed
            log.error("wecom.inbox.write_failed", size=len(batch), error=repr(error))
            for pending in batch:
                _answer(pending, None, error)
            return
        for pending, status in zip(batch, statuses, strict=True):
            _answer(pending, status, None)


def _answer(pending: _Pending, status: CallbackStatus | None, error: BaseException | None) -> None:
    try:
        pending.loop.call_soon_threadsafe(_settle, pending.future, status, error)
    except RuntimeError:  # the caller's event loop has closed (server shutting down)
        log.warning("wecom.inbox.caller_gone", event_key=pending.entry.event_key)
