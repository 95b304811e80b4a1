"""The in-memory dataset every run trains on, and the two ways to build one from user data.

`Dataset.from_arrays` wraps NumPy arrays (validated at the boundary); `Dataset.from_csv` turns an
uploaded CSV into finite float32 features and encoded labels (read by `trainer.csv_reader`,
encoded by `trainer.csv_encoder`), or raises a ValueError that says what is wrong and how to fix
it: the dashboard shows that message as it is. `split_validation` holds out a seeded, stratified
validation set when the data brings none.

Images stay uint8 in memory (a quarter of float32); the input pipeline casts to float32 and
multiplies by `Dataset.scale`.
"""

from __future__ import annotations

import dataclasses
import numbers
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np

from trainer.csv_encoder import CsvColumn, encode_table
from trainer.csv_reader import MAX_CSV_BYTES, read_table
from trainer.csv_reader import preview_csv as preview_csv  # the public entrance stays here

TASKS = ("classification", "regression")
SPLITS = ("train", "val")


@dataclass(frozen=True, eq=False)
class Dataset:
    """Training (and optional validation) arrays plus what a model and a chart need to know.

    Classification labels are int32 class ids indexing `class_names`; regression targets are
    float32. `x` is uint8 for images, float32 otherwise; the input pipeline casts it to float32
    and multiplies by `scale`.
    """

    x_train: np.ndarray
    y_train: np.ndarray
    x_val: np.ndarray | None = None
    y_val: np.ndarray | None = None
    task: str = "classification"
    class_names: tuple[str, ...] = ()  # () for regression
    input_shape: tuple[int, ...] = ()  # per sample; filled from x_train when left empty
    name: str = "arrays"
    scale: float = 1.0  # uint8 images: 1/255; digits (0..16): 1/16
    feature_names: tuple[str, ...] = ()
    notes: tuple[str, ...] = ()  # encodings and cleaning done, one human-readable line each
    # CSV only: per encoded feature, so a typed-in row can be transformed as (x - mean) / std.
    # float64, because a column holding 1e308 has a mean that float32 cannot represent.
    feature_mean: np.ndarray | None = None
    feature_std: np.ndarray | None = None
    # CSV only: the columns a raw row gives the features from, in feature order (a number, or
    # text with its categories): what `trainer.serving` turns back into preprocessing layers.
    columns: tuple[CsvColumn, ...] = ()

    def __post_init__(self) -> None:
        if not self.input_shape:
            object.__setattr__(self, "input_shape", tuple(self.x_train.shape[1:]))

    # -- sizes -------------------------------------------------------------------------------
    @property
    def num_train(self) -> int:
        return len(self.y_train)

    @property
    def num_val(self) -> int:
        return 0 if self.y_val is None else len(self.y_val)

    @property
    def num_classes(self) -> int:
        return len(self.class_names) if self.task == "classification" else 0

    @property
    def num_outputs(self) -> int:
        """Width of the model's output layer: one logit per class, or one regression value."""
        return self.num_classes or 1

    @property
    def is_image(self) -> bool:
        return len(self.input_shape) >= 2

    @property
    def is_2d(self) -> bool:
        """Two features: the points can be drawn in the plane (TensorFlow Playground sets)."""
        return tuple(self.input_shape) == (2,)

    def class_counts(self, split: str = "train") -> dict[str, int]:
        """Samples per class name in `split` ("train" or "val"); {} for regression or no data."""
        if split not in SPLITS:
            raise ValueError(f"Expected `split` to be one of {SPLITS}. Received: split={split!r}")
        labels = self.y_train if split == "train" else self.y_val
        if self.task != "classification" or labels is None:
            return {}
        counts = np.bincount(labels, minlength=self.num_classes)
        return {
            name: int(count)
            for name, count in zip(self.class_names, counts[: self.num_classes], strict=True)
        }

    # -- constructors ------------------------------------------------------------------------
    @classmethod
    def from_arrays(
        cls,
        x: Any,
        y: Any,
        x_val: Any = None,
        y_val: Any = None,
        task: str = "classification",
        class_names: Sequence[str] | None = None,
        name: str = "arrays",
        scale: float | None = None,
    ) -> Dataset:
        """Validate and wrap arrays: x is (n, *input_shape), y holds one label per sample.

        uint8 x stays uint8 with `scale` 1/255 unless given; any other x becomes float32 (scale
        1.0). Classification y must be integer-like (int32 class ids, named by `class_names`,
        by default "0", "1", ...); regression y becomes float32. Arrays already in the right
        dtype are not copied.
        """
        task = _check_choice("task", task, TASKS)
        if (x_val is None) != (y_val is None):
            raise ValueError(
                "Expected `x_val` and `y_val` to be given together. Received: "
                f"x_val={_describe(x_val)}, y_val={_describe(y_val)}"
            )
        x = _check_x("x", x)
        y = _check_y("y", y, len(x), task)
        if x_val is not None:
            x_val = _check_x("x_val", x_val)
            if x_val.shape[1:] != x.shape[1:]:
                raise ValueError(
                    "Expected `x_val` to have the per-sample shape of `x` "
                    f"{x.shape[1:]}. Received: x_val.shape={x_val.shape}"
                )
            y_val = _check_y("y_val", y_val, len(x_val), task)
        keep_uint8 = x.dtype == np.uint8 and (x_val is None or x_val.dtype == np.uint8)
        x = _to_model_dtype("x", x, keep_uint8)
        x_val = None if x_val is None else _to_model_dtype("x_val", x_val, keep_uint8)
        return cls(
            x_train=x,
            y_train=y,
            x_val=x_val,
            y_val=y_val,
            task=task,
            class_names=_check_class_names(class_names, task, y, y_val),
            input_shape=tuple(x.shape[1:]),
            name=name,
            scale=_check_scale(scale, keep_uint8),
        )

    @classmethod
    def from_csv(
        cls,
        file_or_buffer: Any,
        target: str,
        *,
        task: str | None = None,
        max_bytes: int = MAX_CSV_BYTES,
        name: str = "csv",
    ) -> Dataset:
        """Load a CSV with a header line; `target` names the label column, the rest are features.

        `file_or_buffer` is a path, bytes, or a binary or text file object (Streamlit's
        UploadedFile included). The delimiter (, ; tab |) is sniffed; non-UTF-8 text is read as
        latin-1. `task=None` infers it: a non-numeric target, or an integer one with at most 20
        distinct values, classifies; anything else regresses. Rows with a missing target are
        dropped; missing or non-finite numeric cells take the column median; numeric features are
        standardized (stats in `feature_mean` / `feature_std`); mostly-text columns are one-hot
        encoded. A row with more fields than the header is an error naming its line; a shorter
        row's missing trailing cells count as empty. Each step taken is a line in `notes`.
        Anything unusable raises ValueError with the problem and the fix.
        """
        if task is not None:
            task = _check_choice("task", task, TASKS)
        if not isinstance(target, str) or not target.strip():
            raise ValueError(f"Expected `target` to name a CSV column. Received: target={target!r}")
        header, body, target_index, notes = read_table(file_or_buffer, target.strip(), max_bytes)
        table = encode_table(header, body, target_index, task)
        return cls(
            x_train=table.x,
            y_train=table.y,
            task=table.task,
            class_names=table.class_names,
            input_shape=(table.x.shape[1],),
            name=name,
            feature_names=table.feature_names,
            notes=(*notes, *table.notes),
            feature_mean=table.feature_mean,
            feature_std=table.feature_std,
            columns=table.columns,
        )


