"""The Evaluate page and presentation mode in a real browser: what a demo shows stakeholders."""

from __future__ import annotations

import ast
import re
from pathlib import Path

import pytest
from browser_helpers import (
    Server,
    assert_no_exception,
    go_to,
    open_app,
    publish_screenshot,
    start_run_and_finish,
    stat_value,
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


def test_input_features_are_chosen_like_playgrounds_and_a_linear_model_learns_the_circle(
    page: Page, server: Server, tmp_path: Path
) -> None:
    """TensorFlow Playground's lesson in the browser: no hidden layer, X1² and X2² picked on
    the Model page, and the ring is learned; the link carries the choice."""
    query = "dataset=circle&num_samples=300&hidden_units=&optimizer=adam&learning_rate=0.1"
    open_app(page, f"{server.url}/model?{query}&batch_size=16&epochs=15", "Model")
    features = page.get_by_test_id("stButtonGroup").filter(has_text="sin(X₁)")
    clicks = {  # the squares on, the coordinates off: what the link then says
        "X₁²": "x1,x2,x1sq",
        "X₂²": "x1,x2,x1sq,x2sq",
        "X₁": "x2,x1sq,x2sq",
        "X₂": "x1sq,x2sq",
    }
    for label, chosen in clicks.items():
        features.get_by_role("button", name=label, exact=True).click()
        link = re.escape(chosen.replace(",", "%2C"))
        expect(page).to_have_url(re.compile(rf"features={link}(&|$)"))
    # Every chip in sight in the Network column at 1400 px (no scrolled row hides the sines)
    column = features.bounding_box()
    for label in ("X₁", "sin(X₂)"):
        chip = features.get_by_role("button", name=label, exact=True).bounding_box()
        assert chip["x"] + chip["width"] <= column["x"] + column["width"] + 1, label
    features.screenshot(path=tmp_path / "input-features.png")
    go_to(page, "Train")
    start_run_and_finish(page)
    accuracy = stat_value(page, "Validation accuracy")
    assert float(accuracy.split()[0]) > 0.95, accuracy
    assert_no_exception(page)
