"""What the Train page draws for a run: its status, the loss chart, progress and figures, the
epoch metric and, for 2-D data, the decision boundary.

Everything is drawn from what the run service recorded, at a cost that does not grow with the
run: the history is decimated to MAX_POINTS rows, and each chart is a fixed spec fed named
datasets, so the browser swaps the rows of the chart it has instead of building a new one.
"""

from __future__ import annotations

import functools
import hashlib
import weakref
from html import escape

import numpy as np
import pandas as pd
import streamlit as st

from trainer.config import RunConfig
from trainer.features import RAW, label
from ui import charts, insight_charts, page_data
from ui.text import plain

MAX_POINTS = 600  # chart rows per redraw, whatever the length of the run...
LIVE_POINTS = 300  # ...fewer while it trains: the browser redraws them several times a second
BOUNDARY_POINTS = 600  # data points drawn on the decision boundary
BOUNDARY_SIDE = 300  # px: the live decision boundary is a square plot this size...
PRESENT_SIDE = 260  # ...and beside the loss chart in presentation mode (with axes and legend
# it fits the column a 1280-px screen gives it)
# How long past its estimated end a redraw waits for a run due to end before the next redraw:
# its batches reach the server every 0.1 s, then come the last epoch's validation and the model.
END_MARGIN_S = 0.25
FIRST_WAIT = 0.75  # of a redraw interval: the longest a redraw waits for a run's first batch


def prepare() -> None:
    """Build, as the server starts, what a server's first Train page would otherwise build
    while other visitors' pages wait on this process: the live charts' specs for the default
    view (Altair checks each against the Vega-Lite schema, 7-30 ms apiece; they are cached)
    and one decision-boundary image (the PNG encoder's first use)."""
    from trainer.playground import CLASS_NAMES

    charts.live_loss_spec()
    for metric in ("accuracy", "mae"):
        charts.live_metric_spec(metric)
    insight_charts.live_boundary_spec("classification", CLASS_NAMES, height=BOUNDARY_SIDE)
    insight_charts.boundary_image(np.zeros((2, 2)), "classification", CLASS_NAMES)


def hold_redraw(run, every_s: float) -> None:
    """Before a redraw: wait for a just-started run's first batches, or for the end of a run
    that ends before the next redraw (see the two below)."""
    if not wait_for_first_batch(run, every_s):
        wait_for_end(run, every_s)


def wait_for_first_batch(run, every_s: float) -> bool:
    """Hold the redraw of a run a worker has started but that has recorded no batch yet until
    its first batches arrive, at most FIRST_WAIT of `every_s`: the page run that follows a
    click on Train then draws the first losses (a worker that had the run ready trains them
    within a few hundredths of a second) instead of "Step 0" for a whole interval. True if
    it waited."""
    if run.status not in ("running", "stepping") or run.steps_done:
        return False
    run.wait_first_batch(FIRST_WAIT * every_s)
    return True


def wait_for_end(run, every_s: float) -> bool:
    """Hold a redraw (of a view redrawn every `every_s`) whose run ends before the next one
    until it has ended, at most `every_s`: "finished" then shows as the run ends instead of
    up to a whole interval later (on average 0.2 s of a 2-second run at 2.5 redraws a second).
    True if it waited."""
    eta = run.eta_s() if run.status == "running" else None
    if eta is None or eta >= every_s:
        return False
    run.wait_end(min(eta + END_MARGIN_S, every_s))
    return True


def streams(run) -> bool:
    """Whether the browser keeps `run`'s charts and figures live itself (ui.live_feed):
    while a worker trains it. Queued, paused or ended, the page draws them."""
    return run.status in ("running", "stepping") and not run.finished


def draw_run(run, view: dict, *, presenting: bool = False, on_change=None) -> None:
    """The run as it stands: the loss chart, the epoch metric and, for 2-D data, the decision
    boundary (the points alone until the worker has drawn the model's output) in one column,
    progress and figures beside them: one row of columns, the fewest elements for the
    browser to re-render on each redraw. `presenting`: the boundary beside the loss chart
    instead of under the metric, so a demo's first screen (a 1280x720 projector) shows the
    curve, what the model learned and the figures together. `on_change`: called (a widget
    callback) when the browser sees the run pause, resume or end while it trains; by default
    the live view's fragment reruns."""
    from ui import live_feed  # which imports this module

    boundary = None
    if run.dataset is not None and run.dataset.is_2d:
        boundary = (data_key(run.dataset), run.dataset, run.boundary)
    chart_col, board_col, side_col = run_columns(presenting and boundary is not None)
    if streams(run):
        draw_streamed(run, view, (chart_col, board_col, side_col), boundary is not None, on_change)
        return
    batches, epochs = run.curves(
        LIVE_POINTS if run.live else MAX_POINTS, charts.view_smoothing(view)
    )
    with run.lock:
        metric_epochs = run.history.epochs(MAX_POINTS)
    with chart_col:
        draw_loss(batches, epochs, view, hover=not run.live)
        draw_insight_charts(
            metric_for(run.config),
            metric_epochs,
            None if board_col is not None else boundary,
            discrete=view["discretize"],
        )
    if board_col is not None:
        with board_col:
            draw_boundary(*boundary, side=PRESENT_SIDE, discrete=view["discretize"])
    with side_col:  # the live view's element, patched in place at the run's end
        live_feed.draw_panel(run)


