"""Charts measured where people see them: inside the page, in Chromium.

Streamlit sizes a Vega-Lite chart its own way (`autosize: fit`: the height given is the whole
chart's, axes and labels included), so a spec that renders well on its own can leave a plot a
few pixels high in the page. These tests measure the plot Vega drew (the root view's
background, the plot area of an SVG chart) and look at the screenshot's pixels.
"""

from __future__ import annotations

import csv
import random
import re
from pathlib import Path

import numpy as np
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
from PIL import Image
from playwright.sync_api import Locator, Page, expect

pytestmark = pytest.mark.browser

CHART = '[data-testid="stVegaLiteChart"]'
WINNER_BLUE = (0x1F, 0x6F, 0xEB)  # the predicted class's bar in "Try the model"

# The plot area of a Vega chart drawn as SVG: its root view's background rectangle.
PLOT_BOX_JS = """(el) => {
    const bg = el.querySelector('svg g.mark-group.role-frame.root path.background');
    if (!bg) return null;
    const r = bg.getBoundingClientRect();
    return {width: r.width, height: r.height};
}"""


def write_three_classes(path: Path, rows: int = 150) -> None:
    """Three blobs in the plane, like two of iris' features: 2-D data, three classes."""
    rng = random.Random(0)
    centres = {"setosa": (-2.0, 0.0), "versicolor": (2.0, 1.0), "virginica": (0.0, 3.0)}
    with path.open("w", newline="") as file:
        writer = csv.writer(file)
        writer.writerow(["petal", "sepal", "species"])
        for i in range(rows):
            name = list(centres)[i % 3]
            cx, cy = centres[name]
            writer.writerow([f"{rng.gauss(cx, 0.8):.3f}", f"{rng.gauss(cy, 0.8):.3f}", name])


def chart_with(page: Page, text: str) -> Locator:
    """The chart whose SVG holds `text` (an axis title, a legend entry)."""
    return page.locator(CHART).filter(has=page.locator("svg text", has_text=text)).first


def plot_box(chart: Locator) -> dict:
    chart.scroll_into_view_if_needed()
    chart.locator("svg path.background").first.wait_for(state="attached")
    box = chart.evaluate(PLOT_BOX_JS)
    assert box, "the chart has no SVG plot"
    return box


def rows_with_colour(png: Path, colour: tuple[int, int, int], tolerance: int = 12) -> int:
    """How many pixel rows of the screenshot hold `colour`: the height of what is drawn in it."""
    pixels = np.asarray(Image.open(png).convert("RGB"), dtype=int)
    close = (np.abs(pixels - np.array(colour)) <= tolerance).all(axis=-1)
    return int(close.any(axis=1).sum())


def upload_three_classes(page: Page, url: str, tmp_path: Path) -> None:
    """Open the Data page at `url` and upload three classes in the plane."""
    data = tmp_path / "flowers.csv"
    write_three_classes(data)
    open_app(page, url, "Data")
    choose(page, "Dataset", "Upload a CSV...")
    page.get_by_test_id("stFileUploader").locator('input[type="file"]').set_input_files(data)
    expect(page.get_by_test_id("stMetric").filter(has_text="Classes")).to_be_visible()


def test_points_in_the_plane_are_drawn_square(page: Page, server: Server, tmp_path: Path) -> None:
    upload_three_classes(page, f"{server.url}/", tmp_path)
    scatter = chart_with(page, "x2")
    points = plot_box(scatter)
    scatter.screenshot(path=tmp_path / "data-points.png")
    # Square, as TensorFlow Playground draws the plane: a circle stays round.
    assert abs(points["width"] - points["height"]) <= 2 and points["height"] >= 300, points
    assert_no_exception(page)


def test_three_classes_get_a_tall_matrix_tall_bars_and_a_square_boundary(
    page: Page, server: Server, tmp_path: Path
) -> None:
    query = "epochs=15&hidden_units=8&optimizer=adam&learning_rate=0.03"
    upload_three_classes(page, f"{server.url}/?{query}", tmp_path)
    go_to(page, "Train")
    start_run_and_finish(page)
    go_to(page, "Evaluate")
    expect(page.get_by_role("heading", name="Try the model")).to_be_visible()

    # Each chart measured and photographed first, then judged: a failure shows all three.
    matrix = chart_with(page, "predicted").filter(has=page.locator("svg text", has_text="true"))
    cells = plot_box(matrix) | {"element": matrix.bounding_box()["height"]}
    matrix.screenshot(path=tmp_path / "confusion.png")
    bars = chart_with(page, "probability")
    bar_plot = plot_box(bars) | {"element": bars.bounding_box()["height"]}
    bars.screenshot(path=tmp_path / "try-the-model.png")
    # In the screenshot: how tall the predicted class's bar is (a bar, not a 1-px line).
    bar_plot["winner bar rows"] = rows_with_colour(tmp_path / "try-the-model.png", WINNER_BLUE)
    boundary = chart_with(page, "x1").filter(has=page.locator("svg text", has_text="versicolor"))
    plane = plot_box(boundary)
    boundary.screenshot(path=tmp_path / "boundary.png")
    page.screenshot(path=tmp_path / "evaluate.png")
    measured = f"matrix {cells}, bars {bar_plot}, boundary {plane}"

    assert cells["height"] >= 150 and cells["element"] >= 150, measured
    assert bar_plot["height"] >= 150 and bar_plot["element"] >= 150, measured
    assert bar_plot["winner bar rows"] >= 30, measured
    assert abs(plane["width"] - plane["height"]) <= 2 and plane["height"] >= 300, measured
    assert_no_exception(page)