def split_validation(dataset: Dataset, fraction: float, seed: int) -> Dataset:
    """Hold out `round(fraction * n)` training samples (at least 1, at most n - 1) as validation.

    Returns `dataset` unchanged when it already has validation data or `fraction` is 0.
    Classification splits are stratified: each class gives its share (largest remainders round).
    Which samples go is fixed by `seed`; both parts keep the dataset's order.
    """
    if dataset.x_val is not None or fraction == 0:
        return dataset
    if not (_is_real(fraction) and 0 < fraction < 1):
        raise ValueError(
            f"Expected `validation_split` to be in [0, 1). Received: validation_split={fraction!r}"
        )
    n = dataset.num_train
    if n < 2:
        raise ValueError(
            f"validation_split={fraction} would leave the training or the validation set empty: "
            f"the dataset has {n} training sample(s). Use more data or validation_split=0."
        )
    n_val = min(max(round(fraction * n), 1), n - 1)
    rng = np.random.default_rng(seed)
    if dataset.task == "classification":
        val_index = _stratified_indices(dataset.y_train, n_val, rng)
    else:
        val_index = np.sort(rng.permutation(n)[:n_val])
    is_val = np.zeros(n, dtype=bool)
    is_val[val_index] = True
    return dataclasses.replace(
        dataset,
        x_train=dataset.x_train[~is_val],
        y_train=dataset.y_train[~is_val],
        x_val=dataset.x_train[is_val],
        y_val=dataset.y_train[is_val],
    )


def _stratified_indices(y: np.ndarray, n_val: int, rng: np.random.Generator) -> np.ndarray:
    """Indices of `n_val` samples, each class contributing in proportion to its size."""
    classes, counts = np.unique(y, return_counts=True)
    # Exact integer quotas; the rounding leftovers go to the largest remainders (stable ties).
    take, remainder = np.divmod(counts * n_val, len(y))
    short = n_val - int(take.sum())
    take[np.argsort(-remainder, kind="stable")[:short]] += 1
    picked = [
        rng.permutation(np.flatnonzero(y == c))[:k] for c, k in zip(classes, take, strict=True)
    ]
    return np.sort(np.concatenate(picked))


# -- from_arrays: boundary checks --------------------------------------------------------------
def _describe(value: Any) -> str:
    if value is None:
        return "None"
    shape = getattr(value, "shape", None)
    return f"array of shape {shape}" if shape is not None else type(value).__name__


