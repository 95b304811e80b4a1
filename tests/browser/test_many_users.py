"""Many people on one server at once (Streamlit Community Cloud runs one process for all).

Three browser sessions train different configs at the same time on the one server: each gets
its own model, history and chart (no cross-talk), all finish, and a fourth visitor's page still
loads while they train. With the default cap of 2 concurrent trainings, one of the three waits
for a slot and is told so, then trains.
"""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pandas as pd
from browser_helpers import (
    RUN_MS,
    TF_FIRST_IMPORT_MS,
    assert_no_exception,
    button,
    explained,
    go_to,
    open_app,
    record_errors,
    steps,
    wait_progress_full,
)
from playwright.sync_api import Browser, expect

VIEWPORT = {"width": 1400, "height": 900}

# Different data per session; 2,400 points -> 1,920 train / 30 batches of 64 x 3 epochs = 90.
CONFIGS = {
    "Exclusive or": "dataset=xor&num_samples=2400&epochs=3",
    "Circle": "dataset=circle&num_samples=2400&epochs=3&seed=1",
    "Spiral": "dataset=spiral&num_samples=2400&epochs=3&seed=2&noise=10",
}


def test_three_sessions_train_at_once_without_cross_talk(
    browser: Browser, server, tmp_path: Path
) -> None:
    contexts = [browser.new_context(viewport=VIEWPORT, accept_downloads=True) for _ in CONFIGS]
    pages = [record_errors(context.new_page()) for context in contexts]
    hogs: list[subprocess.Popen] = []
    try:
        for page, query in zip(pages, CONFIGS.values(), strict=True):
            open_app(page, f"{server.url}/train?{query}", "Train")
        # Two processes spinning while they train, as on a busy box: the page runs slowly, so
        # its redraws and its reruns at a run's end interleave in the browser, which is when
        # Streamlit's frontend once crashed to a white page (4 of 15 pages this way).
        spin = "import time\nend = time.time() + 40\nwhile time.time() < end: pass"
        hogs.extend(subprocess.Popen([sys.executable, "-c", spin]) for _ in range(2))
        started = time.perf_counter()
        for page in pages:  # each click returns at once: the runs train side by side
            button(page, "btn_train").click()

        # A fourth visitor is served while three trainings run.
        visitor = browser.new_context(viewport=VIEWPORT).new_page()
        loaded = time.perf_counter()
        open_app(visitor, server.url, "Data")
        first_paint_s = time.perf_counter() - loaded
        visitor.context.close()

        with explained(pages, tmp_path):
            for page in pages:
                expect(page.get_by_text("run 1 finished: Completed 3 epochs.")).to_be_visible(
                    timeout=TF_FIRST_IMPORT_MS + 3 * RUN_MS
                )
                wait_progress_full(page)
        all_done_s = time.perf_counter() - started
        stop(hogs)
        print(
            f"\n3 sessions x 90 steps: all finished in {all_done_s:.1f} s; a 4th visitor's "
            f"page painted in {first_paint_s:.1f} s while they trained"
        )
        histories = []
        for page in pages:
            assert steps(page) == (90, 90)
            go_to(page, "Runs")
            with page.expect_download() as info:
                page.get_by_role("button", name="Download history CSV (all runs)").click()
            history = pd.read_csv(info.value.path())
            # This session's one run, every batch of it, nothing of anybody else's.
            assert history["run"].unique().tolist() == ["run 1"]
            assert history["step"].tolist() == list(range(90))
            histories.append(history["loss"].round(6).tolist())
            assert_no_exception(page)
        assert len({tuple(h) for h in histories}) == 3  # three different runs, not one shared
    finally:
        stop(hogs)
        for context in contexts:
            context.close()


def stop(processes: list[subprocess.Popen]) -> None:
    for process in processes:
        process.kill()
        process.wait()
