"""A training run's loss chart and figures, kept live in the browser without rerunning the page.

Measured on the Train page with Chromium on the server's 2 cores: redrawing the live view by
rerunning its fragment 2.5 times a second cost the tab's renderer 0.68 s of every second, most
of it Streamlit's work over the whole page per rerun (a bare page rerunning one fragment at that
rate: 0.08 s/s; with the Train page's 40 widgets around it: 0.21 s/s), and the worker training
beside it lost that core time. Here the browser asks the server for the run's new rows instead
(`GET tb/live/<run id>`, a few kB of JSON, 2.5 times a second) and hands them to the Vega view it
already has: the same spec and rows `live.draw_loss` draws, the same figures as `live.panel_html`.
Streamlit reruns the live view only when something else changes: when the run pauses or ends
the element says so (a trigger), and the fragment's own timer, slower, brings the epoch metric
and the decision boundary.

Vega comes from vl-convert's bundle (already installed for the chart downloads), served by this
app once per browser (`tb/vega-<version>.js`, cached for good), so nothing is fetched from a CDN.
"""

from __future__ import annotations

import functools
import gzip
import json
from urllib.parse import urlencode

import streamlit as st

from ui import charts, live

FEED_PATH = "tb/live"  # + "/<run id>?<view>", relative to the page: the app may not sit at /
LOSS_HEIGHT = 360  # px: live_loss_spec's
POLL_S = 0.3  # 3.3 updates a second (the bar is 2; at 2.5 a 4-s sample could count 2.0)
RETRY_S = 2.0  # after a failed poll (the server restarting): keep trying, slower

# Streamlit's light theme for Vega-Lite charts (read off its frontend's chart config and the
# canvas it draws on, Streamlit 1.67), so the live chart looks like the one the finished run
# gets from st.vega_lite_chart: same font, greys, sizes and padding.
FONT = '"Source Sans", sans-serif'
MUTED, GRID = "#808495", "#e6eaf1"
THEME = {
    "font": FONT,
    "background": "#ffffff",
    "fieldTitle": "verbal",
    "autosize": {"type": "fit", "contains": "padding"},
    "axis": {
        "labelFontSize": 12, "labelFontWeight": "normal", "labelColor": MUTED,
        "titleFontSize": 14, "titleFontWeight": "normal", "titleColor": MUTED,
        "ticks": False, "gridColor": GRID, "domain": False, "domainColor": GRID,
        "labelFlush": True, "labelFlushOffset": 1, "labelBound": False, "labelLimit": 100,
        "titlePadding": 16, "labelPadding": 16, "labelSeparation": 4, "labelOverlap": True,
    },
    "legend": {
        "labelFontSize": 14, "labelFontWeight": "normal", "labelColor": MUTED,
        "titleFontSize": 14, "titleFontWeight": "normal", "titleColor": MUTED,
        "titlePadding": 8, "labelPadding": 16, "columnPadding": 8, "rowPadding": 4,
        "padding": 8, "symbolStrokeWidth": 4,
    },
    "view": {"strokeWidth": 0, "stroke": "transparent"},
}  # fmt: skip


def vega_path() -> str:
    """The bundle's URL path, with its version: a browser keeps it until the version changes."""
    import vl_convert

    return f"tb/vega-{vl_convert.__version__}.js"


@functools.cache
def vega_bundle() -> bytes:
    """Vega, Vega-Lite and vega-embed as one script (window.vegaEmbed), gzipped: 900 kB, 250
    kB sent. Built by vl-convert in ~3 s, once per process (see `prepare`)."""
    import vl_convert

    return gzip.compress(vl_convert.javascript_bundle().encode(), mtime=0)


def prepare() -> None:
    """Build the bundle before the first visitor (the server's lifespan, in a thread)."""
    vega_bundle()


# -- what the browser is sent ---------------------------------------------------------------------
def view_query(view: dict) -> str:
    """The chart options a feed draws with, as its URL's query."""
    x = view["x"] if view["x"] in charts.X_AXES else "step"
    return urlencode(
        {"x": x, "log": int(bool(view["log"])), "smoothing": charts.view_smoothing(view)}
    )


def view_from_query(params) -> dict:
    """`view_query` read back (a request's query parameters); ValueError for a bad value."""
    x = params.get("x", "step")
    if x not in charts.X_AXES:
        raise ValueError(f"x must be one of {', '.join(charts.X_AXES)}. Received: x={x!r}")
    smoothing = float(params.get("smoothing", 0))
    if not 0 <= smoothing < 1:
        raise ValueError(f"smoothing must be in [0, 1). Received: smoothing={smoothing!r}")
    return {"x": x, "log": params.get("log") == "1", "smooth": smoothing > 0,
            "smoothing": smoothing}  # fmt: skip


