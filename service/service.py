"""`RunService`: every run of this server, trained by a pool of worker processes.

The page scripts only send commands (start, pause, resume, step, stop) and read what a run has
recorded; the workers train. So a run outlives the tab that started it, anyone with its id can
watch it, and two runs at once train in two processes. One service per server process
(`get_service()`); no Streamlit here, so scripts, tests and benchmarks use it directly.
"""

from __future__ import annotations

import os
import secrets
import threading
import time
from collections import deque
from typing import Any

from service import protocol as p
from service import records
from service.calls import TaskCalls
from service.keeper import Keeper
from service.pool import Worker, WorkerPool
from service.runs import FAILED, INTERRUPTED, WORKER_STOPPED, Run, apply_report, resumable
from service.settings import Settings, check_model_size, check_run_size
from trainer.budget import estimate_size, steps_per_epoch
from trainer.config import RunConfig
from trainer.events import TrainingEnd
from trainer.features import check_features
from trainer.history import History

BOUNDARY_GRID = 32  # cells per side of the live decision boundary
HEARTBEAT_S = 15.0  # a paused or waiting run's row is touched this often (alive, not stale)


def stopped_server(status: str) -> str:
    """What a run that its server's stop interrupted says, by what it was doing then."""
    if status == "queued":
        return (
            "The server stopped while this run waited for a worker, before it trained: "
            "its owner's Resume starts it."
        )
    doing = "was paused" if status == "paused" else "was training"
    return (
        f"The server stopped while this run {doing}. What it recorded until then is kept; "
        "its owner's Resume goes on from its last checkpoint."
    )


