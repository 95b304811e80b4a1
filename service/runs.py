"""A run as the server holds it: its config, what it recorded, where it stands, its model.

The worker that trains a run owns the truth of its progress; this record is what the worker has
reported so far, updated by the service's pump thread and read by page scripts. A lock guards
it, and `version` moves on every change (with a notice to whoever waits on it) so a viewer can
tell whether anything is new.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from service import protocol
from trainer.config import RunConfig
from trainer.events import EpochEnd, TrainingEnd
from trainer.history import History

# Where a run stands. queued: waiting for a worker; running / stepping (one logging interval,
# then paused) / paused: in a worker; finished: `end` says how.
STATES = ("queued", "running", "stepping", "paused", "finished")
FAILED = "failed"  # an end reason beside trainer's: the run could not train, or its worker died
INTERRUPTED = "interrupted"  # ...and another: its server stopped (or crashed) while it trained
# How a failed run's message starts when its worker process died (killed, out of memory): the
# process failed, not the run, so like an interrupted run it may train on from its checkpoint.
WORKER_STOPPED = "The worker process training this run stopped"


def resumable(end: TrainingEnd | None) -> bool:
    """Whether a run that ended so can train on from its last checkpoint: its server stopped
    or its worker process died, not its own error (that would only fail again)."""
    if end is None:
        return False
    return end.reason == INTERRUPTED or (
        end.reason == FAILED and end.message.startswith(WORKER_STOPPED)
    )


# The metric runs are ranked by, per task, and whether bigger is better.
RANKING = {"classification": ("val_accuracy", True), "regression": ("val_loss", False)}


@dataclass(eq=False)
class Run:
    id: str  # unguessable: the run's link is its only key
    owner: str  # the browser key of who started it: only it may steer the run
    number: int  # "run 3": the owner's third run
    config: RunConfig
    data_title: str
    steps_per_epoch: int
    num_train: int
    num_val: int
    dataset: Any = None  # the trainer.Dataset it trains on (validation held out), for Evaluate
    history: History = field(default_factory=History)
    status: str = "queued"
    queued_mode: str = "running"  # how it starts once a worker takes it: running|stepping|paused
    replicas: int = 1
    ready_ahead: bool = False  # its worker had got it ready before it was started (a Warm)
    end: TrainingEnd | None = None
    model_bytes: bytes | None = None  # the model as a .keras file: at a pause and at the end
    model_step: int = -1  # the last step the model bytes include
    checkpoint_epoch: int = -1  # the epoch of the latest checkpoint kept (it resumes there)
    boundary: np.ndarray | None = None  # the model's output over the 2-D grid, if 2-D
    boundary_step: int = -1
    created: float = field(default_factory=time.time)  # wall clock, for people
    data_info: dict = field(default_factory=dict)  # what the data was (kept with the run)
    saved: bool = True  # False once the store failed to keep something of it
    version: int = 0
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)
    changed: threading.Condition = field(init=False, repr=False)  # notified on every touch()

    def __post_init__(self) -> None:
        self.changed = threading.Condition(self.lock)

    @property
    def name(self) -> str:
        return f"run {self.number}"

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.epochs

    @property
    def finished(self) -> bool:
        return self.end is not None

    @property
    def failed(self) -> bool:
        return self.end is not None and self.end.reason == FAILED

    @property
    def steps_done(self) -> int:
        return len(self.history)

    @property
    def live(self) -> bool:
        """Waiting for a worker or training in one: what a viewer watches change."""
        return self.status in ("queued", "running", "stepping")

    @property
    def training_s(self) -> float:
        """Training time so far, pauses excluded: the engine's clock, the one every figure of
        a run uses (steps/s, train time, ETA)."""
        if self.end is not None and self.end.elapsed_s:
            return self.end.elapsed_s
        last = self.history.last
        return last.elapsed_s if last else 0.0

    def touch(self) -> None:
        with self.lock:  # reentrant: reports are applied under it already
            self.version += 1
            self.changed.notify_all()

    def wait_first_batch(self, timeout: float) -> bool:
        """Block up to `timeout` seconds until the run has recorded a batch or ended; True if
        it has."""
        with self.lock:
            return self.changed.wait_for(
                lambda: len(self.history) > 0 or self.end is not None, timeout
            )

    def wait_end(self, timeout: float) -> bool:
        """Block up to `timeout` seconds until the run has ended; True if it has."""
        with self.lock:
            return self.changed.wait_for(lambda: self.end is not None, timeout)

    # -- what the pages show -------------------------------------------------------------------
    def curves(
        self, max_points: int, smoothing: float, window: int = 0
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(decimated batches, epochs) frames for the charts: `smoothed` is the EMA of weight
        `smoothing`, or the moving average over `window` batches when window > 1."""
        with self.lock:
            history = self.history
            return history.decimated(max_points, smoothing, window), history.epochs(max_points)

    def steps_per_second(self) -> float | None:
        """Average training speed of the run so far (the engine's clock)."""
        seconds = self.training_s
        return self.steps_done / seconds if seconds > 0 and self.steps_done else None

    def eta_s(self) -> float | None:
        """Training time left at the recent speed."""
        with self.lock:
            rate = self.history.steps_per_second()
        if not rate or self.finished:
            return None
        return max(0, self.total_steps - self.steps_done) / rate

    def final_metrics(self) -> dict[str, float]:
        if self.end is not None and self.end.metrics:
            return dict(self.end.metrics)
        row = self.history.last_epoch or {}
        return {k: v for k, v in row.items() if k not in ("epoch", "step", "elapsed_s")}

    def state_label(self) -> str:
        return self.end.reason if self.end is not None else self.status

    def model_ref(self) -> tuple[Any, bytes] | None:
        """The model for `service.tasks` calls: (a key that changes with the bytes, the
        .keras bytes), or None before the first pause or the end."""
        with self.lock:
            if self.model_bytes is None:
                return None
            return (self.id, self.model_step), self.model_bytes

    def data_ref(self) -> tuple[dict, Any]:
        """The data for `service.tasks` calls: the config, plus the dataset itself when no
        registry set can be loaded by name (an uploaded CSV)."""
        return self.config.to_dict(), self.dataset if self.config.dataset == "csv" else None


