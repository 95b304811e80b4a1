"""Train page: start a run, steer it, and watch it learn, live.

A run lives on the server (the run service trains it in a worker process), not in this tab: the
page sends commands (start, pause, resume, step, stop) and draws what the run has recorded. The
URL carries `run=<id>` while a run is shown, so a reload finds it again and the link shows it
to anyone, read-only: Pause, Step and Stop belong to the browser that started it.

The run's part of the page is two fragments: its controls (buttons, what the run is, its link)
and its live view (status, charts, figures). A click on a button reruns both, never the whole
page; the live view keeps its own redraw timer (ui.timer) running while the run trains, slower
while it is paused, off once it has ended, and nudges the controls when it finds the run
paused, resumed or ended. So a redraw re-sends only what it changes: re-sent with it, the
buttons and captions were re-rendered by the browser 2.5 times a second. The whole page runs
only when its setup or view changes.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from typing import Any

import streamlit as st
from streamlit.delta_generator import DeltaGenerator

from service.runs import resumable
from trainer.config import RunConfig
from ui import (
    charts,
    common,
    downloads,
    insight_charts,
    live,
    live_feed,
    page_data,
    share,
    state,
    timer,
)
from ui.browser import browser_key
from ui.copy_link import share_link_box
from ui.text import plain

# Redraws while a run trains: 2.5 a second (the bar is 2). Each costs the browser tens of ms of
# React, Vega and painting: at 4 a second the tab took 63% of a core and the worker beside it,
# on a 2-core box, trained 0.82x as fast as a script; at 2.5, 50% and 0.90x.
LIVE_EVERY_S = 0.4
PAUSED_EVERY_S = 1.0  # a paused run can be resumed from another tab: keep looking, slower
# While a worker trains the run, the browser keeps its charts and figures live by itself
# (ui.live_feed) and has the live view redrawn when the run pauses or ends. Streamlit redraws
# it anyway this often, should the browser's feed stall: each redraw costs the tab ~0.2 s of
# its main thread (every 5 s, 4% of a core, taken from the worker on a 2-core box).
STREAM_EVERY_S = 15.0


# -- commands (button callbacks: they run just before the run's fragments rerun) ------------
def start_run(mode: str) -> None:
    """Queue a run of the current config on the server; make it the shown run."""
    config, error = state.current_config()
    if config is None:
        state.notify("error", f"Cannot train: {error} Fix the config on the Model page.")
        return
    try:
        dataset = page_data.with_validation(page_data.dataset_for(config), config)
        run = state.service().start(
            config,
            dataset,
            owner=browser_key(),
            data_title=data_title(config),
            mode=mode,
            source=data_source(config),
        )
    except ValueError as err:
        state.notify("error", f"Cannot train: {err}")
        return
    state.set_current(run.id)


def data_title(config) -> str:
    if config.dataset == "csv":
        upload = state.csv_upload()
        return f"CSV {upload.file_name}" if upload else "CSV"
    from trainer.datasets import DATASETS

    info = DATASETS.get(config.dataset)
    return info.title if info else config.dataset


def data_source(config) -> dict | None:
    """An upload's identity, kept with the run: file name, target column, rows, hash."""
    upload = state.csv_upload() if config.dataset == "csv" else None
    if upload is None:
        return None
    rows = upload.dataset.num_train + upload.dataset.num_val
    return {"file": upload.file_name, "target": upload.target, "rows": rows,
            "sha1": upload.digest}  # fmt: skip


def send(action: str) -> None:
    run = state.current_run()
    if run is not None and state.owns(run):
        state.service().command(run.id, action, browser_key())


def on_train() -> None:
    start_run("running")


def on_step() -> None:
    run = state.current_run()
    if run is None or run.finished or not state.owns(run):
        start_run("stepping")
    else:
        send("step")


def on_resume() -> None:
    """Resume a paused run, or train an interrupted one (its server stopped, its worker died)
    on from its last checkpoint."""
    run = state.current_run()
    if run is None or not state.owns(run):
        return
    if not resumable(run.end):
        send("resume")
        return
    try:
        state.service().resume_interrupted(run.id, browser_key())
    except (ValueError, PermissionError) as err:
        state.notify("error", f"Cannot resume: {err}")


