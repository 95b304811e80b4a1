"""The Train page's charts and figures, built once in the browser and kept live without
rerunning the page.

Measured on the Train page with Chromium on the server's 2 cores: redrawing the live view by
rerunning its fragment 2.5 times a second cost the tab's renderer 0.5-0.7 s of every second,
most of it Streamlit's work over the whole page per rerun (a bare page rerunning one fragment
at that rate: 0.08 s/s; with the Train page's 40 widgets around it: 0.21 s/s), and the worker
training beside it lost that core time. Here the browser asks the server for the run's new
rows instead (`GET tb/live/<run id>`, a few kB of JSON, 3.3 times a second) and hands them to
the Vega views it already has: the same specs and rows `ui.live` draws (loss, epoch metric,
decision boundary), the same figures as `live.panel_html`. Streamlit redraws the live view when
the run pauses or ends (the element says so with a trigger), and rarely otherwise.

The same elements draw the charts when no worker trains the shown run (the page before any
run, a queued, paused or ended run), from rows that do not change: one Vega view per chart
for as long as the tab shows the page and its view options, given new rows. Vega compiles a
spec and builds its view in a tenth of a second of the browser's main thread; built anew by
Streamlit at the click and again at the run's end, the three charts cost a short run 1.1 s
of the tab's main thread, taken from the worker beside it on a 2-core box.

Vega comes from vl-convert's bundle (already installed for the chart downloads), served by this
app once per browser (`tb/vega-<version>.js`, cached for good), so nothing is fetched from a CDN.
"""

from __future__ import annotations

import functools
import gzip
from collections.abc import Callable
from urllib.parse import urlencode

import streamlit as st

from ui import charts, insight_charts, live

FEED_PATH = "tb/live"  # + "/<run id>?<view>", relative to the page: the app may not sit at /
POLL_S = 0.3  # 3.3 updates a second (the bar is 2; at 2.5 a 4-s sample could count 2.0)
SLOW_S = 1.0  # the epoch metric and the boundary: asked for, so redrawn, at most this often
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
    return urlencode(
        {
            "x": charts.view_x(view),
            "log": int(bool(view["log"])),
            "smoothing": charts.view_smoothing(view),
            "discretize": int(bool(view.get("discretize"))),
        }
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
            "smoothing": smoothing, "discretize": params.get("discretize") == "1"}  # fmt: skip


def asked_from_query(params) -> tuple[int | None, int | None, bool]:
    """(epoch rows, boundary step) the browser says it has (`e`, `b`), None where it says
    nothing, and whether it asks for the slow parts (`s`, default yes); ValueError for a value
    that is not a whole number, or an `s` other than 0 or 1."""
    have = []
    for name in ("e", "b"):
        value = params.get(name)
        try:
            have.append(None if value is None else int(value))
        except ValueError:
            raise ValueError(f"{name} must be a whole number. Received: {name}={value!r}") from None
    slow = params.get("s", "1")
    if slow not in ("0", "1"):
        raise ValueError(f"s must be 0 or 1. Received: s={slow!r}")
    return have[0], have[1], slow == "1"


def run_state(run) -> list[bool]:
    """[paused, finished], each read once: what the Train page's buttons follow, and what the
    browser's live view watches for a change. A run paused while it waited for a worker is
    paused too: it will start so."""
    finished = run.finished
    paused = run.status == "paused" or (run.status == "queued" and run.queued_mode == "paused")
    return [not finished and paused, finished]


def feed(
    run,
    view: dict,
    have_epochs: int | None = None,
    have_boundary: int | None = None,
    slow: bool = True,
) -> dict:
    """What the browser shows of `run` now: each chart's columns by dataset name ("charts"), the
    figures beside them as HTML, the run's state (a change has Streamlit redraw the live view)
    and what the browser has now ("have"). The slow parts, the epoch metric's rows and the
    boundary's image, go only when they differ from `have_epochs` / `have_boundary` (None:
    everything, a first draw, the boundary's points with it) and `slow` asks for them: the
    browser draws them at most once a second, and building them (a frame per metric, a PNG
    per boundary) at every poll was the feed's largest cost on the server."""
    x = charts.view_x(view)
    batches, epochs = run.curves(live.LIVE_POINTS, charts.view_smoothing(view))
    loss = charts.loss_frames(batches, epochs, x=x, log_scale=bool(view["log"]), hover=False)
    sent = {"loss": loss}
    have = {"epochs": have_epochs, "boundary": have_boundary}
    if slow:
        sent.update(slow_parts(run, view, have))
    return {
        "charts": {
            role: {name: columns(frame) for name, frame in frames.items()}
            for role, frames in sent.items()
        },
        "have": have,
        "panel": live.panel_html(run),
        "state": run_state(run),
    }


