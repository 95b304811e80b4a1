"""The optimizers a run can use: one table, read by everything that names or builds one.

An entry maps a `RunConfig.optimizer` name to a class of `keras.optimizers` and the keyword
arguments it takes besides the learning rate. Config validation, model building
(`trainer.model.make_optimizer`), the exported script (`OptimizerSpec.code`) and the Model
page's choices all read `OPTIMIZERS`, so adding an optimizer is one entry here; the tests train
and export every entry. The class is named, not imported: the dashboard validates configs in a
process that never imports TensorFlow.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any


@dataclass(frozen=True)
class OptimizerSpec:
    """`keras.optimizers.<keras_class>(learning_rate=..., **kwargs)`."""

    keras_class: str  # a class name in keras.optimizers
    kwargs: Mapping[str, Any] = field(default_factory=dict)  # besides learning_rate

    def code(self, learning_rate_code: str) -> str:
        """The constructor call as Python source, for the exported script."""
        extra = "".join(f", {name}={value!r}" for name, value in self.kwargs.items())
        return f"keras.optimizers.{self.keras_class}(learning_rate={learning_rate_code}{extra})"


OPTIMIZERS: dict[str, OptimizerSpec] = {
    "sgd": OptimizerSpec("SGD"),
    "momentum": OptimizerSpec("SGD", {"momentum": 0.9}),
    "adam": OptimizerSpec("Adam"),
    "rmsprop": OptimizerSpec("RMSprop"),
    "adamw": OptimizerSpec("AdamW"),
}


def optimizer_spec(name: str) -> OptimizerSpec:
    """The table's entry for `name`; a ValueError naming the known ones when there is none."""
    try:
        return OPTIMIZERS[name]
    except KeyError:
        raise ValueError(
            f"Unknown optimizer (known: {', '.join(OPTIMIZERS)}). Received: optimizer={name!r}"
        ) from None
