"""What the Runs page offers: the runs table and the files to download (no widgets here)."""

from __future__ import annotations

import io
from collections.abc import Callable
from typing import Any

import pandas as pd

from service import Run
from service.records import RunSummary
from service.runs import RANKING

Label = Callable[[Any], str]  # a run or a run's summary -> the name people see


def plain_name(run: Any) -> str:
    return run.name


def runs_table(summaries: list[RunSummary], run_label: Label = plain_name) -> pd.DataFrame:
    """One row per run, TensorBoard HParams-style: identity, end reason, the best validation
    metric (the ranking: best runs first), final metrics, then every config field. Built from
    summaries (no history, no model): thousands of runs cost one query and this.

    Each task ranks by its own metric (classification: best val_accuracy, higher first;
    regression: best val_loss, lower first), each in its own numeric column; the task of the
    newest run comes first, then the other; in each, runs without one (no epoch yet) last."""
    rows = []
    for run in summaries:
        _, bigger_better = RANKING[run.config.task]
        row = {
            "run": run_label(run),
            best_column(run.config.task): run.best,
            "state": run.state.replace("_", " "),
            "data": run.data_title,
            "steps": run.steps,
            "train time (s)": round(run.training_s, 2),
            "steps/s": round(run.steps / run.training_s) if run.training_s > 0 else None,
            "_task": run.config.task,
            "_key": None if run.best is None else (-run.best if bigger_better else run.best),
            # Four significant digits, not four decimals: a loss of 1.8e-05 is not 0.
            **{k: float(f"{v:.4g}") for k, v in run.metrics.items()},
        }
        config = run.config.to_dict()
        config["hidden_units"] = ",".join(map(str, run.config.hidden_units))
        config["features"] = ",".join(run.config.features)
        row.update(config)
        row["message"] = run.message
        row["_created"] = run.created
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    newest_task = max(summaries, key=lambda s: s.created).config.task
    return (
        table.assign(_other_task=table["_task"] != newest_task, _key=table["_key"].astype(float))
        .sort_values(
            ["_other_task", "_key", "_created"],
            ascending=[True, True, False],
            na_position="last",
        )
        .drop(columns=["_task", "_other_task", "_key", "_created"])
        .reset_index(drop=True)
    )


def best_column(task: str) -> str:
    """The table's column of a task's ranking metric at its best: "best val_accuracy"."""
    return f"best {RANKING[task][0]}"


# What tells two runs' data apart beyond the config (an upload's file, target, rows, hash).
DATA_FIELDS = {"file": "data file", "target": "target column", "rows": "data rows",
               "sha1": "data sha1"}  # fmt: skip


def config_diff(a: Any, b: Any, run_label: Label = plain_name) -> pd.DataFrame:
    """The config fields where two runs differ (field, value in a, value in b), then what
    differs in their data: two CSV runs on different files differ there."""
    left, right = a.config.to_dict(), b.config.to_dict()
    for key, label in DATA_FIELDS.items():
        left[label] = _data_info(a).get(key, "")
        right[label] = _data_info(b).get(key, "")
    return pd.DataFrame(
        [
            {"field": k, run_label(a): str(left[k]), run_label(b): str(right[k])}
            for k in left
            if left[k] != right[k]
        ],
        columns=["field", run_label(a), run_label(b)],
    )


def _data_info(run: Any) -> dict:
    return getattr(run, "data", None) or getattr(run, "data_info", None) or {}


def history_csv(runs: list[Run], run_label: Label = plain_name) -> str:
    """Every run's per-batch history in one tidy table with a leading `run` column (epoch
    metrics sit on each epoch's last batch)."""
    frames = []
    for run in runs:
        with run.lock:
            frame = run.history.frame()
        frame.insert(0, "run", run_label(run))
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).to_csv(index=False) if frames else ""


def chart_file(
    run: Run, view: dict, kind: str, max_points: int = 1200, run_label: Label = plain_name
) -> bytes:
    """The run's loss chart as PNG or SVG, rendered server-side by vl-convert (Altair's own
    exporter), as the Train page's view options draw it."""
    from ui import charts

    batches, epochs = run.curves(max_points, charts.view_smoothing(view))
    chart = charts.loss_chart_for_view(batches, epochs, view).properties(
        width=900, title=f"{run_label(run)}: {run.data_title}"
    )
    buffer = io.BytesIO() if kind == "png" else io.StringIO()
    chart.save(buffer, format=kind, **({"scale_factor": 2} if kind == "png" else {}))
    value = buffer.getvalue()
    return value if isinstance(value, bytes) else value.encode()