def slow_parts(run, view: dict, have: dict) -> dict:
    """The epoch metric's and the boundary's frames where they differ from what the browser
    `have`s; `have` is updated to what it will have."""
    with run.lock:
        metric_epochs = run.history.epochs(live.MAX_POINTS)
        values, step = run.boundary, run.boundary_step
    sent = {}
    if len(metric_epochs) != have["epochs"]:
        frame = charts.metric_frame(metric_epochs, live.metric_for(run.config))
        blank = charts.blank_frame_rows("epoch", "value", blank=frame.empty)
        sent["metric"] = {charts.METRIC_DATA: frame, charts.FRAME_DATA: blank}
    if has_boundary(run) and step != have["boundary"]:
        sent["boundary"] = boundary_frames(run, values, bool(view.get("discretize")))
        if have["boundary"] is not None:  # the points never change: sent with the first draw
            del sent["boundary"][insight_charts.POINTS_DATA]
    have.update(epochs=len(metric_epochs), boundary=step)
    return sent


def columns(frame) -> dict[str, list]:
    """A frame as JSON columns (NaN as null), which the browser turns into Vega's rows
    (measured: a poll took 8.8 ms of the server this way, 10.8 ms through pandas' to_json)."""
    return {
        str(name): [None if value != value else value for value in frame[name].tolist()]
        for name in frame.columns
    }


def has_boundary(run) -> bool:
    return run.dataset is not None and run.dataset.is_2d


def boundary_frames(run, values, discrete: bool) -> dict:
    """The decision boundary's datasets as `live.draw_boundary` draws them."""
    axes, points, domain = live.boundary_layout(live.data_key(run.dataset), run.dataset)
    names = run.dataset.class_names
    return insight_charts.boundary_frames(
        axes, values, run.dataset.task, names, points, domain, discrete=discrete
    )


def spec_for(run, view: dict, role: str, side: int = live.BOUNDARY_SIDE) -> dict:
    """The spec of the chart `role` ("loss", "metric" or "boundary", a square `side` px) as
    the page draws it, in Streamlit's theme; the first two fill their column's width."""
    if role == "loss":
        x = charts.view_x(view)
        spec = charts.live_loss_spec(
            x=x, log_scale=bool(view["log"]), show_smoothed=bool(view["smooth"])
        )
    elif role == "metric":
        spec = charts.live_metric_spec(live.metric_for(run.config))
    else:
        _, _, domain = live.boundary_layout(live.data_key(run.dataset), run.dataset)
        names = run.dataset.class_names
        spec = insight_charts.live_boundary_spec(
            run.dataset.task, names, height=side, target_domain=domain
        )
    return themed(spec, role)


def themed(spec: dict, role: str) -> dict:
    """A chart's spec as the browser draws it here: in Streamlit's theme; the loss and metric
    charts fill their column's width."""
    spec = {**spec, "config": {**THEME, **spec.get("config", {})}}
    if role != "boundary":
        spec["width"] = "container"
    else:  # its own size, axes and legend around it, as Streamlit draws width="content"
        spec["autosize"] = {"type": "pad"}
    return spec


