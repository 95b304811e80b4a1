"""What the Runs page offers: the runs table and the files to download (no widgets here)."""

from __future__ import annotations

import io
import tempfile
from pathlib import Path

import pandas as pd

from ui.state import Run

# The metric each task's runs are ranked by, and whether bigger is better.
RANKING = {"classification": ("val_accuracy", True), "regression": ("val_loss", False)}


def runs_table(runs: list[Run]) -> pd.DataFrame:
    """One row per run, TensorBoard HParams-style: identity, end reason, the best validation
    metric (the ranking: best runs first), final metrics, then every config field."""
    rows = []
    for run in runs:
        last = run.history.last
        row = {
            "run": run.id,
            "state": run.state_label(),
            "data": run.data_title,
            "steps": run.steps_done,
            "train time (s)": round(last.elapsed_s, 2) if last else 0.0,
        }
        metric, _ = RANKING[run.config.task]
        best = run.history.best(metric)
        row["best"] = f"{metric} {best:.4g}" if best is not None else ""
        row["_rank"] = best
        row.update({k: round(v, 4) for k, v in run.final_metrics().items()})
        config = run.config.to_dict()
        config["hidden_units"] = ",".join(map(str, run.config.hidden_units))
        row.update(config)
        row["message"] = run.end.message if run.end else ""
        rows.append(row)
    table = pd.DataFrame(rows)
    if table.empty:
        return table
    # Rank within each task by its metric; runs without one (no epoch yet) go last.
    _, bigger_better = RANKING[runs[0].config.task]
    key = table["_rank"].astype(float) * (-1 if bigger_better else 1)
    return (
        table.assign(_key=key)
        .sort_values(["_key", "run"], na_position="last")
        .drop(columns=["_rank", "_key"])
        .reset_index(drop=True)
    )


def config_diff(a: Run, b: Run) -> pd.DataFrame:
    """The config fields where two runs differ (field, value in a, value in b)."""
    left, right = a.config.to_dict(), b.config.to_dict()
    return pd.DataFrame(
        [
            {"field": k, a.name: str(left[k]), b.name: str(right[k])}
            for k in left
            if left[k] != right[k]
        ],
        columns=["field", a.name, b.name],
    )


def history_csv(runs: list[Run]) -> str:
    """Every run's per-batch history in one tidy table with a leading `run` column (epoch
    metrics sit on each epoch's last batch)."""
    frames = []
    for run in runs:
        with run.lock:
            frame = run.history.frame()
        frame.insert(0, "run", run.id)
        frames.append(frame)
    return pd.concat(frames, ignore_index=True).to_csv(index=False) if frames else ""


def model_bytes(run: Run) -> bytes:
    """The run's model as a `.keras` file (saved to a temporary folder, read back)."""
    with run.lock, tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"tapeboard-run-{run.id}.keras"
        run.model.save(path)
        return path.read_bytes()


def chart_file(run: Run, view: dict, kind: str, max_points: int = 1200) -> bytes:
    """The run's loss chart as PNG or SVG, rendered server-side by vl-convert (Altair's own
    exporter), as the Train page's view options draw it."""
    from ui import charts

    with run.lock:
        batches, epochs = run.curves(max_points, charts.view_smoothing(view))
    chart = charts.loss_chart_for_view(batches, epochs, view).properties(
        width=900, title=f"{run.name}: {run.data_title}"
    )
    buffer = io.BytesIO() if kind == "png" else io.StringIO()
    chart.save(buffer, format=kind, **({"scale_factor": 2} if kind == "png" else {}))
    value = buffer.getvalue()
    return value if isinstance(value, bytes) else value.encode()
