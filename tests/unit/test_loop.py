"""trainer.train: the event stream's contract, on tiny data (each test trains for a second)."""

import math

import keras
import numpy as np
import pytest
import tensorflow as tf

import trainer
from trainer import STOP, BatchEnd, EpochEnd, RunConfig, TrainingEnd


def tiny(task: str = "classification", n: int = 200, seed: int = 0) -> trainer.Dataset:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 4)).astype(np.float32)
    if task == "regression":
        return trainer.Dataset.from_arrays(x, x @ [1.0, -2.0, 0.5, 0.0], task="regression")
    y = (x[:, 0] + x[:, 1] > 0).astype(np.int32)
    return trainer.Dataset.from_arrays(x, y)


def config(**changes) -> RunConfig:
    base = dict(dataset="csv", batch_size=32, epochs=2, validation_split=0.25)
    return RunConfig(**{**base, **changes})


def batches(events) -> list[BatchEnd]:
    return [e for e in events if isinstance(e, BatchEnd)]


def test_every_batch_then_epochs_then_one_end():
    events = list(trainer.train(config(), tiny()))
    steps = batches(events)
    # 200 samples, 25% validation -> 150 train -> ceil(150/32) = 5 batches per epoch.
    assert [e.step for e in steps] == list(range(10))
    assert [e.batch for e in steps] == [0, 1, 2, 3, 4] * 2
    assert [e.samples_seen for e in steps][:5] == [32, 64, 96, 128, 150]
    assert steps[-1].samples_seen == 300
    assert all(isinstance(e.loss, float) and math.isfinite(e.loss) for e in steps)
    assert all(b.elapsed_s <= a.elapsed_s for b, a in zip(steps, steps[1:]))
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert [e.epoch for e in epochs] == [0, 1]
    assert set(epochs[0].metrics) == {"loss", "accuracy", "val_loss", "val_accuracy"}
    assert isinstance(events[-1], TrainingEnd) and events[-1].reason == "completed"
    assert events[-1].step == 9 and isinstance(events[-1].model, keras.Model)
    assert sum(isinstance(e, TrainingEnd) for e in events) == 1


def test_epoch_loss_is_the_mean_of_its_batch_losses():
    events = list(trainer.train(config(epochs=1), tiny()))
    mean = np.mean([e.loss for e in batches(events)])
    assert [e for e in events if isinstance(e, EpochEnd)][0].metrics["loss"] == pytest.approx(
        mean, rel=1e-5
    )


def test_same_seed_gives_the_same_losses_and_another_seed_does_not():
    def losses(seed):
        return [e.loss for e in batches(trainer.train(config(seed=seed), tiny()))]

    assert losses(3) == losses(3)
    assert losses(3) != losses(4)


def test_learning_reduces_the_loss():
    events = list(trainer.train(config(optimizer="adam", learning_rate=0.05, epochs=8), tiny()))
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert epochs[-1].metrics["loss"] < 0.5 * epochs[0].metrics["loss"]
    assert epochs[-1].metrics["val_accuracy"] > 0.9


def test_regression_reports_mse_and_mae():
    events = list(trainer.train(config(task="regression", optimizer="adam"), tiny("regression")))
    assert set(events[-1].metrics) == {"loss", "mae", "val_loss", "val_mae"}


def test_task_mismatch_is_a_value_error_naming_both():
    with pytest.raises(ValueError, match="task"):
        trainer.train(config(task="classification"), tiny("regression"))


def test_stop_yields_the_computed_batches_then_a_stopped_end():
    gen = trainer.train(config(epochs=50), tiny())
    first = next(gen)
    rest = [gen.send(STOP)]
    rest += list(gen)
    assert isinstance(first, BatchEnd)
    end = rest[-1]
    assert isinstance(end, TrainingEnd) and end.reason == "stopped"
    steps = [first] + batches(rest)
    assert [e.step for e in steps] == list(range(len(steps)))
    assert end.step == steps[-1].step < 50 * 5 - 1


def test_pause_is_not_pulling_and_close_ends_without_error():
    gen = trainer.train(config(epochs=50), tiny())
    head = [next(gen) for _ in range(3)]
    resumed = next(gen)  # nothing ran while we did not pull
    assert resumed.step == head[-1].step + 1
    gen.close()
    with pytest.raises(StopIteration):
        next(gen)


def test_divergence_stops_at_the_first_non_finite_loss():
    rng = np.random.default_rng(0)
    x = (rng.normal(size=(256, 4)) * 1e3).astype(np.float32)
    data = trainer.Dataset.from_arrays(x, x.sum(axis=1), task="regression")
    events = list(trainer.train(config(task="regression", learning_rate=10.0, epochs=20), data))
    end = events[-1]
    assert end.reason == "diverged" and "learning rate" in end.message
    losses = [e.loss for e in batches(events)]
    assert not math.isfinite(losses[-1]) and all(math.isfinite(v) for v in losses[:-1])
    assert end.step == len(losses) - 1


