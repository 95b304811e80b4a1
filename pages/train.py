"""Train page: start, pause, resume, step and stop a run, and watch it learn.

How it works with Streamlit's rerun model: the run's generator lives in a plain Python `Run`
in `st.session_state`. A script run that finds the run "running" pulls `log_every` batches from
it (no Streamlit call in between, so nothing can interrupt between pulling and recording),
records them, then redraws through placeholders. Any click (Pause, a slider, another page)
stops this script at its next Streamlit call; the generator just waits at its `yield`. Pause is
therefore "not pulling", Resume is pulling again, and leaving the page pauses by itself.
"""

from __future__ import annotations

import functools
import math
import time
from dataclasses import dataclass
from typing import Any

import streamlit as st

from trainer.config import RunConfig
from trainer.history import History
from ui import charts, common, export, insight_charts, state
from ui import datasets as data
from ui.limits import check_run_size
from ui.server import server_limits, server_slots

MAX_POINTS = 600  # chart rows per redraw, whatever the length of the run
MIN_REDRAW_S = 0.5  # redraw at most this often (twice a second reads as live)...
REDRAW_BUDGET = 0.02  # ...and spend at most this share of the time drawing
BOUNDARY_GRID = 32  # cells per side of the live decision boundary
BOUNDARY_POINTS = 600  # data points drawn on it
# The epoch chart and the boundary are redrawn at most this often while training (and at the
# end): the loss chart and the figures carry the live view between.
SLOW_EVERY_S = 2.0
# Reading session state is where a click (Pause, Stop) gets in; it costs ~25 us, so between
# two logging intervals only when this much time has passed since the last look.
HEARTBEAT_S = 0.05
# The progress bar's width transition repaints it every frame for a while after each update. It
# more than doubles the browser's time per update (25 vs 11 ms), and a screenshot can catch a
# finished run's bar mid-way.
NO_PROGRESS_ANIMATION = "<style>[data-testid='stProgress'] * {transition: none !important;}</style>"
BUSY_RETRY_S = 1.0  # how often a run waiting for a free training slot looks again


# -- starting and steering runs (button callbacks: they run before the page script) -----------
def start_run(status: str) -> None:
    """Build data, model and generator for the current config; make it the shown run."""
    import trainer  # lazy: TensorFlow loads on the first Train, not on first paint

    config, error = state.current_config()
    if config is None:
        state.notify("error", f"Cannot train: {error} Fix the config on the Model page.")
        return
    try:
        dataset = data.with_validation(data.dataset_for(config), config)
    except ValueError as err:
        state.notify("error", f"Cannot train: {err}")
        return
    too_big = check_run_size(config.epochs, dataset.num_train, server_limits())
    if too_big:
        state.notify("error", f"Cannot train: {too_big}")
        return
    try:
        from trainer.distribute import make_strategy

        strategy = make_strategy(config.strategy)
        with strategy.scope():
            model = trainer.build_model(config, dataset)
        gen = trainer.train(config, dataset, model=model, strategy=strategy)
    except ValueError as err:
        state.notify("error", f"Cannot train: {err}")
        return
    per_epoch = state.steps_per_epoch(dataset.num_train, config.batch_size)
    state.add_run(
        state.Run(
            id=state.next_run_id(),
            config=config,
            data_title=_data_title(config),
            num_train=dataset.num_train,
            num_val=dataset.num_val,
            steps_per_epoch=per_epoch,
            history=History(capacity=per_epoch * config.epochs, steps_per_epoch=per_epoch),
            gen=gen,
            model=model,
            dataset=dataset,
            replicas=strategy.num_replicas_in_sync,
            status=status,
        )
    )


def _data_title(config: RunConfig) -> str:
    if config.dataset == "csv":
        upload = state.csv_upload()
        return f"CSV {upload.file_name}" if upload else "CSV"
    from trainer.datasets import DATASETS

    info = DATASETS.get(config.dataset)
    return info.title if info else config.dataset


def on_train() -> None:
    start_run("running")


def on_step() -> None:
    run = state.current_run()
    if run is None or run.finished:
        start_run("stepping")
    else:
        run.set_status("stepping")


def on_pause() -> None:
    if run := state.current_run():
        run.set_status("paused")


def on_resume() -> None:
    if run := state.current_run():
        run.set_status("running")


def on_stop() -> None:
    if run := state.current_run():
        run.stop()


def on_reset() -> None:
    if run := state.current_run():
        run.close("Reset before it finished.")
    state.clear_current()


