"""Runs page: the table of runs, the overlay chart and the downloads."""

from __future__ import annotations

import io
import json
import zipfile

import pandas as pd
from apptest_helpers import TINY, app, chart_spec, charts, page, texts, train_to_end

from service import get_service
from trainer.config import RunConfig
from ui import downloads


def two_runs():
    at = app(TINY, timeout=120).run()
    at.switch_page("pages/train.py").run()
    train_to_end(at)
    train_to_end(at)
    at.switch_page("pages/runs.py").run()
    return at


def runs_of(at):
    return get_service().runs_of(at.session_state["tb_browser"])


def test_no_runs_yet():
    at = page("runs").run()
    assert not at.exception
    assert any("No runs yet" in t for t in texts(at.info))


def test_every_run_is_a_row_with_its_curve_and_downloads():
    at = two_runs()
    assert not at.exception
    table = at.dataframe[0].value
    assert table["run"].tolist() == ["run 2", "run 1"]  # equally good: the newest first
    assert table["state"].tolist() == ["completed", "completed"]
    assert {"val_loss", "val_accuracy", "learning_rate", "hidden_units"} <= set(table.columns)
    (overlay,) = [c for c in charts(at) if chart_spec(c)["mark"]["type"] == "line"]
    assert chart_spec(overlay)["encoding"]["color"]["field"] == "run"
    labels = [b.label for b in at.get("download_button")]
    assert labels == [
        "Download history CSV (all runs)",
        "Download the 2 compared runs for TensorBoard (.zip)",
        "Download config JSON",
        "Download model (.keras)",
    ]
    at.multiselect[0].set_value(["run 1"]).run()
    assert "Download the compared run for TensorBoard (.zip)" in [
        b.label for b in at.get("download_button")
    ]


def test_export_files_round_trip():
    at = two_runs()
    runs = runs_of(at)
    history = pd.read_csv(io.StringIO(downloads.history_csv(runs)))
    assert history.groupby("run")["step"].count().to_dict() == {"run 1": 5, "run 2": 5}
    assert history["val_loss"].notna().sum() == 2  # one epoch each
    assert RunConfig.from_json(runs[0].config.to_json()).dataset == "xor"
    keras_file = runs[0].model_bytes
    assert zipfile.is_zipfile(io.BytesIO(keras_file))
    assert "config.json" in zipfile.ZipFile(io.BytesIO(keras_file)).namelist()
    # The chosen run (the newest) is shown as its config's JSON.
    assert json.loads(at.text[-1].value) == runs[-1].config.to_dict()


def _finished_run(number: int, val_accuracy: float, metrics: dict | None = None, **config):
    """A run record with one epoch: loss 1 and `val_accuracy`, or the `metrics` given."""
    from service import Run
    from trainer.events import EpochEnd
    from trainer.history import History

    history = History()
    metrics = metrics or {"loss": 1.0, "val_accuracy": val_accuracy}
    history.record(EpochEnd(0, metrics, 0, 1.0))
    return Run(
        id=f"id{number}",
        owner="nobody",
        number=number,
        config=RunConfig(**config),
        data_title="xor",
        num_train=10,
        num_val=2,
        steps_per_epoch=1,
        history=history,
    )


def test_runs_are_ranked_by_best_validation_metric_and_configs_diffed():
    runs = [
        _finished_run(1, 0.7),
        _finished_run(2, 0.9, learning_rate=0.1),
        _finished_run(3, 0.8, optimizer="adam"),
    ]
    from service.records import summarize

    table = downloads.runs_table([summarize(run) for run in runs])
    assert table["run"].tolist() == ["run 2", "run 3", "run 1"]
    assert table["best val_accuracy"].tolist() == [0.9, 0.8, 0.7]  # numbers: they sort so
    diff = downloads.config_diff(runs[0], runs[2])
    assert diff.to_dict("records") == [{"field": "optimizer", "run 1": "sgd", "run 3": "adam"}]
    assert downloads.config_diff(runs[0], runs[0]).empty


