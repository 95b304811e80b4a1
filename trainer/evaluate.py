"""What a trained model does: predictions, confusion, per-class scores, the decision boundary.

Pure NumPy/pandas around `model.predict_on_batch`-style calls, for the dashboard's Evaluate page,
notebooks and tests. Inputs are transformed exactly as in training (cast to float32, times
`dataset.scale`).
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from trainer.data import Dataset

if TYPE_CHECKING:  # the model's caller has TensorFlow loaded; `grid_axes` needs none of it
    import keras

PREDICT_BATCH = 4096


def predict(model: keras.Model, x: np.ndarray, scale: float = 1.0) -> np.ndarray:
    """Model outputs for raw inputs `x` (logits for classification), batched, as NumPy."""
    import keras  # a model exists, so TensorFlow is loaded already

    outputs = []
    for start in range(0, len(x), PREDICT_BATCH):
        batch = np.asarray(x[start : start + PREDICT_BATCH], dtype=np.float32) * np.float32(scale)
        outputs.append(keras.ops.convert_to_numpy(model(batch, training=False)))
    if not outputs:
        return np.zeros((0, model.output_shape[-1]), dtype=np.float32)
    return np.concatenate(outputs)


def softmax(logits: np.ndarray) -> np.ndarray:
    shifted = logits - logits.max(axis=-1, keepdims=True)
    e = np.exp(shifted)
    return e / e.sum(axis=-1, keepdims=True)


def split_arrays(dataset: Dataset, split: str) -> tuple[np.ndarray, np.ndarray]:
    """The validation arrays (or the training ones when asked, or when there is no val)."""
    if split not in ("val", "train"):
        raise ValueError(f"split must be 'val' or 'train'. Received: split={split!r}")
    if split == "val" and dataset.x_val is not None and len(dataset.x_val):
        return dataset.x_val, dataset.y_val
    return dataset.x_train, dataset.y_train


@dataclass(frozen=True)
class Classification:
    """A classifier's predictions on one split, and the scores people read."""

    y_true: np.ndarray
    y_pred: np.ndarray
    probabilities: np.ndarray  # (n, classes)
    class_names: tuple[str, ...]

    @property
    def accuracy(self) -> float:
        return float(np.mean(self.y_true == self.y_pred)) if len(self.y_true) else float("nan")

    @property
    def confidence(self) -> np.ndarray:
        return self.probabilities[np.arange(len(self.y_pred)), self.y_pred]

    def confusion(self, normalize: bool = False) -> np.ndarray:
        """Counts[true, predicted]; row-normalised (each true class sums to 1) if asked."""
        k = len(self.class_names)
        counts = np.zeros((k, k), dtype=np.int64)
        np.add.at(counts, (self.y_true, self.y_pred), 1)
        if not normalize:
            return counts
        rows = counts.sum(axis=1, keepdims=True)
        return np.divide(counts, rows, out=np.zeros((k, k)), where=rows > 0)

    def confusion_frame(self) -> pd.DataFrame:
        """Tidy rows (true, predicted, count, share of the true class) for a heatmap."""
        counts, shares = self.confusion(), self.confusion(normalize=True)
        names = self.class_names
        return pd.DataFrame(
            [
                {
                    "true": names[i],
                    "predicted": names[j],
                    "count": int(counts[i, j]),
                    "share": float(shares[i, j]),
                }
                for i in range(len(names))
                for j in range(len(names))
            ]
        )

    def per_class(self) -> pd.DataFrame:
        """Precision, recall, F1 and support per class (0 where undefined, as scikit-learn)."""
        counts = self.confusion()
        hits = np.diag(counts).astype(float)
        predicted, support = counts.sum(axis=0), counts.sum(axis=1)
        precision = np.divide(hits, predicted, out=np.zeros_like(hits), where=predicted > 0)
        recall = np.divide(hits, support, out=np.zeros_like(hits), where=support > 0)
        both = precision + recall
        f1 = np.divide(2 * precision * recall, both, out=np.zeros_like(hits), where=both > 0)
        return pd.DataFrame(
            {
                "class": self.class_names,
                "precision": precision,
                "recall": recall,
                "f1": f1,
                "support": support,
            }
        )

    def misclassified(self, limit: int = 24) -> np.ndarray:
        """Indices of wrong predictions, the most confident mistakes first."""
        wrong = np.flatnonzero(self.y_true != self.y_pred)
        return wrong[np.argsort(-self.confidence[wrong], kind="stable")][:limit]


def classify(model: keras.Model, dataset: Dataset, split: str = "val") -> Classification:
    x, y = split_arrays(dataset, split)
    probabilities = softmax(predict(model, x, dataset.scale))
    return Classification(
        y_true=np.asarray(y, dtype=np.int64),
        y_pred=probabilities.argmax(axis=1),
        probabilities=probabilities,
        class_names=tuple(dataset.class_names),
    )