def controls(run: state.Run | None, config_ok: bool) -> None:
    idle = run is None or run.finished
    running = run is not None and run.live
    paused = run is not None and not run.finished and not run.live
    # (label, key, icon, callback, enabled, help): always all six, disabled when not available.
    buttons = [
        ("Train", "btn_train", "play_arrow", on_train, idle and config_ok,
         "Start a new run with the current config."),
        ("Pause", "btn_pause", "pause", on_pause, running, None),
        ("Resume", "btn_resume", "resume", on_resume, paused, None),
        ("Stop", "btn_stop", "stop", on_stop, not idle,
         "End the run here; what it learned is kept."),
        ("Step", "btn_step", "skip_next", on_step, not running and (config_ok or not idle),
         "Train one logging interval, then pause."),
        ("Reset", "btn_reset", "restart_alt", on_reset, run is not None,
         "Put this run aside (it stays on the Runs page) for a fresh start."),
    ]  # fmt: skip
    for column, (label, key, icon, callback, enabled, tip) in zip(
        st.columns(len(buttons)), buttons, strict=True
    ):
        column.button(
            label,
            key=key,
            type="primary" if key == "btn_train" else "secondary",
            icon=f":material/{icon}:",
            on_click=callback,
            disabled=not enabled,
            width="stretch",
            help=tip,
        )


# -- drawing ---------------------------------------------------------------------------------
@dataclass
class Slots:
    """Placeholders created once per script run; every redraw replaces their content."""

    status: st.delta_generator.DeltaGenerator
    progress: st.delta_generator.DeltaGenerator
    stats: st.delta_generator.DeltaGenerator
    chart: st.delta_generator.DeltaGenerator
    metric_chart: st.delta_generator.DeltaGenerator
    boundary: st.delta_generator.DeltaGenerator


def make_slots() -> Slots:
    status = st.empty()
    chart_col, side_col = st.columns([3, 1], gap="medium")
    with chart_col:
        chart = st.empty()
        metric_chart = st.empty()
        boundary = st.empty()
    with side_col:
        progress = st.empty()
        stats = st.empty()
    return Slots(status, progress, stats, chart, metric_chart, boundary)


def view_controls() -> dict:
    view = state.view()
    cols = st.columns([2, 1, 2, 1])
    cols[0].radio("X axis", list(charts.X_AXES), horizontal=True, **state.bound_view("x"))
    cols[1].toggle("Smoothing", **state.bound_view("smooth"))
    cols[2].slider(
        "Smoothing weight",
        0.0,
        0.999,
        step=0.001,
        format="%.3f",
        disabled=not view["smooth"],
        **state.bound_view("smoothing"),
    )
    cols[3].toggle("Log scale", **state.bound_view("log"))
    return dict(view)


def _format_seconds(seconds: float | None) -> str:
    if seconds is None:
        return "-"
    seconds = int(round(seconds))
    minutes, s = divmod(seconds, 60)
    hours, m = divmod(minutes, 60)
    return f"{hours}:{m:02d}:{s:02d}" if hours else f"{m}:{s:02d}"


def _fmt(value: float | None) -> str:
    return "-" if value is None else f"{value:.4g}"


@dataclass
class Drawn:
    """What the placeholders of this script run already show, so a redraw can skip what has
    not changed: the epoch chart changes once an epoch, the boundary is costly to redraw."""

    epochs: int = -1
    epochs_at: float = -math.inf
    boundary_at: float = -math.inf
    points: Any = None  # the boundary's data points (a DataFrame): fixed for a run
    axes: Any = None  # the boundary's grid coordinates: fixed for a run


def draw(run: state.Run, slots: Slots, view: dict, drawn: Drawn) -> None:
    """Redraw chart, progress and numbers from the run's history (bounded cost)."""
    batches, epochs = run.curves(MAX_POINTS, charts.view_smoothing(view))
    draw_loss(slots.chart, batches, epochs, view, hover=not run.live)
    now = time.perf_counter()
    two_d = run.dataset is not None and run.dataset.is_2d and run.model is not None
    if two_d and (not run.live or now - drawn.boundary_at >= SLOW_EVERY_S):
        draw_boundary(run, slots.boundary, drawn)
        drawn.boundary_at = now
    metric = "accuracy" if run.config.task == "classification" else "mae"
    new_epochs = len(epochs) != drawn.epochs
    if new_epochs and metric in epochs and (not run.live or now - drawn.epochs_at >= SLOW_EVERY_S):
        frame = charts.metric_frame(epochs, metric)
        draw_spec(slots.metric_chart, charts.live_metric_spec(metric), {charts.METRIC_DATA: frame})
        drawn.epochs, drawn.epochs_at = len(epochs), now
    last = run.history.last
    done = last.step + 1 if last else 0
    total = max(run.total_steps, 1)
    slots.progress.progress(min(done / total, 1.0), text=f"Step {done:,} of {run.total_steps:,}")
    slots.stats.markdown(stats_table(run, metric))


