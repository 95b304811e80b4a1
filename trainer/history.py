"""`History`: a columnar per-run store of training events, cheap to append and to draw.

Every `BatchEnd` lands in preallocated NumPy columns (capacity doubles when full, so appending is
O(1) amortized); every `EpochEnd` is one row in a small list. Charts read `decimated()`, which
returns a bounded number of rows however long the run is, so a redraw costs the same at step 100
and at step 100000. Pure NumPy / pandas: no Streamlit, Altair or TensorFlow here.
"""

from __future__ import annotations

import math
import os
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from trainer.events import BatchEnd, EpochEnd
from trainer.files import write_atomic

BATCH_COLUMNS = ("step", "epoch", "batch", "loss", "samples_seen", "elapsed_s")
_DTYPES = {
    "step": np.int64,
    "epoch": np.int64,
    "batch": np.int64,
    "loss": np.float64,
    "samples_seen": np.int64,
    "elapsed_s": np.float64,
}


def moving_average(values: Any, window: int) -> np.ndarray:
    """Trailing mean over the last `window` values (fewer at the start), NaN/inf ignored."""
    series = pd.Series(np.asarray(values, dtype=np.float64)).replace([np.inf, -np.inf], np.nan)
    return series.rolling(window, min_periods=1).mean().to_numpy()


def smooth(values: Any, weight: float) -> np.ndarray:
    """TensorBoard's scalar smoothing: a debiased exponential moving average.

    TensorBoard keeps `last = last * weight + (1 - weight) * v` and divides by `1 - weight**n`
    (n = finite values seen so far); that is exactly pandas' `ewm(alpha=1 - weight, adjust=True)`.
    Non-finite values are skipped by the average and passed through as they are, as there.
    """
    if not 0.0 <= weight < 1.0:
        raise ValueError(f"smooth weight must be in [0, 1). Received: weight={weight!r}")
    array = np.asarray(values, dtype=np.float64)
    if array.size == 0 or weight == 0.0:
        return array.copy()
    finite = np.isfinite(array)
    series = pd.Series(np.where(finite, array, np.nan))
    smoothed = series.ewm(alpha=1.0 - weight, adjust=True, ignore_na=True).mean().to_numpy()
    return np.where(finite, smoothed, array)


