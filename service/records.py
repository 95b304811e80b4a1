"""Between a `Run` in memory and its rows in the store, both ways, and the light summary the
Runs page lists (no history, no model: thousands of them paint at once)."""

from __future__ import annotations

import functools
import io
import json
import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from service.runs import INTERRUPTED, RANKING, Run
from service.schema import is_stale
from service.store import StoredRun
from trainer.config import RunConfig
from trainer.events import TrainingEnd
from trainer.history import History


@dataclass(frozen=True)
class RunSummary:
    """One line of the Runs page."""

    id: str
    owner: str
    number: int
    config: RunConfig
    data_title: str
    state: str  # running, paused, ..., or how it ended
    steps: int
    training_s: float
    metrics: dict[str, float]
    best: float | None  # the run's RANKING metric at its best
    created: float
    has_model: bool
    message: str = ""
    data: dict = field(default_factory=dict)  # what the data was (Run.data_info)

    @property
    def name(self) -> str:
        return f"run {self.number}"


def summarize(run: Run) -> RunSummary:
    with run.lock:
        return RunSummary(
            run.id,
            run.owner,
            run.number,
            run.config,
            run.data_title,
            run.state_label(),
            run.steps_done,
            run.training_s,
            run.final_metrics(),
            best_of(run),
            run.created,
            run.model_bytes is not None,
            run.end.message if run.end else "",
            dict(run.data_info),
        )


def summary_from_row(row: dict[str, Any]) -> RunSummary:
    end = json.loads(row["end"]) if row["end"] else None
    state = end["reason"] if end else row["status"]
    if is_stale(row):
        state = INTERRUPTED
    return RunSummary(
        row["id"],
        row["owner"],
        row["number"],
        config_of(row["config"]),
        row["data_title"],
        state,
        row["steps"],
        row["training_s"],
        json.loads(row["metrics"]),
        row["best"],
        row["created"],
        bool(row.get("has_model", row.get("model") is not None)),
        end["message"] if end else "",
        data_of(row["data"]),
    )


@functools.lru_cache(maxsize=4096)
def data_of(text: str) -> dict:
    """A stored data description (shared: callers must not change it)."""
    return json.loads(text)


@functools.lru_cache(maxsize=4096)
def config_of(text: str) -> RunConfig:
    """A stored config, parsed and validated once: a long listing repeats the same few."""
    return RunConfig.from_json(text)


def best_of(run: Run) -> float | None:
    metric, _ = RANKING[run.config.task]
    return run.history.best(metric)


def run_row(run: Run, *, with_model: bool) -> dict[str, Any]:
    """The run's row as it stands (call under its lock). The model bytes only when they
    changed: a row update need not carry them every second."""
    end = run.end
    row = {
        "id": run.id,
        "owner": run.owner,
        "number": run.number,
        "created": run.created,
        "updated": time.time(),
        "config": run.config.to_json(),
        "data_title": run.data_title,
        "data": json.dumps(run.data_info),
        "status": run.status,
        "end": None
        if end is None
        else json.dumps(
            {
                "reason": end.reason,
                "message": end.message,
                "step": end.step,
                "epoch": end.epoch,
                "elapsed_s": end.elapsed_s,
                "metrics": {k: float(v) for k, v in end.metrics.items()},
            }
        ),
        "steps": run.steps_done,
        "training_s": run.training_s,
        "steps_per_epoch": run.steps_per_epoch,
        "num_train": run.num_train,
        "num_val": run.num_val,
        "replicas": run.replicas,
        "metrics": json.dumps({k: float(v) for k, v in run.final_metrics().items()}),
        "best": best_of(run),
        "model_step": run.model_step,
    }
    if with_model:
        row["model"] = run.model_bytes
    return row