def _is_real(value: Any) -> bool:
    return isinstance(value, numbers.Real) and not isinstance(value, bool)


def _check_choice(arg: str, value: Any, options: tuple[str, ...]) -> str:
    if value not in options:
        raise ValueError(f"Expected `{arg}` to be one of {options}. Received: {arg}={value!r}")
    return value


def _as_array(arg: str, value: Any) -> np.ndarray:
    try:
        array = np.asarray(value)
    except (TypeError, ValueError) as err:
        raise ValueError(f"Expected `{arg}` to be a rectangular numeric array: {err}") from None
    if array.dtype.kind not in "biuf":
        raise ValueError(f"Expected `{arg}` to be numeric. Received: {arg}.dtype={array.dtype}")
    return array


def _check_x(arg: str, value: Any) -> np.ndarray:
    x = _as_array(arg, value)
    if x.ndim < 2:
        raise ValueError(
            f"Expected `{arg}` to have shape (num_samples, *input_shape), at least 2-D. "
            f"Received: {arg}.shape={x.shape}"
        )
    if x.size == 0:
        raise ValueError(
            f"Expected `{arg}` to hold data, not be empty. Received: {arg}.shape={x.shape}"
        )
    return x


def _check_y(arg: str, value: Any, n: int, task: str) -> np.ndarray:
    y = _as_array(arg, value)
    if y.ndim == 2 and y.shape[1] == 1:
        y = y[:, 0]
    if y.ndim != 1:
        raise ValueError(
            f"Expected `{arg}` to have shape (num_samples,). Received: {arg}.shape={y.shape}"
        )
    if len(y) != n:
        x_arg = "x" if arg == "y" else "x_val"
        raise ValueError(
            f"Expected `{arg}` to hold one label per sample of `{x_arg}` ({n}). "
            f"Received: len({arg})={len(y)}"
        )
    if y.dtype.kind == "f":
        _check_finite(arg, y)
    return _to_class_ids(arg, y) if task == "classification" else _to_float32(arg, y)


def _check_finite(arg: str, array: np.ndarray) -> None:
    bad = np.flatnonzero(~np.isfinite(array.reshape(-1)))
    if len(bad):
        raise ValueError(
            f"Expected `{arg}` to be finite; it holds {len(bad)} NaN/Inf value(s). "
            f"Received: {arg}.flat[{bad[0]}]={array.reshape(-1)[bad[0]]}"
        )


def _to_class_ids(arg: str, y: np.ndarray) -> np.ndarray:
    whole = np.round(y) == y if y.dtype.kind == "f" else np.ones(len(y), dtype=bool)
    if not whole.all():
        i = int(np.flatnonzero(~whole)[0])
        raise ValueError(
            f"Expected `{arg}` to hold integer class ids for task='classification' (use "
            f"task='regression' for real-valued targets). Received: {arg}[{i}]={y[i]}"
        )
    if len(y) and (y.min() < 0 or y.max() > np.iinfo(np.int32).max):
        i = int(np.argmin(y)) if y.min() < 0 else int(np.argmax(y))
        raise ValueError(
            f"Expected `{arg}` to hold class ids 0, 1, 2, ... Received: {arg}[{i}]={y[i]}"
        )
    return y.astype(np.int32, copy=False)


def _to_float32(arg: str, array: np.ndarray) -> np.ndarray:
    with np.errstate(over="ignore"):  # overflow to inf is what the check below reports
        out = array.astype(np.float32, copy=False)
    if out.dtype != array.dtype and not np.all(np.isfinite(out)):
        raise ValueError(
            f"Expected `{arg}` to fit in float32 (|value| < 3.4e38). "
            f"Received: largest |{arg}|={np.max(np.abs(array.astype(np.float64)))}"
        )
    return out


def _to_model_dtype(arg: str, x: np.ndarray, keep_uint8: bool) -> np.ndarray:
    if keep_uint8:
        return x
    if x.dtype.kind == "f":
        _check_finite(arg, x)
    return _to_float32(arg, x)


def _check_class_names(
    class_names: Sequence[str] | None, task: str, y: np.ndarray, y_val: np.ndarray | None
) -> tuple[str, ...]:
    if task == "regression":
        if class_names:
            raise ValueError(
                "Expected no `class_names` for task='regression'. "
                f"Received: class_names={tuple(class_names)!r}"
            )
        return ()
    needed = int(max(y.max(), -1 if y_val is None else y_val.max())) + 1
    if class_names is None:
        return tuple(str(i) for i in range(needed))
    names = tuple(str(c) for c in class_names)
    if len(names) < needed:
        raise ValueError(
            f"Expected `class_names` to name every class id in the labels (0..{needed - 1}). "
            f"Received: {len(names)} name(s): {names!r}"
        )
    return names


def _check_scale(scale: float | None, uint8: bool) -> float:
    if scale is None:
        return 1 / 255 if uint8 else 1.0
    if not (_is_real(scale) and np.isfinite(scale) and scale > 0):
        raise ValueError(f"Expected `scale` to be a positive number. Received: scale={scale!r}")
    return float(scale)