def test_each_task_ranks_by_its_own_metric_the_newest_runs_task_first():
    # Ranked by the first run's rule, a regression's val_loss sat among accuracies, its best
    # runs last.
    from service.records import summarize

    loss = {"loss": 1.0}
    runs = [
        _finished_run(1, 0.7),
        _finished_run(2, 0, {**loss, "val_loss": 0.5}, dataset="plane", task="regression"),
        _finished_run(3, 0.9),
        _finished_run(4, 0, {**loss, "val_loss": 0.1}, dataset="plane", task="regression"),
        _finished_run(5, 0, {**loss, "val_loss": 0.3}, dataset="plane", task="regression"),
    ]
    for number, run in enumerate(runs):
        run.created = 1000.0 + number
    table = downloads.runs_table([summarize(run) for run in runs])
    assert table["run"].tolist() == ["run 4", "run 5", "run 2", "run 3", "run 1"]
    assert table["best val_loss"].tolist()[:3] == [0.1, 0.3, 0.5]
    assert table["best val_accuracy"].tolist()[3:] == [0.9, 0.7]
    runs[2].created = 2000.0  # a classification run is the newest: accuracies first
    table = downloads.runs_table([summarize(run) for run in runs])
    assert table["run"].tolist() == ["run 3", "run 1", "run 4", "run 5", "run 2"]


def test_two_runs_of_one_config_show_no_difference():
    at = two_runs()
    assert any("Same config" in t for t in texts(at.caption))
    at.selectbox(key="w_diff_a").set_value("run 2").run()  # one run against itself
    assert not any("Same config" in t for t in texts(at.caption))
    assert any("Pick two different runs" in t for t in texts(at.caption))


def test_overlay_smooths_by_moving_average_when_asked():
    at = two_runs()
    at.radio(key="w_runs_method").set_value("moving average").run()
    assert not at.exception
    assert [n.label for n in at.number_input] == ["Window (batches)"]
    at.number_input(key="w_runs_window").set_value(3).run()
    (overlay,) = [c for c in charts(at) if chart_spec(c)["mark"]["type"] == "line"]
    assert not at.exception and overlay is not None


def test_a_run_can_be_deleted_by_its_owner():
    at = two_runs()
    at.selectbox(key="w_runs_pick").set_value("run 1").run()
    (delete,) = [b for b in at.button if b.label == "Delete this run"]
    delete.click().run()
    assert not at.exception
    assert any("Deleted run 1" in t for t in texts(at.success))
    assert at.dataframe[0].value["run"].tolist() == ["run 2"]
    assert [s.name for s in get_service().summaries(at.session_state["tb_browser"])] == ["run 2"]


def test_a_long_list_shows_the_newest_and_says_how_many_are_kept(monkeypatch):
    from ui import state

    monkeypatch.setattr(state, "LIST_LIMIT", 1)  # as 1,000 of 10,000, with two runs
    at = two_runs()
    assert not at.exception
    assert at.dataframe[0].value["run"].tolist() == ["run 2"]
    # Counted at once: run 2 may not be written to the store yet (writes are batched).
    captions = texts(at.caption)
    assert any("Your newest 1 of 2 kept runs are listed" in t for t in captions), captions


def test_the_diff_tells_two_csv_runs_apart_by_their_files():
    from service.records import summarize

    runs = [_finished_run(1, 0.8, dataset="csv"), _finished_run(2, 0.8, dataset="csv")]
    runs[0].data_info = {"file": "iris.csv", "target": "species", "rows": 150, "sha1": "ab12"}
    runs[1].data_info = {"file": "wine.csv", "target": "class", "rows": 178, "sha1": "cd34"}
    diff = downloads.config_diff(*[summarize(run) for run in runs])
    assert diff.to_dict("records") == [
        {"field": "data file", "run 1": "iris.csv", "run 2": "wine.csv"},
        {"field": "target column", "run 1": "species", "run 2": "class"},
        {"field": "data rows", "run 1": "150", "run 2": "178"},
        {"field": "data sha1", "run 1": "ab12", "run 2": "cd34"},
    ]


