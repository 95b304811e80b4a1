"""Hyperparameters at the edges: each is handled or rejected with a message naming the field."""

import math

import numpy as np
import pytest

import trainer
from trainer import BatchEnd, RunConfig


def data(n: int, classes: int = 2, seed: int = 0) -> trainer.Dataset:
    rng = np.random.default_rng(seed)
    x = rng.normal(size=(n, 3)).astype(np.float32)
    return trainer.Dataset.from_arrays(x, (np.arange(n) % classes).astype(np.int32))


def run(config: RunConfig, dataset: trainer.Dataset):
    events = list(trainer.train(config, dataset))
    return [e for e in events if isinstance(e, BatchEnd)], events[-1]


def test_batch_larger_than_the_dataset_is_one_batch_an_epoch():
    steps, end = run(RunConfig(dataset="csv", batch_size=4096, epochs=3), data(50))
    assert [s.batch for s in steps] == [0, 0, 0] and steps[0].samples_seen == 40
    assert end.reason == "completed"


def test_zero_hidden_layers_is_a_linear_classifier():
    config = RunConfig(dataset="csv", hidden_units=(), optimizer="adam", learning_rate=0.1)
    model = trainer.build_model(config, data(40))
    assert [layer.name for layer in model.layers] == ["inputs", "predictions"]
    assert run(config, data(40))[1].reason == "completed"


def test_one_sample_per_class_still_trains_with_a_stratified_split():
    steps, end = run(RunConfig(dataset="csv", epochs=2), data(10, classes=10))
    assert end.reason == "completed" and len(steps) == 2
    assert set(end.metrics) >= {"val_loss", "val_accuracy"}


def test_a_split_that_leaves_a_set_empty_names_the_field():
    with pytest.raises(ValueError, match="validation_split"):
        trainer.train(RunConfig(dataset="csv", validation_split=0.5), data(1))


def test_learning_rate_10_on_digits_diverges_at_once_and_keeps_the_history():
    steps, end = run(RunConfig(learning_rate=10.0, epochs=5, optimizer="sgd"), None)
    assert end.reason == "diverged" and "lower learning rate" in end.message
    # A stable softmax cross-entropy explodes rather than reaching NaN: the run stops at the
    # first batch above 10,000x the first loss (or the first non-finite one).
    limit = 1e4 * steps[0].loss
    last = steps[-1].loss
    assert not math.isfinite(last) or last > limit
    assert all(math.isfinite(s.loss) and s.loss <= limit for s in steps[:-1])
    assert end.step == steps[-1].step < 5 * 23 - 1  # stopped early, not after 5 epochs


def test_out_of_range_values_are_rejected_before_training():
    for field, value in [("batch_size", 0), ("epochs", 0), ("learning_rate", 1e3),
                         ("dropout", 1.0), ("validation_split", 0.95)]:  # fmt: skip
        with pytest.raises(ValueError, match=f"RunConfig.{field}"):
            RunConfig(**{field: value})
