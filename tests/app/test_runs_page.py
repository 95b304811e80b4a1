"""Runs page: the table of runs, the overlay chart and the downloads."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd
from apptest_helpers import TINY, app, chart_spec, charts, page, texts

from trainer.config import RunConfig
from ui import export


def two_runs():
    at = app(TINY, timeout=120).run()
    at.switch_page("pages/train.py").run()
    at.button(key="btn_train").click().run()
    at.button(key="btn_train").click().run()
    at.switch_page("pages/runs.py").run()
    return at


def test_no_runs_yet():
    at = page("runs").run()
    assert not at.exception
    assert any("No runs yet" in t for t in texts(at.info))


def test_every_run_is_a_row_with_its_curve_and_downloads():
    at = two_runs()
    assert not at.exception
    table = at.dataframe[0].value
    assert table["run"].tolist() == [1, 2]
    assert table["state"].tolist() == ["completed", "completed"]
    assert {"val_loss", "val_accuracy", "learning_rate", "hidden_units"} <= set(table.columns)
    (overlay,) = [c for c in charts(at) if chart_spec(c)["mark"]["type"] == "line"]
    assert chart_spec(overlay)["encoding"]["color"]["field"] == "run"
    labels = [b.label for b in at.get("download_button")]
    assert labels == [
        "Download history CSV (all runs)",
        "Download config JSON",
        "Download model (.keras)",
    ]


def test_export_files_round_trip():
    at = two_runs()
    runs = at.session_state["tb_runs"]
    history = pd.read_csv(io.StringIO(export.history_csv(runs)))
    assert history.groupby("run")["step"].count().to_dict() == {1: 5, 2: 5}
    assert history["val_loss"].notna().sum() == 2  # one epoch each
    assert RunConfig.from_json(runs[0].config.to_json()).dataset == "xor"
    keras_file = export.model_bytes(runs[0])
    assert zipfile.is_zipfile(io.BytesIO(keras_file))
    assert "config.json" in zipfile.ZipFile(io.BytesIO(keras_file)).namelist()
    assert json.loads(at.code[-1].value) if at.code[-1].language == "json" else True