def test_a_present_link_presents_without_the_sidebar(
    page: Page, server: Server, tmp_path: Path
) -> None:
    open_app(page, f"{server.url}/train?epochs=1", "Train")
    start_run_and_finish(page)
    page.get_by_text("Presentation mode").click()
    expect(page.get_by_test_id("stSidebar")).to_be_hidden()
    expect(page).to_have_url(re.compile(r"[?&]present=1(&|$)"))
    link = page.url

    # The link, opened by someone else: presentation mode from the first paint, no sidebar.
    other = page.context.browser.new_context(viewport=page.viewport_size)
    try:
        viewer = other.new_page()
        viewer.goto(link)
        expect(viewer.get_by_text("Summary.", exact=False)).to_be_visible(
            timeout=TF_FIRST_IMPORT_MS
        )
        expect(viewer.get_by_test_id("stSidebar")).to_be_hidden()
        expect(viewer.get_by_test_id("stExpandSidebarButton")).to_have_count(0)
        expect(viewer.locator(".st-key-btn_train")).to_have_count(0)
        viewer.screenshot(path=tmp_path / "presenting.png")
        # Leaving brings the sidebar and the controls back, and the link follows.
        viewer.get_by_role("button", name="Leave presentation mode").click()
        expect(viewer.get_by_test_id("stSidebar")).to_be_visible()
        expect(button(viewer, "btn_train")).to_be_visible()
        expect(viewer).not_to_have_url(re.compile(r"present="))
        assert_no_exception(viewer)
    finally:
        other.close()
    assert_no_exception(page)


def test_a_presented_2d_run_shows_curve_boundary_and_figures_on_one_projector_screen(
    page: Page, server: Server, tmp_path: Path
) -> None:
    page.set_viewport_size({"width": 1280, "height": 720})  # a meeting room's projector
    open_app(page, f"{server.url}/train?dataset=spiral&hidden_units=8,8&epochs=3", "Train")
    start_run_and_finish(page)
    page.get_by_text("Presentation mode").click()
    expect(page.get_by_text("Summary.", exact=False)).to_be_visible()
    row = page.get_by_test_id("stHorizontalBlock").filter(has=page.get_by_test_id("tb-progress"))
    columns = row.get_by_test_id("stColumn")
    expect(columns).to_have_count(3)
    shown = {
        "loss chart": columns.nth(0).locator(".tb-live-loss canvas"),
        "boundary": columns.nth(1).locator(".tb-live-boundary canvas"),
        "figures": columns.nth(2).get_by_test_id("tb-progress").locator(".."),
    }
    for locator in shown.values():
        expect(locator).to_be_visible()
    page.wait_for_timeout(500)  # the charts at their final size
    page.screenshot(path=tmp_path / "presenting-1280x720.png")
    boxes = {name: locator.bounding_box() for name, locator in shown.items()}
    measured = f"boxes {boxes}"
    for box in boxes.values():
        assert box["y"] >= 0 and box["y"] + box["height"] <= 720, measured
        assert box["x"] >= 0 and box["x"] + box["width"] <= 1280, measured
    left, board, figures = boxes.values()
    # Side by side, none drawn over the next, the boundary big enough to read.
    assert left["x"] + left["width"] <= board["x"], measured
    assert board["x"] + board["width"] <= figures["x"], measured
    assert board["height"] >= 250 and left["height"] >= 250, measured
    assert_no_exception(page)


def smallest_line_share(chart: Locator) -> float:
    """The flattest curve of the overlay: its height as a share of the plot's."""
    plot = plot_box(chart)
    heights = chart.evaluate(
        """(el) => [...el.querySelectorAll('svg g.mark-line path')]
                   .map(p => p.getBoundingClientRect().height)"""
    )
    assert len(heights) >= 2, heights
    return min(heights) / plot["height"]


def test_one_diverged_run_does_not_flatten_the_others_on_the_runs_overlay(
    page: Page, server: Server, tmp_path: Path
) -> None:
    setup = "dataset=plane&num_samples=200&batch_size=32&optimizer=sgd&epochs=5"
    open_app(page, f"{server.url}/train?{setup}&learning_rate=0.1", "Train")
    start_run_and_finish(page)
    # The same browser, another setup: its second run explodes.
    open_app(page, f"{server.url}/train?{setup}&learning_rate=100", "Train")
    button(page, "btn_train").click()
    expect(page.get_by_text(re.compile(r"run \d+ diverged"))).to_be_visible(
        timeout=TF_FIRST_IMPORT_MS + RUN_MS
    )
    go_to(page, "Runs")
    overlay = chart_with(page, "loss (smoothed)")
    share = smallest_line_share(overlay)
    overlay.screenshot(path=tmp_path / "overlay-outliers-ignored.png")
    assert share >= 0.25, f"the healthy run's curve is {share:.1%} of the plot's height"
    expect(page.get_by_text("off the top of the chart", exact=False)).to_be_visible()

    page.get_by_text(
        "Ignore outliers", exact=True
    ).click()  # TensorBoard's toggle: off shows everything
    expect(page.get_by_text("off the top of the chart", exact=False)).to_have_count(0)
    page.wait_for_function(
        """() => { const p = [...document.querySelectorAll('g.mark-line path')];
                   return p.length >= 2 && Math.min(...p.map(
                       x => x.getBoundingClientRect().height)) < 10; }"""
    )
    overlay.screenshot(path=tmp_path / "overlay-everything.png")
    assert_no_exception(page)
