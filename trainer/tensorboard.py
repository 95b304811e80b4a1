"""A run as TensorBoard event files: `tensorboard --logdir DIR` shows it.

Written with `tf.summary`, in TensorBoard's and Keras' layout: `train/` holds the loss of every
batch (`batch_loss`, by step) and the epoch metrics (`epoch_loss`, `epoch_accuracy`...,
by epoch), `validation/` the validation metrics under the same tags (so the two overlay), and
the config goes to the HParams plugin, so several runs in one folder compare as a table.

Batch losses are buffered and written a block at a time by one compiled function (a summary op
per value inside it): about 20-35 us a value, against ~290 us for an eager `tf.summary.scalar`
call, which would have cost more than the training step itself.
"""

from __future__ import annotations

import math
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import numpy as np
import tensorflow as tf

from trainer.config import RunConfig
from trainer.events import BatchEnd, EpochEnd

FLUSH_BATCHES = 4096  # buffered batch losses written at once (and at every epoch's end)


def hparams_of(config: RunConfig) -> dict[str, Any]:
    """The config as HParams values (bool, int, float or str only)."""
    values = config.to_dict()
    values["hidden_units"] = ",".join(map(str, config.hidden_units)) or "none"
    values["features"] = ",".join(config.features)
    return values


class TensorBoardLog:
    """One run's event files in `logdir`; `record(event)` with each `trainer.train` event."""

    def __init__(self, logdir: str | Path, config: RunConfig, run_name: str = "") -> None:
        from tensorboard.plugins.hparams import api as hp  # ships with TensorBoard

        self.logdir = Path(logdir)
        self.train = tf.summary.create_file_writer(str(self.logdir / "train"))
        self.validation = tf.summary.create_file_writer(str(self.logdir / "validation"))
        self._steps: list[int] = []
        self._losses: list[float] = []
        self._write = _make_batch_writer(self.train)
        with self.train.as_default():
            hp.hparams(hparams_of(config), trial_id=run_name or self.logdir.name)

    def record(self, event: Any) -> None:
        if isinstance(event, BatchEnd):
            self._steps.append(event.step)
            self._losses.append(event.loss)
            if len(self._steps) >= FLUSH_BATCHES:
                self.flush()
        elif isinstance(event, EpochEnd):
            self.flush()
            self.epoch(event.epoch, event.metrics)

    def batches(self, steps: Iterable[int], losses: Iterable[float]) -> None:
        """Many batch losses at once (a run written after the fact)."""
        steps = np.asarray(steps, np.int64)
        if len(steps):
            self._write(tf.constant(steps), tf.constant(np.asarray(losses, np.float32)))

    def epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        """Epoch metrics: `val_*` to validation/, the others to train/, as `epoch_<name>`."""
        for writer, prefix in ((self.train, ""), (self.validation, "val_")):
            values = {
                name.removeprefix(prefix): value
                for name, value in metrics.items()
                if name.startswith(prefix) and (prefix or not name.startswith("val_"))
            }
            with writer.as_default():
                for name, value in values.items():
                    if math.isfinite(value):
                        tf.summary.scalar(f"epoch_{name}", value, step=epoch)

    def flush(self) -> None:
        if self._steps:
            self.batches(self._steps, self._losses)
            self._steps, self._losses = [], []
        self.train.flush()
        self.validation.flush()

    def close(self) -> None:
        self.flush()
        self.train.close()
        self.validation.close()


def _make_batch_writer(writer: tf.summary.SummaryWriter):
    from tensorboard.plugins.scalar import metadata

    # tf.summary.write takes the tag as given (tf.summary.scalar would prefix the loop's name
    # scope, "while/"), with the scalar plugin's metadata so TensorBoard draws it as a scalar.
    scalar = metadata.create_summary_metadata(display_name="batch_loss", description="")

    @tf.function(reduce_retracing=True)
    def write(steps: tf.Tensor, losses: tf.Tensor) -> None:
        with writer.as_default():
            for i in tf.range(tf.shape(losses)[0]):
                tf.summary.write("batch_loss", losses[i], step=steps[i], metadata=scalar)

    return write


EPOCH_FIELDS = ("epoch", "step", "elapsed_s", "samples_seen", "epoch_progress")


def write_run(
    logdir: str | Path,
    config: RunConfig,
    steps: Any,
    losses: Any,
    epochs: Iterable[dict[str, Any]],
    run_name: str = "",
) -> None:
    """A run written after the fact: every batch loss, then each epoch row's metrics (rows as
    `History.epochs()` gives them)."""
    log = TensorBoardLog(logdir, config, run_name)
    try:
        log.batches(steps, losses)
        for row in epochs:
            metrics = {k: float(v) for k, v in row.items() if k not in EPOCH_FIELDS}
            log.epoch(int(row["epoch"]), metrics)
    finally:
        log.close()


def write_history(logdir: str | Path, config: RunConfig, history: Any, run_name: str = "") -> None:
    """A finished (or interrupted) run's `trainer.History` as event files in `logdir`."""
    epochs = history.epochs().to_dict("records")
    write_run(logdir, config, history.column("step"), history.column("loss"), epochs, run_name)