def run_state(run) -> list[bool]:
    """[paused, finished] as the Train page's buttons read them (see pages/train.py)."""
    finished = run.finished
    paused = run.status == "paused" or (run.status == "queued" and run.queued_mode == "paused")
    return [not finished and paused, finished]


def feed(run, view: dict) -> dict:
    """What the browser shows of `run` now: the loss chart's rows by dataset name, the figures
    beside it as HTML, and the run's state (a change has Streamlit redraw the live view)."""
    x = view["x"] if view["x"] in charts.X_AXES else "step"
    log_scale = bool(view["log"])
    batches, epochs = run.curves(live.LIVE_POINTS, charts.view_smoothing(view))
    frames = charts.loss_frames(batches, epochs, x=x, log_scale=log_scale, hover=False)
    return {
        "datasets": {
            name: json.loads(frame.to_json(orient="records", double_precision=7))
            for name, frame in frames.items()
        },  # fmt: skip
        "panel": live.panel_html(run),
        "state": run_state(run),
    }


def spec_for(view: dict) -> dict:
    """The live loss chart's spec (`live.draw_loss`'s), in Streamlit's theme, filling its
    column's width."""
    x = view["x"] if view["x"] in charts.X_AXES else "step"
    spec = charts.live_loss_spec(
        x=x, log_scale=bool(view["log"]), show_smoothed=bool(view["smooth"])
    )
    spec["config"] = {**THEME, **spec.get("config", {})}
    spec["width"] = "container"
    return spec


# -- the element ----------------------------------------------------------------------------------
# One poll per feed for every element of the page that shows it (the chart and the figures),
# kept on `window` so that a fragment's redraw, which calls this function again, reuses the
# poll and the Vega view it already has instead of building new ones.
_JS = """
const feeds = window.__tbFeeds || (window.__tbFeeds = new Map());
const mounted = window.__tbMounted || (window.__tbMounted = new WeakMap());

function loadVega(src) {
  if (window.vegaEmbed) return Promise.resolve();
  if (!window.__tbVega) {
    window.__tbVega = new Promise((resolve, reject) => {
      const script = document.createElement("script");
      script.src = src;
      script.onload = resolve;
      script.onerror = () => { window.__tbVega = null; reject(new Error("no Vega")); };
      document.head.appendChild(script);
    });
  }
  return window.__tbVega;
}

function subscribe(url, everyMs, retryMs, listener) {
  let feed = feeds.get(url);
  if (!feed) {
    feed = { listeners: new Set(), last: null, timer: null };
    feeds.set(url, feed);
    const poll = async () => {
      const started = performance.now();
      let wait = retryMs;
      try {
        const response = await fetch(url, { cache: "no-store" });
        if (response.ok) {
          feed.last = await response.json();
          feed.listeners.forEach((notify) => notify(feed.last));
          wait = everyMs;
        }
      } catch (err) {}  // the server restarting: try again, slower
      if (feeds.get(url) !== feed) return;  // nobody shows it any more
      feed.timer = setTimeout(poll, Math.max(0, wait - (performance.now() - started)));
    };
    feed.timer = setTimeout(poll, everyMs);
  }
  feed.listeners.add(listener);
  return () => {
    feed.listeners.delete(listener);
    if (!feed.listeners.size) {
      clearTimeout(feed.timer);
      if (feeds.get(url) === feed) feeds.delete(url);
    }
  };
}

function sameState(a, b) { return a[0] === b[0] && a[1] === b[1]; }

async function showChart(place, data, isCurrent) {
  await loadVega(data.vega);
  if (!isCurrent()) return null;
  const spec = { ...data.spec, datasets: data.first.datasets };
  const result = await window.vegaEmbed(place, spec, { actions: false, renderer: "canvas" });
  return result.view;
}

export default function ({ data, parentElement, setTriggerValue }) {
  const key = data.url + "|" + data.role + "|" + JSON.stringify(data.spec || null);
  const had = mounted.get(parentElement);
  if (had && had.key === key) { clearTimeout(had.dropping); return had.cleanup; }
  if (had) had.drop();
  parentElement.replaceChildren();
  const place = document.createElement("div");
  place.className = data.role === "chart" ? "tb-live-chart" : "tb-live-panel";
  if (data.role === "chart") {  // inline: vega-embed's own sheet makes it an inline-block
    place.style.cssText = "display: block; width: 100%; min-height: " + data.height + "px";
  }
  parentElement.appendChild(place);
  const entry = { key, dropping: null, view: null, pending: null, told: false };
  let alive = true;
  const apply = async (payload) => {
    if (data.role === "panel") {
      place.innerHTML = payload.panel;
    } else if (entry.view) {
      for (const [name, rows] of Object.entries(payload.datasets)) entry.view.data(name, rows);
      await entry.view.runAsync();
      const rows = payload.datasets.loss_batches;  // for tests: the last step drawn
      place.dataset.lastStep = rows.length ? rows[rows.length - 1].step : 0;
    } else {
      entry.pending = payload;  // drawn once the view exists
    }
    if (data.role === "chart" && !entry.told && !sameState(payload.state, data.state)) {
      entry.told = true;  // paused, resumed or ended: Streamlit redraws the live view
      setTriggerValue("state", payload.state);
    }
  };
  if (data.role === "panel") {
    place.innerHTML = data.first.panel;
  } else {
    showChart(place, data, () => alive).then((view) => {
      if (!alive) { if (view) view.finalize(); return; }
      entry.view = view;
      if (entry.pending) apply(entry.pending);
    }).catch(() => {});
  }
  const url = new URL(data.url, window.location.href).href;
  const unsubscribe = subscribe(url, data.every_ms, data.retry_ms, (payload) => {
    if (alive) apply(payload);
  });
  entry.drop = () => {
    if (!alive) return;
    alive = false;
    unsubscribe();
    if (entry.view) entry.view.finalize();
    mounted.delete(parentElement);
  };
  // Streamlit may unmount and mount again for one redraw: drop a moment later unless it did.
  entry.cleanup = () => { entry.dropping = setTimeout(entry.drop, 0); };
  mounted.set(parentElement, entry);
  return entry.cleanup;
}
"""