class RunService:
    def __init__(self, settings: Settings | None = None, store_url: str | None = None) -> None:
        self.settings = settings or Settings.from_env()
        self.keeper = Keeper(store_url)
        self._runs: dict[str, Run] = {}  # insertion order: oldest first
        self._queue: deque[str] = deque()  # runs waiting for a worker
        self._workers: dict[str, Worker] = {}  # run id -> the worker training it
        self._counts: dict[str, int] = {}  # owner -> runs started (for "run N")
        self._resume_from: dict[str, bytes] = {}  # run id -> the checkpoint its job starts from
        self._lock = threading.RLock()
        self._closed = False
        self.cores = usable_cores()
        self._put_off: list[dict] = []  # configs to get ready once a core is free (`warm`)
        self.tasks = TaskCalls()
        self.pool = WorkerPool(self.settings, self._on_message, self._on_ready, self._on_death)
        self.tasks.pool = self.pool
        threading.Thread(target=self._heartbeat, name="tapeboard-heartbeat", daemon=True).start()

    @property
    def store_problem(self) -> str | None:
        """Why runs are not being saved (a sentence naming the setting), or None."""
        return self.keeper.problem

    # -- commands from pages ---------------------------------------------------------------------
    def start(
        self,
        config: RunConfig,
        dataset: Any,
        *,
        owner: str,
        data_title: str = "",
        mode: str = "running",
        source: dict | None = None,
    ) -> Run:
        """Queue a run of `config` on `dataset` (the data as trained on: validation held out,
        a `trainer.Dataset`). Raises ValueError, naming the numbers, if it is too big for this
        server. `mode` "stepping" trains one logging interval, then pauses. `source`: where
        the data came from (an upload's file name, target column, rows, hash), kept with the
        run so two runs on different files can be told apart."""
        if mode not in ("running", "stepping"):
            raise ValueError(f"mode must be 'running' or 'stepping'. Received: mode={mode!r}")
        self._check_budget(config, dataset)
        per_epoch = steps_per_epoch(dataset.num_train, config.batch_size)
        with self._lock:
            if self._closed:
                raise ValueError("The server is shutting down: try again in a moment.")
            number = self._next_number(owner)
            run = Run(
                id=secrets.token_urlsafe(12),
                owner=owner,
                number=number,
                config=config,
                data_title=data_title or config.dataset,
                steps_per_epoch=per_epoch,
                num_train=dataset.num_train,
                num_val=dataset.num_val,
                dataset=dataset,
                history=History(
                    capacity=min(per_epoch * config.epochs, 4096), steps_per_epoch=per_epoch
                ),
                status="queued",
                queued_mode=mode,
                data_info={**records.describe_data(dataset), **(source or {})},
            )
            self.keeper.keep_data(run, dataset)
            self.keeper.save(run, with_model=False)
            self._runs[run.id] = run
            self._queue.append(run.id)
            self._forget_old_runs()
        self._dispatch()
        return run

    def warm(self, config: RunConfig, dataset: Any) -> bool:
        """Get an idle worker ready to train `config` (its data made, model built, train step
        traced and run once) while the page that would start it is open: a Train pressed
        then trains its first batch at once. `dataset`: the data as trained on, for the size
        checks. Only for registry data on one machine, within this server's limits, and only
        when a worker is idle and no run waits. Each idle worker is ready for one config: a
        config asked for again also readies a worker ready for nothing, and a new one replaces
        the config got ready longest ago. While runs train on every core but one, the warm-up
        (a model built, a step traced and run: a core for a few tenths of a second) is put
        off until a run ends: on 2 cores, a visitor whose run had ended got the next one ready
        while another's still trained, and took its CPU. True if a worker is (being) got
        ready."""
        if config.dataset == "csv" or config.strategy == "multi_worker":
            return False
        try:
            self._check_budget(config, dataset)
        except ValueError:
            return False
        return self._warm(config.to_dict())

    def _warm(self, wanted: dict) -> bool:
        with self._lock:
            if self._closed or self._queue:
                return False
            if not self._core_to_spare():
                others = [c for c in self._put_off if c != wanted]
                self._put_off = [*others, wanted][-self.settings.max_concurrent :]  # newest last
                return False
            idle = [w for w in self.pool.snapshot() if w.idle]
            spare = [w for w in idle if w.ready_for is None]
            ready = any(w.ready_for == wanted for w in idle)
            if not idle or (ready and not spare):
                return ready
            # A worker ready for nothing, even when another is ready for this config: several
            # people sent the same link press Train together (a demo), and each trains at
            # once. Else the worker got ready longest ago.
            worker = spare[0] if spare else min(idle, key=lambda w: w.ready_at)
            worker.ready_for, worker.ready_at = wanted, time.monotonic()
        return worker.send(p.Warm(wanted, float(self.settings.checkpoint_s)))

    def _core_to_spare(self) -> bool:
        """Whether a warm-up would take no core from a training run: none trains, or beside
        the training runs' cores there is one for the warm-up and one more (the web server's
        and the browsers' share)."""
        training = len(self._workers)
        return training == 0 or training + 1 < self.cores

    def _warm_put_off(self) -> None:
        """A run ended: the warm-ups put off while runs trained, newest first, if a core is
        to spare now."""
        with self._lock:
            if not self._put_off or not self._core_to_spare():
                return
            wanted, self._put_off = self._put_off[::-1], []
        for config in wanted:
            self._warm(config)

    def size_problem(self, config: RunConfig, dataset: Any) -> str | None:
        """Why this server would refuse to train `config` on `dataset` (features the data
        does not have, too long, too big), naming the numbers, or None: the pages say it
        before Train is pressed."""
        try:
            check_features(config.features, dataset.input_shape, dataset.name)
        except ValueError as err:
            return str(err)
        problem = check_run_size(config.epochs, dataset.num_train, self.settings)
        size = estimate_size(
            config,
            dataset.input_shape,
            dataset.num_outputs,
            dataset.num_train,
            dataset.num_val,
            dataset.x_train.dtype.itemsize,
        )
        return problem or check_model_size(size, self.settings)

    def _check_budget(self, config: RunConfig, dataset: Any) -> None:
        """ValueError, naming the numbers, if the run is too big for this server."""
        problem = self.size_problem(config, dataset)
        if problem:
            raise ValueError(problem)

    def resume_interrupted(self, run_id: str, owner: str) -> Run:
        """Train an interrupted run (or one whose worker process died) on from its last
        checkpoint (from the start if it had none), under the same id: its link keeps working,
        its curve goes on. Only its owner may; what it recorded after the checkpoint is
        dropped, as it is trained again."""
        run = self.get(run_id)
        if run is None:
            raise ValueError(f"No run {run_id!r} on this server.")
        if run.owner != owner:
            raise PermissionError(f"Only the browser that started {run.name} can resume it.")
        if not resumable(run.end):
            raise ValueError(f"{run.name} was not interrupted: press Train to start a new run.")
        if run.config.dataset == "csv" and run.dataset is None:
            raise ValueError(f"{run.name}'s data is not in the store: upload it and press Train.")
        if run.dataset is not None:
            self._check_budget(run.config, run.dataset)
        saved = self.keeper.load_checkpoint(run_id)
        epoch, step = (saved[0], saved[1]) if saved else (-1, -1)
        with self._lock:
            if self._closed:
                raise ValueError("The server is shutting down: try again in a moment.")
            with run.lock:
                run.history.truncate(step)
                run.checkpoint_epoch = epoch
                run.end, run.status, run.queued_mode = None, "queued", "running"
                run.touch()
                self.keeper.rewind(run, step, epoch)
                self.keeper.save(run, with_model=False)
            if saved:
                self._resume_from[run.id] = saved[2]
            self._runs[run.id] = run
            self._queue.append(run.id)
        self._dispatch()
        return run

    def checkpoint_epoch(self, run_id: str) -> int | None:
        """The epoch an interrupted run would resume after (None: it has no checkpoint)."""
        saved = self.keeper.load_checkpoint(run_id)
        return saved[0] if saved else None

    def _next_number(self, owner: str) -> int:
        if owner not in self._counts:
            self._counts[owner] = self.keeper.runs_started(owner)
        self._counts[owner] += 1
        return self._counts[owner]

    def command(self, run_id: str, action: str, owner: str) -> None:
        """Pause, resume, step or stop a run. Only its owner may; a finished run ignores it."""
        if action not in p.ACTIONS:
            raise ValueError(f"action must be one of {', '.join(p.ACTIONS)}. Received: {action!r}")
        with self._lock:
            run = self._runs.get(run_id)
            if run is None:
                raise ValueError(f"No run {run_id!r} on this server.")
            if run.owner != owner:
                raise PermissionError(f"Only the browser that started {run.name} can steer it.")
            if run.finished:
                return
            if run_id in self._queue:
                self._command_queued(run, action)
                return
            worker = self._workers.get(run_id)
        with run.lock:
            # A pause shows once the worker confirms it (with the batches it had computed
            # recorded first): until then the run is still moving.
            run.status = {"resume": "running", "step": "stepping"}.get(action, run.status)
            run.touch()
        if worker is not None:
            worker.send(p.Command(run_id, action))

    def _command_queued(self, run: Run, action: str) -> None:
        if action == "stop":
            self._queue.remove(run.id)
            self._resume_from.pop(run.id, None)
            self._end(run, "stopped", "Stopped before it started.")
            return
        run.queued_mode = {"pause": "paused", "resume": "running", "step": "stepping"}[action]
        with run.lock:
            run.touch()

    def get(self, run_id: str) -> Run | None:
        """The run with this id: in memory, or read back from the store (None if neither)."""
        with self._lock:
            run = self._runs.get(run_id)
        return run if run is not None else self._load(run_id)

    def runs_of(self, owner: str) -> list[Run]:
        """The runs `owner` started that this server holds in memory, oldest first."""
        with self._lock:
            return [run for run in self._runs.values() if run.owner == owner]

    def summaries(self, owner: str, limit: int = 1000) -> list[records.RunSummary]:
        """Every run `owner` started, in memory or stored, newest first: one light line each
        (no history, no model), so a long list costs one query."""
        summaries = {run.id: records.summarize(run) for run in self.runs_of(owner)}
        for summary in self.keeper.summaries(owner, limit):
            summaries.setdefault(summary.id, summary)
        return sorted(summaries.values(), key=lambda s: s.created, reverse=True)[:limit]

    def count_stored(self, owner: str) -> int:
        """How many runs `owner` has, in memory or stored (the listing shows the newest). A
        run in memory counts even before its first write reaches the store (up to a second)."""
        in_memory = {run.id for run in self.runs_of(owner)}
        return len(in_memory) + self.keeper.count_runs(owner, leaving_out=in_memory)

    def delete(self, run_id: str, owner: str) -> None:
        """Forget a finished run for good (memory and store). Only its owner may."""
        run = self.get(run_id)
        if run is None:
            return
        if run.owner != owner:
            raise PermissionError(f"Only the browser that started {run.name} can delete it.")
        if not run.finished:
            raise ValueError(f"{run.name} is still training: stop it first.")
        with self._lock:
            self._runs.pop(run_id, None)
        self.keeper.delete(run_id)

    def all_runs(self) -> list[Run]:
        with self._lock:
            return list(self._runs.values())

    def queue_position(self, run_id: str) -> int | None:
        """1 for the next run to get a worker; None if the run is not waiting."""
        with self._lock:
            return self._queue.index(run_id) + 1 if run_id in self._queue else None

    def busy_workers(self) -> int:
        with self._lock:
            return len(self._workers)

    def workers_ready(self) -> bool:
        """True when every worker is warm (TensorFlow imported, a step traced)."""
        workers = self.pool.snapshot()
        return len(workers) >= self.settings.max_concurrent and all(w.ready for w in workers)

    def wait_until_ready(self, timeout: float = 120.0) -> bool:
        """Block until every worker is warm (scripts, tests, benchmarks); False on timeout."""
        deadline = time.monotonic() + timeout
        while not self.workers_ready():
            if time.monotonic() >= deadline:
                return False
            time.sleep(0.05)
        return True

    def close(self) -> None:
        """Stop the workers; runs still training end as interrupted, and the store has all."""
        with self._lock:
            self._closed = True
            self.tasks.closed = True
            open_runs = [r for r in self._runs.values() if not r.finished]
        self.pool.close()
        for run in open_runs:
            self._end(run, INTERRUPTED, stopped_server(run.status))
        self.keeper.close()

    # -- work that needs TensorFlow --------------------------------------------------------------
    def call(self, name: str, *args: Any, timeout: float = 300.0) -> Any:
        """`service.tasks.<name>(*args)`, run by the task worker (started on demand): the web
        server itself never imports TensorFlow (see service/tasks.py)."""
        return self.tasks.call(name, *args, timeout=timeout)

    # -- the pump thread: what workers report ----------------------------------------------------
    def _on_ready(self, worker: Worker) -> None:
        if worker.role == "tasks":
            self.tasks.on_ready(worker)
            return
        self._dispatch()

    def _dispatch(self) -> None:
        """Give waiting runs to idle workers, oldest first."""
        while True:
            with self._lock:
                if not self._queue or self._closed:
                    return
                run = self._runs[self._queue[0]]
                worker = self.pool.idle_worker(run.config.to_dict())
                if worker is None:
                    return
                self._queue.popleft()
                worker.run_id = run.id
                worker.ready_for = None  # the worker trains what it got ready, or drops it
                self._workers[run.id] = worker
                mode = run.queued_mode
                checkpoint = self._resume_from.pop(run.id, None)
            job = p.Job(
                run.id,
                run.config.to_dict(),
                dataset=run.dataset if run.config.dataset == "csv" else None,
                mode=mode,
                boundary=BOUNDARY_GRID if records.is_2d(run) else 0,
                checkpoint=checkpoint,
                checkpoint_s=float(self.settings.checkpoint_s),  # 0: after every epoch
            )
            with run.lock:
                run.status = mode
                run.touch()
            # If it fails, the worker just died: the pump reports the death and fails the run.
            worker.send(job)

    def _on_message(self, worker: Worker, message: Any) -> None:
        if isinstance(message, p.Idle):
            self._on_idle(worker)
            return
        if isinstance(message, p.TaskResult):
            self.tasks.on_result(message)
            return
        run = self.get(message.run_id)
        if run is None:
            return
        with run.lock:
            if apply_report(run, message):
                self.keeper.record(run, message)
        if isinstance(message, (p.Ended, p.Failed)):
            with self._lock:
                self._workers.pop(run.id, None)
                self._forget_old_runs()

    def _on_idle(self, worker: Worker) -> None:
        with self._lock:
            if worker.run_id is not None:
                self._workers.pop(worker.run_id, None)
            worker.run_id = None
        self.pool.after_run(worker)
        self._dispatch()
        self._warm_put_off()

    def _on_death(self, worker: Worker, reason: str) -> None:
        self.tasks.on_death(worker, reason)
        if worker.role == "tasks":
            return
        with self._lock:
            run = self._runs.get(worker.run_id) if worker.run_id else None
            if worker.run_id:
                self._workers.pop(worker.run_id, None)
        if run is not None and not run.finished:
            self._end(
                run,
                FAILED,
                f"{WORKER_STOPPED}: {reason}. What it recorded is kept; the server and other "
                "runs carry on. Its owner's Resume goes on from its last checkpoint.",
            )
        self._dispatch()

    def _end(self, run: Run, reason: str, message: str) -> None:
        with run.lock:
            last = run.history.last
            run.end = TrainingEnd(
                reason=reason,
                step=last.step if last else -1,
                epoch=last.epoch if last else 0,
                elapsed_s=last.elapsed_s if last else 0.0,
                metrics=run.final_metrics(),
                message=message,
            )
            run.status = "finished"
            run.touch()
            self.keeper.save(run, with_model=False)

    def _load(self, run_id: str) -> Run | None:
        """A run from the store, as a read-only record; one whose server stopped while it
        trained comes back interrupted."""
        loaded = self.keeper.load(run_id)
        if loaded is None:
            return None
        run, stale = loaded
        if run.end is None:
            if not stale:
                return run  # another server trains it: read again next time
            self._end(run, INTERRUPTED, stopped_server(run.status))
        if resumable(run.end):
            # Its owner may resume it on another server sharing the store: read again next
            # time (kept, it read "interrupted" here for good while it trained on there).
            return run
        with self._lock:
            run = self._runs.setdefault(run_id, run)
            self._forget_old_runs()
        return run

    def _heartbeat(self) -> None:
        """Touch the rows of open runs that report nothing (paused, waiting): a row not
        touched for STALE_S belongs to a server that stopped."""
        while not self._closed:
            time.sleep(HEARTBEAT_S)
            with self._lock:
                quiet = [r for r in self._runs.values() if not r.finished and r.status != "running"]
            for run in quiet:
                with run.lock:
                    self.keeper.save(run, with_model=False)

    def _forget_old_runs(self) -> None:
        """Keep at most `keep_runs` finished runs in memory, and at most `keep_models_mb` of
        their models: the newest. A run dropped from memory is read back from the store when
        someone opens it; with no usable store only the count bounds them (memory is all)."""
        finished = [r for r in self._runs.values() if r.finished]
        drop = finished[: max(0, len(finished) - self.settings.keep_runs)]
        kept = finished[len(drop) :]
        if self.keeper.store is not None and not self.keeper.problem:
            held = sum(len(r.model_bytes or b"") for r in kept)
            for run in kept[:-1]:  # the newest stays, whatever its size
                if held <= self.settings.keep_models_mb * 2**20:
                    break
                drop.append(run)
                held -= len(run.model_bytes or b"")
        for run in drop:
            del self._runs[run.id]


_service: RunService | None = None
_service_lock = threading.Lock()


def get_service() -> RunService:
    """This process's run service, started on first use (its workers warm in the background)."""
    global _service
    with _service_lock:
        if _service is None:
            _service = RunService()
        return _service


def close_service() -> None:
    global _service
    with _service_lock:
        service, _service = _service, None
    if service is not None:
        service.close()


def usable_cores() -> int:
    """The cores this process may run on (its CPU affinity, where the system says)."""
    if hasattr(os, "sched_getaffinity"):
        return len(os.sched_getaffinity(0))
    return os.cpu_count() or 1