# -- the element ----------------------------------------------------------------------------------
# One poll per feed for every element of the page that shows it (the charts and the figures),
# kept on `window` so that a fragment's redraw, which calls this function again, reuses the
# poll and the Vega views it already has instead of building new ones. The poll keeps the
# latest of every part (the metric's rows and the boundary come only when they changed, see
# `feed`) with a version per part, so each element draws a part once, whenever it mounted.
_JS = """
const feeds = window.__tbFeeds || (window.__tbFeeds = new Map());
const mounted = window.__tbMounted || (window.__tbMounted = new WeakMap());
const views = window.__tbViews || (window.__tbViews = new Map());  // by role and spec
const HOVER = "__HOVER__";  // the loss chart's tooltip rows (see holdHover)

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

function rowsOf(columns) {
  const names = Object.keys(columns);
  const count = names.length ? columns[names[0]].length : 0;
  const rows = new Array(count);
  for (let i = 0; i < count; i++) {
    const row = {};
    for (const name of names) row[name] = columns[name][i];
    rows[i] = row;
  }
  return rows;
}

function rowsByName(datasets) {
  const out = {};
  for (const [name, columns] of Object.entries(datasets)) out[name] = rowsOf(columns);
  return out;
}

function merge(feed, payload) {
  for (const [role, datasets] of Object.entries(payload.charts)) {
    feed.charts[role] = { ...(feed.charts[role] || {}), ...rowsByName(datasets) };
    feed.versions[role] = (feed.versions[role] || 0) + 1;
  }
  feed.panel = payload.panel;
  feed.state = payload.state;
  feed.have = payload.have;
  feed.versions.panel = (feed.versions.panel || 0) + 1;
}

function subscribe(url, first, timing, listener) {
  const { every_ms: everyMs, slow_ms: slowMs, retry_ms: retryMs } = timing;
  let feed = feeds.get(url);
  if (feed) {  // another part's poll: add this part's rows if it has none yet
    for (const [role, datasets] of Object.entries(first.charts)) {
      if (!feed.charts[role]) { feed.charts[role] = rowsByName(datasets); feed.versions[role] = 1; }
    }
  } else {
    const slowAt = performance.now();  // when the slow parts last came: the first rows had them
    feed = { listeners: new Set(), timer: null, charts: {}, versions: {}, slowAt };
    merge(feed, first);
    feeds.set(url, feed);
    const poll = async () => {
      const started = performance.now();
      let wait = retryMs;
      try {
        // The epoch metric and the boundary: asked for at most once a second (see `feed`)
        const slow = started - feed.slowAt >= slowMs ? 1 : 0;
        const have = `&e=${feed.have.epochs}&b=${feed.have.boundary}&s=${slow}`;
        const response = await fetch(url + have, { cache: "no-store" });
        if (response.ok) {
          if (slow) feed.slowAt = started;
          merge(feed, await response.json());
          feed.listeners.forEach((notify) => notify(feed));
          wait = everyMs;
        }
      } catch (err) {}  // the server restarting: try again, slower
      if (feeds.get(url) !== feed) return;  // nobody shows it any more
      feed.timer = setTimeout(poll, Math.max(0, wait - (performance.now() - started)));
    };
    feed.timer = setTimeout(poll, everyMs);
  }
  feed.listeners.add(listener);
  return [feed, () => {
    feed.listeners.delete(listener);
    if (!feed.listeners.size) {
      clearTimeout(feed.timer);
      if (feeds.get(url) === feed) feeds.delete(url);
    }
  }];
}

function sameState(a, b) { return a[0] === b[0] && a[1] === b[1]; }

// The figures change a few numbers per update: patched in place, text by text, where the
// new HTML has the same elements (a new table per update had the browser parse its style
// sheet again and restyle and lay out the page around it, at every update).
function patchHtml(place, html) {
  const fresh = document.createElement("template");
  fresh.innerHTML = html;
  if (!place.firstChild || !patchNode(place, fresh.content)) place.replaceChildren(fresh.content);
}

function patchNode(old, fresh) {  // false where `old` is not shaped as `fresh`
  if (old.nodeType === Node.TEXT_NODE) {
    if (old.nodeValue !== fresh.nodeValue) old.nodeValue = fresh.nodeValue;
    return true;
  }
  if (old.childNodes.length !== fresh.childNodes.length) return false;
  if (fresh.attributes) {
    for (const { name, value } of fresh.attributes) {
      if (old.getAttribute(name) !== value) old.setAttribute(name, value);
    }
  }
  for (let i = 0; i < fresh.childNodes.length; i++) {
    const [was, now] = [old.childNodes[i], fresh.childNodes[i]];
    if (was.nodeType !== now.nodeType || was.nodeName !== now.nodeName) return false;
    if (!patchNode(was, now)) old.replaceChild(now.cloneNode(true), was);
  }
  return true;
}

// Rows that will not change (the page before any run): drawn like a feed, never polled.
function staticFeed(first) {
  const feed = { charts: {}, versions: { panel: 1 }, panel: first.panel, state: first.state };
  for (const [role, datasets] of Object.entries(first.charts)) {
    feed.charts[role] = rowsByName(datasets);
    feed.versions[role] = 1;
  }
  return feed;
}

async function drawEntry(entry, feed) {
  if (!entry.alive || feed !== entry.feed) return;
  const { role, place } = entry;
  const version = feed.versions[role] || 0;
  // The run paused or ended: Streamlit redraws the live view now (its charts with the rows
  // of a run no worker trains), so the charts skip this feed's rows (drawn, they cost the tab
  // a redraw of each chart that came, only to be drawn again, and held the trigger back by
  // that long); the figures take it, cheap and final.
  const changed = entry.url && !sameState(feed.state, entry.data.state);
  if (role === "loss" && changed && !entry.told) {
    entry.told = true;
    entry.trigger("state", feed.state);
  }
  if (role === "panel") {
    if (version > entry.drawn) patchHtml(place, feed.panel);
    entry.drawn = version;
  } else if (entry.view && version > entry.drawn && !changed) {
    // Whatever came: the loss at every poll, the epoch metric and the boundary at most once a
    // second (the poll asks for them so; with short epochs they changed at every update, and
    // three redrawn charts a poll cost the tab as much as the page's reruns had).
    entry.drawn = version;
    const datasets = holdHover(entry, feed.charts[role] || {});
    for (const [name, rows] of Object.entries(datasets)) entry.view.data(name, rows);
    await entry.view.runAsync();
    // "fit" sizing lays the chart out again only when asked: without it, axis labels wider
    // than the first (empty) chart's pushed the y title out of the canvas. The labels follow
    // the y scale's domain, which a falling loss changes now and then: laid out again only
    // then (at every update, the relayout cost a live tab ~5% of a core).
    const domain = yDomain(entry.view);
    if (domain === null || domain !== entry.domain) {
      entry.domain = domain;
      await entry.view.resize().runAsync();
    }
    const rows = datasets.loss_batches;  // for tests: the last step drawn
    if (rows) place.dataset.lastStep = rows.length ? rows[rows.length - 1].step : 0;
  }
}

// The loss chart's tooltip rows (the nearest batch under the pointer: a second copy of the
// batches, an invisible point per batch and a Voronoi diagram over them) come with an ended
// run's rows, and go into the chart only when the pointer comes to it: most runs end
// without anyone hovering, and taking them in cost the tab a third of its main thread at a
// run's end (0.035-0.05 s a run, measured with benchmarks/browser_cost.py part 3), on a
// 2-core box taken from the run training beside it. Rows that come while the pointer is
// over the chart go in at once.
function holdHover(entry, datasets) {
  const rows = datasets[HOVER];
  if (!rows) return datasets;
  if (!rows.length || entry.pointer) {
    entry.hoverRows = null;
    entry.hoverShown = rows.length > 0;
    return datasets;
  }
  entry.hoverRows = rows;
  if (!entry.hoverArmed) {
    entry.hoverArmed = true;
    entry.place.addEventListener("pointerenter", () => { entry.pointer = true; showHover(entry); });
    entry.place.addEventListener("pointerleave", () => { entry.pointer = false; });
  }
  const held = { ...datasets };
  delete held[HOVER];
  // Emptied where the chart shows an older run's (or is being built): never left behind.
  if (entry.hoverShown || !entry.view) held[HOVER] = [];
  entry.hoverShown = false;
  return held;
}

function showHover(entry) {
  const rows = entry.hoverRows;
  if (!rows || !entry.view || !entry.alive) return;
  entry.hoverRows = null;
  entry.hoverShown = true;
  entry.view.data(HOVER, rows).runAsync();
}

function yDomain(view) {  // null for a chart without a "y" scale: laid out at every update
  try { return String(view.scale("y").domain()); } catch (err) { return null; }
}

// The chart (or figures) of one role, built once. Streamlit calls the element's function
// again with each new page run's data: a run starting on the page with no run yet, the same
// chart's new rows or a new feed, which the entry takes into the Vega view it has.
function create(key, role, parentElement) {
  parentElement.replaceChildren();
  const place = document.createElement("div");
  place.className = role === "panel" ? "tb-live-panel" : `tb-live-chart tb-live-${role}`;
  parentElement.appendChild(place);
  const entry = {
    key, role, place, parent: parentElement, alive: true, view: null, feed: null, url: null,
    unsubscribe: null, drawn: 0, told: false, dropping: null, observer: null, domain: null,
    hoverRows: null, hoverShown: false, hoverArmed: false, pointer: false,
  };
  entry.drop = () => {
    if (!entry.alive) return;
    entry.alive = false;
    if (entry.unsubscribe) entry.unsubscribe();
    if (entry.observer) entry.observer.disconnect();
    if (entry.view) entry.view.finalize();
    if (mounted.get(entry.parent) === entry) mounted.delete(entry.parent);
    if (views.get(entry.key) === entry) views.delete(entry.key);
  };
  // Streamlit may unmount and mount again for one redraw: drop a moment later unless it did.
  entry.cleanup = () => { entry.dropping = setTimeout(entry.drop, 0); };
  views.set(key, entry);
  return entry;
}

// A chart whose element Streamlit has just unmounted (its place in the page changed) goes
// to the element that mounts with the same spec, with its Vega view: no new compile.
function adopt(key, parentElement) {
  const entry = views.get(key);
  if (!entry || !entry.alive || entry.dropping === null) return null;
  clearTimeout(entry.dropping);
  entry.dropping = null;
  if (mounted.get(entry.parent) === entry) mounted.delete(entry.parent);
  entry.parent = parentElement;
  parentElement.replaceChildren(entry.place);
  return entry;
}

function build(entry) {
  const { role, place } = entry;
  const width = entry.data.spec.width === "container" ? "width: 100%; " : "";
  // inline: vega-embed's own sheet makes it an inline-block
  place.style.cssText = `display: block; ${width}min-height: ${entry.data.spec.height}px`;
  // Built after the page's other new elements have mounted (a chart's compile takes a
  // tenth of a second of the main thread, and the progress beside it came after three).
  const mountedAll = () => new Promise((ready) => setTimeout(ready, 0));
  loadVega(entry.data.vega).then(mountedAll).then(async () => {
    if (!entry.alive) return;
    const feed = entry.feed;
    const spec = { ...entry.data.spec, datasets: holdHover(entry, feed.charts[role] || {}) };
    const version = feed.versions[role] || 0;
    const result = await window.vegaEmbed(place, spec, { actions: false, renderer: "canvas" });
    if (!entry.alive) { result.view.finalize(); return; }
    const canvas = place.querySelector("canvas");
    if (canvas) canvas.style.verticalAlign = "bottom";  // no descender gap under it
    entry.view = result.view;
    entry.drawn = entry.feed === feed ? version : 0;
    if (entry.data.spec.width === "container") follow(entry, result.view.container() || place);
    drawEntry(entry, entry.feed);  // anything newer that came meanwhile
  }).catch(() => {});
}

// A chart as wide as its column, whenever the column changes width: Vega sizes a
// "container" chart to the window's resizes only, and the chart goes along with its element
// to a column of another width (presentation mode) or the column narrows (the sidebar).
function follow(entry, box) {
  if (!window.ResizeObserver) return;
  let seen = box.clientWidth;
  entry.observer = new ResizeObserver(() => {
    const width = box.clientWidth;
    if (!entry.alive || !width || width === seen) return;
    seen = width;
    entry.view.width(width).runAsync();
  });
  entry.observer.observe(box);
}

// The entry's rows: a run's feed, polled (shared with the other parts that show it), or
// rows that will not change. A new feed is drawn at once, in the view the entry has.
function show(entry, data) {
  const url = data.url ? new URL(data.url, window.location.href).href : null;
  const before = entry.data;
  entry.data = data;
  if (url && url === entry.url) {
    if (before && !sameState(before.state, data.state)) entry.told = false;
    return;
  }
  if (entry.unsubscribe) entry.unsubscribe();
  entry.unsubscribe = null;
  entry.url = url;
  entry.told = false;
  entry.drawn = 0;
  if (url) {
    const draw = (feed) => drawEntry(entry, feed);
    [entry.feed, entry.unsubscribe] = subscribe(url, data.first, data, draw);
  } else {
    entry.feed = staticFeed(data.first);
  }
  drawEntry(entry, entry.feed);
}

export default function ({ data, parentElement, setTriggerValue }) {
  const role = data.role;
  const key = role + "|" + JSON.stringify(data.spec || null);
  let entry = mounted.get(parentElement);
  if (entry && entry.key !== key) { entry.drop(); entry = null; }
  if (entry) {
    clearTimeout(entry.dropping);
    entry.dropping = null;
  } else {
    entry = adopt(key, parentElement);
  }
  const fresh = !entry;
  if (fresh) entry = create(key, role, parentElement);
  mounted.set(parentElement, entry);
  entry.trigger = setTriggerValue;
  show(entry, data);
  if (fresh && role !== "panel") build(entry);
  return entry.cleanup;
}
"""

