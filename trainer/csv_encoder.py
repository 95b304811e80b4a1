"""Encoding a CSV's table of text as model inputs: the target's labels and the feature matrix.

The second half of `Dataset.from_csv` (`trainer.csv_reader` reads the file). Rows with a missing
target are dropped; the task is inferred when not given; class labels are sorted and numbered;
numeric columns are cleaned (missing or non-finite cells take the median) and standardized;
mostly-text columns are one-hot encoded. Each step taken is a note; anything unusable raises a
ValueError with the problem and the fix.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
import pandas as pd

from trainer.csv_reader import MIN_ROWS

MAX_CATEGORIES = 50  # a text column with more distinct values is dropped (an id or free text)
MAX_CLASSES = 200  # more distinct labels than this is almost surely a regression target
INFER_MAX_CLASSES = 20  # task=None: an integer target with at most this many values classifies
TARGET_LIMIT = 1e15  # |regression target| above this makes the squared error overflow float32
MAX_CELLS = 50_000_000  # rows x encoded features: 200 MB of float32


class CsvColumn(NamedTuple):
    """A CSV column that features come from, as a raw row holds it: a number (one feature,
    standardized), or, with `categories`, text one-hot encoded in that order (one feature per
    category; any other value, an empty cell included, is all zeros)."""

    name: str
    categories: tuple[str, ...] = ()


@dataclass(frozen=True)
class EncodedTable:
    """A CSV as arrays: what `Dataset.from_csv` wraps."""

    x: np.ndarray  # float32 (rows, features)
    y: np.ndarray  # int32 class ids, or float32 targets
    task: str
    class_names: tuple[str, ...]  # () for regression
    feature_names: tuple[str, ...]
    feature_mean: np.ndarray  # float64 per feature: a typed-in row is (x - mean) / std
    feature_std: np.ndarray
    notes: tuple[str, ...]
    columns: tuple[CsvColumn, ...]  # the CSV columns the features come from, in feature order


def encode_table(
    header: list[str], body: pd.DataFrame, target_index: int, task: str | None
) -> EncodedTable:
    """The target column as labels (`task=None` infers the task), the others as features."""
    labels = _encode_target(body.iloc[:, target_index], header[target_index], task)
    features = body.iloc[labels.keep, [i for i in range(len(header)) if i != target_index]]
    x, names, mean, std, notes, columns = _encode_features(
        features, [h for i, h in enumerate(header) if i != target_index]
    )
    return EncodedTable(
        x,
        labels.y,
        labels.task,
        labels.class_names,
        names,
        mean,
        std,
        (*labels.notes, *notes),
        columns,
    )


# -- target ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Labels:
    y: np.ndarray
    task: str
    class_names: tuple[str, ...]
    keep: np.ndarray  # bool per body row: has a usable target
    notes: tuple[str, ...]


def _encode_target(values: pd.Series, column: str, task: str | None) -> _Labels:
    """Drop rows without a target, pick the task, and encode labels (sorted) or targets."""
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    present = values.notna().to_numpy()
    numeric = bool(np.all(~np.isnan(numbers[present])))
    keep = present & np.isfinite(numbers) if numeric else present
    notes = []
    dropped = int((~keep).sum())
    if dropped:
        notes.append(f"{dropped} row(s) with a missing or non-finite target {column!r} dropped")
    if keep.sum() < MIN_ROWS:
        raise ValueError(
            f"Only {int(keep.sum())} row(s) have a value in the target column {column!r}; at "
            f"least {MIN_ROWS} are needed. Fill in the target or pick another column."
        )
    if task is None:
        task = _infer_task(numbers[keep] if numeric else None)
        notes.append(f"task inferred from target {column!r}: {task}")
    if task == "regression":
        if not numeric:
            example = values[present & np.isnan(numbers)].iloc[0]
            raise ValueError(
                f"Target column {column!r} is not numeric (e.g. {example!r}), so it cannot be a "
                "regression target. Use task='classification' or pick a numeric column."
            )
        y = _check_regression_target(numbers[keep], column)
        return _Labels(y, task, (), keep, tuple(notes))
    y, names, mapping_note = _encode_classes(
        values[keep], numbers[keep] if numeric else None, column
    )
    if mapping_note:
        notes.append(mapping_note)
    lone = int((np.bincount(y, minlength=len(names)) < 2).sum())
    if lone:  # e.g. an id or free-text column picked as the target: it trains, to no purpose
        notes.append(
            f"{lone} of {len(names)} classes of target {column!r} have a single row: too few "
            "to learn them or to check them on validation data (is it an id or text column?)"
        )
    return _Labels(y, task, names, keep, tuple(notes))


def _infer_task(numbers: np.ndarray | None) -> str:
    if numbers is None:
        return "classification"
    whole = bool(np.all(np.round(numbers) == numbers))
    return (
        "classification" if whole and len(np.unique(numbers)) <= INFER_MAX_CLASSES else "regression"
    )


def _check_regression_target(y: np.ndarray, column: str) -> np.ndarray:
    peak = float(np.max(np.abs(y)))
    if peak > TARGET_LIMIT:
        raise ValueError(
            f"Target column {column!r} has values up to {peak:.3g}; regression targets must stay "
            f"within +-{TARGET_LIMIT:.0e} so the squared error is finite in float32. Rescale the "
            "column (divide by a power of ten, or take a log)."
        )
    return y.astype(np.float32)


def _format_label(value: float) -> str:
    return str(int(value)) if value.is_integer() and abs(value) < 1e15 else str(value)


def _encode_classes(
    values: pd.Series, numbers: np.ndarray | None, column: str
) -> tuple[np.ndarray, tuple[str, ...], str | None]:
    """Class ids in sorted label order (numeric order for numbers), names, a mapping note."""
    if numbers is not None:
        uniques, codes = np.unique(numbers, return_inverse=True)
        names = tuple(_format_label(float(v)) for v in uniques)
    else:
        uniques, codes = np.unique(values.to_numpy(dtype=str), return_inverse=True)
        names = tuple(str(v) for v in uniques)
    if len(names) < 2:
        raise ValueError(
            f"Target column {column!r} has a single class ({names[0]!r}); classification needs "
            "at least 2 classes. Pick another target or add rows of other classes."
        )
    if len(names) > MAX_CLASSES:
        raise ValueError(
            f"Target column {column!r} has {len(names)} distinct values, too many classes (at most "
            f"{MAX_CLASSES}). If it is a number to predict, use task='regression'."
        )
    identity = names == tuple(str(i) for i in range(len(names)))
    note = None
    if not identity:
        shown = ", ".join(f"{n}->{i}" for i, n in enumerate(names[:10]))
        more = f", ... ({len(names)} classes)" if len(names) > 10 else ""
        note = f"target {column!r}: {shown}{more}"
    return codes.reshape(-1).astype(np.int32), names, note


# -- features ----------------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    """How one CSV column becomes features: numeric values, one-hot codes, or nothing."""

    names: tuple[str, ...]
    notes: tuple[str, ...]
    numbers: np.ndarray | None = None  # numeric: cleaned float64 values
    codes: np.ndarray | None = None  # one-hot: category index per row, -1 where missing
    column: CsvColumn | None = None  # the column as a raw row holds it (None: dropped)


def _encode_features(
    table: pd.DataFrame, columns: list[str]
) -> tuple[np.ndarray, tuple[str, ...], np.ndarray, np.ndarray, list[str], tuple[CsvColumn, ...]]:
    """Float32 feature matrix, its column names, standardization stats, notes, and the CSV
    columns the features come from."""
    plans = [_plan_column(table.iloc[:, i], name) for i, name in enumerate(columns)]
    notes = [note for plan in plans for note in plan.notes]
    width = sum(len(plan.names) for plan in plans)
    if width == 0:
        raise ValueError(
            "CSV has no usable feature column: " + "; ".join(notes) + ". Add numeric columns or "
            f"text columns with at most {MAX_CATEGORIES} distinct values."
        )
    if width * len(table) > MAX_CELLS:
        raise ValueError(
            f"CSV encodes to {len(table)} rows x {width} features, more than {MAX_CELLS} values. "
            "Use fewer rows or drop text columns with many distinct values."
        )
    blocks, means, stds = [], [], []
    for plan in plans:
        if plan.numbers is not None:
            z, mean, std = _standardize(plan.numbers)
            blocks.append(z[:, None])
            means.append(mean)
            stds.append(std)
        elif plan.codes is not None:
            blocks.append(plan.codes[:, None] == np.arange(len(plan.names)))
            means += [0.0] * len(plan.names)
            stds += [1.0] * len(plan.names)
    x = np.hstack(blocks).astype(np.float32)
    names = tuple(name for plan in plans for name in plan.names)
    used = tuple(plan.column for plan in plans if plan.column is not None)
    return x, names, np.array(means, np.float64), np.array(stds, np.float64), notes, used


def _plan_column(values: pd.Series, column: str) -> _Plan:
    """Numeric when at least half the filled cells are numbers; else one-hot text; else dropped."""
    present = values.notna().to_numpy()
    if not present.any():
        return _Plan((), (f"column {column!r} dropped: it has no values",))
    numbers = pd.to_numeric(values, errors="coerce").to_numpy(dtype=np.float64, na_value=np.nan)
    parsed = ~np.isnan(numbers)
    if parsed.sum() * 2 >= present.sum():
        return _plan_numeric(numbers, present, parsed, column)
    return _plan_categorical(values, present, column)


def _plan_numeric(
    numbers: np.ndarray, present: np.ndarray, parsed: np.ndarray, column: str
) -> _Plan:
    finite = np.isfinite(numbers)
    if not finite.any():
        return _Plan((), (f"column {column!r} dropped: it has no finite numbers",))
    median = _median(numbers[finite])
    problems = {
        "empty": int((~present).sum()),
        "non-numeric": int((present & ~parsed).sum()),
        "infinite": int((parsed & ~finite).sum()),
    }
    found = [f"{count} {kind}" for kind, count in problems.items() if count]
    notes = ()
    if found:
        notes = (f"column {column!r}: {', '.join(found)} cell(s) set to the median {median:.6g}",)
    return _Plan(
        (column,), notes, numbers=np.where(finite, numbers, median), column=CsvColumn(column)
    )


def _plan_categorical(values: pd.Series, present: np.ndarray, column: str) -> _Plan:
    categories, codes = np.unique(values[present].to_numpy(dtype=str), return_inverse=True)
    if len(categories) > MAX_CATEGORIES:
        note = (
            f"column {column!r} dropped: {len(categories)} distinct text values (more than "
            f"{MAX_CATEGORIES}), too many to one-hot encode"
        )
        return _Plan((), (note,))
    all_codes = np.full(len(values), -1, dtype=np.int64)
    all_codes[present] = codes.reshape(-1)
    missing = int((~present).sum())
    note = f"column {column!r} one-hot encoded ({len(categories)} values)"
    if missing:
        note += f"; {missing} empty cell(s) left all-zero"
    names = tuple(f"{column}={c}" for c in categories)
    kept = CsvColumn(column, tuple(str(c) for c in categories))
    return _Plan(names, (note,), codes=all_codes, column=kept)


def _median(values: np.ndarray) -> float:
    # np.median averages the two middle values: 1e308 and 1e308 would make inf. Scaled first.
    peak = float(np.max(np.abs(values)))
    return float(np.median(values / peak)) * peak if peak else 0.0


def _standardize(values: np.ndarray) -> tuple[np.ndarray, float, float]:
    """Z-scores in float64, and the mean and std they used (std 1 for a constant column).

    Values are first divided by their largest magnitude, so sums and differences of numbers
    near 1e308 cannot overflow; z-scores are then bounded by sqrt(n), finite in float32.
    """
    peak = float(np.max(np.abs(values)))
    if peak == 0:
        return np.zeros_like(values), 0.0, 1.0
    scaled = values / peak
    mean, std = float(scaled.mean()), float(scaled.std())
    if std == 0 or std * peak == 0:
        return np.zeros_like(values), mean * peak, 1.0
    return (scaled - mean) / std, mean * peak, std * peak
