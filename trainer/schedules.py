"""The learning-rate schedules a run can use: one table, read by everything that needs one.

An entry maps a `RunConfig.lr_schedule` name to a class of `keras.optimizers.schedules`, the
RunConfig fields it takes (passed under the same names) and the same schedule's formula in
NumPy. Config validation, model building (`trainer.model.make_learning_rate`), the exported
script (`ScheduleSpec.code`) and the Model page (its choices, which settings it shows, and the
preview curve) all read `LR_SCHEDULES`, so adding a schedule is one entry here; the tests train
and export every entry and compare its formula with Keras'. The formulas let the Model page draw
the curve in a process that never imports TensorFlow, which is also why classes are named, not
imported.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import numpy as np

if TYPE_CHECKING:
    from trainer.config import RunConfig

Formula = Callable[["RunConfig", np.ndarray], np.ndarray]


@dataclass(frozen=True)
class ScheduleSpec:
    """`keras.optimizers.schedules.<keras_class>(learning_rate, **arguments(config))`, or the
    learning rate itself as a float when `keras_class` is None."""

    keras_class: str | None  # a class name in keras.optimizers.schedules
    rates: Formula  # the schedule's learning rate at each step, as Keras computes it
    fields: tuple[str, ...] = ()  # RunConfig fields passed as keyword arguments of that name
    fixed: Mapping[str, Any] = field(default_factory=dict)  # further constant arguments

    def arguments(self, config: RunConfig) -> dict[str, Any]:
        """Keyword arguments of the Keras class (after the initial learning rate)."""
        return {**{name: getattr(config, name) for name in self.fields}, **self.fixed}

    def code(self, config: RunConfig) -> str:
        """The learning rate as Python source, for the exported script."""
        if self.keras_class is None:
            return repr(config.learning_rate)
        extra = "".join(f", {name}={value!r}" for name, value in self.arguments(config).items())
        return f"keras.optimizers.schedules.{self.keras_class}({config.learning_rate!r}{extra})"


# -- the formulas, as Keras documents and implements each class ---------------------------------
def _constant(config: RunConfig, steps: np.ndarray) -> np.ndarray:
    return np.full(steps.shape, config.learning_rate, dtype=np.float64)


def _exponential(config: RunConfig, steps: np.ndarray) -> np.ndarray:
    return config.learning_rate * config.decay_rate ** (steps / config.decay_steps)


def _staircase(config: RunConfig, steps: np.ndarray) -> np.ndarray:
    # The rate drops by `decay_rate` at every `decay_steps` boundary.
    return config.learning_rate * config.decay_rate ** np.floor(steps / config.decay_steps)


def _cosine(config: RunConfig, steps: np.ndarray) -> np.ndarray:
    # alpha=0: half a cosine from the learning rate down to 0 at `decay_steps`, then 0.
    done = np.minimum(steps, config.decay_steps) / config.decay_steps
    return config.learning_rate * 0.5 * (1.0 + np.cos(np.pi * done))


LR_SCHEDULES: dict[str, ScheduleSpec] = {
    "constant": ScheduleSpec(None, _constant),
    "exponential": ScheduleSpec("ExponentialDecay", _exponential, ("decay_steps", "decay_rate")),
    "cosine": ScheduleSpec("CosineDecay", _cosine, ("decay_steps",)),
    "step": ScheduleSpec(
        "ExponentialDecay", _staircase, ("decay_steps", "decay_rate"), {"staircase": True}
    ),
}


def schedule_spec(name: str) -> ScheduleSpec:
    """The table's entry for `name`; a ValueError naming the known ones when there is none."""
    try:
        return LR_SCHEDULES[name]
    except KeyError:
        raise ValueError(
            f"Unknown lr_schedule (known: {', '.join(LR_SCHEDULES)}). "
            f"Received: lr_schedule={name!r}"
        ) from None


def learning_rates(config: RunConfig, steps: Any) -> np.ndarray:
    """The learning rate of `config`'s schedule at each of `steps` (float64)."""
    steps = np.asarray(steps, dtype=np.float64)
    return np.broadcast_to(schedule_spec(config.lr_schedule).rates(config, steps), steps.shape)


def learning_rate_points(
    config: RunConfig, total_steps: int, points: int = 200
) -> list[tuple[int, float]]:
    """(step, learning rate) pairs over a run of `total_steps`, for a preview plot."""
    steps = np.unique(np.linspace(0, max(total_steps - 1, 0), num=max(points, 2)).astype(int))
    return [(int(s), float(v)) for s, v in zip(steps, learning_rates(config, steps))]
