"""The worker processes: started, warmed, watched, replaced.

`size` workers run `python -m service.worker`; each connects back over a loopback socket
(multiprocessing.connection, authenticated with a per-server random key) and says `Ready` once
TensorFlow is imported and a tiny step traced. One pump thread waits on every connection and
hands each message to the service; a connection that closes is a worker that died (killed, out
of memory): the service hears which run it had, and a fresh worker takes its place. A worker is
also replaced, between runs, after `worker_max_runs` runs or above `worker_max_rss_mb`: Keras
keeps a little memory per model built, so only a process that is replaced now and then stays
flat over hundreds of runs.

Processes, not threads: two runs in one process fight over the GIL (0.62-0.65x each on 2
cores, measured), in two processes they don't; and a worker that dies takes no one with it.
"""

from __future__ import annotations

import contextlib
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from multiprocessing import AuthenticationError
from multiprocessing.connection import Connection, Listener, wait
from pathlib import Path
from typing import Any

from service.memory import rss_mb
from service.protocol import Idle, Ready, Shutdown
from service.settings import Settings, tensorflow_environment

ROOT = Path(__file__).resolve().parents[1]
WAIT_S = 0.1  # the pump looks at unconnected processes at least this often
RESPAWN_PAUSE_S = 2.0  # after a worker failed to start, before trying again


@dataclass(eq=False)
class Worker:
    process: subprocess.Popen
    role: str = "train"  # "train": runs, one at a time; "tasks": work the web server asks for
    conn: Connection | None = None
    ready: bool = False
    run_id: str | None = None  # the run it trains now
    runs_done: int = 0
    retiring: bool = False
    started_at: float = field(default_factory=time.monotonic)
    warm_s: float | None = None
    # The config (RunConfig.to_dict()) it was last asked to get a run ready for (a `Warm`),
    # and when; None once a job took it or dropped it.
    ready_for: dict | None = None
    ready_at: float = 0.0
    # Its temporary folder (TMPDIR): removed once the process is gone (see `_spawn`).
    tmp: str | None = None
    send_lock: threading.Lock = field(default_factory=threading.Lock, repr=False)

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def idle(self) -> bool:
        return self.role == "train" and self.ready and self.run_id is None and not self.retiring

    def send(self, message: Any) -> bool:
        """Send a message; False if the worker is gone (its death is reported by the pump)."""
        if self.conn is None:
            return False
        try:
            with self.send_lock:
                self.conn.send(message)
            return True
        except (BrokenPipeError, ConnectionResetError, EOFError, OSError):
            return False


def describe_exit(code: int | None) -> str:
    """Why a process ended, in words: 'killed by signal 9 (SIGKILL)', 'exit code 1'."""
    if code is None:
        return "it stopped answering"
    if code < 0:
        try:
            name = signal.Signals(-code).name
        except ValueError:
            name = "unknown signal"
        hint = "; the machine may have run out of memory" if -code == signal.SIGKILL else ""
        return f"killed by signal {-code} ({name}){hint}"
    return f"exit code {code}"


def remove_files(worker: Worker) -> None:
    """Remove an ended worker's temporary folder, with whatever it left there."""
    if worker.tmp is not None:
        shutil.rmtree(worker.tmp, ignore_errors=True)


