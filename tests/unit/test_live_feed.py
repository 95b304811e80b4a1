"""What the browser's live view of a training run reads (ui.live_feed): the same rows and
figures the page would draw, the view options in its URL, and the Vega bundle it loads.

The run is the server's record of a run fed a worker's reports (no worker, no TensorFlow); the
route itself is driven end to end by the browser tests against `streamlit run`."""

from __future__ import annotations

import gzip
import json
import math

import numpy as np
import pytest
from starlette.requests import Request

from service import protocol
from service.runs import apply_report
from service.service import BOUNDARY_GRID
from tests.unit.test_live import running_run
from trainer import load_dataset
from ui import charts, insight_charts, live, live_feed

VIEW = {"x": "samples seen", "log": True, "smooth": True, "smoothing": 0.9, "discretize": True}


def assert_rows_equal(sent: dict[str, list], frame) -> None:
    """JSON columns as the browser receives them equal `frame` (NaN as null)."""
    assert list(sent) == list(frame.columns)
    for name, values in sent.items():
        assert len(values) == len(frame)
        for got, value in zip(values, frame[name], strict=True):
            if isinstance(value, str):
                assert got == value
            else:
                assert (got is None and math.isnan(value)) or got == pytest.approx(value)


def received(payload: dict) -> dict:
    return json.loads(json.dumps(payload))  # through the wire, as the browser gets it


def test_the_feed_carries_the_rows_and_figures_the_page_draws():
    run = running_run(steps_done=700, total_steps=1000, steps_per_s=500.0)
    sent = received(live_feed.feed(run, VIEW))
    batches, epochs = run.curves(live.LIVE_POINTS, 0.9)
    frames = charts.loss_frames(batches, epochs, x="samples seen", log_scale=True, hover=False)
    assert set(sent["charts"]) == {"loss", "metric"}  # not 2-D data: no boundary
    assert set(sent["charts"]["loss"]) == set(frames)
    for name, frame in frames.items():
        assert_rows_equal(sent["charts"]["loss"][name], frame)
    assert len(sent["charts"]["loss"][charts.BATCH_DATA]["step"]) <= live.LIVE_POINTS
    assert not sent["charts"]["loss"][charts.HOVER_DATA]["step"]  # no tooltip rows yet
    assert not any(sent["charts"]["metric"][charts.METRIC_DATA].values())  # no epoch ended
    assert sent["panel"] == live.panel_html(run) and "Step 700 of 1,000" in sent["panel"]
    assert sent["state"] == [False, False]
    assert sent["have"] == {"epochs": 0, "boundary": -1}


def test_the_metric_and_the_boundary_go_only_when_they_changed():
    run = running_run(steps_done=100, total_steps=1000, steps_per_s=500.0)
    run.dataset = load_dataset("circle", num_samples=200, seed=1)
    first = received(live_feed.feed(run, VIEW))
    assert set(first["charts"]) == {"loss", "metric", "boundary"}
    points = first["charts"]["boundary"][insight_charts.POINTS_DATA]
    assert len(points["x1"]) == 200
    grid = first["charts"]["boundary"][insight_charts.GRID_DATA]
    assert grid["url"] == [insight_charts.BLANK_IMAGE]  # no model output yet: points alone
    have = first["have"]["epochs"], first["have"]["boundary"]
    assert set(live_feed.feed(run, VIEW, *have)["charts"]) == {"loss"}  # nothing new
    values = np.linspace(0, 1, BOUNDARY_GRID**2).reshape(BOUNDARY_GRID, BOUNDARY_GRID)
    with run.lock:
        apply_report(run, protocol.Boundary("r", values, 99))
        apply_report(run, protocol.Epoch("r", 0, {"loss": 0.5, "accuracy": 0.8}, 99, 0.2))
    # Between the browser's slow draws (a second apart) the new parts wait, and the browser
    # is told it still has what it had.
    between = received(live_feed.feed(run, VIEW, *have, slow=False))
    assert set(between["charts"]) == {"loss"}
    assert between["have"] == {"epochs": 0, "boundary": -1}
    later = received(live_feed.feed(run, VIEW, *have))
    assert set(later["charts"]) == {"loss", "metric", "boundary"}
    assert set(later["charts"]["boundary"]) == {insight_charts.GRID_DATA}  # points: sent once
    axes, points, domain = live.boundary_layout(live.data_key(run.dataset), run.dataset)
    page = insight_charts.boundary_frames(axes, values, "classification", ("-1", "+1"),
                                          points, domain, discrete=True)  # fmt: skip
    assert_rows_equal(later["charts"]["boundary"][insight_charts.GRID_DATA],
                      page[insight_charts.GRID_DATA])  # fmt: skip
    assert any(later["charts"]["metric"][charts.METRIC_DATA].values())
    assert later["have"] == {"epochs": 1, "boundary": 99}


