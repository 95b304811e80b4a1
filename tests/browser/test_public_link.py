"""A public link is safe: a link's values and a file's names show as text, bad uploads end in a
sentence, and two visitors training the same seeded config at once get the same losses."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pandas as pd
import pytest
from browser_helpers import (
    RUN_MS,
    TF_FIRST_IMPORT_MS,
    Server,
    assert_no_exception,
    button,
    choose,
    go_to,
    open_app,
    start_run_and_finish,
)
from conftest import VIEWPORT
from playwright.sync_api import Browser, Page, expect

pytestmark = pytest.mark.browser

EVIL = "https://evil.example"


def assert_nothing_from(page: Page, host: str) -> None:
    """No link to `host`, and no image from it, anywhere in the page."""
    assert page.locator(f'a[href*="{host}"]').count() == 0
    assert page.locator(f'img[src*="{host}"]').count() == 0


def test_a_links_values_are_shown_as_the_words_they_are(page: Page, server: Server) -> None:
    query = (
        "learning_rate=[Session expired: sign in](https://evil.example/login)"
        "&epochs=![x](https://evil.example/pixel.png)&activation=**:red[urgent]**"
    )
    open_app(page, f"{server.url}/model?{query}", "Model")
    expect(page.get_by_test_id("stAlert").nth(2)).to_be_visible()
    # What the warnings say, as read (an invisible word joiner keeps addresses unlinked).
    said = page.get_by_test_id("stMain").inner_text().replace("\u2060", "")
    for value in (
        "[Session expired: sign in](https://evil.example/login)",
        "![x](https://evil.example/pixel.png)",
        "**:red[urgent]**",
    ):
        assert value in said
    assert_nothing_from(page, EVIL)
    assert page.locator("strong", has_text="urgent").count() == 0
    assert_no_exception(page)


def test_a_files_names_are_shown_as_text(page: Page, server: Server, tmp_path: Path) -> None:
    data = tmp_path / "people.csv"
    with data.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["![x](https://evil.example/c.png)", "colour", "label"])
        for i in range(60):
            writer.writerow(
                [
                    i,
                    ["red", "[green](https://evil.example)"][i % 2],
                    "**big**" if i % 3 else "small",
                ]
            )
    open_app(page, f"{server.url}/?epochs=1", "Data")
    choose(page, "Dataset", "Upload a CSV...")
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(data)
    notes = page.get_by_test_id("stExpander").filter(has_text="Notes on how the data was encoded")
    expect(notes).to_be_visible()
    # The class names as typed, not bold: "**big**" stays two asterisks on each side.
    expect(notes.get_by_text("target 'label': **big**->0, small->1")).to_be_visible()
    assert notes.locator("strong").count() == 0
    assert_nothing_from(page, EVIL)
    assert_no_exception(page)


def test_bad_uploads_end_in_a_sentence(page: Page, server: Server, tmp_path: Path) -> None:
    empty = tmp_path / "empty.csv"
    empty.write_bytes(b"")
    open_app(page, f"{server.url}/?epochs=1", "Data")
    choose(page, "Dataset", "Upload a CSV...")
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(empty)
    expect(page.get_by_text("Could not read empty.csv as CSV: CSV file is empty")).to_be_visible()
    assert_no_exception(page)
    # An image upload on Evaluate that is no image: a sentence, no traceback.
    open_app(page, f"{server.url}/train?epochs=1", "Train")
    start_run_and_finish(page)
    go_to(page, "Evaluate")
    uploader = page.get_by_test_id("stFileUploader")
    expect(uploader).to_be_visible(timeout=TF_FIRST_IMPORT_MS)
    fake = tmp_path / "picture.png"
    fake.write_text("this is text, not a picture")
    uploader.locator('input[type="file"]').set_input_files(fake)
    expect(page.get_by_text("This file is not a picture this page can read")).to_be_visible(
        timeout=TF_FIRST_IMPORT_MS
    )
    assert_no_exception(page)


def history(page: Page) -> pd.DataFrame:
    go_to(page, "Runs")
    with page.expect_download(timeout=RUN_MS) as download:
        page.get_by_role("button", name="Download history CSV (all runs)").click()
    return pd.read_csv(io.StringIO(Path(download.value.path()).read_text()))


def test_two_visitors_training_one_seeded_config_at_once_get_equal_losses(
    browser: Browser, server: Server
) -> None:
    query = "dataset=spiral&num_samples=2000&noise=10&epochs=3&seed=7&hidden_units=16,16"
    contexts = [browser.new_context(viewport=VIEWPORT, accept_downloads=True) for _ in range(2)]
    pages = [context.new_page() for context in contexts]
    try:
        for page in pages:
            open_app(page, f"{server.url}/train?{query}", "Train")
        for page in pages:  # at the same moment: each run in its own worker process
            button(page, "btn_train").click()
        for page in pages:
            expect(page.get_by_text("run 1 finished")).to_be_visible(timeout=RUN_MS)
        first, second = (history(page) for page in pages)
        assert len(first) == len(second) == 75  # 1,600 training points, batch 64, 3 epochs
        assert (first["loss"] - second["loss"]).abs().max() <= 1e-6
    finally:
        for context in contexts:
            context.close()
