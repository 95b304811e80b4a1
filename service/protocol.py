"""The messages between the run service and its worker processes (pickled over a socket).

Server -> worker: `Warm` (get ready for a run of this config), `Job` (train this run),
`Command` (pause, resume, step, stop it), `Shutdown`.
Worker -> server: `Ready` once warm, then per run `Started`, `Batches` (a chunk's batches as
arrays, never one message per batch), `Epoch`, `Checkpoint`, `Boundary`, `Paused`, `Ended` or
`Failed`, and `Idle` when the worker can take the next job. Plain frozen dataclasses of
builtins and NumPy arrays: no TensorFlow object crosses the process boundary (models travel as
`.keras` bytes).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

ACTIONS = ("pause", "resume", "step", "stop")


# -- server -> worker --------------------------------------------------------------------------
@dataclass(frozen=True)
class Job:
    run_id: str
    config: Mapping[str, Any]  # RunConfig.to_dict()
    dataset: Any = None  # a trainer.Dataset for caller-given data (CSV); None: the registry's
    mode: str = "running"  # or "stepping" (one logging interval, then pause), or "paused"
    boundary: int = 0  # grid cells per side of the live decision boundary (2-D data); 0: none
    checkpoint: bytes | None = None  # `service.checkpoints.pack` bytes to resume from
    checkpoint_s: float | None = None  # an epoch checkpoint at most this often (None: never)


@dataclass(frozen=True)
class Warm:
    """Get ready to train `config` on its registry data (data made, model built, step traced
    and run once), so that a `Job` of the same config and checkpoint period starts training at
    once. Replaces what the worker got ready before; a `Job` of anything else drops it."""

    config: Mapping[str, Any]  # RunConfig.to_dict()
    checkpoint_s: float | None = None


@dataclass(frozen=True)
class Command:
    run_id: str
    action: str  # one of ACTIONS


@dataclass(frozen=True)
class Shutdown:
    pass


@dataclass(frozen=True)
class Task:
    """Call `service.tasks.<name>(*args)` in a worker (work that needs TensorFlow, which the
    web server never imports): answered by a `TaskResult` with the same id."""

    task_id: int
    name: str
    args: tuple = ()


# -- worker -> server --------------------------------------------------------------------------
@dataclass(frozen=True)
class Ready:
    pid: int
    warm_s: float  # seconds the worker took to import TensorFlow and trace a step


@dataclass(frozen=True)
class Started:
    run_id: str
    steps_per_epoch: int
    num_train: int
    num_val: int
    replicas: int
    first_epoch: int = 0
    ready_ahead: bool = False  # the worker had it ready (a Warm): no tracing after the click


@dataclass(frozen=True)
class Batches:
    """Consecutive batches: one array per `trainer.history.BATCH_COLUMNS` column."""

    run_id: str
    columns: Mapping[str, np.ndarray]


@dataclass(frozen=True)
class Epoch:
    run_id: str
    epoch: int
    metrics: Mapping[str, float]
    step: int
    elapsed_s: float


@dataclass(frozen=True)
class Checkpoint:
    """The run's latest epoch checkpoint (`service.checkpoints.pack`): it resumes from here."""

    run_id: str
    epoch: int
    step: int
    data: bytes


@dataclass(frozen=True)
class Boundary:
    """The model's output over the 2-D grid (`trainer.evaluate.decision_values`)."""

    run_id: str
    values: np.ndarray
    step: int


@dataclass(frozen=True)
class Paused:
    """The run is paused (after a Pause or a Step); its model as of now, as `.keras` bytes."""

    run_id: str
    model: bytes
    step: int


@dataclass(frozen=True)
class Resumed:
    run_id: str
    mode: str  # "running" | "stepping"


@dataclass(frozen=True)
class Ended:
    run_id: str
    reason: str  # one of trainer.events.REASONS
    step: int
    epoch: int
    elapsed_s: float
    metrics: Mapping[str, float] = field(default_factory=dict)
    message: str = ""
    model: bytes | None = None


@dataclass(frozen=True)
class Failed:
    """The run could not train (bad data, an error in the engine): a sentence for people."""

    run_id: str
    message: str


@dataclass(frozen=True)
class Idle:
    runs_done: int


@dataclass(frozen=True)
class TaskResult:
    task_id: int
    value: Any = None
    error: str | None = None  # a sentence for people (a ValueError's message), or None