def draw_streamed(run, view: dict, columns: tuple, boundary: bool, on_change=None) -> None:
    """`draw_run`'s charts and figures in the same places, as elements the browser keeps live
    by itself while the run trains (ui.live_feed): no page rerun per update."""
    from ui import live_feed  # which imports this module

    chart_col, board_col, side_col = columns
    first = live_feed.feed(run, view)
    draw = functools.partial(live_feed.draw, run, view, first=first, on_change=on_change)
    with side_col:  # sent first: the browser shows the progress before it builds the charts
        draw("panel")
    with chart_col:
        draw("loss")
        draw("metric")
        if boundary and board_col is None:
            draw("boundary")
    if board_col is not None:
        with board_col:
            draw("boundary", side=PRESENT_SIDE)


def run_columns(boundary_beside: bool) -> tuple:
    """(charts, boundary or None, figures): the boundary's own column, wide enough for its
    square and axes at 1280 px, only when it goes beside the loss chart."""
    if not boundary_beside:
        chart_col, side_col = st.columns([3, 1], gap="medium")
        return chart_col, None, side_col
    return tuple(st.columns([4.2, 4, 2.8], gap="medium"))


def draw_empty(view: dict, config: RunConfig | None, dataset) -> None:
    """The charts before any run, without rows, in the places and with the specs a run draws
    them with: a run then fills in the charts the browser has instead of building new ones
    (Vega compiles a spec and builds its view in a tenth of a second of the browser's main
    thread, on a 2-core box taken from the worker beside it), and the page does not jump.
    For 2-D data the boundary shows the points to learn, as TensorFlow Playground does; the
    browser loads the charts' scripts with the page instead of after the click on Train (in a
    fresh tab the run then shows 0.2 s after the click instead of 0.55 s)."""
    chart_col, _ = st.columns([3, 1], gap="medium")
    with chart_col:
        draw_loss(pd.DataFrame(), None, view, hover=False)
        if config is None:
            return
        boundary = None
        if dataset is not None and dataset.is_2d:
            boundary = (data_key(dataset), dataset, None)
        draw_insight_charts(metric_for(config), None, boundary)


def draw_insight_charts(
    metric: str, epochs: pd.DataFrame | None, boundary: tuple | None, *, discrete: bool = False
) -> None:
    """The epoch metric chart, empty until the first epoch ends, and the boundary if
    `boundary` is (a key for its layout, the dataset, the model's output or None), in class
    colours if `discrete`."""
    frame = charts.metric_frame(epochs, metric)
    blank = charts.blank_frame_rows("epoch", "value", blank=frame.empty)
    datasets = {charts.METRIC_DATA: frame, charts.FRAME_DATA: blank}
    draw_spec("metric", charts.live_metric_spec(metric), datasets)
    if boundary is not None:
        draw_boundary(*boundary, discrete=discrete)


# Each dataset object's key, computed once: the feed asks for it once a second per run shown.
_DATA_KEYS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()


def data_key(dataset) -> str:
    """The key of `dataset`'s `boundary_layout`: its training arrays' digest. The page before
    any run and every run on the same data share one layout (the same config's data is one
    cached object; an upload's is split anew on each page run, into the same arrays): keyed
    by run, each click on Train built the points again: 45 ms of the server's script run,
    between the buttons it redrew and the charts."""
    key = _DATA_KEYS.get(dataset)
    if key is None:
        digest = hashlib.blake2b(digest_size=16)
        for array in (dataset.x_train, dataset.y_train):
            digest.update(np.ascontiguousarray(array).view(np.uint8))
        key = _DATA_KEYS[dataset] = f"data:{digest.hexdigest()}"
    return key


def metric_for(config: RunConfig) -> str:
    """The epoch metric a run of `config` records (trainer.model's metrics for its task)."""
    return "accuracy" if config.task == "classification" else "mae"


