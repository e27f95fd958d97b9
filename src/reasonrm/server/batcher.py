"""The request batcher: one bounded queue for the judge jobs of every HTTP request.

A job is one pair to judge or one tournament to play. Every request's jobs go into the same
queue and a fixed pool of workers takes them in order, so jobs of concurrent requests run
side by side on the engine and its parallel slots stay busy. A request is admitted whole or
not at all: if its jobs do not fit in the queue it is refused (QueueFull, with a wait to
suggest) and nothing of it is queued. A request that times out or whose client goes away
has its jobs cancelled: queued ones are dropped unjudged, running ones are interrupted.

Jobs run on `engine_loop` when given (the library's shared loop, where every sync API runs
engine calls), so the engine only ever sees one event loop; the HTTP loop only waits.
"""

from __future__ import annotations

import asyncio
import logging
import math
import time
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from typing import Any

log = logging.getLogger(__name__)

JobMaker = Callable[[], Coroutine[Any, Any, Any]]
MAX_RETRY_AFTER = 60  # seconds; a longer hint only makes clients give up


class QueueFull(Exception):
    def __init__(self, retry_after: int, waiting: int) -> None:
        super().__init__(f"the judge queue is full ({waiting} jobs waiting)")
        self.retry_after = retry_after
        self.waiting = waiting


class ShuttingDown(Exception):
    pass


class RequestTimedOut(Exception):
    pass


class ClientDisconnected(Exception):
    pass


@dataclass(eq=False)
class Job:
    make: JobMaker
    future: asyncio.Future = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )
    running: asyncio.Future | None = None

    def cancel(self) -> None:
        self.future.cancel()
        if self.running is not None:
            self.running.cancel()


class Batcher:
    def __init__(
        self,
        workers: int,
        queue_size: int,
        engine_loop: asyncio.AbstractEventLoop | None = None,
    ) -> None:
        self.workers = workers
        self.queue_size = queue_size
        self.engine_loop = engine_loop
        self.accepting = False
        self.running = 0  # jobs being judged now
        self.cancelled = 0  # jobs dropped or interrupted because their request ended
        self._queue: asyncio.Queue[Job] | None = None
        self._tasks: list[asyncio.Task] = []
        self._job_seconds = 1.0  # moving average, for the Retry-After hint

    @property
    def depth(self) -> int:
        """Jobs waiting in the queue."""
        return 0 if self._queue is None else self._queue.qsize()

    def start(self) -> None:
        """Start the workers on the running loop."""
        self._queue = asyncio.Queue(self.queue_size)
        self._tasks = [asyncio.create_task(self._work()) for _ in range(self.workers)]
        self.accepting = True

    async def run(
        self,
        makers: Sequence[JobMaker],
        timeout: float,
        disconnected: Callable[[], Awaitable[Any]] | None = None,
    ) -> list[Any]:
        """Queue one request's jobs and wait for all of them: a result or the exception, per
        job, in order. Raises QueueFull, ShuttingDown, RequestTimedOut or ClientDisconnected
        (when `disconnected()` returns first); in every case nothing of it is left running."""
        jobs = self._submit(makers)
        results = asyncio.gather(*(job.future for job in jobs), return_exceptions=True)
        watch = asyncio.ensure_future(disconnected()) if disconnected else None
        try:
            done, _ = await asyncio.wait(
                {results, watch} - {None}, timeout=timeout, return_when=asyncio.FIRST_COMPLETED
            )
        finally:  # also when the handler itself is cancelled
            if watch is not None:
                watch.cancel()
            self._cancel(jobs)
        if results in done:
            return results.result()
        if watch is not None and watch in done:
            raise ClientDisconnected()
        raise RequestTimedOut()

    async def close(self, timeout: float) -> None:
        """Refuse new requests, let queued and running jobs finish (up to `timeout` s), then
        stop the workers."""
        self.accepting = False
        if self._queue is not None:
            try:
                await asyncio.wait_for(self._queue.join(), timeout)
            except TimeoutError:
                log.warning("shutdown: jobs still running after %.0f s are cancelled", timeout)
        for task in self._tasks:
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        self._tasks = []

    # ---- internals ---------------------------------------------------------------------

    def _submit(self, makers: Sequence[JobMaker]) -> list[Job]:
        if not self.accepting or self._queue is None:
            raise ShuttingDown()
        # the check and the puts run without an await between them: no other request can
        # take the room in between, so the request goes in whole or not at all
        if self._queue.qsize() + len(makers) > self.queue_size:
            raise QueueFull(self._retry_after(len(makers)), self._queue.qsize())
        jobs = [Job(make) for make in makers]
        for job in jobs:
            self._queue.put_nowait(job)
        return jobs

    def _retry_after(self, extra: int) -> int:
        """Seconds until about `extra` jobs' room frees up, from recent job times."""
        ahead = self.depth + extra
        wait = math.ceil(ahead * self._job_seconds / max(1, self.workers))
        return max(1, min(MAX_RETRY_AFTER, wait))

    def _cancel(self, jobs: list[Job]) -> None:
        for job in jobs:
            if not job.future.done():
                self.cancelled += 1
            job.cancel()

    async def _work(self) -> None:
        assert self._queue is not None
        while True:
            job = await self._queue.get()
            try:
                if not job.future.done():  # its request ended while it waited: skip it
                    await self._run(job)
            finally:
                self._queue.task_done()

    async def _run(self, job: Job) -> None:
        started = time.monotonic()
        job.running = self._launch(job.make())
        self.running += 1
        try:
            # wait() does not raise when the job is cancelled, only when this worker is
            await asyncio.wait({job.running})
        except asyncio.CancelledError:
            job.cancel()
            raise
        finally:
            self.running -= 1
        # read the outcome even when nobody waits for it any more (no "never retrieved")
        error = None if job.running.cancelled() else job.running.exception()
        if not job.future.done():
            if job.running.cancelled():
                job.future.cancel()
            elif error is not None:
                job.future.set_exception(error)
            else:
                job.future.set_result(job.running.result())
        self._job_seconds = 0.8 * self._job_seconds + 0.2 * (time.monotonic() - started)

    def _launch(self, coro: Coroutine[Any, Any, Any]) -> asyncio.Future:
        if self.engine_loop is None:
            return asyncio.ensure_future(coro)
        # cancelling the wrapper cancels the task on the engine loop too
        return asyncio.wrap_future(asyncio.run_coroutine_threadsafe(coro, self.engine_loop))
