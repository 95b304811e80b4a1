"""The Evaluate page and presentation mode in a real browser: what a demo shows stakeholders."""

from __future__ import annotations

import ast
from pathlib import Path

import pytest
from browser_helpers import (
    Server,
    assert_no_exception,
    go_to,
    open_app,
    publish_screenshot,
    start_run_and_finish,
)
from playwright.sync_api import Page, expect

pytestmark = pytest.mark.browser

CHART = '[data-testid="stVegaLiteChart"]'


def test_evaluate_shows_scores_boundary_and_exports_the_script(
    page: Page, server: Server, tmp_path: Path
) -> None:
    query = "dataset=circle&num_samples=600&noise=10&hidden_units=8,8&optimizer=adam"
    open_app(page, f"{server.url}/train?{query}&learning_rate=0.03&epochs=20", "Train")
    start_run_and_finish(page)
    go_to(page, "Evaluate")
    for title in ("Confusion matrix", "Per class", "Decision boundary", "Try the model"):
        expect(page.get_by_role("heading", name=title)).to_be_visible()
    accuracy = page.get_by_test_id("stMetric").filter(has_text="Accuracy (validation)")
    assert float(accuracy.get_by_test_id("stMetricValue").inner_text().rstrip("%")) > 80
    expect(page.locator(CHART).nth(2)).to_be_visible()  # confusion, boundary, probabilities
    # The per-class table draws its grid on a canvas after the page settles: wait for it, so
    # the screenshot shows the table rather than its empty frame.
    expect(page.get_by_test_id("stDataFrame").locator("canvas").first).to_be_visible()
    page.wait_for_function(
        """() => [...document.querySelectorAll('[data-testid="stDataFrame"]')]
                 .every(e => e.getBoundingClientRect().height > 80)"""
    )
    page.mouse.move(1390, 10)
    page.screenshot(path=tmp_path / "screenshot-evaluate.png", full_page=False)
    publish_screenshot(tmp_path / "screenshot-evaluate.png", "screenshot-evaluate.png")
    page.screenshot(path=tmp_path / "evaluate.png", full_page=True)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download training script (.py)").click()
    source = Path(info.value.path()).read_text()
    ast.parse(source)
    assert "tf.GradientTape" in source and "import trainer" not in source
    assert_no_exception(page)


def test_presentation_mode_hides_the_controls_and_summarizes(
    page: Page, server: Server, tmp_path: Path
) -> None:
    open_app(page, f"{server.url}/train?epochs=5", "Train")
    start_run_and_finish(page)
    page.get_by_text("Presentation mode").click()
    expect(page.get_by_text("Summary.", exact=False)).to_be_visible()
    expect(page.get_by_text("completed every epoch", exact=False)).to_be_visible()
    expect(page.locator(".st-key-btn_train")).to_have_count(0)
    with page.expect_download() as info:
        page.get_by_role("button", name="Download chart (PNG)").click()
    assert Path(info.value.path()).read_bytes().startswith(b"\x89PNG")
    page.screenshot(path=tmp_path / "presentation.png", full_page=False)
    assert_no_exception(page)
