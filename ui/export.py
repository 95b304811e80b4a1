"""What the Runs page offers: the runs table and the files to download (no widgets here)."""

from __future__ import annotations

import tempfile
from pathlib import Path

import pandas as pd

from ui.state import Run


def runs_table(runs: list[Run]) -> pd.DataFrame:
    """One row per run: identity, end reason, final metrics, then every config field."""
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
        row.update({k: round(v, 4) for k, v in run.final_metrics().items()})
        config = run.config.to_dict()
        config["hidden_units"] = ",".join(map(str, run.config.hidden_units))
        row.update(config)
        row["message"] = run.end.message if run.end else ""
        rows.append(row)
    return pd.DataFrame(rows)


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