def test_a_run_draws_its_boundary_on_the_layout_the_page_built_for_its_data(monkeypatch):
    """The page before any run builds the boundary's layout (grid, points) for the data Train
    would use; the run on that data reuses it: a click on Train builds no points again."""
    from ui import page_data

    dataset = load_dataset("xor", num_samples=300, seed=4)
    key = live.data_key(dataset)
    assert live.data_key(dataset) is key  # computed once per dataset object
    twin = load_dataset("xor", num_samples=300, seed=4)  # an upload split anew: same arrays
    assert live.data_key(twin) == key
    assert live.data_key(load_dataset("xor", num_samples=300, seed=5)) != key
    live.boundary_layout.clear()
    built = []
    real = page_data.points_frame
    monkeypatch.setattr(page_data, "points_frame", lambda *a, **k: built.append(1) or real(*a, **k))
    live.boundary_layout(key, dataset)  # the page before the click
    run = running_run(steps_done=100, total_steps=1000, steps_per_s=500.0)
    run.dataset = dataset
    sent = received(live_feed.feed(run, VIEW))
    assert len(sent["charts"]["boundary"][insight_charts.POINTS_DATA]["x1"]) == 300
    assert built == [1]


def test_the_state_says_paused_and_ended_as_the_buttons_read_them():
    run = running_run(steps_done=10, total_steps=100, steps_per_s=500.0)
    with run.lock:
        run.status = "paused"
    assert live_feed.run_state(run) == [True, False]
    with run.lock:
        apply_report(run, protocol.Ended("r", "completed", 9, 0, 1.0))
    assert live_feed.run_state(run) == [False, True]


def test_the_view_goes_through_the_url_and_bad_values_name_the_field():
    query = live_feed.view_query(VIEW)
    params = dict(pair.split("=") for pair in query.split("&"))
    params["x"] = params["x"].replace("+", " ")
    assert live_feed.view_from_query(params) == VIEW
    off = live_feed.view_from_query({"x": "step", "log": "0", "smoothing": "0.0"})
    assert off == {"x": "step", "log": False, "smooth": False, "smoothing": 0.0,
                   "discretize": False}  # fmt: skip
    with pytest.raises(ValueError, match=r"x must be one of .* Received: x='time'"):
        live_feed.view_from_query({"x": "time"})
    with pytest.raises(ValueError, match=r"smoothing must be in \[0, 1\). Received: smoothing=1.5"):
        live_feed.view_from_query({"x": "step", "smoothing": "1.5"})
    assert live_feed.asked_from_query({"e": "3", "b": "-1"}) == (3, -1, True)
    assert live_feed.asked_from_query({"e": "3", "b": "-1", "s": "0"}) == (3, -1, False)
    assert live_feed.asked_from_query({}) == (None, None, True)
    with pytest.raises(ValueError, match=r"b must be a whole number. Received: b='x'"):
        live_feed.asked_from_query({"e": "3", "b": "x"})
    with pytest.raises(ValueError, match=r"s must be 0 or 1. Received: s='yes'"):
        live_feed.asked_from_query({"s": "yes"})


def test_the_live_charts_are_the_pages_charts_in_streamlits_theme():
    run = running_run(steps_done=10, total_steps=100, steps_per_s=500.0)
    run.dataset = load_dataset("xor", num_samples=100, seed=1)
    page = {
        "loss": charts.live_loss_spec(x="samples seen", log_scale=True, show_smoothed=True),
        "metric": charts.live_metric_spec("accuracy"),
        "boundary": insight_charts.live_boundary_spec(
            "classification", ("-1", "+1"), height=260,
            target_domain=live.boundary_layout(live.data_key(run.dataset), run.dataset)[2],
        ),
    }  # fmt: skip
    for role, expected in page.items():
        spec = live_feed.spec_for(run, VIEW, role, side=260)
        assert spec["layer"] == expected["layer"] and spec["height"] == expected["height"]
        assert spec["config"]["aria"] is False and spec["config"]["font"] == live_feed.FONT
        assert (spec.get("width") == "container") == (role != "boundary")  # the boundary: square


def request(encoding: str) -> Request:
    headers = [(b"accept-encoding", encoding.encode())] if encoding else []
    return Request({"type": "http", "method": "GET", "path": "/", "headers": headers})


@pytest.mark.parametrize("encoding", ["gzip, deflate, br", ""])
def test_the_vega_bundle_is_served_whole_and_cached_for_good(encoding):
    response = live_feed.serve_vega(request(encoding))
    body = response.body
    if encoding:
        assert response.headers["content-encoding"] == "gzip"
        body = gzip.decompress(body)
    else:
        assert "content-encoding" not in response.headers
    script = body.decode()
    assert "window.vegaEmbed=" in script and len(script) > 500_000
    assert "immutable" in response.headers["cache-control"]
    assert live_feed.vega_path().startswith("tb/vega-") and live_feed.vega_path().endswith(".js")
