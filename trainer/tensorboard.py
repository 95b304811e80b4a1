"""A run as TensorBoard event files: `tensorboard --logdir DIR` shows it.

Written with `tf.summary`, in TensorBoard's and Keras' layout: `train/` holds the loss of every
batch (`batch_loss`, by step) and the epoch metrics (`epoch_loss`, `epoch_accuracy`...,
by epoch), `validation/` the validation metrics under the same tags (so the two overlay), and
the config goes to the HParams plugin, so several runs in one folder compare as a table.

Batch losses are buffered and written a block at a time by one compiled function (a summary op
per value inside it): about 11-35 us a value, against ~290 us for an eager `tf.summary.scalar`
call, which would have cost more than the training step itself. The function is traced once
per process: it takes the folder's writer as an argument (a handle from TensorFlow's summary
ops). A `tf.summary` writer is captured by a `tf.function` when it is traced, so each run's log
needed a function of its own, traced anew: ~35 ms a run, paid by every run of a TensorBoard
download of the Runs page.
"""

from __future__ import annotations

import functools
import math
import uuid
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
        self.train = EventWriter(self.logdir / "train")
        self.validation = EventWriter(self.logdir / "validation")
        self._steps: list[int] = []
        self._losses: list[float] = []
        summary = hp.hparams_pb(hparams_of(config), trial_id=run_name or self.logdir.name)
        self.train.raw(summary.SerializeToString())

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
            losses = tf.constant(np.asarray(losses, np.float32))
            batch_writer()(self.train.handle, tf.constant(steps), losses)

    def epoch(self, epoch: int, metrics: dict[str, float]) -> None:
        """Epoch metrics: `val_*` to validation/, the others to train/, as `epoch_<name>`."""
        for writer, prefix in ((self.train, ""), (self.validation, "val_")):
            values = {
                name.removeprefix(prefix): value
                for name, value in metrics.items()
                if name.startswith(prefix) and (prefix or not name.startswith("val_"))
            }
            for name, value in values.items():
                if math.isfinite(value):
                    writer.scalar(f"epoch_{name}", value, step=epoch)

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


class EventWriter:
    """One folder's event file, written through TensorFlow's summary ops on a writer handle
    that compiled functions take as an argument (see the module's docstring)."""

    def __init__(self, folder: Path) -> None:
        # A name of its own: ops given the same name share one writer. Closing removes it.
        self.handle = tf.raw_ops.SummaryWriter(shared_name=f"tapeboard-{uuid.uuid4().hex}")
        tf.raw_ops.CreateSummaryFileWriter(
            writer=self.handle,
            logdir=str(folder),
            max_queue=10,
            flush_millis=120_000,
            filename_suffix=".v2",  # as tf.summary names its files
        )

    def scalar(self, tag: str, value: float, step: int) -> None:
        """As `tf.summary.scalar` writes it: TensorBoard's scalar plugin draws it."""
        tf.raw_ops.WriteSummary(
            writer=self.handle,
            step=tf.constant(step, tf.int64),
            tensor=tf.constant(value, tf.float32),
            tag=tag,
            summary_metadata=scalar_metadata(tag),
        )

    def raw(self, summary: bytes) -> None:
        """A serialized `Summary` proto (the HParams plugin's), at step 0."""
        tf.raw_ops.WriteRawProtoSummary(
            writer=self.handle, step=tf.constant(0, tf.int64), tensor=summary
        )

    def flush(self) -> None:
        tf.raw_ops.FlushSummaryWriter(writer=self.handle)

    def close(self) -> None:
        tf.raw_ops.CloseSummaryWriter(writer=self.handle)


@functools.cache
def scalar_metadata(tag: str) -> bytes:
    """The scalar plugin's metadata for `tag`, serialized (what `tf.summary.scalar` adds)."""
    from tensorboard.plugins.scalar import metadata

    return metadata.create_summary_metadata(display_name=tag, description="").SerializeToString()


@functools.cache
def batch_writer():
    """`write(writer, steps, losses)`: every batch loss as a `batch_loss` scalar, in one call.
    One per process, traced once: the writer is an argument, not captured."""
    tag, summary_metadata = "batch_loss", scalar_metadata("batch_loss")

    @tf.function(
        input_signature=(
            tf.TensorSpec([], tf.resource),
            tf.TensorSpec([None], tf.int64),
            tf.TensorSpec([None], tf.float32),
        )
    )
    def write(writer: tf.Tensor, steps: tf.Tensor, losses: tf.Tensor) -> None:
        for i in tf.range(tf.shape(losses)[0]):
            tf.raw_ops.WriteSummary(
                writer=writer,
                step=steps[i],
                tensor=losses[i],
                tag=tag,
                summary_metadata=summary_metadata,
            )

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