def stats_table(run: state.Run, metric: str) -> str:
    """The numbers beside the chart as one Markdown table: one element to update per redraw
    (a column of st.metric is eight, and costs the browser three times as much to repaint)."""
    history, last = run.history, run.history.last
    row = history.last_epoch or {}
    rate = history.steps_per_second()
    rows = [
        ("Epoch", f"**{(last.epoch + 1) if last else 0} / {run.config.epochs}**"),
        ("Seen so far", f"{last.samples_seen if last else 0:,} samples"),
        ("Steps/s", "-" if rate is None else f"{rate:,.0f}"),
        ("ETA", _format_seconds(run.eta_s()) if not run.finished else "done"),
        ("Loss (last batch)", _fmt(last.loss if last else None)),
    ]
    val = "val_loss" if "val_loss" in row else "loss"
    key = f"val_{metric}" if f"val_{metric}" in row else metric
    for name in (val, key):
        if name in row:
            best = _fmt(history.best(name))
            rows.append((_metric_label(name), f"**{_fmt(row[name])}** (best {best})"))
    lines = [f"| {run.name} | {'running' if run.live else run.status} |", "|:--|--:|"]
    return "\n".join(lines + [f"| {label} | {value} |" for label, value in rows])


def _metric_label(name: str) -> str:
    """val_accuracy -> Validation accuracy, loss -> Epoch loss, val_mae -> Validation MAE."""
    metric = name.removeprefix("val_")
    metric = "MAE" if metric == "mae" else metric.replace("_", " ")
    return f"{'Validation' if name.startswith('val_') else 'Epoch'} {metric}"


def draw_loss(
    slot: st.delta_generator.DeltaGenerator, batches, epochs, view: dict, *, hover: bool
) -> None:
    x = view["x"] if view["x"] in charts.X_AXES else "step"
    log_scale, smooth = bool(view["log"]), bool(view["smooth"])
    spec = charts.live_loss_spec(x=x, log_scale=log_scale, show_smoothed=smooth, hover=hover)
    draw_spec(slot, spec, charts.loss_frames(batches, epochs, x=x, log_scale=log_scale))


def draw_spec(slot: st.delta_generator.DeltaGenerator, spec: dict, datasets: dict) -> None:
    """A chart as a fixed spec plus named datasets: redraws send new rows under the same spec,
    which the browser applies to the chart it has (Streamlit's frontend recompiles a Vega-Lite
    chart only when its spec changes). Much cheaper, in the server and in the browser, than a
    new Altair chart per redraw."""
    slot.vega_lite_chart(spec={**spec, "datasets": datasets}, width="stretch")


def draw_boundary(run: state.Run, slot: st.delta_generator.DeltaGenerator, drawn: Drawn) -> None:
    """The model's output over the plane with the points on top, as TensorFlow Playground
    redraws it while training: one small image of the output (the model on a coarse grid,
    a few milliseconds), the points fixed for the run and never re-sent."""
    from trainer.evaluate import decision_values, grid_axes

    dataset = run.dataset
    if drawn.points is None:
        drawn.points = data.points_frame(dataset, max_points=BOUNDARY_POINTS)
        drawn.axes = grid_axes(dataset, resolution=BOUNDARY_GRID)
    values = decision_values(run.model, dataset, drawn.axes)
    names = dataset.class_names
    spec = insight_charts.live_boundary_spec(dataset.task, names, height=300)
    frames = insight_charts.boundary_frames(drawn.axes, values, dataset.task, names, drawn.points)
    draw_spec(slot, spec, frames)


def present(run: state.Run, view: dict) -> None:
    """Presentation mode's extras: the run in a few sentences, and the chart as PNG or SVG."""
    from trainer.evaluate import summarize_run

    if run.end is not None:
        epochs = run.history.epochs().to_dict("records")
        st.markdown(
            "**Summary.** "
            + summarize_run(epochs, run.end.reason, run.end.message, run.config.task)
        )
    left, right = st.columns(2)
    for column, kind, mime in ((left, "png", "image/png"), (right, "svg", "image/svg+xml")):
        column.download_button(
            f"Download chart ({kind.upper()})",
            functools.partial(export.chart_file, run, view, kind),  # rendered on click
            file_name=f"tapeboard-{run.name.replace(' ', '-')}-loss.{kind}",
            mime=mime,
            on_click="ignore",
            icon=":material/image:",
        )