def show_status(run) -> None:
    end = run.end
    if end is None:
        if run.status == "queued":
            st.warning(queued_text(run), icon=":material/hourglass_top:")
            return
        label = {"running": "Running", "stepping": "Stepping", "paused": "Paused"}[run.status]
        st.info(
            f"{run.name}: {label} - {describe(run.config, run.replicas)}", icon=":material/info:"
        )
    elif end.reason == "completed":
        st.success(
            f"{run.name} finished: {end.message} {throughput(run)}", icon=":material/check_circle:"
        )
    elif end.reason in ("diverged", "failed"):
        st.error(f"{run.name} {end.reason}: {plain(end.message)}", icon=":material/error:")
    else:
        st.warning(
            f"{run.name} {end.reason.replace('_', ' ')}: {end.message} {throughput(run)}",
            icon=":material/warning:",
        )


def queued_text(run) -> str:
    from ui.state import service

    runner = service()
    position = runner.queue_position(run.id) or 1
    limit = runner.settings.max_concurrent
    busy = {1: "the only worker is", 2: "both workers are"}.get(limit, f"all {limit} workers are")
    return (
        f"{run.name} is waiting for a free worker: {busy} training other runs "
        f"(it is number {position} in line). It starts by itself as soon as one frees up."
        + (" It will start paused: Resume has it train." if run.queued_mode == "paused" else "")
    )


def throughput(run) -> str:
    """Steps over the training time (the engine's clock, pauses excluded): the same figures as
    the table beside the chart and the Runs page."""
    steps, seconds = run.steps_done, run.training_s
    if not steps or seconds <= 0:
        return ""
    return f"{steps:,} steps in {seconds:.2f} s of training ({steps / seconds:,.0f} steps/s)."


