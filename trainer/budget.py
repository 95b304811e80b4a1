"""How big a run is before anything is built: its parameters and an estimate of its memory.

Pure arithmetic on the config and the data's shape (no TensorFlow), so a server can refuse a
run that would not fit before it allocates a byte of it. The estimate counts what grows with
the run: weights, gradients, optimizer slots, activations of a training and an evaluation
batch, and the data held as tensors. A process's fixed cost (the TensorFlow runtime) is not in
it: that is the server's to account for.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass

from trainer.features import RAW, feature_layer_type

# Variables an optimizer keeps per weight (Keras: SGD with momentum 1, Adam/AdamW m and v,
# RMSprop one running average).
OPTIMIZER_SLOTS = {"sgd": 0, "momentum": 1, "adam": 2, "rmsprop": 1, "adamw": 2}
FLOAT_BYTES = 4
EVAL_BATCH = 1024  # as trainer.loop evaluates
# Forward activations are kept for the backward pass, which makes gradients of the same size;
# dropout adds its masks. Three copies per unit and sample covers all of it.
ACTIVATION_COPIES = 3


@dataclass(frozen=True)
class RunSize:
    """A run's parameter count and the bytes it will hold while it trains."""

    params: int
    weight_bytes: int  # weights + gradients + optimizer slots
    activation_bytes: int
    data_bytes: int

    @property
    def total_bytes(self) -> int:
        return self.weight_bytes + self.activation_bytes + self.data_bytes

    @property
    def total_mb(self) -> float:
        return self.total_bytes / 2**20


def steps_per_epoch(num_train: int, batch_size: int) -> int:
    """Optimizer steps in one epoch: the last batch may be short, never empty."""
    return max(1, math.ceil(num_train / batch_size))


def layer_table(config, input_shape: Sequence[int], num_outputs: int) -> list[dict]:
    """The layers `build_model` makes for `config`, with output shapes and parameter counts, as
    Keras' summary lists them (a test holds the two together): the Model page shows it
    without building anything."""
    shape = tuple(input_shape)
    rows = [{"layer": "inputs", "type": "InputLayer", "output shape": shape, "params": 0}]
    width = math.prod(shape) if shape else 1
    if len(shape) > 1:
        rows.append({"layer": "flatten", "type": "Flatten", "output shape": (width,), "params": 0})
    if tuple(config.features) != RAW:
        width = len(config.features)
        kind = feature_layer_type(config.features)
        rows.append({"layer": "features", "type": kind, "output shape": (width,), "params": 0})
    for i, units in enumerate(config.hidden_units, start=1):
        rows.append(_dense(f"dense_{i}", width, units))
        if config.dropout > 0:
            rows.append(
                {"layer": f"dropout_{i}", "type": "Dropout", "output shape": (units,), "params": 0}
            )
        width = units
    rows.append(_dense("predictions", width, num_outputs))
    if config.task == "regression":  # the standardized prediction, back in the target's units
        rows.append(
            {"layer": "target_units", "type": "Rescaling", "output shape": (1,), "params": 0}
        )
    return rows


def _dense(name: str, inputs: int, units: int) -> dict:
    return {
        "layer": name,
        "type": "Dense",
        "output shape": (units,),
        "params": inputs * units + units,
    }


def count_params(hidden_units: Sequence[int], input_size: int, num_outputs: int) -> int:
    """Weights and biases of the Dense stack `build_model` makes."""
    widths = [input_size, *hidden_units, num_outputs]
    return sum(a * b + b for a, b in zip(widths[:-1], widths[1:]))


def estimate_size(
    config,
    input_shape: Sequence[int],
    num_outputs: int,
    num_train: int,
    num_val: int,
    item_bytes: int = FLOAT_BYTES,
) -> RunSize:
    """What a run of `config` on data of this shape holds: see the module docstring.

    `item_bytes` is the size of one input value as stored (1 for uint8 images).
    """
    input_size = math.prod(input_shape) if input_shape else 1
    first = len(config.features) if tuple(config.features) != RAW else input_size
    params = count_params(config.hidden_units, first, num_outputs)
    slots = OPTIMIZER_SLOTS.get(config.optimizer, 2)
    weight_bytes = params * FLOAT_BYTES * (2 + slots)
    units = max(input_size, first) + sum(config.hidden_units) + num_outputs
    # A batch holds at most the whole training set (65,536 on 1,438 digits is one batch of
    # 1,438); evaluation goes in batches of EVAL_BATCH.
    train_batch = min(config.batch_size, max(num_train, 1))
    batch = max(train_batch, min(EVAL_BATCH, max(num_val, 1)))
    activation_bytes = batch * units * FLOAT_BYTES * ACTIVATION_COPIES
    rows = num_train + num_val
    # The arrays as tensors, their labels, and two epochs' orders (one training, one prefetched).
    data_bytes = rows * (input_size * item_bytes + 8) + 2 * num_train * 8
    return RunSize(params, weight_bytes, activation_bytes, data_bytes)