# In the page's own DOM, not a shadow root: the figures keep the page's styles, and tests and
# benchmarks find "Step N of M" where they always did.
_live = st.components.v2.component(
    "tapeboard_live_run", js=_JS.replace("__HOVER__", charts.HOVER_DATA), isolate_styles=False
)


def _redraw() -> None:
    """The element's trigger (the run paused, resumed or ended): the rerun it starts redraws."""


def draw(
    run,
    view: dict,
    role: str,
    first: dict,
    side: int = live.BOUNDARY_SIDE,
    on_change: Callable[[], None] | None = None,
) -> None:
    """The part `role` ("loss", "metric", "boundary" or "panel") of `run`'s live view, drawn
    from `first` (this page run's `feed`) and kept live by the browser; `side`: the
    boundary's square, in px; `on_change`: the callback when the browser sees the run pause,
    resume or end (by default, the fragment that drew it reruns)."""
    element(
        role,
        on_change=on_change,
        url=f"{FEED_PATH}/{run.id}?{view_query(view)}",
        spec=None if role == "panel" else spec_for(run, view, role, side),
        first=part_of(first, role),
        state=run_state(run),
        every_ms=int(POLL_S * 1000),
        slow_ms=int(SLOW_S * 1000),
        retry_ms=int(RETRY_S * 1000),
    )


