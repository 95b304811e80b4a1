"""`train`: the GradientTape loop as a generator of per-batch, per-epoch and final events."""

from __future__ import annotations

import math
import time
from collections.abc import Callable, Generator, Iterator, Mapping
from dataclasses import dataclass, field

import keras
import numpy as np
import tensorflow as tf

from trainer.budget import steps_per_epoch
from trainer.config import RunConfig
from trainer.data import Dataset, split_validation
from trainer.datasets import dataset_for
from trainer.distribute import make_strategy, spans_workers
from trainer.events import STOP, BatchEnd, EpochEnd, Event, TrainingEnd
from trainer.model import build_model, make_loss, make_metrics, make_optimizer, target_scale
from trainer.orders import epoch_orders
from trainer.steps import Arrays, make_evaluate, make_train_chunk

# Wall time one compiled chunk should take: long enough that Python's per-call overhead vanishes,
# short enough that the first losses and every pause/stop show within a fraction of a second.
CHUNK_TARGET_S = 0.1
EVAL_BATCH = 1024
# A batch loss this many times the first batch's is an explosion: the run has diverged even if
# the loss stays finite (a stable softmax cross-entropy rarely reaches inf; it blows up, then
# the ReLUs die and it goes flat, having learned nothing). No healthy run rises 10,000-fold.
EXPLOSION_FACTOR = 1e4


@dataclass
class Pace:
    """Between a consumer and the loop: how far the model has trained, and how far it may.

    The loop trains a chunk of steps per compiled call and then yields their batches one by one,
    so the model is ahead of the last `BatchEnd` pulled until the chunk is consumed. A consumer
    that pauses mid-chunk and wants the model to match what it has seen either pulls up to
    `trained_step` (those batches are computed already) or, before the next chunk starts, sets
    `chunk_limit` so that the chunk ends where it will pause (stepping one interval).
    """

    trained_step: int = -1  # global index of the last step the model's weights include
    chunk_limit: int | None = None  # most steps in the next compiled call (None: no limit)


@dataclass
class Training:
    """A run built and ready to train: what a caller needs to know before the first batch.

    `events` is the generator `train` returns; nothing has trained until it is pulled.
    """

    config: RunConfig
    dataset: Dataset  # as trained on: the config's validation split held out
    model: keras.Model  # the model `events` trains (updated in place)
    strategy: tf.distribute.Strategy
    steps_per_epoch: int
    events: Generator[Event, object, None]
    pace: Pace
    _setup: _Setup | None = field(default=None, repr=False)

    def warm_up(self) -> None:
        """Build the optimizer and metrics and trace the compiled train step and evaluation
        now, before the first pull: the first batch then trains at once (a server can get a
        run ready while its user is still looking at the page). What the run computes does not
        change. Call it before pulling `events`; later it does nothing."""
        if self._setup is None or self._setup.parts is not None:
            return
        _prime(self._setup.get(), len(self.dataset.x_train))

    def close(self) -> None:
        """End the run where it is, as `events.close()` does, and let its compiled functions
        and data tensors go, also when it was warmed up and never pulled."""
        self.events.close()
        if self._setup is not None:
            self._setup.drop()

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.epochs

    @property
    def replicas(self) -> int:
        """Replicas in sync under the strategy: each takes `batch_size / replicas` samples."""
        return self.strategy.num_replicas_in_sync


def prepare(
    config: RunConfig,
    dataset: Dataset | None = None,
    model: keras.Model | None = None,
    strategy: tf.distribute.Strategy | None = None,
    *,
    checkpoint_dir: str | None = None,
    checkpoint_every_s: float = 0.0,
) -> Training:
    """Build strategy, data split and model for `config`, and the generator that trains them.

    The one entry the CLI, the run service's workers and the benchmarks share: the caller gets
    the model, the steps per epoch and the total steps before any training happens. Arguments
    as for `train`; `train(...)` is `prepare(...).events`. `checkpoint_every_s` > 0 skips an
    epoch's checkpoint when the last one is more recent than that (the run service keeps runs
    with thousands of short epochs, where a save per epoch would cost more than the training).
    """
    if not isinstance(config, RunConfig):
        raise ValueError(f"config must be a trainer.RunConfig. Received: config={config!r}")
    data = dataset if dataset is not None else dataset_for(config)
    if data.task != config.task:
        raise ValueError(
            f"RunConfig.task is {config.task!r} but dataset {data.name!r} is a {data.task} "
            f"task. Set task={data.task!r}."
        )
    data = split_validation(data, config.validation_split, config.seed)
    strategy = strategy or make_strategy(config.strategy)
    if model is None:
        with strategy.scope():
            model = build_model(config, data)
    pace = Pace()
    saver = _Checkpointer(checkpoint_dir, checkpoint_every_s)
    setup = _Setup(lambda: _build(config, data, model, strategy, saver))
    events = _run(config, setup, model, strategy, saver, pace)
    per_epoch = steps_per_epoch(len(data.x_train), config.batch_size)
    return Training(config, data, model, strategy, per_epoch, events, pace, setup)


