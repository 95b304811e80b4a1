"""`StoreWriter`: the one thread that writes what the run service records into the store, at
most about once a second, in one transaction: a crash loses at most the last second, and a page
never waits on the database. `WriteBatch` is what piled up between two writes."""

from __future__ import annotations

import json
import threading
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from service.store import Store, StoreError

FLUSH_S = 1.0  # at most this long between a record and its write


@dataclass
class WriteBatch:
    """What piled up since the last write: the newest row of each run, new batches (merged
    per run into one array pair), epochs, datasets, deletions."""

    runs: dict[str, dict[str, Any]] = field(default_factory=dict)
    batches: dict[str, list[tuple[int, np.ndarray, np.ndarray]]] = field(default_factory=dict)
    epochs: list[dict[str, Any]] = field(default_factory=list)
    datasets: dict[str, bytes] = field(default_factory=dict)
    deletes: list[str] = field(default_factory=list)
    # run id -> (epoch, step, packed checkpoint), or None to drop the run's checkpoint
    checkpoints: dict[str, tuple[int, int, bytes] | None] = field(default_factory=dict)
    # run id -> (last step, last epoch) kept: a resumed run goes on from its checkpoint
    truncations: dict[str, tuple[int, int]] = field(default_factory=dict)

    def __bool__(self) -> bool:
        return bool(
            self.runs
            or self.batches
            or self.epochs
            or self.datasets
            or self.deletes
            or self.checkpoints
            or self.truncations
        )


class StoreWriter:
    """A thread that writes what the service records, at most about every FLUSH_S.

    `problem` holds the sentence of the last failure (None while writes succeed): the pages
    show it, and the runs recorded meanwhile say "not saved".
    """

    def __init__(self, store: Store, interval: float = FLUSH_S) -> None:
        self.store = store
        self.interval = interval
        self.problem: str | None = None
        self._pending = WriteBatch()
        self._lock = threading.Lock()
        self._wake = threading.Event()
        self._closed = False
        self._idle = threading.Event()
        self._idle.set()
        self._thread = threading.Thread(target=self._loop, name="tapeboard-store", daemon=True)
        self._thread.start()

    # -- what to write (any thread; cheap: appends under a lock) -------------------------------
    def put_run(self, row: dict[str, Any]) -> None:
        with self._lock:
            self._pending.runs[row["id"]] = row

    def put_batches(self, run_id: str, first_step: int, loss: Any, elapsed: Any) -> None:
        loss32 = np.asarray(loss, dtype="<f4")
        elapsed32 = np.asarray(elapsed, dtype="<f4")
        with self._lock:
            self._pending.batches.setdefault(run_id, []).append((first_step, loss32, elapsed32))

    def put_epoch(
        self, run_id: str, epoch: int, step: int, elapsed_s: float, metrics: Mapping
    ) -> None:
        row = {
            "run_id": run_id,
            "epoch": epoch,
            "step": step,
            "elapsed_s": float(elapsed_s),
            "metrics": json.dumps({k: float(v) for k, v in metrics.items()}),
        }
        with self._lock:
            self._pending.epochs.append(row)

    def put_dataset(self, digest: str, blob: bytes) -> None:
        with self._lock:
            self._pending.datasets[digest] = blob

    def put_checkpoint(self, run_id: str, saved: tuple[int, int, bytes] | None) -> None:
        """The run's latest checkpoint (epoch, step, bytes), replacing the one before; None
        drops it (a run that ended needs none)."""
        with self._lock:
            self._pending.checkpoints[run_id] = saved

    def truncate(self, run_id: str, last_step: int, last_epoch: int) -> None:
        """Forget the run's batches after `last_step` and epochs after `last_epoch` (written
        before anything recorded after this call)."""
        with self._lock:
            self._pending.truncations[run_id] = (last_step, last_epoch)

    def delete(self, run_id: str) -> None:
        with self._lock:
            self._pending.checkpoints.pop(run_id, None)
            self._pending.truncations.pop(run_id, None)
            self._pending.runs.pop(run_id, None)
            self._pending.batches.pop(run_id, None)
            self._pending.epochs = [e for e in self._pending.epochs if e["run_id"] != run_id]
            self._pending.deletes.append(run_id)
        self._wake.set()

    # -- the thread ------------------------------------------------------------------------------
    def flush(self, timeout: float = 30.0) -> None:
        """Write what is pending now and wait for it (shutdown, tests)."""
        self._idle.clear()
        self._wake.set()
        self._idle.wait(timeout)

    def close(self) -> None:
        self.flush()
        self._closed = True
        self._wake.set()
        self._thread.join(timeout=10)

    def _loop(self) -> None:
        while not self._closed:
            self._wake.wait(self.interval)
            self._wake.clear()
            with self._lock:
                work, self._pending = self._pending, WriteBatch()
            if work:
                try:
                    self.store.write(work)
                    self.problem = None
                except StoreError as err:
                    self.problem = str(err)
            self._idle.set()
