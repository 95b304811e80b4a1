"""The in-memory dataset every run trains on, and the two ways to build one from user data.

`Dataset.from_arrays` wraps NumPy arrays (validated at the boundary); `Dataset.from_csv` turns an
uploaded CSV into finite float32 features and encoded labels, or raises a ValueError that says
what is wrong and how to fix it: the dashboard shows that message as it is. `split_validation`
holds out a seeded, stratified validation set when the data brings none.

Images stay uint8 in memory (a quarter of float32); the input pipeline casts to float32 and
multiplies by `Dataset.scale`.
"""

from __future__ import annotations

import csv
import dataclasses
import io
import numbers
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

TASKS = ("classification", "regression")
SPLITS = ("train", "val")

MAX_CSV_BYTES = 50 * 2**20
MAX_CATEGORIES = 50  # a text column with more distinct values is dropped (an id or free text)
MAX_CLASSES = 200  # more distinct labels than this is almost surely a regression target
INFER_MAX_CLASSES = 20  # task=None: an integer target with at most this many values classifies
TARGET_LIMIT = 1e15  # |regression target| above this makes the squared error overflow float32
MAX_CELLS = 50_000_000  # rows x encoded features: 200 MB of float32
MIN_ROWS = 2  # one row to train on and one to validate
MISSING = ("", "na", "n/a", "nan", "null", "none", "?")  # pandas' defaults catch most; plus "?"


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
        text, notes = _decode_text(_read_source(file_or_buffer, max_bytes))
        header, body, target_index = _read_table(text, target.strip(), notes)
        labels = _encode_target(body.iloc[:, target_index], header[target_index], task)
        notes += labels.notes
        features = body.iloc[labels.keep, [i for i in range(len(header)) if i != target_index]]
        x, feature_names, mean, std, feature_notes = _encode_features(
            features, [h for i, h in enumerate(header) if i != target_index]
        )
        notes += feature_notes
        return cls(
            x_train=x,
            y_train=labels.y,
            task=labels.task,
            class_names=labels.class_names,
            input_shape=(x.shape[1],),
            name=name,
            feature_names=feature_names,
            notes=tuple(notes),
            feature_mean=mean,
            feature_std=std,
        )


def preview_csv(
    file_or_buffer: Any, rows: int = 20, max_bytes: int = MAX_CSV_BYTES
) -> pd.DataFrame:
    """The first `rows` rows of a CSV as `Dataset.from_csv` reads it (same decoding, delimiter
    sniffing, quoting and header rules; cells as text), so a preview accepts exactly the files
    training accepts. Raises ValueError with the problem and the fix."""
    text, _ = _decode_text(_read_source(file_or_buffer, max_bytes))
    header, body, _ = _parse_table(text, nrows=rows + 1)
    header, _ = _rename_duplicates(header)
    body.columns = header
    return body


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


# -- from_csv: reading and decoding ------------------------------------------------------------
def _megabytes(size: int) -> str:
    return f"{size / 2**20:.1f} MB"


def _too_big(size: int | None, max_bytes: int) -> ValueError:
    what = f"is {_megabytes(size)}" if size is not None else "is larger than that"
    return ValueError(
        f"CSV file {what}, over the {_megabytes(max_bytes)} limit (max_bytes={max_bytes}). "
        "Upload a smaller file, e.g. a sample of its rows."
    )