def on_reset() -> None:
    """Put the shown run aside (stopped if it was still training; kept on the Runs page)."""
    send("stop")
    state.set_current(None)
    del st.query_params["run"]


def controls(run, config_ok: bool, drawn: tuple[bool, bool]) -> None:
    """The six buttons, enabled by `drawn` (paused, finished): the reading the live view's
    timer follows too, so the buttons are never newer or older than what reruns them."""
    was_paused, finished = drawn
    mine = run is not None and state.owns(run)
    watching = run is not None and not mine  # a shared run: its buttons are its owner's
    idle = run is None or finished or not mine
    running = mine and not finished and not was_paused
    paused = mine and was_paused
    interrupted = mine and resumable(run.end)  # its server stopped or its worker died
    # (label, key, icon, callback, enabled, help): always all six, disabled when not available.
    buttons = [
        ("Train", "btn_train", "play_arrow", on_train, idle and config_ok,
         "Start a new run with the current config."),
        ("Pause", "btn_pause", "pause", functools.partial(send, "pause"), running, None),
        ("Resume", "btn_resume", "resume", on_resume, paused or interrupted,
         "Go on from the last checkpoint." if interrupted else None),
        ("Stop", "btn_stop", "stop", functools.partial(send, "stop"), mine and not finished,
         "End the run here; what it learned is kept."),
        ("Step", "btn_step", "skip_next", on_step,
         not running and not watching and (config_ok or not idle),
         "Train one logging interval, then pause."),
        ("Reset", "btn_reset", "restart_alt", on_reset, run is not None,
         "Put this run aside (it stays on the Runs page) for a fresh start."),
    ]  # fmt: skip
    # One row that wraps (three and three on a phone), not columns, which a narrow screen
    # stacks into six full-width buttons above the chart a shared link was opened for.
    row = st.container(horizontal=True, gap="small", key="tb_controls")
    for label, key, icon, callback, enabled, tip in buttons:
        row.button(
            label,
            key=key,
            # Train is what the page is for, unless you came by a link to watch someone's run.
            type="primary" if key == "btn_train" and not watching else "secondary",
            icon=f":material/{icon}:",
            on_click=redraw_after(callback),
            disabled=not enabled,
            width="stretch",
            help=tip,
        )


def view_controls(boundary: bool) -> dict:
    """The chart's options; `boundary`: the shown data draws a two-class decision boundary,
    which TensorFlow Playground offers to discretize."""
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
    if boundary:  # its own line: a fifth column cut the labels of the others short
        st.toggle(
            "Discretize the decision boundary",
            help="The decision boundary in each point's predicted class colour, the line "
            'between them sharp (TensorFlow Playground\'s "Discretize output"), instead of '
            "shades of the probability.",
            **state.bound_view("discretize"),
        )
    return dict(view)


# -- the run in the link -------------------------------------------------------------------------
def attach_linked_run() -> None:
    """Open the run named by the URL's `run=` (a shared link, or this tab reloaded)."""
    wanted, run = state.run_from_link()
    if wanted is not None and run is None:
        state.notify("warning", f"{state.MISSING_RUN} Press Train to start one.")
        del st.query_params["run"]


def share_box(run) -> None:
    st.caption("Share this run (anyone with the link watches it live, read-only)")
    base = st.context.url or ""
    share_link_box(f"{base}?{share.run_query(run.id)}", key="tb_share_run")


# -- the run ------------------------------------------------------------------------------------
@dataclass(frozen=True)
class Setup:
    """What the whole page run decided, for the run's fragments (which keep it between their
    own reruns): the config and its data, whether Train may start a run, the chart's view, and
    the places the controls fill outside their fragment."""

    config: RunConfig | None
    dataset: Any  # the data as it would train, if at hand (never a download)
    trainable: bool
    view: dict
    presenting: bool
    controls: DeltaGenerator  # above the view controls: notices, buttons, what the run is
    share: DeltaGenerator  # in the sidebar, under the setup's link: the run's link