def test_the_model_download_takes_raw_inputs_and_names_its_classes(monkeypatch, tmp_path):
    """The Runs page's .keras is the model to take away (trainer.serving), built on click by
    the task worker: raw points in, class names and the trained model's probabilities out."""
    import keras
    import numpy as np
    from streamlit.delta_generator import DeltaGenerator

    from trainer.datasets import load_dataset
    from trainer.evaluate import softmax

    offered = {}
    original = DeltaGenerator.download_button

    def record(self, label, data, *args, **kwargs):
        offered[label] = data
        return original(self, label, data, *args, **kwargs)

    monkeypatch.setattr(DeltaGenerator, "download_button", record)
    at = app(TINY, timeout=120).run()
    at.switch_page("pages/train.py").run()
    run = train_to_end(at)
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    data = offered["Download model (.keras)"]
    # A callable: Streamlit calls it on click (the page's reruns do not build the model).
    (tmp_path / "download.keras").write_bytes(data() if callable(data) else data)
    (tmp_path / "trained.keras").write_bytes(run.model_bytes)
    model = keras.saving.load_model(tmp_path / "download.keras")
    trained = keras.saving.load_model(tmp_path / "trained.keras")
    points = load_dataset("xor", num_samples=200).x_train
    out = model(points)
    expected = softmax(keras.ops.convert_to_numpy(trained(points)))
    np.testing.assert_allclose(out["probabilities"], expected, atol=1e-6)
    assert model.get_layer("class_names").get_vocabulary() == ["-1", "+1"]


def test_small_metrics_keep_their_digits_in_the_table():
    """A converged run's loss (1.795e-05) was rounded to four decimals and shown as 0."""
    from service.records import summarize

    run = _finished_run(1, 0.0, metrics={"loss": 1.795432e-05, "val_loss": 2.01e-9})
    table = downloads.runs_table([summarize(run)])
    assert table[["loss", "val_loss"]].to_dict("records") == [
        {"loss": 1.795e-05, "val_loss": 2.01e-9}
    ]


def test_the_table_shows_metrics_in_significant_digits():
    at = two_runs()
    columns = json.loads(at.dataframe[0].proto.columns)
    assert {"loss", "val_loss", "val_accuracy"} <= set(columns)
    assert {c["type_config"]["format"] for name, c in columns.items() if "loss" in name} == {"%.4g"}
    assert "learning_rate" not in columns  # config fields as they were typed


def test_runs_of_two_tasks_on_one_chart_say_their_losses_differ_in_kind():
    first = app(TINY, timeout=120).run()
    first.switch_page("pages/train.py").run()
    train_to_end(first)  # classification (cross-entropy)...
    at = app({**TINY, "dataset": "plane"}, timeout=120)  # ...then, in a new tab of the same
    at.session_state["tb_browser"] = first.session_state["tb_browser"]  # browser, regression
    at.run()
    at.switch_page("pages/train.py").run()
    train_to_end(at)
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    assert any("losses are of two kinds" in t for t in texts(at.caption))
    table = at.dataframe[0]
    assert table.value[["run", "best val_accuracy"]].isna().to_dict("list") == {
        "run": [False, False],
        "best val_accuracy": [True, False],  # the regression run has no accuracy...
    }
    assert table.proto.placeholder == "-"  # ...and says "-" there, not "None"
    at.multiselect[0].set_value(["run 2"]).run()
    assert not any("two kinds" in t for t in texts(at.caption))


def test_a_runs_link_lists_and_compares_that_run_in_another_browser():
    owner = app(TINY, timeout=120).run()
    owner.switch_page("pages/train.py").run()
    run = train_to_end(owner)
    viewer = page("runs", {"run": run.id}, timeout=120).run()  # a browser with no runs
    assert not viewer.exception
    assert viewer.dataframe[0].value["run"].tolist() == ["run 1 (shared)"]
    assert viewer.multiselect[0].value == ["run 1 (shared)"]  # its curve is drawn
    assert viewer.session_state["tb_draft"]["dataset"] == "xor"  # Train trains it again
    assert not viewer.warning


def test_a_runs_link_to_no_run_says_so():
    at = page("runs", {"run": "no-such-run"}).run()
    assert not at.exception
    assert any("No run on this server has this link" in t for t in texts(at.warning))
    assert any("No runs yet" in t for t in texts(at.info))