# In the page's own DOM, not a shadow root: the figures keep the page's styles, and tests and
# benchmarks find "Step N of M" where they always did.
_live = st.components.v2.component("tapeboard_live_run", js=_JS, isolate_styles=False)


def _redraw() -> None:
    """The element's trigger (the run paused, resumed or ended): the rerun it starts redraws."""


def draw(run, view: dict, role: str, first: dict) -> None:
    """The part `role` of `run`'s live view: "chart" (the loss chart) or "panel" (progress and
    figures), drawn from `first` (this page run's `feed`) and kept live by the browser."""
    _live(
        data={
            "role": role,
            "url": f"{FEED_PATH}/{run.id}?{view_query(view)}",
            "vega": vega_path(),
            "spec": spec_for(view) if role == "chart" else None,
            "height": LOSS_HEIGHT,
            "first": first,
            "state": run_state(run),
            "every_ms": int(POLL_S * 1000),
            "retry_ms": int(RETRY_S * 1000),
        },
        key=f"tb_live_{role}",
        on_state_change=_redraw,
    )


# -- the server's side ----------------------------------------------------------------------------
def routes() -> list:
    """The app's routes for live views: a run's feed, and the Vega bundle."""
    from starlette.routing import Route

    return [
        Route(f"/{FEED_PATH}/{{run_id}}", serve_feed, methods=["GET"]),
        Route(f"/{vega_path()}", serve_vega, methods=["GET"]),
    ]


def serve_feed(request):
    """GET tb/live/<run id>?<view>: the run's `feed` as JSON. Held, like a redraw, until a
    just-started run's first batches or a run's imminent end (`live.hold_redraw`). Anyone with
    the run's link sees the same (its id is the secret, as for the page). Starlette runs this
    in its thread pool: the wait blocks no other request."""
    from starlette.responses import JSONResponse

    from service import get_service

    try:
        view = view_from_query(request.query_params)
        run = get_service().get(request.path_params["run_id"])
    except ValueError as err:
        return JSONResponse({"error": str(err)}, status_code=400)
    if run is None:
        return JSONResponse({"error": "No run on this server has this id."}, status_code=404)
    live.hold_redraw(run, POLL_S)
    return JSONResponse(feed(run, view), headers={"Cache-Control": "no-store"})


def serve_vega(request):
    """The Vega bundle, gzipped where the browser takes it (every browser does), cached for
    good: its path changes with its version."""
    from starlette.responses import Response

    body = vega_bundle()
    headers = {"Cache-Control": "public, max-age=31536000, immutable", "Vary": "Accept-Encoding"}
    if "gzip" in request.headers.get("accept-encoding", ""):
        headers["Content-Encoding"] = "gzip"
    else:
        body = gzip.decompress(body)
    return Response(body, media_type="text/javascript", headers=headers)