def train(
    config: RunConfig,
    dataset: Dataset | None = None,
    model: keras.Model | None = None,
    strategy: tf.distribute.Strategy | None = None,
    *,
    checkpoint_dir: str | None = None,
) -> Generator[Event, object, None]:
    """Train as the Keras guide's custom loop does, yielding an event for every batch.

    Yields `BatchEnd` for every batch, `EpochEnd` after each epoch (with validation metrics when
    there is validation data), and `TrainingEnd` last. `dataset` defaults to the registry entry
    named by `config.dataset`; `model` to `build_model(config, dataset)` (a given model trains
    from the weights it has); `strategy` to the one named by `config.strategy`.

    The consumer pauses by not pulling, stops gracefully with `gen.send(trainer.STOP)` (the
    batches already computed are still yielded, then `TrainingEnd(reason="stopped")`), or ends
    at once with `gen.close()`.

    With `checkpoint_dir`, model, optimizer and epoch are checkpointed after every epoch; a run
    started with a directory that holds a checkpoint resumes after its last epoch, on the same
    data order, so the losses continue exactly as if it had never stopped.
    """
    return prepare(config, dataset, model, strategy, checkpoint_dir=checkpoint_dir).events


@dataclass
class _Counters:
    step: int = -1
    epoch: int = 0
    samples: int = 0
    elapsed: float = 0.0
    first_loss: float | None = None
    limit: float = math.inf  # a loss above this is an explosion (set from the first loss)


@dataclass
class _Parts:
    """What a run's loop needs before its first step: metrics, the compiled chunk and
    evaluation, the epoch orders. Built by `_build` at the first pull, or earlier by
    `Training.warm_up`."""

    train_metrics: Mapping[str, keras.metrics.Metric]
    val_metrics: Mapping[str, keras.metrics.Metric]
    unit: float  # losses are shown times this: the target's variance for a regression
    chunk: Callable
    evaluate: Callable | None
    orders: Iterator[tf.Tensor]
    batch_sizes: np.ndarray


class _Setup:
    """Builds a run's `_Parts` once, when first asked: the loop asks at its first pull, a
    caller that wants the first batch to train at once asks earlier (`Training.warm_up`)."""

    def __init__(self, build: Callable[[], _Parts]) -> None:
        self._build: Callable[[], _Parts] | None = build
        self.parts: _Parts | None = None

    def get(self) -> _Parts:
        if self.parts is None:
            if self._build is None:
                raise RuntimeError("This run has ended: its compiled step is gone.")
            self.parts = self._build()
        return self.parts

    def drop(self) -> None:
        """Let the compiled functions (and the data tensors they hold) go."""
        self.parts, self._build = None, None