def _read_source(source: Any, max_bytes: int) -> bytes:
    """The raw bytes of a path, bytes or file object, refusing more than `max_bytes`."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        raw = bytes(source)
    elif isinstance(source, (str, os.PathLike)):
        raw = _read_path(Path(source), max_bytes)
    elif hasattr(source, "read"):
        raw = _read_file_object(source, max_bytes)
    else:
        raise ValueError(
            "Expected `file_or_buffer` to be a path, bytes or a file object. "
            f"Received: {type(source).__name__}"
        )
    if len(raw) > max_bytes:
        size = len(raw) if isinstance(source, (bytes, bytearray, memoryview)) else None
        raise _too_big(getattr(source, "size", None) or size, max_bytes)
    return raw


def _read_path(path: Path, max_bytes: int) -> bytes:
    try:
        size = path.stat().st_size
        if size > max_bytes:
            raise _too_big(size, max_bytes)
        return path.read_bytes()
    except OSError as err:
        raise ValueError(f"Could not read CSV file {str(path)[:200]!r}: {err.strerror}") from None


def _read_file_object(source: Any, max_bytes: int) -> bytes:
    size = None
    try:
        # A page may have read the upload already (e.g. for a preview): start from the top.
        if getattr(source, "seekable", lambda: False)():
            if not isinstance(source, io.TextIOBase):  # a text stream's tell() is no size
                size = source.seek(0, io.SEEK_END)
            source.seek(0)
        data = b"" if size is not None and size > max_bytes else source.read(max_bytes + 1)
    except (OSError, ValueError) as err:
        raise ValueError(f"Could not read the CSV file object: {err}") from None
    if size is not None and size > max_bytes:
        raise _too_big(size, max_bytes)  # refused before reading it all
    if isinstance(data, str):
        return data.encode("utf-8", errors="replace")
    return bytes(data)


def _looks_binary(raw: bytes) -> bool:
    """NUL bytes or many control characters: a spreadsheet, archive or image, not text."""
    sample = raw[:8192]
    if b"\x00" in sample:
        return True
    controls = sum(1 for b in sample if b < 32 and b not in (9, 10, 13)) + sample.count(127)
    return controls > 0.05 * len(sample)


def _decode_text(raw: bytes) -> tuple[str, list[str]]:
    """Text of the file: UTF-8 (BOM allowed), UTF-16 with a BOM, else latin-1 (with a note)."""
    notes: list[str] = []
    if raw.startswith((b"\xff\xfe", b"\xfe\xff")):
        # Excel's "Unicode text" export: UTF-16 with a byte-order mark (and NULs in every char).
        try:
            text = raw.decode("utf-16")
            notes.append("file decoded as UTF-16")
        except UnicodeDecodeError:
            raise _not_text() from None
    elif _looks_binary(raw):
        raise _not_text()
    else:
        try:
            text = raw.decode("utf-8-sig")
        except UnicodeDecodeError:
            text = raw.decode("latin-1")
            notes.append("file is not valid UTF-8: decoded as latin-1")
    if not text.strip():
        raise ValueError(
            "CSV file is empty: it has no header and no rows. Upload a CSV with a header line "
            "and at least two data rows."
        )
    return text, notes


def _not_text() -> ValueError:
    return ValueError(
        "File is not a text CSV: it holds binary data (an Excel workbook, archive or image?). "
        "Save it as CSV (comma-separated text) and upload that."
    )


# -- from_csv: parsing ---------------------------------------------------------------------------
def _sniff_delimiter(text: str) -> str:
    """The delimiter among , ; tab | that the first lines use consistently; ',' by default."""
    sample = text[:16384]
    lines = [line for line in sample.splitlines()[:21] if line.strip()]
    if len(text) > len(sample):
        lines = lines[:-1]  # the last line of a cut sample may be partial
    try:
        return csv.Sniffer().sniff("\n".join(lines), delimiters=",;\t|").delimiter
    except csv.Error:
        header = lines[0] if lines else ""
        counts = {d: header.count(d) for d in ",;\t|"}
        best = max(counts, key=counts.__getitem__)
        return best if counts[best] else ","


def _parse_table(text: str, nrows: int | None = None) -> tuple[list[str], pd.DataFrame, str]:
    """Header names and the body as a DataFrame of stripped strings (NaN where empty); with
    `nrows`, only that many lines (the header included) are parsed."""
    sep = _sniff_delimiter(text)
    try:
        # header=None keeps duplicate names unmangled and makes pandas hold every row to the
        # header's width; dtype=str leaves the numeric/text decision per column to us.
        table = pd.read_csv(
            io.StringIO(text), sep=sep, header=None, dtype=str, skipinitialspace=True, nrows=nrows
        )
    except pd.errors.EmptyDataError:
        raise ValueError("CSV file is empty: it has no header line. Add one.") from None
    except pd.errors.ParserError as err:
        raise _parser_error(err) from None
    table = table.apply(lambda column: column.str.strip()).replace(list(MISSING), np.nan)
    names = [str(v) if isinstance(v, str) else "" for v in table.iloc[0]]
    header = [name or f"column_{i + 1}" for i, name in enumerate(names)]
    return header, table.iloc[1:].reset_index(drop=True), sep


def _read_table(text: str, target: str, notes: list[str]) -> tuple[list[str], pd.DataFrame, int]:
    """Unique column names, the non-blank body rows and the target's index; notes appended."""
    header, body, sep = _parse_table(text)
    if sep != ",":
        notes.append(f"delimiter {sep!r} detected")
    target_index = _find_target(header, target)
    header, rename_notes = _rename_duplicates(header)
    notes += rename_notes
    body = _drop_blank_rows(body)
    if len(body) < MIN_ROWS:
        raise ValueError(
            f"CSV has {len(body)} data row(s) under its header; at least {MIN_ROWS} are "
            "needed (one to train on, one to validate). Add more rows."
        )
    return header, body, target_index


