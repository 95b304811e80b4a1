"""A first regression works out of the box: the target is scaled inside the pipeline, every
figure is in the target's own units, and a divergence says what to try."""

import numpy as np
import pytest
from sklearn.datasets import load_diabetes

import trainer
from trainer.evaluate import regression_frame


def diabetes_csv() -> bytes:
    """scikit-learn's diabetes as a CSV, unscaled: ten named features and `target` (25-346)."""
    diabetes = load_diabetes(as_frame=True, scaled=False)
    table = diabetes.data.copy()
    table["target"] = diabetes.target
    return table.to_csv(index=False).encode()


@pytest.mark.parametrize(
    "changes",
    [
        {},  # RunConfig()'s defaults: the guide's SGD at 1e-3, 2 epochs
        {"learning_rate": 0.1, "epochs": 30},  # the dashboard's start (ui.share.STARTER)
    ],
    ids=["RunConfig-defaults", "app-start"],
)
def test_diabetes_with_the_starting_settings_beats_predicting_the_mean(changes):
    data = trainer.Dataset.from_csv(diabetes_csv(), target="target")
    assert data.task == "regression"  # inferred, as the Data page and the CLI infer it
    config = trainer.RunConfig(dataset="csv", task=data.task, **changes)
    training = trainer.prepare(config, data)
    end = list(training.events)[-1]
    assert end.reason == "completed", end.message
    split = training.dataset
    mean_mse = float(np.mean((split.y_val - split.y_train.mean()) ** 2))
    assert end.metrics["val_loss"] < mean_mse, (end.metrics, mean_mse)


def test_losses_and_metrics_are_in_the_targets_units():
    data = trainer.Dataset.from_csv(diabetes_csv(), target="target")
    config = trainer.RunConfig(dataset="csv", task="regression", learning_rate=0.1, epochs=5)
    training = trainer.prepare(config, data)
    events = list(training.events)
    end = events[-1]
    frame = regression_frame(end.model, training.dataset)  # predictions in the target's units
    assert frame["predicted"].between(0, 500).all()
    mse = float(np.mean(frame["residual"] ** 2))
    mae = float(np.mean(np.abs(frame["residual"])))
    assert end.metrics["val_loss"] == pytest.approx(mse, rel=1e-4)
    assert end.metrics["val_mae"] == pytest.approx(mae, rel=1e-4)
    first = next(e for e in events if isinstance(e, trainer.BatchEnd))
    assert first.loss > 1000  # a batch's MSE of a target in the hundreds, not a z-score's


def test_a_divergence_says_what_to_try_in_words():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(256, 4)).astype(np.float32)
    data = trainer.Dataset.from_arrays(x, x.sum(axis=1) ** 3, task="regression")
    config = trainer.RunConfig(
        dataset="csv", task="regression", learning_rate=50.0, epochs=20, validation_split=0.25
    )
    end = list(trainer.train(config, data))[-1]
    assert end.reason == "diverged"
    assert "a tenth: 5 instead of 50" in end.message
    assert "adam optimizer" in end.message


def test_a_diverged_adam_run_is_told_only_of_the_learning_rate():
    from trainer.loop import _Counters, _diverged_message

    counters = _Counters(step=7, epoch=0, first_loss=1.0)
    config = trainer.RunConfig(optimizer="adam", learning_rate=0.03)
    message = _diverged_message(counters, float("nan"), 1.0, config)
    assert "became NaN" in message and "a tenth: 0.003 instead of 0.03" in message
    assert "adam optimizer" not in message


def test_the_model_pages_layer_table_lists_the_target_units_layer():
    from trainer.budget import layer_table

    data = trainer.load_dataset("plane", num_samples=100)
    config = trainer.RunConfig(dataset="plane", task="regression", hidden_units=(4,))
    model = trainer.build_model(config, data)
    rows = layer_table(config, data.input_shape, data.num_outputs)
    assert [r["layer"] for r in rows] == [layer.name for layer in model.layers]
    assert rows[-1]["type"] == type(model.layers[-1]).__name__ == "Rescaling"