def show_status(run: state.Run, slot: st.delta_generator.DeltaGenerator) -> None:
    end = run.end
    if end is None:
        label = "Running" if run.live else "Paused"
        slot.info(
            f"{run.name}: {label} - {describe(run.config, run.replicas)}", icon=":material/info:"
        )
    elif end.reason == "completed":
        slot.success(
            f"{run.name} finished: {end.message} {throughput(run)}", icon=":material/check_circle:"
        )
    elif end.reason == "diverged":
        slot.error(f"{run.name} diverged: {end.message}", icon=":material/error:")
    else:
        slot.warning(
            f"{run.name} {end.reason.replace('_', ' ')}: {end.message}", icon=":material/warning:"
        )


def throughput(run: state.Run) -> str:
    """Steps over the wall time spent training on this page (drawing included, pauses not)."""
    steps = run.steps_done
    if not steps or run.wall_s <= 0:
        return ""
    return f"{steps:,} steps in {run.wall_s:.2f} s of training ({steps / run.wall_s:,.0f} steps/s)."


def describe(config: RunConfig, replicas: int = 1) -> str:
    units = ",".join(map(str, config.hidden_units)) or "none"
    per_replica = max(config.batch_size // max(replicas, 1), 1)
    return (
        f"{config.dataset}, hidden {units} {config.activation}, {config.optimizer} "
        f"lr {config.learning_rate:g}, batch {config.batch_size}, {config.epochs} epochs; "
        f"strategy {config.strategy}: {replicas} replica{'s' * (replicas != 1)} in sync, "
        f"{per_replica} per replica"
    )


def train_live(run: state.Run, slots: Slots, view: dict, drawn: Drawn) -> None:
    """Pull and draw until the run pauses or ends; a click elsewhere interrupts at a draw.

    The run holds one of the server's training slots only while pulling: a rerun (Pause,
    another page) interrupts at a draw and `hold` gives the slot back on the way out.
    """
    with server_slots().hold() as got_slot:
        if not got_slot:
            wait_for_slot(slots)
            return
        pull_and_draw(run, slots, view, drawn)


def wait_for_slot(slots: Slots) -> None:
    busy = server_slots()
    slots.status.warning(
        f"The server is busy: {busy.busy} of {busy.limit} training slots are in use by other "
        "people. Your run starts by itself as soon as one frees up (or press Pause).",
        icon=":material/hourglass_top:",
    )
    time.sleep(BUSY_RETRY_S)


def pull_and_draw(run: state.Run, slots: Slots, view: dict, drawn: Drawn) -> None:
    next_draw = next_heartbeat = 0.0
    while True:
        started = time.perf_counter()
        run.pull_interval(run.config.log_every)  # pure Python: records every event
        run.wall_s += time.perf_counter() - started
        # Reading session state is where Streamlit checks for a pending rerun: a click on Pause
        # or Stop takes effect at the end of a logging interval, within HEARTBEAT_S, not at
        # the next (rarer) redraw. The interval's events are recorded already, so the
        # interruption loses nothing.
        if time.perf_counter() >= next_heartbeat:
            st.session_state.get(state.VIEW)
            next_heartbeat = time.perf_counter() + HEARTBEAT_S
        if not run.live:
            return  # paused or ended: the caller reruns the script, which draws it all anew
        if time.perf_counter() >= next_draw:
            started = time.perf_counter()
            draw(run, slots, view, drawn)
            cost = time.perf_counter() - started
            run.wall_s += cost
            next_draw = time.perf_counter() + max(MIN_REDRAW_S, cost / REDRAW_BUDGET)


def main() -> None:
    st.title("Train")
    st.html(NO_PROGRESS_ANIMATION)  # only a <style>: Streamlit applies it, shows nothing
    config, error = common.page_setup()
    run = state.current_run()  # taken out of session_state once; the loop uses this object
    if config is None:
        st.error(f"{error} Fix the config on the Model page.")
    presenting = bool(state.view()["present"])
    if presenting:
        view = dict(state.view())
    else:
        controls(run, config is not None)
        view = view_controls()
    slots = make_slots()
    if run is None:
        slots.status.info(
            "Press **Train** to start a run with the config from the Data and Model pages."
        )
        st.stop()
    if config is not None and config != run.config and run.finished:
        st.caption("The config changed since this run: press Train to start one with it.")
    show_status(run, slots.status)
    drawn = Drawn()
    draw(run, slots, view, drawn)
    if presenting:
        present(run, view)
    if run.live:
        train_live(run, slots, view, drawn)
        st.rerun()  # the run paused or ended: redraw the buttons for its new state


main()