def draw_rows(role: str, spec: dict, datasets: dict) -> None:
    """The chart `role` ("loss", "metric" or "boundary") with rows that will not change:
    `spec` fed the named frames `datasets`, as `ui.live` draws them for the page before any
    run and for a run no worker trains. The same element as the run's live view (`draw`):
    the browser fills in the chart it has at the click and at the run's end."""
    rows = {name: columns(frame) for name, frame in datasets.items()}
    element(role, url=None, spec=themed(spec, role), first={"charts": {role: rows}})


def draw_panel(run) -> None:
    """The figures of a run no worker trains (queued, paused or ended) in the live view's
    element: at the run's end the browser patches the figures it shows, where a new element
    (st.html) had it load, sanitize and mount one while the run beside might still train."""
    first = {"charts": {}, "panel": live.panel_html(run), "state": run_state(run)}
    element("panel", url=None, spec=None, first=first)


def element(role: str, on_change: Callable[[], None] | None = None, **data) -> None:
    """The element of the part `role`, one per part and page (its key): `data` says what the
    browser draws (see the script above)."""
    _live(
        data={"role": role, "vega": vega_path(), **data},
        key=f"tb_live_{role}",
        on_state_change=on_change or _redraw,
    )


def part_of(first: dict, role: str) -> dict:
    """`first` with only the rows of the chart `role` (each part is sent on its own)."""
    charts_sent = first["charts"]
    return {**first, "charts": {role: charts_sent[role]} if role in charts_sent else {}}


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
        asked = asked_from_query(request.query_params)
        run = get_service().get(request.path_params["run_id"])
    except ValueError as err:
        return JSONResponse({"error": str(err)}, status_code=400)
    if run is None:
        return JSONResponse({"error": "No run on this server has this id."}, status_code=404)
    live.hold_redraw(run, POLL_S)
    return JSONResponse(feed(run, view, *asked), headers={"Cache-Control": "no-store"})


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
