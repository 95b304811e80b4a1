"""Compiled train/eval functions, built by factories from (model, optimizer, loss, strategy).

The train step is the Keras guide's: forward pass and loss inside `tf.GradientTape`,
`tape.gradient` and `optimizer.apply_gradients` outside. Speed comes from running several steps
per compiled call (Keras' `steps_per_execution` idea): one `tf.function` loops over the iterator
and returns the chunk's per-batch losses as one tensor, so Python runs once per chunk while every
batch's loss still reaches the consumer. The same chunk serves one device and `tf.distribute`:
on one device `strategy.run` and `strategy.reduce` are plain calls.

Data stays resident as tensors (uint8 images stay uint8). Each epoch's order is one index
tensor (the permutation `tf.data`'s shuffle buffer would produce); step b takes the global batch
`order[b*B:(b+1)*B]`, each replica gathers its own contiguous share of it (as
`experimental_distribute_dataset` splits a global batch), then casts and scales in-graph. No
per-step `tf.data` iterator: it is slower than indexing resident tensors (see benchmarks/).
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Mapping
from dataclasses import dataclass

import keras
import tensorflow as tf

SUM = tf.distribute.ReduceOp.SUM


class _FreshFunctionFilter(logging.Filter):
    """Every run builds its own compiled functions (a factory per model and optimizer), so their
    first calls always trace. TensorFlow's "frequent retracing" warning would fire on the sixth
    run of a long-lived server and teach nothing; hide it for these functions only."""

    def filter(self, record: logging.LogRecord) -> bool:
        text = record.getMessage()
        return not ("retracing" in text and ("make_train_chunk" in text or "make_evaluate" in text))


tf.get_logger().addFilter(_FreshFunctionFilter())


@dataclass(frozen=True)
class Arrays:
    """One split held as tensors on the host, plus how to turn a row of x into model input."""

    x: tf.Tensor
    y: tf.Tensor
    scale: float
    regression: bool

    def take(self, idx: tf.Tensor) -> tuple[tf.Tensor, tf.Tensor]:
        x = tf.cast(tf.gather(self.x, idx), tf.float32)
        if self.scale != 1.0:
            x = x * self.scale
        y = tf.gather(self.y, idx)
        if self.regression:
            y = tf.reshape(tf.cast(y, tf.float32), (-1, 1))
        return x, y


def replica_share(global_idx: tf.Tensor) -> tf.Tensor:
    """This replica's contiguous share of a global batch of indices (all of it on one device)."""
    ctx = tf.distribute.get_replica_context()
    replicas = ctx.num_replicas_in_sync
    if replicas == 1:
        return global_idx
    size = tf.shape(global_idx)[0]
    per = (size + replicas - 1) // replicas
    lo = tf.minimum(ctx.replica_id_in_sync_group * per, size)
    return global_idx[lo : tf.minimum(lo + per, size)]


def make_train_chunk(
    model: keras.Model,
    optimizer: keras.optimizers.Optimizer,
    loss_fn: keras.losses.Loss,
    metrics: Mapping[str, keras.metrics.Metric],
    strategy: tf.distribute.Strategy,
    data: Arrays,
    batch_size: int,
    run_eagerly: bool = False,
) -> Callable[[tf.Tensor, tf.Tensor, tf.Tensor], tf.Tensor]:
    """`chunk(order, first_batch, steps, limit)` runs train steps on batches first_batch,
    first_batch+1, ... of the epoch order and returns their losses, one per step.

    It stops early at the first non-finite loss (as Keras' TerminateOnNaN does) or the first
    loss above `limit` (an explosion), so the returned tensor may be shorter than `steps`.
    """
    loss_metric, *other_metrics = metrics.values()

    def replica_step(global_idx: tf.Tensor) -> tf.Tensor:
        x, y = data.take(replica_share(global_idx))
        # Divide by the real size of this global batch: the last batch of an epoch may be
        # short, and the guide's mean loss divides by its real size, not config.batch_size.
        global_size = tf.shape(global_idx)[0]
        with tf.GradientTape() as tape:
            outputs = model(x, training=True)
            loss = tf.nn.compute_average_loss(loss_fn(y, outputs), global_batch_size=global_size)
            if model.losses:
                loss += tf.nn.scale_regularization_loss(tf.add_n(model.losses))
        grads = tape.gradient(loss, model.trainable_weights)
        optimizer.apply_gradients(zip(grads, model.trainable_weights))
        for metric in other_metrics:
            metric.update_state(y, outputs)
        return loss

    def chunk(
        order: tf.Tensor, first_batch: tf.Tensor, steps: tf.Tensor, limit: tf.Tensor
    ) -> tf.Tensor:
        losses = tf.TensorArray(tf.float32, size=0, dynamic_size=True)
        for i in tf.range(steps):
            start = (first_batch + i) * batch_size
            global_idx = order[start : start + batch_size]
            per_replica = strategy.run(replica_step, args=(global_idx,))
            loss = strategy.reduce(SUM, per_replica, axis=None)
            losses = losses.write(i, loss)
            if not tf.math.is_finite(loss) or loss > limit:
                break
        chunk_losses = losses.stack()
        # The epoch's mean batch loss: one update per chunk with all its losses is the same
        # Mean as one update per step, for a fraction of the ops.
        loss_metric.update_state(chunk_losses)
        return chunk_losses

    return chunk if run_eagerly else tf.function(chunk, reduce_retracing=True)


def make_evaluate(
    model: keras.Model,
    loss_fn: keras.losses.Loss,
    metrics: Mapping[str, keras.metrics.Metric],
    strategy: tf.distribute.Strategy,
    data: Arrays,
    run_eagerly: bool = False,
) -> Callable[[object], None]:
    """`evaluate(batch_size)` updates the validation metrics over one pass of the data."""
    loss_metric, *other_metrics = metrics.values()
    size = tf.shape(data.y)[0]

    def replica_step(global_idx: tf.Tensor) -> None:
        x, y = data.take(replica_share(global_idx))
        outputs = model(x, training=False)
        per_example = loss_fn(y, outputs)
        if model.losses:
            # Like model.fit's val_loss: the regularization penalty is part of the loss.
            per_example += tf.add_n(model.losses)
        loss_metric.update_state(per_example)
        for metric in other_metrics:
            metric.update_state(y, outputs)

    def evaluate(batch_size: tf.Tensor) -> None:
        for start in tf.range(0, size, batch_size):
            global_idx = tf.range(start, tf.minimum(start + batch_size, size))
            strategy.run(replica_step, args=(global_idx,))

    return evaluate if run_eagerly else tf.function(evaluate, reduce_retracing=True)