class History:
    """Everything one run logged: per-batch columns and per-epoch metric rows."""

    def __init__(self, capacity: int = 1024, steps_per_epoch: int | None = None) -> None:
        self._size = 0
        self._columns = {name: np.empty(max(1, capacity), _DTYPES[name]) for name in BATCH_COLUMNS}
        self._epochs: list[dict[str, Any]] = []
        # Derived from _epochs, rebuilt only when an epoch ends: a live chart asks for them on
        # every redraw, and a run on a small dataset logs thousands of epochs.
        self._epochs_frame: pd.DataFrame | None = None
        self._best: dict[str, float | None] = {}
        # Known by the caller before training starts; lets `decimated` place batches at
        # fractional epochs ("epoch_progress") from the first batch on.
        self.steps_per_epoch = steps_per_epoch

    # -- recording -------------------------------------------------------------------------
    def record(self, event: object) -> None:
        """Store a BatchEnd or an EpochEnd; other events (TrainingEnd) are ignored."""
        if isinstance(event, BatchEnd):
            self._append_batch(event)
        elif isinstance(event, EpochEnd):
            self._epochs_frame, self._best = None, {}
            self._epochs.append(
                {
                    "epoch": int(event.epoch),
                    "step": int(event.step),
                    "elapsed_s": float(event.elapsed_s),
                    **{k: float(v) for k, v in event.metrics.items()},
                }
            )

    def extend(self, columns: Mapping[str, Any]) -> None:
        """Append consecutive batches given as one array per `BATCH_COLUMNS` column (as the
        run service's workers send a chunk): the rows `record` would store, in one copy each."""
        n = len(columns["step"])
        while self._size + n > len(self._columns["step"]):
            self._grow()
        for name in BATCH_COLUMNS:
            self._columns[name][self._size : self._size + n] = columns[name]
        self._size += n

    def truncate(self, last_step: int) -> None:
        """Forget the batches after `last_step` and the epochs that ended after it (a run
        resumed from a checkpoint goes on from there)."""
        self._size = int(np.searchsorted(self._columns["step"][: self._size], last_step, "right"))
        self._epochs = [row for row in self._epochs if row["step"] <= last_step]
        self._epochs_frame, self._best = None, {}

    def _append_batch(self, event: BatchEnd) -> None:
        if self._size == len(self._columns["step"]):
            self._grow()
        i = self._size
        cols = self._columns
        cols["step"][i] = event.step
        cols["epoch"][i] = event.epoch
        cols["batch"][i] = event.batch
        cols["loss"][i] = event.loss
        cols["samples_seen"][i] = event.samples_seen
        cols["elapsed_s"][i] = event.elapsed_s
        self._size = i + 1

    def _grow(self) -> None:
        for name, column in self._columns.items():
            bigger = np.empty(2 * len(column), column.dtype)
            bigger[: self._size] = column[: self._size]
            self._columns[name] = bigger

    # -- reading ---------------------------------------------------------------------------
    def __len__(self) -> int:
        return self._size

    @property
    def capacity(self) -> int:
        return len(self._columns["step"])

    def column(self, name: str) -> np.ndarray:
        """A read-only view of one batch column (no copy)."""
        view = self._columns[name][: self._size]
        view.flags.writeable = False
        return view

    @property
    def last(self) -> BatchEnd | None:
        """The most recent batch, or None before the first."""
        if not self._size:
            return None
        i = self._size - 1
        c = self._columns
        return BatchEnd(
            step=int(c["step"][i]),
            epoch=int(c["epoch"][i]),
            batch=int(c["batch"][i]),
            loss=float(c["loss"][i]),
            samples_seen=int(c["samples_seen"][i]),
            elapsed_s=float(c["elapsed_s"][i]),
        )

    @property
    def last_epoch(self) -> Mapping[str, Any] | None:
        """The most recent epoch row (epoch, step, elapsed_s, metrics), or None."""
        return dict(self._epochs[-1]) if self._epochs else None

    @property
    def num_epochs(self) -> int:
        return len(self._epochs)

    def best(self, metric: str) -> float | None:
        """Best value of an epoch metric so far: lowest for losses/errors, highest otherwise."""
        if metric not in self._best:
            self._best[metric] = self._find_best(metric)
        return self._best[metric]

    def _find_best(self, metric: str) -> float | None:
        values = [row[metric] for row in self._epochs if math.isfinite(row.get(metric, math.nan))]
        if not values:
            return None
        lower_is_better = "loss" in metric or "mae" in metric or "error" in metric
        return min(values) if lower_is_better else max(values)

    def batches(self) -> pd.DataFrame:
        """One row per batch: step, epoch, batch, loss, samples_seen, elapsed_s."""
        return pd.DataFrame(
            {name: self._columns[name][: self._size].copy() for name in BATCH_COLUMNS}
        )

    def epochs(self, max_points: int | None = None) -> pd.DataFrame:
        """One row per epoch: epoch, step, elapsed_s, samples_seen, epoch_progress (= epoch + 1,
        where the epoch ends on a fractional-epoch axis) and every metric logged. With
        `max_points`, at most that many evenly spaced rows, the first and last among them."""
        if self._epochs_frame is None:
            self._epochs_frame = self._build_epochs()
        frame = self._epochs_frame
        if max_points is not None and len(frame) > max_points:
            keep = np.unique(np.linspace(0, len(frame) - 1, max(max_points, 2)).round())
            return frame.iloc[keep.astype(int)].reset_index(drop=True)
        return frame.copy()

    def _build_epochs(self) -> pd.DataFrame:
        frame = pd.DataFrame(self._epochs)
        if frame.empty:
            return pd.DataFrame(columns=["epoch", "step", "elapsed_s", "samples_seen"])
        steps = self.column("step")
        where = np.searchsorted(steps, frame["step"].to_numpy())
        seen = self.column("samples_seen")
        frame.insert(
            3,
            "samples_seen",
            [
                int(seen[i]) if i < len(steps) and steps[i] == s else 0
                for i, s in zip(where, frame["step"])
            ],
        )
        frame.insert(4, "epoch_progress", frame["epoch"] + 1.0)
        return frame

    def frame(self) -> pd.DataFrame:
        """Batches with each epoch's metrics on the epoch's last batch (a tidy CSV table)."""
        batches = self.batches()
        epochs = pd.DataFrame(self._epochs)
        if epochs.empty:
            return batches
        metrics = epochs.drop(columns=["epoch", "elapsed_s"])
        # The epoch's mean training loss is not the batch's loss: keep both, named apart.
        metrics = metrics.rename(
            columns={c: f"epoch_{c}" for c in metrics if c in BATCH_COLUMNS[1:]}
        )
        return batches.merge(metrics, on="step", how="left")

    def epoch_progress(self, epoch: np.ndarray, batch: np.ndarray) -> np.ndarray:
        """Fractional epochs completed after each batch (batch 0 of epoch 0 -> 1/steps)."""
        per_epoch = self.steps_per_epoch
        if not per_epoch:
            seen = self.column("batch")
            per_epoch = int(seen.max()) + 1 if len(seen) else 1
        return epoch + (batch + 1) / per_epoch

    def decimated(
        self, max_points: int = 2000, smoothing: float = 0.0, window: int = 0
    ) -> pd.DataFrame:
        """At most `max_points` rows to draw, whatever the length of the run.

        The steps are cut into `max_points // 2` equal buckets and each bucket keeps the rows of
        its lowest and its highest loss, so spikes stay visible. `smoothed` is the debiased EMA
        (`smooth`) over every batch, read at the rows kept. Columns: step, epoch, batch, loss,
        samples_seen, elapsed_s, epoch_progress, smoothed.
        """
        if max_points < 2:
            raise ValueError(f"max_points must be at least 2. Received: max_points={max_points}")
        n = self._size
        loss = self._columns["loss"][:n]
        smoothed = moving_average(loss, window) if window > 1 else smooth(loss, smoothing)
        keep = np.arange(n) if n <= max_points else _min_max_rows(loss, max_points // 2)
        frame = pd.DataFrame({name: self._columns[name][:n][keep] for name in BATCH_COLUMNS})
        frame["epoch_progress"] = self.epoch_progress(
            frame["epoch"].to_numpy(), frame["batch"].to_numpy()
        )
        frame["smoothed"] = smoothed[keep]
        return frame

    def steps_per_second(self, window_s: float = 5.0) -> float | None:
        """Training speed over the last `window_s` seconds of training time (None if unknown),
        leaving out the run's first compiled call while later steps are known: that call also
        traces the step (seconds, once), and counting it made the ETA 3x too long at a tenth
        of a short run (Keras' progress bar leaves its first step out for the same reason)."""
        n = self._size
        if n < 2:
            return None
        elapsed = self._columns["elapsed_s"][:n]
        start = int(np.searchsorted(elapsed, elapsed[-1] - window_s, side="left"))
        start = min(max(start, _first_call_end(elapsed)), n - 2)
        seconds = elapsed[-1] - elapsed[start]
        if seconds <= 0:
            return None
        return (n - 1 - start) / seconds

    def to_csv(self, path: str | os.PathLike[str]) -> Path:
        """Write `frame()` as CSV atomically (`trainer.files.write_atomic`)."""
        target = Path(path)
        write_atomic(target, lambda tmp: self.frame().to_csv(tmp, index=False))
        return target


def _first_call_end(elapsed: np.ndarray) -> int:
    """The last step of a run's first compiled call: the engine spreads a call's time evenly
    over its steps, so the first call's steps are those whose time equals step 0's."""
    if not len(elapsed) or elapsed[0] <= 0:
        return 0
    steps = np.diff(elapsed[: min(len(elapsed), 4096)])
    other = np.flatnonzero(~np.isclose(steps, elapsed[0], rtol=1e-6, atol=0.0))
    return int(other[0]) if len(other) else len(steps)


def _min_max_rows(loss: np.ndarray, buckets: int) -> np.ndarray:
    """Indices of each bucket's min and max loss (in step order); non-finite losses count as
    extremes too (a NaN spike must stay visible), so they are treated as the bucket's max."""
    n = len(loss)
    edges = np.linspace(0, n, buckets + 1).astype(np.int64)
    starts = edges[:-1]
    finite = np.isfinite(loss)
    low = np.where(finite, loss, np.inf)
    high = np.where(finite, loss, np.inf)  # non-finite wins the max
    mins = np.minimum.reduceat(low, starts)
    maxs = np.maximum.reduceat(high, starts)
    bucket_of = np.repeat(np.arange(buckets), np.diff(edges))
    is_min = low == mins[bucket_of]
    is_max = high == maxs[bucket_of]
    # First index per bucket where each condition holds.
    min_idx = _first_true_per_bucket(is_min, starts, bucket_of, buckets)
    max_idx = _first_true_per_bucket(is_max, starts, bucket_of, buckets)
    return np.unique(np.concatenate([min_idx, max_idx]))


def _first_true_per_bucket(
    mask: np.ndarray, starts: np.ndarray, bucket_of: np.ndarray, buckets: int
) -> np.ndarray:
    first = np.full(buckets, -1, dtype=np.int64)
    hits = np.flatnonzero(mask)
    # Reverse so that the earliest hit in a bucket is written last and wins.
    first[bucket_of[hits[::-1]]] = hits[::-1]
    return np.where(first >= 0, first, starts)
