"""What a user takes away is right, as they take it in the browser: the config file of the run
they picked, a model that works on raw CSV rows, and a first regression on unscaled targets.

Models are loaded in a subprocess (`json_from_python`): TensorFlow stays out of the test process.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pandas as pd
from browser_helpers import (
    RUN_MS,
    Server,
    assert_no_exception,
    button,
    choose,
    go_to,
    json_from_python,
    metric_value,
    open_app,
    start_run_and_finish,
    stat_value,
)
from playwright.sync_api import Page, expect
from sklearn.datasets import load_diabetes, load_iris


def upload_csv(page: Page, server: Server, path: Path, query: str = "") -> None:
    """Open the Data page, upload `path` and keep its last column as the target."""
    open_app(page, f"{server.url}/?{query}", "Data")
    choose(page, "Dataset", "Upload a CSV...")
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(path)
    expect(page.get_by_test_id("stMetric").filter(has_text="Training samples")).to_be_visible()


def download(page: Page, name: str, folder: Path) -> Path:
    """Click the download button called `name`; the file saved under its suggested name."""
    with page.expect_download(timeout=RUN_MS) as started:
        page.get_by_role("button", name=name).click()
    saved = folder / started.value.suggested_filename
    started.value.save_as(saved)
    return saved


def test_picking_a_run_then_downloading_gives_that_runs_config(
    page: Page, server: Server, tmp_path: Path
) -> None:
    open_app(page, f"{server.url}/train?epochs=1", "Train")
    start_run_and_finish(page)
    open_app(page, f"{server.url}/train?epochs=2&learning_rate=0.05", "Train")
    start_run_and_finish(page, "run 2")
    go_to(page, "Runs")
    # The whole page drawn (its last section), the picker on its default: the newest run.
    expect(page.get_by_role("heading", name="Downloads")).to_be_visible()
    expect(page.locator('input[aria-label="Run"]')).to_have_value("run 2")
    shown = page.get_by_test_id("stExpander").filter(has_text="Config of the chosen run")
    for name, epochs, learning_rate in (("run 1", 1, 0.1), ("run 2", 2, 0.05), ("run 1", 1, 0.1)):
        choose(page, "Run", name)
        # The pick reruns the page: wait until it shows the picked run (the user's eyes do).
        expect(shown).to_contain_text(f'"epochs": {epochs},')
        expect(shown).to_contain_text(f'"learning_rate": {learning_rate},')
        saved = download(page, "Download config JSON", tmp_path)
        assert saved.name == f"tapeboard-{name.replace(' ', '-')}-config.json"
        config = json.loads(saved.read_text())
        assert (config["epochs"], config["learning_rate"]) == (epochs, learning_rate), name
    assert_no_exception(page)


# What the README tells a user to write: the downloaded model, raw rows by column name.
PREDICT_ROWS = """
import json, sys
import keras, pandas as pd
model = keras.saving.load_model(sys.argv[1])
rows = pd.read_csv(sys.argv[2])
out = model({name: rows[name] for name in model.input})
print(json.dumps([c.decode() for c in out["class"].numpy()]))
"""


def test_the_downloaded_model_classifies_raw_iris_rows(
    page: Page, server: Server, tmp_path: Path
) -> None:
    iris = load_iris(as_frame=True)  # shipped with scikit-learn: no download
    table = iris.data.copy()
    table["species"] = iris.target_names[iris.target]
    path = tmp_path / "iris.csv"
    table.to_csv(path, index=False)
    upload_csv(page, server, path)
    assert metric_value(page, "Classes") == "3"
    go_to(page, "Train")
    start_run_and_finish(page)  # the app's starting settings
    go_to(page, "Runs")
    model = download(page, "Download model (.keras)", tmp_path)
    predicted = np.array(json_from_python(PREDICT_ROWS, model, path))
    accuracy = float(np.mean(predicted == table["species"].to_numpy()))
    assert accuracy >= 0.85, accuracy
    assert_no_exception(page)


def test_diabetes_with_the_starting_settings_completes_and_beats_the_mean(
    page: Page, server: Server, tmp_path: Path
) -> None:
    diabetes = load_diabetes(as_frame=True, scaled=False)  # targets 25-346, unscaled
    table = diabetes.data.copy()
    table["target"] = diabetes.target
    path = tmp_path / "diabetes.csv"
    table.to_csv(path, index=False)
    upload_csv(page, server, path)
    assert metric_value(page, "Task") == "regression"
    go_to(page, "Train")
    button(page, "btn_train").click()
    # Completed, not diverged: the page says so, with the validation loss beside the chart.
    expect(page.get_by_text("run 1 finished: Completed")).to_be_visible(timeout=RUN_MS * 2)
    val_mse = float(stat_value(page, "Validation loss").replace(",", ""))
    # Predicting the mean scores the target's variance; the run must do clearly better.
    mean_mse = float(np.var(pd.Series(diabetes.target)))
    assert val_mse < 0.8 * mean_mse, (val_mse, mean_mse)
    assert_no_exception(page)
