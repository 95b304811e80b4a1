"""Calls into the task worker: `service.tasks` functions run on the web server's behalf.

A call is a `Task` message answered by a `TaskResult`; the caller waits on a Future that the
pump thread completes. Tasks sent before the task worker is warm wait here and go out when it
says Ready; if the task worker leaves (idle) or dies, pending calls are retried once.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import Future
from typing import Any

from service import protocol as p


class TaskWorkerGone(Exception):
    """The task worker ended before it answered (it went idle, or died)."""


class TaskCalls:
    def __init__(self) -> None:
        self.pool: Any = None  # the WorkerPool, set once it exists
        self.closed = False
        self._ids = itertools.count(1)
        self._pending: dict[int, Future] = {}  # task id -> its answer, sent or not
        self._unsent: list[p.Task] = []  # waiting for the task worker to be warm
        self._lock = threading.Lock()

    def call(self, name: str, *args: Any, timeout: float = 300.0) -> Any:
        """`service.tasks.<name>(*args)` in the task worker; its ValueError comes back as a
        ValueError with the same words."""
        for attempt in range(2):
            future = self._send(p.Task(next(self._ids), name, args))
            try:
                return future.result(timeout)
            except TimeoutError:
                raise ValueError(
                    f"The server's helper process did not answer within {timeout:.0f} s."
                ) from None
            except TaskWorkerGone:
                if attempt:  # it had just gone idle as we asked: ask the new one once
                    raise ValueError(
                        "The server's helper process stopped before it answered. Try again."
                    ) from None
        raise AssertionError("unreachable")

    def warm(self) -> None:
        """Have the task worker import TensorFlow now (a run that paused or ended is likely
        evaluated next), rather than when Evaluate asks."""
        if not self.closed and self.pool is not None:
            self.pool.ensure_task_worker()

    def _send(self, task: p.Task) -> Future:
        future: Future = Future()
        with self._lock:
            if self.closed:
                raise ValueError("The server is shutting down: try again in a moment.")
            self._pending[task.task_id] = future
            worker = self.pool.ensure_task_worker()
            if not worker.ready:
                self._unsent.append(task)  # sent by on_ready
                return future
        worker.send(task)
        return future

    # -- from the pump thread --------------------------------------------------------------------
    def on_ready(self, worker: Any) -> None:
        with self._lock:
            unsent, self._unsent = self._unsent, []
        for task in unsent:
            worker.send(task)

    def on_result(self, message: p.TaskResult) -> None:
        with self._lock:
            future = self._pending.pop(message.task_id, None)
        if future is None:
            return
        if message.error is None:
            future.set_result(message.value)
        else:
            future.set_exception(ValueError(message.error))

    def on_death(self, reason: str) -> None:
        with self._lock:
            pending, self._pending = self._pending, {}
            self._unsent = []
        for future in pending.values():
            future.set_exception(TaskWorkerGone(reason))
