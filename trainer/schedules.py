"""The learning rate at each step, for a preview, without TensorFlow.

`trainer.model.make_learning_rate` builds the Keras schedule a run trains with; this module
evaluates the same schedules' formulas (as Keras documents and implements them) with NumPy, so
the Model page can draw the curve in a process that never imports TensorFlow. A test compares
both for every schedule in `trainer.config.LR_SCHEDULES`.
"""

from __future__ import annotations

import numpy as np


def learning_rates(config, steps: np.ndarray) -> np.ndarray:
    """The learning rate of `config`'s schedule at each of `steps` (float64)."""
    steps = np.asarray(steps, dtype=np.float64)
    lr, period, rate = config.learning_rate, config.decay_steps, config.decay_rate
    name = config.lr_schedule
    if name == "constant":
        return np.full(steps.shape, lr, dtype=np.float64)
    if name == "exponential":  # keras.optimizers.schedules.ExponentialDecay
        return lr * rate ** (steps / period)
    if name == "step":  # ExponentialDecay(staircase=True)
        return lr * rate ** np.floor(steps / period)
    if name == "cosine":  # CosineDecay(alpha=0): half a cosine from lr down to 0 at `period`
        done = np.minimum(steps, period) / period
        return lr * 0.5 * (1.0 + np.cos(np.pi * done))
    raise ValueError(f"Unknown lr_schedule. Received: lr_schedule={name!r}")


def learning_rate_points(config, total_steps: int, points: int = 200) -> list[tuple[int, float]]:
    """(step, learning rate) pairs over a run of `total_steps`, for a preview plot."""
    steps = np.unique(np.linspace(0, max(total_steps - 1, 0), num=max(points, 2)).astype(int))
    return [(int(s), float(v)) for s, v in zip(steps, learning_rates(config, steps))]