def _build(
    config: RunConfig,
    data: Dataset,
    model: keras.Model,
    strategy: tf.distribute.Strategy,
    saver: _Checkpointer,
) -> _Parts:
    # TF's global seed pairs with each op seed (the epoch shuffle's too): fixing it here makes the
    # batch order a function of config.seed alone, as in an exported script.
    keras.utils.set_random_seed(config.seed)
    _, target_std = target_scale(data)
    with strategy.scope():
        optimizer = make_optimizer(config)
        # Its slots now, not inside the first compiled call: a tf.function that creates
        # variables traces twice (once to create them, once without), this one once.
        optimizer.build(model.trainable_variables)
        loss_fn = make_loss(data.task, target_std)
        train_metrics = make_metrics(data.task)
        val_metrics = make_metrics(data.task, prefix="val_")
    regression = data.task == "regression"
    train_arrays = _to_arrays(data.x_train, data.y_train, data.scale, regression)
    chunk = make_train_chunk(
        model,
        optimizer,
        loss_fn,
        train_metrics,
        strategy,
        train_arrays,
        config.batch_size,
        run_eagerly=config.run_eagerly,
    )
    evaluate = None
    if data.x_val is not None and len(data.x_val):
        val_arrays = _to_arrays(data.x_val, data.y_val, data.scale, regression)
        evaluate = make_evaluate(
            model, loss_fn, val_metrics, strategy, val_arrays, run_eagerly=config.run_eagerly
        )
    saver.track(model, optimizer, strategy)
    return _Parts(
        train_metrics,
        val_metrics,
        # A regression trains on the standardized target's squared error (see `make_loss`);
        # every loss shown is that times std^2: the mean squared error in the target's own
        # units (an L2 penalty, part of the loss, is scaled with it).
        target_std**2,
        chunk,
        evaluate,
        epoch_orders(len(data.x_train), config),
        _batch_sizes(len(data.x_train), config.batch_size),
    )


def _prime(parts: _Parts, n: int) -> None:
    """Trace and run once the compiled chunk and evaluation with the argument types the loop
    passes, so that its first calls find them ready: tracing is half the cost of a first call,
    TensorFlow's first execution of the traced graph (optimizing and instantiating it) the
    other half. The chunk runs zero steps; the evaluation's pass is reset. Nothing the run
    computes changes."""
    if not hasattr(parts.chunk, "get_concrete_function"):
        return  # run_eagerly: nothing to trace
    no_steps = parts.chunk(
        tf.zeros([n], tf.int64), tf.constant(0), tf.constant(0), tf.constant(0.0)
    )
    if no_steps.shape != (0,):
        raise RuntimeError(f"A chunk of no steps trained {no_steps.shape[0]}.")
    if parts.evaluate is not None:
        parts.evaluate(tf.constant(EVAL_BATCH))
        for metric in parts.val_metrics.values():
            metric.reset_state()


def _run(
    config: RunConfig,
    setup: _Setup,
    model: keras.Model,
    strategy: tf.distribute.Strategy,
    saver: _Checkpointer,
    pace: Pace,
) -> Generator[Event, object, None]:
    parts = setup.get()
    unit, chunk, evaluate, orders = parts.unit, parts.chunk, parts.evaluate, parts.orders
    train_metrics, val_metrics, batch_sizes = (
        parts.train_metrics,
        parts.val_metrics,
        parts.batch_sizes,
    )
    del parts
    # Workers of a cluster must run the same steps per call: each step's all-reduce waits for
    # its twin on every worker, so chunk sizes chosen from each worker's own clock deadlock the
    # cluster as soon as one worker is slower (seen on a loaded 2-core box).
    sizer = _ChunkSizer(config.steps_per_execution, adapt=not spans_workers(strategy))
    early = _EarlyStopping(config.patience, keep_best=config.restore_best_weights)
    first_epoch, c = saver.restore()
    for _ in range(first_epoch):  # replay the shuffle sequence: epoch k gets epoch k's order
        next(orders)
    c.step = first_epoch * len(batch_sizes) - 1
    pace.trained_step = c.step
    c.samples = first_epoch * int(batch_sizes.sum())
    metrics: dict[str, float] = {}
    try:
        for epoch in range(first_epoch, config.epochs):
            c.epoch = epoch
            order = next(orders)
            batch = 0
            while batch < len(batch_sizes):
                want = min(sizer.size, len(batch_sizes) - batch)
                if pace.chunk_limit is not None:
                    want = max(1, min(want, pace.chunk_limit))
                start = time.perf_counter()
                limit = tf.constant(c.limit, tf.float32)
                losses = chunk(order, tf.constant(batch), tf.constant(want), limit).numpy()
                spent = time.perf_counter() - start
                sizer.observe(len(losses), spent)
                pace.trained_step = c.step + len(losses)
                stop = False
                for k, loss in enumerate(losses.tolist()):
                    c.step += 1
                    c.samples += int(batch_sizes[batch])
                    event = BatchEnd(
                        step=c.step,
                        epoch=epoch,
                        batch=batch,
                        loss=loss * unit,
                        samples_seen=c.samples,
                        elapsed_s=c.elapsed + spent * (k + 1) / len(losses),
                    )
                    batch += 1
                    stop = (yield event) == STOP or stop
                c.elapsed += spent
                if len(losses) and c.first_loss is None and math.isfinite(losses[0]):
                    c.first_loss = float(losses[0])
                    c.limit = min(EXPLOSION_FACTOR * max(c.first_loss, 1e-3), 3e38)
                if len(losses) and (not math.isfinite(losses[-1]) or losses[-1] > c.limit):
                    message = _diverged_message(c, float(losses[-1]), unit, config)
                    yield _end("diverged", c, metrics, model, message)
                    return
                if stop:
                    yield _end("stopped", c, metrics, model, "Stopped by request.")
                    return
            metrics = _read_metrics(train_metrics, unit)
            if evaluate is not None:
                evaluate(tf.constant(EVAL_BATCH))
                metrics.update(_read_metrics(val_metrics, unit))
            saver.save(epoch, c.elapsed)
            if (yield EpochEnd(epoch, metrics, c.step, c.elapsed)) == STOP:
                yield _end("stopped", c, metrics, model, "Stopped by request.")
                return
            if early.should_stop(metrics.get("val_loss", metrics["loss"]), epoch, metrics, model):
                message = (
                    f"Early stopped after epoch {epoch + 1}: no better validation loss "
                    f"for {config.patience} epochs (best {early.best:.4g})."
                )
                metrics, message = early.restore(model, epoch, metrics, message)
                yield _end("early_stopped", c, metrics, model, message)
                return
        message = f"Completed {config.epochs} epoch{'' if config.epochs == 1 else 's'}."
        metrics, message = early.restore(model, config.epochs - 1, metrics, message)
        yield _end("completed", c, metrics, model, message)
    finally:
        # Drop the compiled functions (and the data tensors they hold) promptly, whether the
        # run ended, was stopped or was abandoned with close().
        setup.drop()
        del chunk, evaluate, orders