def test_early_stopping_on_validation_loss():
    # Random labels and a big, fast-learning model: it overfits, so val_loss soon rises.
    rng = np.random.default_rng(1)
    x = rng.normal(size=(200, 4)).astype(np.float32)
    data = trainer.Dataset.from_arrays(x, rng.integers(0, 2, 200).astype(np.int32))
    events = list(
        trainer.train(
            config(
                optimizer="adam", learning_rate=0.1, epochs=100, hidden_units=(64, 64), patience=2
            ),
            data,
        )
    )
    end = events[-1]
    epochs = [e for e in events if isinstance(e, EpochEnd)]
    assert end.reason == "early_stopped" and len(epochs) < 100
    best = min(range(len(epochs)), key=lambda i: epochs[i].metrics["val_loss"])
    assert len(epochs) - 1 - best == 2


def test_shuffle_false_takes_batches_in_dataset_order():
    # With lr tiny, batch losses are (almost) those of the initial model on consecutive slices.
    data = tiny(n=96)
    model_config = config(shuffle=False, validation_split=0.0, learning_rate=1e-9, epochs=1)
    keras.utils.set_random_seed(0)
    model = trainer.build_model(model_config, data)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    expected = [
        float(loss_fn(data.y_train[i : i + 32], model(data.x_train[i : i + 32])))
        for i in range(0, 96, 32)
    ]
    got = [e.loss for e in batches(trainer.train(model_config, data, model=model))]
    np.testing.assert_allclose(got, expected, rtol=1e-5)


def test_regularization_losses_are_added_to_the_batch_loss():
    data = tiny(n=64)
    base = config(shuffle=False, validation_split=0.0, learning_rate=1e-9, epochs=1)

    def first_loss(l2):
        keras.utils.set_random_seed(0)
        model = trainer.build_model(base.replace(l2=l2), data)
        penalty = float(sum(model.losses)) if model.losses else 0.0
        return next(iter(trainer.train(base.replace(l2=l2), data, model=model))).loss, penalty

    plain, _ = first_loss(0.0)
    regularized, penalty = first_loss(0.1)
    assert penalty > 0
    assert regularized == pytest.approx(plain + penalty, rel=1e-5)


@pytest.mark.parametrize("l1, l2", [(0.01, 0.0), (0.0, 0.02), (0.01, 0.02)])
def test_the_penalty_is_l1_times_the_sum_of_abs_weights_plus_l2_times_their_squares(l1, l2):
    model = trainer.build_model(config(l1=l1, l2=l2), tiny(n=8))
    kernels = [layer.kernel.numpy() for layer in model.layers if hasattr(layer, "kernel")]
    expected = sum(l1 * np.abs(k).sum() + l2 * np.square(k).sum() for k in kernels)
    assert float(sum(model.losses)) == pytest.approx(expected, rel=1e-5)


def test_no_penalty_adds_nothing_to_the_loss():
    assert not trainer.build_model(config(l1=0.0, l2=0.0), tiny(n=8)).losses


@pytest.mark.parametrize("schedule", ["constant", "exponential", "cosine", "step"])
def test_learning_rate_curve_follows_the_schedule(schedule):
    curve = trainer.learning_rate_curve(
        RunConfig(learning_rate=0.1, lr_schedule=schedule, decay_steps=100, decay_rate=0.5), 300
    )
    steps, rates = zip(*curve)
    assert steps[0] == 0 and steps[-1] == 299
    assert rates[0] == pytest.approx(0.1)
    if schedule == "constant":
        assert rates == pytest.approx([0.1] * len(rates))
    elif schedule == "cosine":
        assert rates[-1] == pytest.approx(0.0, abs=1e-6)
    else:
        assert rates[-1] == pytest.approx(
            0.1 * 0.5 ** (299 / 100 if schedule == "exponential" else 2), rel=1e-4
        )


def test_caller_strategy_is_accepted():
    import tensorflow as tf

    events = list(trainer.train(config(epochs=1), tiny(), strategy=tf.distribute.get_strategy()))
    assert events[-1].reason == "completed"


def test_chunks_start_small_then_grow_to_a_tenth_of_a_second_capped():
    from trainer.loop import _ChunkSizer

    sizer = _ChunkSizer(most=32)
    assert sizer.size == 4  # the first call (which also traces) shows the first loss at once
    sizer.observe(4, 2.0)  # tracing time says nothing about a step
    assert sizer.size == 4
    sizer.observe(4, 0.04)  # 10 ms a step -> 10 steps make a tenth of a second
    assert sizer.size == 10
    sizer.observe(10, 0.001)  # fast steps: capped at steps_per_execution
    assert sizer.size == 32


def test_cluster_workers_keep_one_chunk_size_whatever_their_clocks_say():
    # Each step's all-reduce waits for its twin on every worker: sizes picked from each
    # worker's own timing hung a two-worker cluster on a loaded box.
    from trainer.loop import _ChunkSizer

    sizer = _ChunkSizer(most=32, adapt=False)
    for seconds in (2.0, 0.04, 5.0, 0.001):
        sizer.observe(sizer.size, seconds)
        assert sizer.size == 32