# -- applying worker reports to a run (under its lock) ---------------------------------------------
def _started(run: Run, m: protocol.Started) -> None:
    run.steps_per_epoch, run.num_train, run.num_val = m.steps_per_epoch, m.num_train, m.num_val
    run.history.steps_per_epoch = m.steps_per_epoch
    run.replicas = m.replicas
    run.ready_ahead = m.ready_ahead


def _batches(run: Run, m: protocol.Batches) -> None:
    run.history.extend(m.columns)


def _epoch(run: Run, m: protocol.Epoch) -> None:
    run.history.record(EpochEnd(m.epoch, dict(m.metrics), m.step, m.elapsed_s))


def _checkpoint(run: Run, m: protocol.Checkpoint) -> None:
    run.checkpoint_epoch = m.epoch


def _boundary(run: Run, m: protocol.Boundary) -> None:
    run.boundary, run.boundary_step = m.values, m.step


def _paused(run: Run, m: protocol.Paused) -> None:
    run.model_bytes, run.model_step = m.model, m.step
    if run.status != "finished":
        run.status = "paused"


def _resumed(run: Run, m: protocol.Resumed) -> None:
    if run.status != "finished":
        run.status = m.mode


def _ended(run: Run, m: protocol.Ended) -> None:
    if m.model is not None:
        run.model_bytes, run.model_step = m.model, m.step
    run.end = TrainingEnd(m.reason, m.step, m.epoch, m.elapsed_s, dict(m.metrics), m.message)
    run.status = "finished"


def _failed(run: Run, m: protocol.Failed) -> None:
    last = run.history.last
    run.end = TrainingEnd(
        FAILED,
        last.step if last else -1,
        last.epoch if last else 0,
        last.elapsed_s if last else 0.0,
        run.final_metrics(),
        m.message,
    )
    run.status = "finished"


_HANDLERS = {
    protocol.Started: _started,
    protocol.Batches: _batches,
    protocol.Epoch: _epoch,
    protocol.Checkpoint: _checkpoint,
    protocol.Boundary: _boundary,
    protocol.Paused: _paused,
    protocol.Resumed: _resumed,
    protocol.Ended: _ended,
    protocol.Failed: _failed,
}


def apply_report(run: Run, message: Any) -> bool:
    """Apply a worker's report to its run (under the run's lock); False if it is not one."""
    handler = _HANDLERS.get(type(message))
    if handler is None:
        return False
    handler(run, message)
    run.touch()
    return True