def _to_arrays(x: np.ndarray, y: np.ndarray, scale: float, regression: bool) -> Arrays:
    with tf.device("/cpu:0"):
        return Arrays(tf.constant(x), tf.constant(y), float(scale), regression)


def _batch_sizes(n: int, batch_size: int) -> np.ndarray:
    sizes = np.full(math.ceil(n / batch_size), batch_size, dtype=np.int64)
    if n % batch_size:
        sizes[-1] = n % batch_size
    return sizes


def _read_metrics(metrics: Mapping[str, keras.metrics.Metric], unit: float) -> dict[str, float]:
    """The metrics' values, then reset; the losses times `unit` (the target's units)."""
    values = {name: float(metric.result()) for name, metric in metrics.items()}
    for metric in metrics.values():
        metric.reset_state()
    for name in ("loss", "val_loss"):
        if name in values:
            values[name] *= unit
    return values


def _end(
    reason: str, c: _Counters, metrics: dict[str, float], model: keras.Model, message: str
) -> TrainingEnd:
    return TrainingEnd(reason, c.step, c.epoch, c.elapsed, dict(metrics), message, model)


def _diverged_message(c: _Counters, loss: float, unit: float, config: RunConfig) -> str:
    """What happened, in the units the charts show, and what to change: the steps were too
    big for this model and data, so a smaller learning rate, or an optimizer that adapts its
    step to each weight."""
    what = (
        ("became NaN (not a number)" if math.isnan(loss) else "became infinite")
        if not math.isfinite(loss)
        else f"exploded to {loss * unit:.3g}, over {EXPLOSION_FACTOR:,.0f}x its first value "
        f"({c.first_loss * unit:.3g}),"
    )
    rate = config.learning_rate
    advice = f"a lower learning rate, e.g. a tenth: {rate / 10:g} instead of {rate:g}"
    if config.optimizer != "adam":
        advice += "; or the adam optimizer, which adapts each weight's step size"
    return (
        f"Diverged: the loss {what} at step {c.step} (epoch {c.epoch + 1}); training stopped "
        f"there: the updates were too large for this model and data. Try {advice}."
    )


