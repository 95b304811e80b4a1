"""RunConfig: every choice that defines a training run, validated once, at construction.

A run is reproducible from its config alone (with `dataset` one of the registry's names), and a
config travels as a dict, JSON or a URL query string, so a dashboard link restores the setup.
Defaults reproduce the Keras guide "Writing a training loop from scratch": two Dense(64, relu)
layers and a linear output, SGD at 1e-3, batch 64, 2 epochs, shuffle buffer 1024.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Callable, Collection, Mapping
from dataclasses import dataclass, fields
from typing import Any
from urllib.parse import parse_qsl, urlencode

from trainer.features import FEATURES, RAW, in_order

# The optimizer and schedule names are their tables' keys (one home each, read at check time).
from trainer.optimizers import OPTIMIZERS
from trainer.schedules import LR_SCHEDULES

TASKS = ("classification", "regression")
ACTIVATIONS = ("relu", "tanh", "sigmoid", "linear", "elu", "gelu", "swish", "leaky_relu")
STRATEGIES = ("default", "mirrored", "multi_worker")

MAX_LAYERS = 16
MAX_UNITS = 4096


@dataclass(frozen=True)
class RunConfig:
    # Data. `dataset` names a registry entry (trainer.DATASETS) or "csv" for caller-given data.
    dataset: str = "digits"
    noise: float = 0.0  # TensorFlow Playground sets only: noise in percent, 0-50 as there
    num_samples: int = 500  # TensorFlow Playground sets only: points generated
    task: str = "classification"
    validation_split: float = 0.2  # held out (stratified, seeded) when the data has no val set

    # Model: Dense layers between the input and a linear output layer (logits).
    # What the first layer sees of two-feature data (TensorFlow Playground's FEATURES column):
    # names from trainer.features.FEATURES, computed inside the model; other data: x1,x2.
    features: tuple[str, ...] = RAW
    hidden_units: tuple[int, ...] = (64, 64)
    activation: str = "relu"
    # Penalties on Dense kernels (TensorFlow Playground's L1 and L2 regularization), added to
    # the loss via model.losses: l1 * sum(|w|) + l2 * sum(w**2).
    l1: float = 0.0
    l2: float = 0.0
    dropout: float = 0.0  # after each hidden layer

    # Optimization.
    optimizer: str = "sgd"
    learning_rate: float = 1e-3
    lr_schedule: str = "constant"
    decay_steps: int = 1000  # exponential/step: decay period; cosine: steps to reach zero
    decay_rate: float = 0.5  # exponential/step: factor per decay period
    batch_size: int = 64
    epochs: int = 2
    shuffle: bool = True  # False takes batches in dataset order
    shuffle_buffer: int = 1024  # as tf.data.Dataset.shuffle(buffer_size=...)
    patience: int = 0  # early stopping on val_loss after this many epochs without gain; 0 = off
    # The run ends with the weights of its best epoch (lowest val_loss), as Keras'
    # EarlyStopping(restore_best_weights=True): the model taken away is the best one seen.
    restore_best_weights: bool = False
    seed: int = 0

    # Execution.
    strategy: str = "default"
    log_every: int = 10  # batches per Step on the Train page; the exported script logs as often
    steps_per_execution: int = 32  # most train steps per compiled call (fewer if steps are slow)
    # The same train step without tf.function, as Keras' run_eagerly: slow, but a debugger or
    # a print() inside the step sees every batch. The losses are the same.
    run_eagerly: bool = False

    def __post_init__(self) -> None:
        for f in fields(self):
            value = _coerce(f.name, getattr(self, f.name), _FIELD_TYPES[f.name])
            object.__setattr__(self, f.name, value)
        for name, check in _CHECKS.items():
            problem = check(getattr(self, name))
            if problem:
                raise ValueError(
                    f"RunConfig.{name} {problem}. Received: {name}={getattr(self, name)!r}"
                )

    # -- round trips -------------------------------------------------------------------------
    def to_dict(self) -> dict[str, Any]:
        """Plain JSON-ready dict of every field (tuples become lists)."""
        # Every field is a scalar or a tuple of ints: no deep copy needed (dataclasses.asdict
        # deep-copies each value, 70% of the Runs page's table for 1,000 runs).
        data = {name: getattr(self, name) for name in _FIELD_TYPES}
        data["hidden_units"] = list(self.hidden_units)
        data["features"] = list(self.features)
        return data

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> RunConfig:
        """Inverse of `to_dict`; unknown keys are an error (a typo must not pass silently)."""
        unknown = sorted(set(data) - set(_FIELD_TYPES))
        if unknown:
            raise ValueError(
                f"RunConfig has no field {unknown[0]!r}. Known fields: {', '.join(_FIELD_TYPES)}"
            )
        return cls(**dict(data))

    def to_json(self) -> str:
        return json.dumps(self.to_dict(), indent=2)

    @classmethod
    def from_json(cls, text: str) -> RunConfig:
        try:
            data = json.loads(text)
        except json.JSONDecodeError as err:
            raise ValueError(f"RunConfig JSON is not valid JSON: {err}") from None
        if not isinstance(data, dict):
            raise ValueError(f"RunConfig JSON must be an object. Received: {type(data).__name__}")
        return cls.from_dict(data)

    def to_query(self, base: RunConfig | None = None) -> str:
        """URL query string of the fields that differ from `base` (the defaults): short links."""
        return urlencode(self.to_params(base))

    def to_params(self, base: RunConfig | None = None) -> dict[str, str]:
        """The fields that differ from `base` (the defaults) as strings, e.g. for
        `st.query_params`. Read back with `from_query(..., base=base)`."""
        default = base or RunConfig()
        return {
            f.name: _format(getattr(self, f.name))
            for f in fields(self)
            if getattr(self, f.name) != getattr(default, f.name)
        }

    @classmethod
    def from_query(cls, query: str | Mapping[str, Any], base: RunConfig | None = None) -> RunConfig:
        """Inverse of `to_query`: `base` (the defaults) with the query's fields on top. Keys
        that are not fields are ignored: URLs carry other things."""
        params = dict(parse_qsl(query.lstrip("?"))) if isinstance(query, str) else dict(query)
        known = {k: v for k, v in params.items() if k in _FIELD_TYPES}
        return (base or cls()).replace(**known) if known else (base or cls())

    def replace(self, **changes: Any) -> RunConfig:
        """A copy with some fields changed, validated again."""
        return RunConfig.from_dict({**self.to_dict(), **changes})


# -- coercion: strings from URLs / CLI flags / JSON become the field's type --------------------
def _format(value: Any) -> str:
    if isinstance(value, tuple):
        return ",".join(str(v) for v in value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _coerce(name: str, value: Any, kind: type) -> Any:
    try:
        if kind is tuple:
            return _to_units(value)
        if kind is Names:
            return _to_names(value)
        if kind is bool:
            return _to_bool(value)
        if kind is int:
            return _to_int(value)
        if kind is float:
            if isinstance(value, bool):
                raise TypeError
            return float(value)
        if not isinstance(value, str):
            raise TypeError
        return value.strip().lower()
    except (TypeError, ValueError):
        raise ValueError(
            f"RunConfig.{name} must be {_KIND_NAMES[kind]}. Received: {name}={value!r}"
        ) from None


def _to_int(value: Any) -> int:
    if isinstance(value, bool):
        raise TypeError
    if isinstance(value, float):
        if not value.is_integer():
            raise ValueError
        return int(value)
    return int(value)


def _to_bool(value: Any) -> bool:
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "yes", "on"):
        return True
    if text in ("false", "0", "no", "off"):
        return False
    raise ValueError


def _to_units(value: Any) -> tuple[int, ...]:
    if isinstance(value, str):
        # Commas or spaces between widths: "16 16" is two layers (it was read as 1616).
        parts = [p for p in re.split(r"[\s,]+", value) if p]
        return tuple(_to_int(p) for p in parts)
    return tuple(_to_int(v) for v in value)


def _to_names(value: Any) -> tuple[str, ...]:
    parts = re.split(r"[\s,]+", value) if isinstance(value, str) else list(value)
    if not all(isinstance(p, str) for p in parts):
        raise TypeError
    return in_order([p.strip().lower() for p in parts if p.strip()])


class Names(tuple):
    """The kind of a field that is a list of names (`features`), for coercion."""


_KIND_NAMES = {
    int: "an integer",
    float: "a number",
    bool: "true or false",
    str: "a string",
    tuple: "a list of integers (e.g. 64,64)",
    Names: "a list of names (e.g. x1,x2)",
}
_FIELD_TYPES: dict[str, type] = {
    f.name: {
        "tuple[int, ...]": tuple,
        "tuple[str, ...]": Names,
        "int": int,
        "float": float,
        "bool": bool,
        "str": str,
    }[f.type]
    for f in fields(RunConfig)
}


# -- checks: each returns None or the problem, worded to follow "RunConfig.<field> " -----------
def _one_of(options: Collection[str]) -> Callable[[str], str | None]:
    # `options` is read at each check, so an entry added to a table at run time is accepted.
    return lambda v: None if v in options else f"must be one of {', '.join(options)}"


def _between(lo: float, hi: float, lo_open: bool = False) -> Callable[[float], str | None]:
    def check(v: float) -> str | None:
        ok = math.isfinite(v) and (lo < v if lo_open else lo <= v) and v <= hi
        return None if ok else f"must be in {'(' if lo_open else '['}{_bound(lo)}, {_bound(hi)}]"

    return check


def _bound(x: float) -> str:
    """A range's end as typed: 2147483647, not 2.14748e+09; 0.999 as it is."""
    return str(x) if isinstance(x, int) else f"{x:g}"


