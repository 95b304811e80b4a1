"""Server-wide limits, so one public Streamlit process stays responsive for everybody.

Streamlit Community Cloud runs one process for every visitor. Two guards, both configurable by
environment variable (defaults sized for a small Cloud box):

- TAPEBOARD_MAX_CONCURRENT (default 2): trainings that may pull batches at the same moment.
  A run holds a slot only while its page is pulling; a paused run holds none. Others wait,
  told why, and start as soon as a slot frees.
- TAPEBOARD_MAX_SAMPLE_EPOCHS (default 3,000,000): epochs x training samples of one run (50
  MNIST epochs). A bigger run is refused before it starts, with the numbers to shrink.

And one speed setting: TAPEBOARD_TF_THREADS (default 1), the size of each of TensorFlow's
thread pools in this process (0: TensorFlow's default, one thread per core). The dashboard's
small models train fastest with one thread on few cores (an op too small to split gains less
than the pools' hand-offs cost: 1.4x the steps/s on 2 cores, see the README), and each
concurrent run then keeps to a core, leaving the rest to the web server and other runs.
"""

from __future__ import annotations

import os
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass


@dataclass(frozen=True)
class Limits:
    max_concurrent: int = 2
    max_sample_epochs: int = 3_000_000
    tf_threads: int = 1

    @classmethod
    def from_env(cls, env: dict[str, str] | None = None) -> Limits:
        """Limits from TAPEBOARD_* variables; a bad value is a ValueError naming it."""
        env = os.environ if env is None else env
        return cls(
            max_concurrent=_int_at_least(env, "TAPEBOARD_MAX_CONCURRENT", cls.max_concurrent),
            max_sample_epochs=_int_at_least(
                env, "TAPEBOARD_MAX_SAMPLE_EPOCHS", cls.max_sample_epochs
            ),
            tf_threads=_int_at_least(env, "TAPEBOARD_TF_THREADS", cls.tf_threads, least=0),
        )


def _int_at_least(env: dict[str, str], name: str, default: int, least: int = 1) -> int:
    text = env.get(name, "").strip()
    if not text:
        return default
    try:
        value = int(text)
    except ValueError:
        value = least - 1
    if value < least:
        kind = "a positive integer" if least == 1 else f"an integer >= {least}"
        raise ValueError(f"{name} must be {kind}. Received: {name}={text!r}")
    return value


def tensorflow_environment(limits: Limits) -> dict[str, str]:
    """TAPEBOARD_TF_THREADS as the variables TensorFlow reads when it starts (its thread pools
    are fixed then). Setting them needs no TensorFlow import, so the app can do it before any
    page loads TensorFlow, whichever page that is."""
    if limits.tf_threads == 0:
        return {}
    threads = str(limits.tf_threads)
    return {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": threads}


def check_run_size(epochs: int, num_train: int, limits: Limits) -> str | None:
    """None if the run fits this server's budget, else what to shrink and by how much."""
    size = epochs * num_train
    if size <= limits.max_sample_epochs:
        return None
    most_epochs = max(limits.max_sample_epochs // max(num_train, 1), 0)
    return (
        f"This run is too big for this server: {epochs} epochs x {num_train:,} training samples "
        f"= {size:,} sample-epochs, and the limit is {limits.max_sample_epochs:,}. Use at most "
        f"{most_epochs} epochs on this data, or fewer samples (or run it headless with "
        "`python -m trainer`, which has no limit)."
    )


class TrainingSlots:
    """A process-wide count of trainings pulling right now (thread-safe: one thread a session)."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.refusals = 0  # how often a run had to wait: a sign the cap is too low
        self._busy = 0
        self._lock = threading.Lock()

    @property
    def busy(self) -> int:
        return self._busy

    def try_acquire(self) -> bool:
        with self._lock:
            if self._busy >= self.limit:
                self.refusals += 1
                return False
            self._busy += 1
            return True

    def release(self) -> None:
        with self._lock:
            self._busy = max(self._busy - 1, 0)

    @contextmanager
    def hold(self) -> Iterator[bool]:
        """`with slots.hold() as got:` got is False when the server is full (nothing held)."""
        got = self.try_acquire()
        try:
            yield got
        finally:
            if got:
                self.release()