def run_from_stored(stored: StoredRun, dataset: Any) -> Run:
    """A run read back from the store (`dataset`: the data it trained on, or None). A run
    that was still training when its server stopped comes back ended, as interrupted."""
    row = stored.row
    config = RunConfig.from_json(row["config"])
    per_epoch = row["steps_per_epoch"]
    history = History(capacity=max(len(stored.steps), 1), steps_per_epoch=per_epoch)
    history.extend(_columns(stored, config, row["num_train"], per_epoch))
    for epoch in stored.epochs:
        from trainer.events import EpochEnd

        metrics = {k: v for k, v in epoch.items() if k not in ("epoch", "step", "elapsed_s")}
        history.record(EpochEnd(epoch["epoch"], metrics, epoch["step"], epoch["elapsed_s"]))
    run = Run(
        id=row["id"],
        owner=row["owner"],
        number=row["number"],
        config=config,
        data_title=row["data_title"],
        steps_per_epoch=per_epoch,
        num_train=row["num_train"],
        num_val=row["num_val"],
        dataset=dataset,
        history=history,
        status=row["status"],
        replicas=row["replicas"],
        model_bytes=bytes(row["model"]) if row["model"] is not None else None,
        model_step=row["model_step"],
        created=row["created"],
        data_info=json.loads(row["data"]),
    )
    if row["end"]:
        end = json.loads(row["end"])
        run.end = TrainingEnd(
            end["reason"],
            end["step"],
            end["epoch"],
            end["elapsed_s"],
            end["metrics"],
            end["message"],
        )
        run.status = "finished"
    return run


def _columns(stored: StoredRun, config: RunConfig, num_train: int, per_epoch: int) -> dict:
    """The History columns of the stored batches: epoch, batch and samples seen follow from
    the step, as the engine counts them (the last batch of an epoch may be short)."""
    steps = stored.steps
    epoch, batch = np.divmod(steps, max(per_epoch, 1))
    within = np.minimum((batch + 1) * config.batch_size, num_train)
    return {
        "step": steps,
        "epoch": epoch,
        "batch": batch,
        "loss": stored.loss,
        "samples_seen": epoch * num_train + within,
        "elapsed_s": stored.elapsed,
    }


def is_2d(run: Run) -> bool:
    """Whether the run's data lies in the plane (it gets a live decision boundary)."""
    shape = run.dataset.input_shape if run.dataset is not None else run.data_info["input_shape"]
    return tuple(shape) == (2,)


def describe_data(dataset: Any) -> dict:
    """What the data was, kept with the run (JSON): name, task, sizes, shape, classes."""
    return {
        "name": dataset.name,
        "task": dataset.task,
        "num_train": dataset.num_train,
        "num_val": dataset.num_val,
        "input_shape": list(dataset.input_shape),
        "classes": list(dataset.class_names)[:200],
    }


def pack_dataset(dataset: Any) -> bytes:
    """An uploaded dataset's arrays and description as one .npz blob (no pickle)."""
    header = {
        "task": dataset.task,
        "class_names": list(dataset.class_names),
        "input_shape": list(dataset.input_shape),
        "name": dataset.name,
        "scale": dataset.scale,
        "feature_names": list(dataset.feature_names),
        "notes": list(dataset.notes),
        # The CSV columns the features come from: the downloaded model takes raw rows by them.
        "columns": [[c.name, list(c.categories)] for c in dataset.columns],
    }
    arrays = {"x_train": dataset.x_train, "y_train": dataset.y_train}
    for name in ("x_val", "y_val", "feature_mean", "feature_std"):
        value = getattr(dataset, name)
        if value is not None:
            arrays[name] = value
    buffer = io.BytesIO()
    np.savez_compressed(
        buffer, header=np.frombuffer(json.dumps(header).encode(), np.uint8), **arrays
    )
    return buffer.getvalue()


def unpack_dataset(blob: bytes) -> Any:
    from trainer.csv_encoder import CsvColumn
    from trainer.data import Dataset

    with np.load(io.BytesIO(blob), allow_pickle=False) as f:
        header = json.loads(bytes(f["header"]).decode())
        arrays = {name: f[name] for name in f.files if name != "header"}
    return Dataset(
        x_train=arrays["x_train"],
        y_train=arrays["y_train"],
        x_val=arrays.get("x_val"),
        y_val=arrays.get("y_val"),
        task=header["task"],
        class_names=tuple(header["class_names"]),
        input_shape=tuple(header["input_shape"]),
        name=header["name"],
        scale=header["scale"],
        feature_names=tuple(header["feature_names"]),
        notes=tuple(header["notes"]),
        feature_mean=arrays.get("feature_mean"),
        feature_std=arrays.get("feature_std"),
        columns=tuple(CsvColumn(name, tuple(c)) for name, c in header.get("columns", [])),
    )
