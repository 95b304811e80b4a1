"""Runs are kept: a run's link shows the same run after the server restarts, and a server
killed mid-run leaves the run interrupted with what it had recorded (each test starts its own
servers on its own store)."""

from __future__ import annotations

import signal
import time
from pathlib import Path

import pytest
from browser_helpers import (
    RUN_MS,
    TF_FIRST_IMPORT_MS,
    assert_no_exception,
    button,
    go_to,
    json_from_python,
    metric_value,
    open_app,
    shared_links,
    start_run_and_finish,
    stat_value,
    steps,
    wait_progress_full,
    wait_steps_above,
)
from conftest import VIEWPORT, running_server
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

QUERY = "dataset=circle&num_samples=400&noise=10&hidden_units=8,8&optimizer=adam&epochs=8"


def run_link(page: Page) -> str:
    link = shared_links(page)[-1]
    assert "?run=" in link, link
    return link


def moved_to(link: str, url: str, page: str = "train") -> str:
    """The same link on a server that came back on another port."""
    return f"{url}/{page}?" + link.split("?", 1)[1]


def model_file(page: Page) -> bytes:
    go_to(page, "Runs")
    with page.expect_download(timeout=RUN_MS) as download:
        page.get_by_role("button", name="Download model (.keras)").click()
    return Path(download.value.path()).read_bytes()


PREDICT = """
import json, sys
import numpy as np
import keras
model = keras.models.load_model(sys.argv[1])
points = np.linspace(-5, 5, 40, dtype="float32").reshape(20, 2)
print(json.dumps(np.asarray(model(points)["probabilities"]).round(6).tolist()))
"""


def predictions(keras_file: bytes, folder: Path) -> list:
    """What a downloaded model predicts on fixed points, loaded in a subprocess (TensorFlow
    stays out of the test process; the file is rebuilt per download, so bytes differ)."""
    path = folder / "model.keras"
    path.write_bytes(keras_file)
    return json_from_python(PREDICT, path)


def evaluated_accuracy(page: Page) -> str:
    go_to(page, "Evaluate")  # the task worker may be importing TensorFlow still
    metric = page.get_by_test_id("stMetric").filter(has_text="Accuracy (validation)")
    expect(metric).to_be_visible(timeout=TF_FIRST_IMPORT_MS)
    return metric_value(page, "Accuracy (validation)")


def figures(page: Page) -> dict:
    return {
        "steps": steps(page),
        "val_loss": stat_value(page, "Validation loss"),
        "val_accuracy": stat_value(page, "Validation accuracy"),
    }


def test_a_runs_link_shows_the_same_run_after_a_restart(browser: Browser, tmp_path: Path) -> None:
    env = {"TAPEBOARD_HOME": str(tmp_path / "home")}
    context = browser.new_context(viewport=VIEWPORT, accept_downloads=True)
    page = context.new_page()
    with running_server(tmp_path / "server.log", env) as server:
        open_app(page, f"{server.url}/train?{QUERY}", "Train")
        start_run_and_finish(page)
        before, link = figures(page), run_link(page)
        accuracy = evaluated_accuracy(page)
        evaluation = shared_links(page)[-1]  # "Share this evaluation"
        assert evaluation.startswith(f"{server.url}/evaluate?run=") and page.url.endswith(
            link.split("?", 1)[1]
        ), (evaluation, page.url)  # the address bar links this evaluation too
        model = model_file(page)
    context.close()

    with running_server(tmp_path / "server.log", env) as again:  # a restart, the same store
        viewer = browser.new_context(viewport=VIEWPORT, accept_downloads=True).new_page()
        open_app(viewer, moved_to(link, again.url), "Train")  # a fresh browser, no cookie
        expect(viewer.get_by_text("run 1 finished: Completed 8 epochs.")).to_be_visible()
        wait_progress_full(viewer)
        assert figures(viewer) == before  # the same steps, the same validation figures
        expect(viewer.locator(".tb-live-loss canvas")).to_be_visible()
        # Its model and data, read back from the store:
        assert evaluated_accuracy(viewer) == accuracy
        assert predictions(model_file(viewer), tmp_path) == predictions(model, tmp_path)
        assert_no_exception(viewer)
        viewer.context.close()
        # The evaluation's link, straight to the Evaluate page, in another fresh browser:
        reader = browser.new_context(viewport=VIEWPORT).new_page()
        open_app(reader, moved_to(evaluation, again.url, "evaluate"), "Evaluate")
        metric = reader.get_by_test_id("stMetric").filter(has_text="Accuracy (validation)")
        expect(metric).to_be_visible(timeout=TF_FIRST_IMPORT_MS)
        assert metric_value(reader, "Accuracy (validation)") == accuracy
        shot = tmp_path / "evaluation-by-link.png"
        reader.screenshot(path=shot, full_page=True)
        print(f"\nthe evaluation opened by its link: {shot}")
        assert_no_exception(reader)
        reader.context.close()


def test_a_killed_server_leaves_its_run_interrupted_and_its_owner_resumes_it(
    browser: Browser, tmp_path: Path
) -> None:
    # A checkpoint after every epoch (the default keeps one every 10 s of training).
    env = {"TAPEBOARD_HOME": str(tmp_path / "home"), "TAPEBOARD_CHECKPOINT_S": "0"}
    owner = browser.new_context(viewport=VIEWPORT)  # its cookie outlives the server
    page = owner.new_page()
    with running_server(tmp_path / "server.log", env) as server:
        open_app(page, f"{server.url}/train?epochs=300&batch_size=8", "Train")
        button(page, "btn_train").click()
        shown = wait_steps_above(page, 2000)
        link = run_link(page)
        time.sleep(1.5)  # the store writes at least once a second: this much is surely kept
        server.process.send_signal(signal.SIGKILL)  # no goodbye: the kernel ends it
        server.process.wait()

    with running_server(tmp_path / "server.log", env) as again:
        viewer = browser.new_context(viewport=VIEWPORT).new_page()
        open_app(viewer, moved_to(link, again.url), "Train")
        expect(viewer.get_by_text("run 1 interrupted: The server stopped")).to_be_visible()
        kept, total = steps(viewer)
        assert shown <= kept < total  # up to about its last second, not the whole run
        expect(button(viewer, "btn_resume")).to_be_disabled()  # only its owner resumes it
        assert_no_exception(viewer)
        viewer.context.close()

        open_app(page, moved_to(link, again.url), "Train")
        expect(page.get_by_text("run 1 interrupted: The server stopped")).to_be_visible()
        button(page, "btn_resume").click()
        expect(page.get_by_text("run 1 finished: Completed 300 epochs.")).to_be_visible(
            timeout=RUN_MS
        )
        wait_progress_full(page)
        done, total_after = steps(page)
        assert done == total_after == total  # every step once: resumed, not started over
        assert_no_exception(page)
    owner.close()
