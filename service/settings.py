"""The run service's settings: how many runs train at once, how big a run may be, and when a
worker process is replaced. Each is a TAPEBOARD_* environment variable (or an entry of the
app's Streamlit secrets, copied to the environment at start), with defaults sized for a small
public box (Streamlit Community Cloud: 2 cores, 2.7 GB).
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass, fields

# Variable name -> (field, least allowed value). Read once per server process.
_VARIABLES = {
    "TAPEBOARD_MAX_CONCURRENT": ("max_concurrent", 1),
    "TAPEBOARD_MAX_SAMPLE_EPOCHS": ("max_sample_epochs", 1),
    "TAPEBOARD_TF_THREADS": ("tf_threads", 0),
    "TAPEBOARD_MAX_PARAMS": ("max_params", 1),
    "TAPEBOARD_MAX_RUN_MB": ("max_run_mb", 1),
    "TAPEBOARD_WORKER_MAX_RUNS": ("worker_max_runs", 1),
    "TAPEBOARD_WORKER_MAX_RSS_MB": ("worker_max_rss_mb", 1),
    "TAPEBOARD_PAUSE_LIMIT_S": ("pause_limit_s", 1),
    "TAPEBOARD_KEEP_RUNS": ("keep_runs", 1),
    "TAPEBOARD_TASK_IDLE_S": ("task_idle_s", 1),
    "TAPEBOARD_CHECKPOINT_S": ("checkpoint_s", 0),
    "TAPEBOARD_KEEP_MODELS_MB": ("keep_models_mb", 0),
}


@dataclass(frozen=True)
class Settings:
    # Worker processes, so runs that train at the same moment; more wait in line, told why.
    max_concurrent: int = 2
    # Epochs x training samples of one run (50 MNIST epochs): a bigger run is refused.
    max_sample_epochs: int = 3_000_000
    # Threads in each of TensorFlow's pools per process (0: TensorFlow's default, one per
    # core). Small models on few cores train fastest with one, and each run keeps to a core.
    tf_threads: int = 1
    # A model above this many parameters is refused before it is built.
    max_params: int = 5_000_000
    # ...and so is a run whose estimated memory (trainer.budget) is above this. Sized with
    # benchmarks/memory.py (part 4): a warm worker holds ~0.7 GB before any run, a run's real
    # growth comes to up to 1.8 x its estimate, and the server holds ~0.5 GB with four
    # visitors, so two of the largest runs, two workers and the server stay under Community
    # Cloud's 2.7 GB.
    max_run_mb: int = 200
    # TensorFlow keeps a little memory per model built, so a worker is replaced after this
    # many runs, or once its resident memory passes this: the server's memory stays flat.
    worker_max_runs: int = 25
    worker_max_rss_mb: int = 1000
    # A paused run holds a worker; after this long paused it is stopped (its model is kept).
    pause_limit_s: int = 600
    # Finished runs kept in memory (the newest); older ones are dropped from memory, and
    # read back from the store when someone opens them.
    keep_runs: int = 200
    # ...and at most this many MB of their models (a .keras of the largest model allowed is
    # 20 MB): beyond it the oldest finished runs leave memory too, if the store has them.
    keep_models_mb: int = 100
    # The task worker (Evaluate's predictions, downloads) leaves after this long unused.
    task_idle_s: int = 300
    # A training run's epoch checkpoint is kept at most this often (0: after every epoch): an
    # interrupted run resumes from it. Rarer costs less training time, more to train again.
    checkpoint_s: int = 10

    @classmethod
    def from_env(cls, env: Mapping[str, str] | None = None) -> Settings:
        """Settings from TAPEBOARD_* variables; a bad value is a ValueError naming it."""
        env = os.environ if env is None else env
        defaults = {f.name: f.default for f in fields(cls)}
        values = {}
        for name, (field, least) in _VARIABLES.items():
            values[field] = _int_at_least(env, name, defaults[field], least)
        return cls(**values)


def _int_at_least(env: Mapping[str, str], name: str, default: int, least: int) -> int:
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


def tensorflow_environment(settings: Settings) -> dict[str, str]:
    """TAPEBOARD_TF_THREADS as the variables TensorFlow reads when it starts (its thread pools
    are fixed then): set in a worker's environment before it imports TensorFlow."""
    if settings.tf_threads == 0:
        return {}
    threads = str(settings.tf_threads)
    return {"TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": threads}


def check_run_size(epochs: int, num_train: int, settings: Settings) -> str | None:
    """None if the run's length fits this server's budget, else what to shrink and by how much."""
    size = epochs * num_train
    if size <= settings.max_sample_epochs:
        return None
    most_epochs = settings.max_sample_epochs // max(num_train, 1)
    smaller = (
        f"Use at most {most_epochs} epochs on this data, or fewer samples"
        if most_epochs
        else f"Even one epoch is too many: use at most {settings.max_sample_epochs:,} training "
        "samples"
    )
    return (
        f"This run is too big for this server: {epochs} epochs x {num_train:,} training samples "
        f"= {size:,} sample-epochs, and the limit is {settings.max_sample_epochs:,}. {smaller} "
        "(or train it headless with python -m trainer, which has no limit)."
    )


def check_model_size(size, settings: Settings) -> str | None:
    """None if a `trainer.budget.RunSize` fits, else the numbers and what to lower."""
    if size.params > settings.max_params:
        return (
            f"This model is too big for this server: {size.params:,} parameters, and the limit "
            f"is {settings.max_params:,}. Use fewer or narrower hidden layers."
        )
    if size.total_mb > settings.max_run_mb:
        return (
            f"This run needs about {size.total_mb:,.0f} MB ({_mb(size.weight_bytes)} of weights "
            f"and optimizer state, {_mb(size.activation_bytes)} of activations, "
            f"{_mb(size.data_bytes)} of data), and this server allows "
            f"{settings.max_run_mb:,} MB a run. Lower the batch size or the layer widths, or "
            "use fewer samples."
        )
    return None


def _mb(size: float) -> str:
    """Bytes in MB for people: "281 MB", and "under 1 MB" rather than "0 MB"."""
    mb = size / 2**20
    return f"{mb:,.0f} MB" if mb >= 1 else "under 1 MB"