# The run's two fragments: a click on a button reruns both (what it changed shows in both), the
# live view's timer reruns it alone.
CONTROLS_KEY, LIVE_KEY = "tb_run_controls", "tb_live_view"
DRAWN_KEY = "tb_controls_drawn"  # session state: what the buttons were drawn for, and where


@st.fragment(key=CONTROLS_KEY)
def run_controls(setup: Setup) -> None:
    """The shown run's buttons, what it is and its link, in the places the page keeps for
    them. Rerun by a click on a button (with the live view), and by the live view when it
    finds the run paused, resumed or ended: the buttons follow without a page rerun."""
    timer.rerun_fragment_every(None)  # the live view's nudge, if that is what reran this
    run = state.current_run()
    drawn = drawn_state(run)
    st.session_state[DRAWN_KEY] = (timer.current_fragment_id(), run and run.id, drawn)
    # The places outside the fragment are written in every run of it, the page's included,
    # even with nothing to show: Streamlit keeps a fragment's place in a container outside it
    # only if the page's last run wrote there.
    with setup.share:
        if run is None:
            st.empty()
        else:
            share_box(run)
    with setup.controls:
        st.empty()
        for kind, text in state.pop_notices():  # from the callback of the click just made
            getattr(st, kind)(plain(text))
        if not setup.presenting:
            controls(run, setup.trainable, drawn)
        if run is not None:
            describe_shown(run, setup, drawn)
    if setup.trainable and drawn[1] and setup.dataset is not None:
        # Train is there to press: a worker gets this run ready (data, model, the traced
        # step), so a press trains its first batch at once (the service declines uploads).
        state.service().warm(setup.config, setup.dataset)
    if run is not None:
        keep_in_link(run, setup)


@st.fragment(key=LIVE_KEY)
def live_view(setup: Setup) -> None:
    """The run as it stands: status, loss chart, figures, epoch metric and boundary, redrawn
    alone by its own timer while the run trains, slower while it is paused, off once it has
    ended. The buttons and captions above are not in it: re-sent on every redraw, the browser
    re-rendered each of them 2.5 times a second. When the run no longer reads as the buttons
    were drawn for, their fragment is nudged to redraw them."""
    run = state.current_run()
    if run is not None:
        live.hold_redraw(run, LIVE_EVERY_S)
    now = drawn_state(run)
    controls_id, drawn_run, drawn = st.session_state.get(DRAWN_KEY, (None, None, None))
    if (run and run.id, now) != (drawn_run, drawn):
        timer.nudge(controls_id)
    if run is None:
        show_no_run(setup)
        timer.rerun_fragment_every(None)
        return
    live.show_status(run)
    live.draw_run(run, setup.view, presenting=setup.presenting, on_change=redraw_both)
    if setup.presenting:
        present(run, setup.view)
    paused, finished = now
    timer.rerun_fragment_every(redraw_every(run, paused, finished))


def redraw_every(run, paused: bool, finished: bool) -> float | None:
    """Seconds between the live view's redraws by Streamlit: none once the run ended, rarely
    while the browser keeps it live itself."""
    if finished:
        return None
    if paused:
        return PAUSED_EVERY_S
    return STREAM_EVERY_S if live.streams(run) else LIVE_EVERY_S


def redraw_after(callback):
    """`callback` for a button of the run, then a rerun of both of the run's fragments (by
    default a click reruns only the fragment of its button)."""

    @functools.wraps(callback)
    def click(*args) -> None:
        callback(*args)
        st.rerun(scope=[CONTROLS_KEY, LIVE_KEY])

    return click


def redraw_both() -> None:
    """The browser saw the shown run pause, resume or end: both of the run's fragments
    redraw, in one script run. The live view alone would then nudge the buttons' fragment: a
    second run, and a second redraw in the browser, as a run beside may still be training."""
    st.rerun(scope=[CONTROLS_KEY, LIVE_KEY])


def show_no_run(setup: Setup) -> None:
    """In the places the run's status and charts will take (the charts a run fills in)."""
    if setup.presenting:  # the buttons are hidden
        st.info("No run to present yet: leave presentation mode and press **Train**.")
    elif setup.trainable:  # else the page says above what stops it
        st.info("Press **Train** to start a run with the config from the Data and Model pages.")
    else:
        st.empty()  # the status's place: the charts stay where a run draws them
    live.draw_empty(setup.view, setup.config, setup.dataset)