def _check_units(units: tuple[int, ...]) -> str | None:
    if len(units) > MAX_LAYERS:
        return f"may have at most {MAX_LAYERS} hidden layers"
    if any(u < 1 or u > MAX_UNITS for u in units):
        return f"must hold layer widths between 1 and {MAX_UNITS}"
    return None


def _check_features(names: tuple[str, ...]) -> str | None:
    if not names:
        return "must name at least one feature"
    unknown = [n for n in names if n not in FEATURES]
    if unknown:
        return f"must name features among {', '.join(FEATURES)} ({unknown[0]!r} is not one)"
    if len(set(names)) < len(names):
        return "must name each feature once"
    return None


def _check_dataset(name: str) -> str | None:
    return None if name and name.replace("_", "").replace("-", "").isalnum() else "must be a name"


_CHECKS: dict[str, Callable[[Any], str | None]] = {
    "dataset": _check_dataset,
    "noise": _between(0, 50),
    "num_samples": _between(10, 100_000),
    "task": _one_of(TASKS),
    "validation_split": _between(0, 0.9),
    "features": _check_features,
    "hidden_units": _check_units,
    "activation": _one_of(ACTIVATIONS),
    "l1": _between(0, 1),
    "l2": _between(0, 1),
    "dropout": _between(0, 0.95),
    "optimizer": _one_of(OPTIMIZERS),
    "learning_rate": _between(0, 100, lo_open=True),
    "lr_schedule": _one_of(LR_SCHEDULES),
    "decay_steps": _between(1, 10_000_000),
    "decay_rate": _between(0, 1, lo_open=True),
    "batch_size": _between(1, 65_536),
    "epochs": _between(1, 10_000),
    "shuffle_buffer": _between(1, 10_000_000),
    "patience": _between(0, 10_000),
    "seed": _between(0, 2**31 - 1),
    "strategy": _one_of(STRATEGIES),
    "log_every": _between(1, 100_000),
    "steps_per_execution": _between(1, 1_000),
}