def describe(config: RunConfig, replicas: int = 1) -> str:
    units = ",".join(map(str, config.hidden_units)) or "none"
    per_replica = max(config.batch_size // max(replicas, 1), 1)
    features = (
        "" if config.features == RAW else f"features {', '.join(map(label, config.features))}, "
    )
    text = (
        f"{config.dataset}, {features}hidden {units} {config.activation}, {config.optimizer} "
        f"lr {config.learning_rate:g}, batch {config.batch_size}, {config.epochs} epochs"
    )
    if replicas == 1 and config.strategy == "default":  # one device: nothing to say
        return text
    return (
        f"{text}; strategy {config.strategy}: {replicas} replica{'s' * (replicas != 1)} in "
        f"sync, {per_replica} per replica"
    )


def _format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    minutes, s = divmod(seconds, 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}:{m:02d}:{s:02d}" if hours else f"{m}:{s:02d}"


def _format_duration(seconds: float) -> str:
    """Training time as people read it: 0.45 s, 12.3 s, then 2:05, 1:02:05."""
    return (
        f"{seconds:.2g} s"
        if seconds < 1
        else f"{seconds:.1f} s"
        if seconds < 60
        else (_format_seconds(seconds))
    )


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


PANEL_STYLE = """<style>
/* Updated 3 times a second: its digits keep their width, and its changes stay in its box. */
.tb-panel {font-size: 0.95rem; line-height: 1.4; font-variant-numeric: tabular-nums;
  contain: content;}
.tb-progress {margin-bottom: 0.8rem;}
.tb-progress .tb-bar {height: 0.5rem; border-radius: 0.25rem; background: #e8ebf0;}
.tb-progress .tb-bar > div {height: 100%; border-radius: 0.25rem; background: #1f6feb;}
.tb-stats {width: 100%; border-collapse: collapse;}
.tb-stats th, .tb-stats td {border: 1px solid #e2e5ea; padding: 0.3rem 0.5rem;}
.tb-stats th {text-align: left;}
.tb-stats td:last-child, .tb-stats th:last-child {text-align: right;}
</style>"""


def panel_html(run) -> str:
    """Progress and the numbers beside the chart as one piece of HTML: one element for the
    browser to swap per live redraw (a progress bar and a Markdown table are two Streamlit
    components, each restyled on every update, which the browser felt several times a
    second)."""
    done, total = run.steps_done, max(run.total_steps, 1)
    width = f"{100 * min(done / total, 1.0):.2f}%"
    rows = stats_rows(run, metric_for(run.config))
    body = "".join(
        f"<tr><td>{escape(label)}</td><td>{_bold(value)}</td></tr>" for label, value in rows[1:]
    )
    head = "".join(f"<th>{escape(cell)}</th>" for cell in rows[0])
    return (
        f"{PANEL_STYLE}<div class='tb-panel'>"
        f"<div class='tb-progress' data-testid='tb-progress'>"
        f"<div>Step {done:,} of {run.total_steps:,}</div>"
        f"<div class='tb-bar'><div style='width: {width}'></div></div></div>"
        f"<table class='tb-stats'><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>"
        "</div>"
    )


def _bold(value: str) -> str:
    """`**x** rest` (the bold part of a figure) as HTML, the rest escaped."""
    if value.startswith("**") and "**" in value[2:]:
        strong, rest = value[2:].split("**", 1)
        return f"<strong>{escape(strong)}</strong>{escape(rest)}"
    return escape(value)


def stats_rows(run, metric: str) -> list[tuple[str, str]]:
    """The figures beside the chart: (run name, state) first, then (label, value) rows, bold
    parts marked `**`. Steps/s is the recent speed while the run trains and the whole run's
    once it ended (the finish message's figure)."""
    with run.lock:
        history, last = run.history, run.history.last
        row = history.last_epoch or {}
        rate = history.steps_per_second() if not run.finished else run.steps_per_second()
        bests = {name: history.best(name) for name in row}
    rows = [
        ("Epoch", f"**{(last.epoch + 1) if last else 0} / {run.config.epochs}**"),
        ("Seen so far", f"{last.samples_seen if last else 0:,} samples"),
        ("Steps/s", "-" if rate is None else f"{rate:,.0f}"),
        ("Training time", _format_duration(run.training_s)),
        ("ETA", eta_text(run)),
        ("Loss (last batch)", _fmt(last.loss if last else None)),
    ]
    val = "val_loss" if "val_loss" in row else "loss"
    key = f"val_{metric}" if f"val_{metric}" in row else metric
    for name in (val, key):
        if name in row:
            rows.append((_metric_label(name), f"**{_fmt(row[name])}** (best {_fmt(bests[name])})"))
    return [(run.name, run.state_label().replace("_", " ")), *rows]


def eta_text(run) -> str:
    """Training time left; "done" only for a run that trained to its end (a stopped or
    interrupted run has time left that nobody is spending)."""
    if run.end is None:
        return _format_seconds(run.eta_s())
    return "done" if run.end.reason == "completed" else "-"


def _metric_label(name: str) -> str:
    """val_accuracy -> Validation accuracy, loss -> Epoch loss, val_mae -> Validation MAE."""
    metric = name.removeprefix("val_")
    metric = "MAE" if metric == "mae" else metric.replace("_", " ")
    return f"{'Validation' if name.startswith('val_') else 'Epoch'} {metric}"


def draw_loss(batches, epochs, view: dict, *, hover: bool) -> None:
    """The loss chart in `view`'s options; `hover`: with its tooltip's rows."""
    x = charts.view_x(view)
    log_scale, smooth = bool(view["log"]), bool(view["smooth"])
    spec = charts.live_loss_spec(x=x, log_scale=log_scale, show_smoothed=smooth)
    frames = charts.loss_frames(batches, epochs, x=x, log_scale=log_scale, hover=hover)
    draw_spec("loss", spec, frames)


def draw_spec(role: str, spec: dict, datasets: dict) -> None:
    """The chart `role` ("loss", "metric" or "boundary") as a fixed spec plus named datasets,
    drawn by the element that also keeps a training run's charts live (ui.live_feed): the
    empty page's charts, a run's live ones and the ended run's are one Vega view per role,
    given new rows. Built anew (Vega compiles a spec: a tenth of a second of the browser's
    main thread, on a 2-core box taken from the worker beside it) only when its spec changes:
    other view options, other data."""
    from ui import live_feed

    live_feed.draw_rows(role, spec, datasets)


def draw_boundary(
    key: str, dataset, values, side: int = BOUNDARY_SIDE, *, discrete: bool = False
) -> None:
    """The model's output `values` over the plane (computed by the worker as it trains; None:
    not yet) with the points on top, as TensorFlow Playground redraws it: one small image per
    redraw, in class colours if `discrete`. `key` names the layout (`boundary_layout`).
    Square: its own size, not its column's."""
    axes, points, domain = boundary_layout(key, dataset)
    names = dataset.class_names
    spec = insight_charts.live_boundary_spec(dataset.task, names, height=side, target_domain=domain)
    frames = insight_charts.boundary_frames(
        axes, values, dataset.task, names, points, domain, discrete=discrete
    )
    draw_spec("boundary", spec, frames)


@st.cache_resource(max_entries=32, show_spinner=False)
def boundary_layout(key: str, _dataset) -> tuple:
    """The grid the worker evaluates the model on (the same function, the same data, so the
    same grid), the points drawn on it and a regression target's colour stops: fixed for a
    run (or the data of a run to come), computed once per `key`."""
    from service.service import BOUNDARY_GRID
    from trainer.evaluate import grid_axes

    axes = grid_axes(_dataset, resolution=BOUNDARY_GRID)
    points = page_data.points_frame(_dataset, max_points=BOUNDARY_POINTS)
    return axes, points, page_data.target_domain(_dataset)