def keep_in_link(run, setup: Setup) -> None:
    """The URL names the shown run: a reload finds it again."""
    state.linked_runs().add(run.id)
    share.sync_query_params(setup.config, run.id, present=setup.presenting)


def describe_shown(run, setup: Setup, drawn: tuple[bool, bool]) -> None:
    """What the person looks at: someone else's run, or theirs training on the server."""
    _, finished = drawn
    mine = state.owns(run)
    if not mine:
        st.caption(
            f"You are watching {run.name}, started in another browser: it updates live, and "
            "only that browser can pause, step or stop it."
            + ("" if setup.presenting else " Train starts your own run.")
        )
    elif not finished and not setup.presenting:  # the audience need not know
        st.caption(
            "The run trains on the server: closing this tab or leaving the page does not "
            "pause it, and a reload finds it again."
        )
    if setup.config is not None and setup.config != run.config and finished and mine:
        st.caption("The config changed since this run: press Train to start one with it.")


def present(run, view: dict) -> None:
    """Presentation mode's extras: the run in a few sentences, and the chart as PNG or SVG."""
    from trainer.evaluate import summarize_run

    if run.end is not None:
        with run.lock:
            epochs = run.history.epochs().to_dict("records")
        st.markdown(
            "**Summary.** "
            + summarize_run(epochs, run.end.reason, run.end.message, run.config.task)
        )
    left, right = st.columns(2)
    for column, kind, mime in ((left, "png", "image/png"), (right, "svg", "image/svg+xml")):
        column.download_button(
            f"Download chart ({kind.upper()})",
            functools.partial(downloads.chart_file, run, view, kind),  # rendered on click
            file_name=f"tapeboard-{run.name.replace(' ', '-')}-loss.{kind}",
            mime=mime,
            on_click="ignore",
            icon=":material/image:",
        )


def main() -> None:
    st.title("Train")
    with st.container():
        setup = header()
    run_controls(setup)
    live_view(setup)


def header() -> Setup:
    """The page above the run: setup, the config's problems and the view controls, with the
    places the run's controls fill in (its buttons go above the view controls)."""
    attach_linked_run()
    run = state.current_run()
    config, error = common.page_setup(run_id=run.id if run else None)
    share_place = st.sidebar.container()  # under the setup's link
    if config is None:
        st.error(f"{plain(error)} Fix the config on the Model page.")
    # The data as it would train, if at hand (never a download): read once for the size
    # check and the worker that gets the run ready.
    dataset = page_data.data_at_hand(config) if config is not None else None
    too_big = None if dataset is None else state.service().size_problem(config, dataset)
    if too_big:  # said before Train is pressed, and Train is off
        st.error(plain(too_big), icon=":material/block:")
    presenting = state.view()["present"]
    controls_place = st.container()
    if presenting:
        view = dict(state.view())
    else:
        # Someone who came by a link came to watch: on a phone the options filled the first
        # screen and pushed the chart below it.
        watching = run is not None and not state.owns(run)
        with st.expander("Chart options") if watching else st.container():
            view = view_controls(draws_two_classes(run, dataset))
    trainable = config is not None and too_big is None
    return Setup(config, dataset, trainable, view, presenting, controls_place, share_place)


def draws_two_classes(run, dataset) -> bool:
    """Whether the page draws a decision boundary between two classes: the shown run's data,
    else the data Train would use."""
    shown = run.dataset if run is not None and run.dataset is not None else dataset
    return (
        shown is not None
        and shown.is_2d
        and insight_charts.is_two_class(shown.task, shown.class_names)
    )


def drawn_state(run) -> tuple[bool, bool]:
    """(paused, finished): what the buttons follow and the redraw timer too, read once. Read
    twice, a run that stopped in between left the page saying "stopped" with Train still
    disabled and no timer left to redraw it (a CI failure)."""
    if run is None:
        return False, True  # nothing in flight: the buttons of an ended run
    paused, finished = live_feed.run_state(run)  # what the browser's live view compares too
    return paused, finished


main()
