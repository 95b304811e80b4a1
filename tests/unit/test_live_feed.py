"""What the browser's live view of a training run reads (ui.live_feed): the same rows and
figures the page would draw, the view options in its URL, and the Vega bundle it loads.

The run is the server's record of a run fed a worker's reports (no worker, no TensorFlow); the
route itself is driven end to end by the browser tests against `streamlit run`."""

from __future__ import annotations

import gzip
import json
import math

import pytest
from starlette.requests import Request

from service import protocol
from service.runs import apply_report
from tests.unit.test_live import running_run
from ui import charts, live, live_feed

VIEW = {"x": "samples seen", "log": True, "smooth": True, "smoothing": 0.9}


def test_the_feed_carries_the_rows_and_figures_the_page_draws():
    run = running_run(steps_done=700, total_steps=1000, steps_per_s=500.0)
    sent = json.loads(json.dumps(live_feed.feed(run, VIEW)))  # as the browser receives it
    batches, epochs = run.curves(live.LIVE_POINTS, 0.9)
    frames = charts.loss_frames(batches, epochs, x="samples seen", log_scale=True, hover=False)
    assert set(sent["datasets"]) == set(frames)
    for name, frame in frames.items():
        rows = sent["datasets"][name]
        assert len(rows) == len(frame) and (not rows or list(rows[0]) == list(frame.columns))
        for row, (_, expected) in zip(rows, frame.iterrows(), strict=True):
            for column, value in expected.items():
                got = row[column]
                assert (got is None and math.isnan(value)) or got == pytest.approx(value, 1e-6)
    assert len(sent["datasets"][charts.BATCH_DATA]) <= live.LIVE_POINTS
    assert sent["datasets"][charts.HOVER_DATA] == []  # no tooltip rows while it trains
    assert sent["panel"] == live.panel_html(run) and "Step 700 of 1,000" in sent["panel"]
    assert sent["state"] == [False, False]


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
    assert off == {"x": "step", "log": False, "smooth": False, "smoothing": 0.0}
    with pytest.raises(ValueError, match=r"x must be one of .* Received: x='time'"):
        live_feed.view_from_query({"x": "time"})
    with pytest.raises(ValueError, match=r"smoothing must be in \[0, 1\). Received: smoothing=1.5"):
        live_feed.view_from_query({"x": "step", "smoothing": "1.5"})


def test_the_live_chart_is_the_pages_loss_chart_in_streamlits_theme():
    spec = live_feed.spec_for(VIEW)
    page = charts.live_loss_spec(x="samples seen", log_scale=True, show_smoothed=True)
    assert spec["layer"] == page["layer"] and spec["height"] == live_feed.LOSS_HEIGHT
    assert spec["config"]["aria"] is False and spec["config"]["font"] == live_feed.FONT
    assert spec["width"] == "container"


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