class WorkerPool:
    """Keeps `settings.max_concurrent` warm worker processes.

    `on_message(worker, message)` runs in the pump thread for every message but `Ready`;
    `on_ready(worker)` when a worker can take a job; `on_death(worker, reason)` when a worker
    died (its `run_id` tells which run it had).

    Besides them, one task worker (`role="tasks"`) is started on demand for work the web
    server needs TensorFlow for (`service.tasks`); it leaves by itself after
    `TASK_IDLE_S` without a call, and is not replaced until the next call.
    """

    def __init__(
        self,
        settings: Settings,
        on_message: Callable[[Worker, Any], None],
        on_ready: Callable[[Worker], None],
        on_death: Callable[[Worker, str], None],
    ) -> None:
        self.settings = settings
        self.on_message, self.on_ready, self.on_death = on_message, on_ready, on_death
        self.workers: list[Worker] = []
        self.started = 0  # processes started in all (replacements included)
        self._key = secrets.token_bytes(32)
        self._listener = Listener(("127.0.0.1", 0), authkey=self._key)
        self._pending: list[Connection] = []  # connected, not yet Ready
        # Connections of workers gone, closed by the pump thread only: a descriptor closed by
        # one thread while the pump reads it fails the read (EBADF), or worse, the number is
        # reused and the pump reads someone else's socket. Seen: a retired worker's reaper
        # closed its connection under the pump, which died, and every run stopped updating.
        self._closing: list[Worker] = []
        self._lock = threading.Lock()
        self._closed = False
        self.task_worker: Worker | None = None
        for _ in range(settings.max_concurrent):
            self._spawn()
        threading.Thread(target=self._accept, name="tapeboard-accept", daemon=True).start()
        threading.Thread(target=self._pump, name="tapeboard-pump", daemon=True).start()

    # -- lifecycle ---------------------------------------------------------------------------------
    def _spawn(self, role: str = "train") -> Worker | None:
        host, port = self._listener.address
        # Its own temporary folder, removed when it is gone: TensorFlow's autograph writes the
        # source of each function it converts to a temporary file that only an exit through
        # atexit deletes, and a worker leaves with os._exit or is killed. Six files a worker
        # stayed in /tmp for good, on a server that replaces its workers every few runs.
        tmp = tempfile.mkdtemp(prefix="tapeboard-worker-")
        env = {
            **os.environ,
            **tensorflow_environment(self.settings),
            "TAPEBOARD_WORKER_ADDRESS": f"{host}:{port}",
            "TAPEBOARD_WORKER_KEY": self._key.hex(),
            "TAPEBOARD_WORKER_ROLE": role,
            "TAPEBOARD_PAUSE_LIMIT_S": str(self.settings.pause_limit_s),
            "TAPEBOARD_TASK_IDLE_S": str(self.settings.task_idle_s),
            "PYTHONPATH": os.pathsep.join(filter(None, [str(ROOT), os.environ.get("PYTHONPATH")])),
            **dict.fromkeys(("TMPDIR", "TEMP", "TMP", "TAPEBOARD_WORKER_TMP"), tmp),
        }
        env.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
        with self._lock:  # never after close(): it would not know of this process
            if self._closed:
                shutil.rmtree(tmp, ignore_errors=True)
                return None
            process = subprocess.Popen([sys.executable, "-m", "service.worker"], cwd=ROOT, env=env)
            worker = Worker(process, role, tmp=tmp)
            self.workers.append(worker)
            self.started += 1
        return worker

    def ensure_task_worker(self) -> Worker:
        """The task worker, started if there is none (it is warm some seconds later)."""
        with self._lock:
            if self.task_worker is not None and self.task_worker in self.workers:
                return self.task_worker
        worker = self._spawn("tasks")
        if worker is None:
            raise ValueError("The server is shutting down: try again in a moment.")
        self.task_worker = worker
        return worker

    def retire(self, worker: Worker) -> None:
        """Shut a worker down between runs and start its replacement."""
        worker.retiring = True
        worker.send(Shutdown())
        with self._lock:
            if worker in self.workers:
                self.workers.remove(worker)
        threading.Thread(target=self._reap, args=(worker,), daemon=True).start()
        if not self._closed:
            self._spawn()

    def close(self, timeout: float = 5.0) -> None:
        """Stop every worker: ask, then terminate, then kill."""
        with self._lock:
            self._closed = True
            workers = list(self.workers)
            self.workers.clear()
        for worker in workers:
            worker.send(Shutdown())
        _wake(self._listener.address)  # the accept thread sees _closed and returns
        deadline = time.monotonic() + timeout
        for worker in workers:
            try:
                worker.process.wait(max(0.0, deadline - time.monotonic()))
            except subprocess.TimeoutExpired:
                worker.process.kill()
                worker.process.wait()
            remove_files(worker)
        self._listener.close()

    def idle_worker(self, config: dict | None = None) -> Worker | None:
        """An idle training worker: the one got ready for `config` if there is one."""
        with self._lock:
            idle = [w for w in self.workers if w.idle]
        return next((w for w in idle if config is not None and w.ready_for == config), None) or (
            idle[0] if idle else None
        )

    def snapshot(self) -> list[Worker]:
        """The training workers."""
        with self._lock:
            return [w for w in self.workers if w.role == "train"]

    def after_run(self, worker: Worker) -> bool:
        """A worker finished a run: replace it if it has trained enough or grown too big.
        True if it was retired."""
        rss = rss_mb(worker.pid)
        too_big = rss is not None and rss > self.settings.worker_max_rss_mb
        if worker.runs_done >= self.settings.worker_max_runs or too_big:
            self.retire(worker)
            return True
        return False

    # -- threads -----------------------------------------------------------------------------------
    def _accept(self) -> None:
        while not self._closed:
            try:
                conn = self._listener.accept()
            except (OSError, EOFError, AuthenticationError):
                if self._closed:
                    return
                continue  # a client that failed authentication: not one of ours
            if self._closed:
                conn.close()
                return
            with self._lock:
                self._pending.append(conn)

    def _pump(self) -> None:
        while not self._closed:
            try:
                self._pump_once()
            except Exception:  # noqa: BLE001 - a dead pump is a dead service: log, go on
                print("tapeboard: the worker message pump failed:", file=sys.stderr)
                traceback.print_exc()
                time.sleep(WAIT_S)

    def _pump_once(self) -> None:
        self._close_gone()
        with self._lock:
            conns = [w.conn for w in self.workers if w.conn is not None] + self._pending
        if conns:
            for conn in wait(conns, timeout=WAIT_S):
                self._drain(conn)
        else:
            time.sleep(WAIT_S)  # nothing to wait on yet: the workers are starting
        self._check_unconnected()

    def _reap(self, worker: Worker) -> None:
        """Wait for a retired worker to exit (kill it if it does not), then hand its
        connection to the pump to close."""
        try:
            worker.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            worker.process.wait()
        remove_files(worker)
        with self._lock:
            self._closing.append(worker)

    def _close_gone(self) -> None:
        with self._lock:
            gone, self._closing = self._closing, []
        for worker in gone:
            if worker.conn is not None:
                with worker.send_lock, contextlib.suppress(OSError):
                    worker.conn.close()

    def _drain(self, conn: Connection) -> None:
        worker = self._worker_of(conn)
        try:
            while conn.poll():
                message = conn.recv()
                if isinstance(message, Ready):
                    self._attach(conn, message)
                    worker = self._worker_of(conn)
                elif worker is not None:
                    if isinstance(message, Idle):
                        worker.runs_done = message.runs_done
                    self.on_message(worker, message)
        except (EOFError, OSError):
            self._lost(conn, worker)

    def _worker_of(self, conn: Connection) -> Worker | None:
        with self._lock:
            return next((w for w in self.workers if w.conn is conn), None)

    def _attach(self, conn: Connection, ready: Ready) -> None:
        with self._lock:
            if conn in self._pending:
                self._pending.remove(conn)
            worker = next((w for w in self.workers if w.pid == ready.pid), None)
        if worker is None:
            conn.close()  # a retired worker's late hello
            return
        worker.conn, worker.ready, worker.warm_s = conn, True, ready.warm_s
        self.on_ready(worker)

    def _lost(self, conn: Connection, worker: Worker | None) -> None:
        lock = worker.send_lock if worker is not None else contextlib.nullcontext()
        with lock, contextlib.suppress(OSError):  # no send is writing to it meanwhile
            conn.close()
        with self._lock:
            if conn in self._pending:
                self._pending.remove(conn)
        if worker is not None:
            self._replace_dead(worker)

    def _check_unconnected(self) -> None:
        with self._lock:
            workers = list(self.workers)
        for worker in workers:
            if worker.conn is None and worker.process.poll() is not None:
                self._replace_dead(worker)

    def _replace_dead(self, worker: Worker) -> None:
        with self._lock:
            if worker not in self.workers:
                return
            self.workers.remove(worker)
        try:
            code = worker.process.wait(timeout=5)
        except subprocess.TimeoutExpired:
            worker.process.kill()
            code = worker.process.wait()
        remove_files(worker)
        if worker.retiring or self._closed:
            return
        if worker.role == "tasks":
            if self.task_worker is worker:
                self.task_worker = None
            # Gone idle by itself (exit code 0), or died: its pending calls fail; the next
            # call starts a new one.
            self.on_death(worker, describe_exit(code))
            return
        self.on_death(worker, describe_exit(code))
        if worker.ready:
            self._spawn()
        else:
            # It died while starting (a broken install?): say so, and do not spin.
            print(f"tapeboard: a worker failed to start ({describe_exit(code)})", file=sys.stderr)
            timer = threading.Timer(RESPAWN_PAUSE_S, self._respawn)
            timer.daemon = True
            timer.start()

    def _respawn(self) -> None:
        if not self._closed:
            self._spawn()


def _wake(address: tuple[str, int]) -> None:
    """Connect to the listener once, so a thread blocked in accept() returns."""
    with contextlib.suppress(OSError):
        socket.create_connection(address, timeout=1).close()