def test_only_a_tf_config_cluster_spans_workers():
    from trainer.distribute import spans_workers

    assert not spans_workers(tf.distribute.get_strategy())


def test_run_eagerly_runs_the_same_step_uncompiled_with_the_same_losses():
    config = trainer.RunConfig(dataset="xor", num_samples=200, batch_size=32, epochs=2, seed=3)
    seen: list[bool] = []

    def model_that_reports() -> keras.Model:
        # The Lambda runs on every call when eager, and only while tracing when compiled.
        keras.utils.set_random_seed(config.seed)
        report = keras.layers.Lambda(lambda x: (seen.append(tf.executing_eagerly()), x)[1])
        return keras.Sequential(
            [keras.Input((2,)), report, keras.layers.Dense(8, activation="relu"),
             keras.layers.Dense(2)]
        )  # fmt: skip

    def losses(eager: bool) -> list[float]:
        model = model_that_reports()
        seen.clear()  # building the model called the Lambda once, symbolically
        run = trainer.train(config.replace(run_eagerly=eager), model=model)
        return [e.loss for e in run if isinstance(e, trainer.BatchEnd)]

    compiled = losses(eager=False)
    assert not any(seen)  # traced, never run in Python per batch
    eager = losses(eager=True)
    assert seen and all(seen) and seen.count(True) >= len(eager)  # every batch in Python
    np.testing.assert_allclose(eager, compiled, rtol=1e-6)


@pytest.mark.parametrize("patience", [0, 3])
def test_restore_best_weights_ends_with_the_best_epochs_model(patience):
    # Adam at 0.05 on a small spiral overshoots: its best epoch is not its last.
    base = trainer.RunConfig(
        dataset="spiral", num_samples=300, epochs=12, batch_size=16, optimizer="adam",
        learning_rate=0.05, patience=patience,
    )  # fmt: skip
    data = trainer.split_validation(trainer.load_dataset("spiral", num_samples=300), 0.2, 0)

    def val_loss_of(model) -> float:
        logits = model(data.x_val.astype("float32"), training=False)
        return float(
            keras.losses.SparseCategoricalCrossentropy(from_logits=True)(data.y_val, logits)
        )

    plain = list(trainer.train(base))
    losses = [e.metrics["val_loss"] for e in plain if isinstance(e, EpochEnd)]
    best = int(np.argmin(losses))
    assert best < len(losses) - 1, "the setup must have a best epoch before the last"
    assert val_loss_of(plain[-1].model) == pytest.approx(losses[-1], rel=1e-4)

    kept = list(trainer.train(base.replace(restore_best_weights=True)))
    end = kept[-1]
    assert f"Restored the weights of epoch {best + 1}" in end.message
    assert end.metrics["val_loss"] == pytest.approx(losses[best], rel=1e-6)
    assert val_loss_of(end.model) == pytest.approx(losses[best], rel=1e-4)


@pytest.mark.parametrize("task", ["classification", "regression"])
def test_warm_up_changes_nothing_the_run_computes_and_leaves_nothing_to_trace(task):
    cfg = config(epochs=3, dropout=0.2, task=task)
    cold = list(trainer.train(cfg, tiny(task)))

    training = trainer.prepare(cfg, tiny(task))
    training.warm_up()
    parts = training._setup.parts
    traced = (parts.chunk.experimental_get_tracing_count(),)
    traced += (parts.evaluate.experimental_get_tracing_count(),)
    assert traced == (1, 1)  # the optimizer is built first: one trace, not two
    warm = list(training.events)

    # Neither function was traced again when the loop called them.
    assert parts.chunk.experimental_get_tracing_count() == 1
    assert parts.evaluate.experimental_get_tracing_count() == 1
    assert [e.loss for e in batches(warm)] == [e.loss for e in batches(cold)]
    epochs = [e.metrics for e in warm if isinstance(e, EpochEnd)]
    assert epochs == [e.metrics for e in cold if isinstance(e, EpochEnd)]
    assert warm[-1].metrics == cold[-1].metrics
    # The compiled functions go with the run.
    assert training._setup.parts is None


def test_warm_up_after_the_first_pull_or_run_eagerly_does_nothing():
    training = trainer.prepare(config(), tiny())
    next(training.events)
    chunk = training._setup.parts.chunk
    training.warm_up()
    assert chunk.experimental_get_tracing_count() == 1
    training.events.close()

    # A warmed run that is never pulled lets its compiled functions go when closed.
    unused = trainer.prepare(config(), tiny())
    unused.warm_up()
    assert unused._setup.parts is not None
    unused.close()
    assert unused._setup.parts is None
    with pytest.raises(StopIteration):
        next(unused.events)

    eager = trainer.prepare(config(run_eagerly=True), tiny())
    eager.warm_up()
    reference = [e.loss for e in batches(trainer.train(config(run_eagerly=True), tiny()))]
    assert [e.loss for e in batches(eager.events)] == reference
