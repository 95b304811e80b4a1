"""Calls into a worker: `service.tasks` functions run on the web server's behalf.

A call is a `Task` message answered by a `TaskResult`; the caller waits on a Future that the
pump thread completes. It goes to an idle training worker when there is one (it is warm, and no
third TensorFlow process is needed), else to the task worker, started on demand; calls sent
before that one is warm wait here. If the worker ends before it answers (the task worker going
idle, a worker killed), the call is tried once more.
"""

from __future__ import annotations

import itertools
import threading
from concurrent.futures import Future
from typing import Any

from service import protocol as p


class WorkerGone(Exception):
    """The worker ended before it answered."""


class TaskCalls:
    def __init__(self) -> None:
        self.pool: Any = None  # the WorkerPool, set once it exists
        self.closed = False
        self._ids = itertools.count(1)
        self._pending: dict[int, tuple[Future, Any]] = {}  # task id -> (answer, its worker)
        self._unsent: list[p.Task] = []  # waiting for the task worker to be warm
        self._lock = threading.Lock()

    def call(self, name: str, *args: Any, timeout: float = 300.0) -> Any:
        """`service.tasks.<name>(*args)` in a worker; its ValueError comes back as a ValueError
        with the same words."""
        for attempt in range(2):
            future = self._send(p.Task(next(self._ids), name, args))
            try:
                return future.result(timeout)
            except TimeoutError:
                raise ValueError(
                    f"The server's helper process did not answer within {timeout:.0f} s."
                ) from None
            except WorkerGone:
                if attempt:  # it had just gone as we asked: ask another once
                    raise ValueError(
                        "The server's helper process stopped before it answered. Try again."
                    ) from None
        raise AssertionError("unreachable")

    def _send(self, task: p.Task) -> Future:
        future: Future = Future()
        with self._lock:
            if self.closed:
                raise ValueError("The server is shutting down: try again in a moment.")
            worker = self.pool.idle_worker() or self.pool.ensure_task_worker()
            self._pending[task.task_id] = (future, worker)
            if not worker.ready:
                self._unsent.append(task)  # sent by on_ready
                return future
        worker.send(task)
        return future

    # -- from the pump thread --------------------------------------------------------------------
    def on_ready(self, worker: Any) -> None:
        """The task worker is warm: send it what waited."""
        with self._lock:
            unsent, self._unsent = self._unsent, []
        for task in unsent:
            worker.send(task)

    def on_result(self, message: p.TaskResult) -> None:
        with self._lock:
            future, _ = self._pending.pop(message.task_id, (None, None))
        if future is None:
            return
        if message.error is None:
            future.set_result(message.value)
        else:
            future.set_exception(ValueError(message.error))

    def on_death(self, worker: Any, reason: str) -> None:
        """A worker ended: the calls it had fail (and are tried once more by their callers)."""
        with self._lock:
            lost = [tid for tid, (_, w) in self._pending.items() if w is worker]
            futures = [self._pending.pop(tid)[0] for tid in lost]
            if worker.role == "tasks":
                self._unsent = []
        for future in futures:
            future.set_exception(WorkerGone(reason))