def regression_frame(model: keras.Model, dataset: Dataset, split: str = "val") -> pd.DataFrame:
    """true, predicted, residual per sample, for a predicted-vs-true scatter."""
    x, y = split_arrays(dataset, split)
    predicted = predict(model, x, dataset.scale)[:, 0]
    true = np.asarray(y, dtype=np.float64)
    return pd.DataFrame({"true": true, "predicted": predicted, "residual": predicted - true})


def grid_axes(
    dataset: Dataset, resolution: int = 60, padding: float = 0.1
) -> tuple[np.ndarray, np.ndarray]:
    """The x1 and x2 coordinates of a `resolution` x `resolution` grid covering the 2-D data of
    both splits, `padding` of its span beyond each side. Fixed for a dataset: a live view
    computes it once, not once per redraw (the extent scans every point of both splits)."""
    if tuple(dataset.input_shape) != (2,):
        raise ValueError(
            f"A decision boundary needs 2 input features. Received: input_shape="
            f"{tuple(dataset.input_shape)}"
        )
    splits = [x for x in (dataset.x_train, dataset.x_val) if x is not None and len(x)]
    lo = np.min([x.min(axis=0) for x in splits], axis=0).astype(float)
    hi = np.max([x.max(axis=0) for x in splits], axis=0).astype(float)
    margin = (hi - lo) * padding + 1e-6
    x1, x2 = (np.linspace(lo[i] - margin[i], hi[i] + margin[i], resolution) for i in range(2))
    return x1, x2


def decision_values(
    model: keras.Model, dataset: Dataset, axes: tuple[np.ndarray, np.ndarray]
) -> np.ndarray:
    """The model's output at every grid point, shape (len(x2), len(x1)): row i is x2 = axes[1][i].

    P(class 1) for two classes, the predicted class id for more, the prediction for regression.
    """
    xx, yy = np.meshgrid(*axes)
    grid = np.column_stack([xx.ravel(), yy.ravel()]).astype(np.float32)
    outputs = predict(model, grid, dataset.scale)
    if dataset.task == "regression":
        values = outputs[:, 0]
    else:
        probabilities = softmax(outputs)
        values = probabilities[:, 1] if probabilities.shape[1] == 2 else probabilities.argmax(1)
    return values.reshape(xx.shape)


def summarize_run(
    epochs: list[Mapping[str, float]], reason: str, message: str, task: str = "classification"
) -> str:
    """A few sentences for stakeholders: best epoch, final metrics, why it stopped, the gap."""
    if not epochs:
        return f"The run ended before its first epoch finished. {message}".strip()
    watched = "val_loss" if "val_loss" in epochs[0] else "loss"
    best = min(range(len(epochs)), key=lambda i: epochs[i][watched])
    last = epochs[-1]
    score = "accuracy" if task == "classification" else "mae"
    parts = [f"Trained {len(epochs)} epoch{'s' * (len(epochs) != 1)}; it {_reason_text(reason)}."]
    parts.append(
        f"Best {watched.replace('_', ' ')} {epochs[best][watched]:.4g} at epoch {best + 1}."
    )
    shown = [
        f"{k.replace('_', ' ')} {last[k]:.4g}"
        for k in ("loss", score, "val_loss", f"val_{score}")
        if k in last
    ]
    parts.append("Final: " + ", ".join(shown) + ".")
    worse = _got_worse(epochs, watched, best)
    if worse:
        parts.append(worse)
    if "val_loss" in last:
        gap = last["val_loss"] - last["loss"]
        verdict = (
            "validation loss is well above training loss: the model overfits"
            if gap > 0.25 * max(abs(last["loss"]), 1e-9) and gap > 0.05
            else "training and validation loss are close: no sign of overfitting"
        )
        parts.append(f"Train/validation gap {gap:+.3g}: {verdict}.")
    return " ".join(parts)


def _got_worse(epochs: list[Mapping[str, float]], watched: str, best: int) -> str | None:
    """A run whose watched loss ended well above its best, said plainly with the likely
    cause: the training loss rose too (steps too large), or only validation did (overfit)."""
    low, last = epochs[best][watched], epochs[-1][watched]
    if not (last > 1.5 * low and last - low > 0.05):
        return None
    losses = [e["loss"] for e in epochs if "loss" in e]
    if watched == "loss" or (losses and losses[-1] > 1.5 * min(losses)):
        cause = (
            "the training loss rose too: the steps were likely too large (try a lower "
            "learning rate)"
        )
    else:
        cause = "while the training loss kept falling: the model overfits"
    return (
        f"It got worse after epoch {best + 1}: {watched.replace('_', ' ')} rose from "
        f"{low:.4g} to {last:.4g}; {cause}."
    )


def _reason_text(reason: str) -> str:
    return {
        "completed": "completed every epoch",
        "stopped": "was stopped by hand",
        "diverged": "diverged (the loss became NaN or infinite)",
        "early_stopped": "stopped early when validation loss stopped improving",
    }.get(reason, reason)