class _Checkpointer:
    """Model, optimizer, the last finished epoch and the training time so far in a
    tf.train.CheckpointManager folder (TF writes checkpoints atomically: a crash mid-save
    leaves the previous one intact). No folder: nothing saved, nothing restored."""

    def __init__(self, directory: str | None, every_s: float = 0.0) -> None:
        self.directory = directory
        self.every_s = every_s
        self.manager: tf.train.CheckpointManager | None = None
        self.last_save = time.perf_counter()  # the period counts from the start of training

    def track(self, model: keras.Model, optimizer, strategy: tf.distribute.Strategy) -> None:
        if self.directory is None:
            return
        with strategy.scope():
            self.epoch = tf.Variable(-1, dtype=tf.int64, trainable=False)
            self.elapsed = tf.Variable(0.0, dtype=tf.float64, trainable=False)
        # Dropout's random stream is state too: without it a resumed run drops other units.
        rng = [
            layer.seed_generator.state
            for layer in model.layers
            if getattr(layer, "seed_generator", None) is not None
        ]
        checkpoint = tf.train.Checkpoint(
            model=model, optimizer=optimizer, epoch=self.epoch, elapsed=self.elapsed, rng=rng
        )
        self.manager = tf.train.CheckpointManager(checkpoint, self.directory, max_to_keep=2)
        self.checkpoint = checkpoint
        self.last_save = time.perf_counter()

    def restore(self) -> tuple[int, _Counters]:
        """The first epoch to train (0, or the one after the last checkpointed epoch), and the
        counters as they stood then: the training clock goes on from where it was."""
        if self.manager is None or self.manager.latest_checkpoint is None:
            return 0, _Counters()
        self.checkpoint.restore(self.manager.latest_checkpoint).assert_existing_objects_matched()
        return int(self.epoch.numpy()) + 1, _Counters(elapsed=float(self.elapsed.numpy()))

    def save(self, epoch: int, elapsed: float) -> None:
        if self.manager is None or time.perf_counter() - self.last_save < self.every_s:
            return
        self.epoch.assign(epoch)
        self.elapsed.assign(elapsed)
        self.manager.save(checkpoint_number=epoch)
        self.last_save = time.perf_counter()


class _ChunkSizer:
    """Steps per compiled call: start small so the first losses appear at once, then grow until
    a call takes about CHUNK_TARGET_S, capped at `steps_per_execution`; with `adapt` off (a
    cluster), always `steps_per_execution`."""

    def __init__(self, most: int, adapt: bool = True) -> None:
        self.most = most
        self.adapt = adapt
        self.size = min(4, most) if adapt else most
        self.calls = 0

    def observe(self, steps: int, seconds: float) -> None:
        self.calls += 1
        if not self.adapt or self.calls == 1 or steps == 0:
            return  # the first call includes tracing: its time says nothing about a step
        per_step = seconds / steps
        self.size = int(min(self.most, max(1, CHUNK_TARGET_S / max(per_step, 1e-9))))


class _EarlyStopping:
    """Counts epochs without a better validation loss; with `keep_best`, keeps a copy of the
    best epoch's weights (host memory, one model's worth) to end the run with."""

    def __init__(self, patience: int, keep_best: bool = False) -> None:
        self.patience = patience
        self.keep_best = keep_best
        self.best = math.inf
        self.waited = 0
        self.best_epoch = -1
        self.best_metrics: dict[str, float] = {}
        self.best_weights: list | None = None

    def should_stop(
        self, value: float, epoch: int, metrics: dict[str, float], model: keras.Model
    ) -> bool:
        if value < self.best:
            self.best, self.waited, self.best_epoch = value, 0, epoch
            if self.keep_best:
                self.best_metrics, self.best_weights = dict(metrics), model.get_weights()
            return False
        self.waited += 1
        return self.patience > 0 and self.waited >= self.patience

    def restore(
        self, model: keras.Model, last_epoch: int, metrics: dict[str, float], message: str
    ) -> tuple[dict[str, float], str]:
        """The run's final metrics and message, after putting the best weights back."""
        if self.best_weights is None or self.best_epoch == last_epoch:
            return metrics, message
        model.set_weights(self.best_weights)
        return self.best_metrics, (
            f"{message} Restored the weights of epoch {self.best_epoch + 1}, the best "
            f"(validation loss {self.best:.4g})."
        )