def _parser_error(err: Exception) -> ValueError:
    message = str(err).replace("Error tokenizing data. C error: ", "").strip()
    if "Expected" in message and "fields" in message:
        return ValueError(
            f"CSV row has more fields than the header: {message}. Every row needs one value per "
            "header column: fix that line (a stray delimiter or an unquoted text value?)."
        )
    if "EOF inside string" in message:
        return ValueError(f"CSV has an unclosed quote: {message}. Close or remove that quote.")
    return ValueError(f"Could not parse the CSV: {message}")


def _rename_duplicates(header: list[str]) -> tuple[list[str], list[str]]:
    """Later copies of a repeated name become name.1, name.2, ... (as pandas does), noted."""
    taken = set(header)
    seen: set[str] = set()
    renamed: list[str] = []
    notes: list[str] = []
    for name in header:
        if name not in seen:
            seen.add(name)
            renamed.append(name)
            continue
        suffix = 1
        while f"{name}.{suffix}" in taken:
            suffix += 1
        new = f"{name}.{suffix}"
        taken.add(new)
        renamed.append(new)
        notes.append(f"duplicate column name {name!r}: the repeat was renamed {new!r}")
    return renamed, notes


def _find_target(header: list[str], target: str) -> int:
    if target not in header:
        shown = ", ".join(repr(h) for h in header[:30]) + (" ..." if len(header) > 30 else "")
        raise ValueError(
            f"CSV has no column {target!r}. Available columns: {shown}. Pick one of these as the "
            "target (the first line of the file is read as the header)."
        )
    if header.count(target) > 1:
        raise ValueError(
            f"CSV has more than one column named {target!r}, so the target is ambiguous. "
            "Rename the columns so each name is unique."
        )
    if len(header) < 2:
        raise ValueError(
            f"CSV has only the target column {target!r}: add at least one feature column."
        )
    return header.index(target)


def _drop_blank_rows(body: pd.DataFrame) -> pd.DataFrame:
    # A line of bare delimiters (",,,") is an empty row, not a row of missing values.
    return body[body.notna().any(axis=1)].reset_index(drop=True)


# -- from_csv: target --------------------------------------------------------------------------
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


# -- from_csv: features ------------------------------------------------------------------------
@dataclass(frozen=True)
class _Plan:
    """How one CSV column becomes features: numeric values, one-hot codes, or nothing."""

    names: tuple[str, ...]
    notes: tuple[str, ...]
    numbers: np.ndarray | None = None  # numeric: cleaned float64 values
    codes: np.ndarray | None = None  # one-hot: category index per row, -1 where missing


def _encode_features(
    table: pd.DataFrame, columns: list[str]
) -> tuple[np.ndarray, tuple[str, ...], np.ndarray, np.ndarray, list[str]]:
    """Float32 feature matrix, its column names, standardization stats and notes."""
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
    return x, names, np.array(means, np.float64), np.array(stds, np.float64), notes


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
    return _Plan((column,), notes, numbers=np.where(finite, numbers, median))


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
    return _Plan(names, (note,), codes=all_codes)


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
