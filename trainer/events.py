"""The small frozen records that `trainer.train` yields: one per batch, one per epoch, one last."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

# What a consumer sends into the generator (`gen.send(trainer.STOP)`) to end a run gracefully:
# the batches already computed are still yielded, then `TrainingEnd(reason="stopped")`.
# `gen.close()` also ends it, but then no TrainingEnd can be yielded.
STOP = "stop"

REASONS = ("completed", "stopped", "diverged", "early_stopped")


@dataclass(frozen=True, slots=True)
class BatchEnd:
    """One optimizer step. Counters are 0-based like Python and Keras callbacks."""

    step: int  # global step index across epochs
    epoch: int
    batch: int  # index within the epoch (the guide's `step`)
    loss: float  # this batch's training loss, regularization included (what was minimized)
    samples_seen: int  # cumulative training samples, this batch included ("Seen so far")
    elapsed_s: float  # training time so far, excluding time the consumer spent not pulling


@dataclass(frozen=True, slots=True)
class EpochEnd:
    """Epoch metrics: `loss`, `accuracy` (classification) or `mae` (regression), and `val_*`."""

    epoch: int
    metrics: Mapping[str, float]
    step: int  # global index of the epoch's last step
    elapsed_s: float


@dataclass(frozen=True, slots=True)
class TrainingEnd:
    """Always the last event of a run that was not `close()`d."""

    reason: str  # one of REASONS
    step: int  # global index of the last step taken (-1 if none)
    epoch: int  # index of the last epoch entered (0-based)
    elapsed_s: float
    metrics: Mapping[str, float] = field(default_factory=dict)  # last epoch's metrics
    message: str = ""  # a sentence for people: why it ended
    model: Any = field(default=None, repr=False, compare=False)  # the trained keras.Model


Event = BatchEnd | EpochEnd | TrainingEnd
