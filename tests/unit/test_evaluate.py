"""trainer.evaluate: scores match hand computation; the decision values match model.predict."""

import numpy as np
import pytest

import trainer
from trainer.evaluate import (
    Classification,
    classify,
    decision_values,
    grid_axes,
    regression_frame,
    summarize_run,
)


def trained(name: str, **changes):
    config = trainer.RunConfig(
        dataset=name,
        num_samples=300,
        epochs=15,
        batch_size=32,
        optimizer="adam",
        learning_rate=0.03,
        hidden_units=(8, 8),
        **changes,
    )
    data = trainer.split_validation(trainer.dataset_for(config), config.validation_split, 0)
    events = list(trainer.train(config, data))
    return events[-1].model, data


def test_confusion_precision_recall_by_hand():
    result = Classification(
        y_true=np.array([0, 0, 1, 1, 2, 2]),
        y_pred=np.array([0, 1, 1, 1, 2, 0]),
        probabilities=np.eye(3)[[0, 1, 1, 1, 2, 0]] * 0.9 + 0.1 / 3,
        class_names=("a", "b", "c"),
    )
    assert result.confusion().tolist() == [[1, 1, 0], [0, 2, 0], [1, 0, 1]]
    assert result.confusion(normalize=True)[0].tolist() == [0.5, 0.5, 0.0]
    table = result.per_class().set_index("class")
    assert table.loc["a", "precision"] == pytest.approx(0.5)
    assert table.loc["b", "precision"] == pytest.approx(2 / 3)
    assert table.loc["c", "recall"] == pytest.approx(0.5)
    assert table["support"].tolist() == [2, 2, 2]
    assert result.accuracy == pytest.approx(4 / 6)
    assert sorted(result.misclassified().tolist()) == [1, 5]
    frame = result.confusion_frame()
    assert len(frame) == 9 and frame["count"].sum() == 6


def test_classify_agrees_with_model_predict_and_learns_xor():
    model, data = trained("xor")
    result = classify(model, data)
    logits = model.predict(data.x_val.astype(np.float32), verbose=0)
    assert (result.y_pred == logits.argmax(axis=1)).all()
    assert result.accuracy > 0.85
    assert result.confusion().sum() == data.num_val


def test_grid_axes_cover_the_points_of_both_splits():
    data = trainer.split_validation(trainer.load_dataset("circle", num_samples=300), 0.2, 0)
    x1, x2 = grid_axes(data, resolution=20)
    assert len(x1) == len(x2) == 20
    points = np.vstack([data.x_train, data.x_val])
    assert x1.min() < points[:, 0].min() and x1.max() > points[:, 0].max()
    assert x2.min() < points[:, 1].min() and x2.max() > points[:, 1].max()


def test_decision_values_are_rows_of_x2_and_columns_of_x1():
    model, data = trained("xor")
    x1, x2 = grid_axes(data, resolution=12)
    values = decision_values(model, data, (x1[:7], x2))  # not square: the orientation shows
    assert values.shape == (12, 7)
    row, col = 9, 2
    logits = model.predict(np.array([[x1[col], x2[row]]], np.float32), verbose=0)
    p1 = np.exp(logits[0, 1]) / np.exp(logits[0]).sum()
    np.testing.assert_allclose(values[row, col], p1, atol=1e-5)


def test_regression_frame_and_grid():
    model, data = trained("plane", task="regression")
    frame = regression_frame(model, data)
    assert len(frame) == data.num_val
    np.testing.assert_allclose(frame["residual"], frame["predicted"] - frame["true"], atol=1e-6)
    x1, x2 = grid_axes(data, resolution=10)
    values = decision_values(model, data, (x1, x2))
    xx, yy = np.meshgrid(x1, x2)
    grid = np.column_stack([xx.ravel(), yy.ravel()]).astype(np.float32)
    direct = model.predict(grid, verbose=0)[:, 0]
    np.testing.assert_allclose(values.ravel(), direct, atol=1e-5)


def test_the_grid_needs_two_features():
    data = trainer.load_dataset("digits")
    with pytest.raises(ValueError, match="2 input features"):
        grid_axes(data)


def test_summary_names_best_epoch_reason_and_gap():
    epochs = [
        {"loss": 1.0, "accuracy": 0.5, "val_loss": 1.1, "val_accuracy": 0.5},
        {"loss": 0.5, "accuracy": 0.8, "val_loss": 0.7, "val_accuracy": 0.75},
        {"loss": 0.2, "accuracy": 0.95, "val_loss": 0.9, "val_accuracy": 0.7},
    ]
    text = summarize_run(epochs, "early_stopped", "")
    assert "Trained 3 epochs" in text and "stopped early" in text
    assert "Best val loss 0.7 at epoch 2" in text
    assert "overfits" in text
    assert "before its first epoch" in summarize_run([], "stopped", "Stopped by request.")
    assert "got worse" not in text  # 0.7 -> 0.9: not well above its best


def test_summary_says_when_a_run_got_much_worse_and_why():
    collapse = [  # a learning rate too high: both losses climb back to chance
        {"loss": 0.6, "val_loss": 0.5, "val_accuracy": 0.8},
        {"loss": 0.2, "val_loss": 0.22, "val_accuracy": 0.95},
        {"loss": 2.3, "val_loss": 2.3, "val_accuracy": 0.1},
    ]
    text = summarize_run(collapse, "stopped", "")
    assert "It got worse after epoch 2: val loss rose from 0.22 to 2.3" in text
    assert "lower learning rate" in text
    overfit = [
        {"loss": 0.6, "val_loss": 0.5},
        {"loss": 0.3, "val_loss": 0.3},
        {"loss": 0.05, "val_loss": 0.9},
    ]
    assert "the model overfits" in summarize_run(overfit, "completed", "").split("got worse")[1]
