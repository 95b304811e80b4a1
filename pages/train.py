"""Train page: start a run, steer it, and watch it learn, live.

A run lives on the server (the run service trains it in a worker process), not in this tab: the
page sends commands (start, pause, resume, step, stop) and draws what the run has recorded. The
URL carries `run=<id>` while a run is shown, so a reload finds it again and the link shows it
to anyone, read-only: Pause, Step and Stop belong to the browser that started it. The drawing is
a fragment that Streamlit reruns every LIVE_EVERY_S while the run is open; a click reruns the
whole page, which never waits on training.
"""

from __future__ import annotations

import functools

import streamlit as st

from service.runs import resumable
from ui import charts, common, downloads, live, page_data, share, state
from ui.browser import browser_key
from ui.copy_link import share_link_box
from ui.text import plain

# Redraws while a run trains: 2.5 a second (the bar is 2). Each costs the browser tens of ms of
# React, Vega and painting: at 4 a second the tab took 63% of a core and the worker beside it,
# on a 2-core box, trained 0.82x as fast as a script; at 2.5, 50% and 0.90x.
LIVE_EVERY_S = 0.4
PAUSED_EVERY_S = 1.0  # a paused run can be resumed from another tab: keep looking, slower


# -- commands (button callbacks: they run before the page script) ------------------------------
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
            on_click=callback,
            disabled=not enabled,
            width="stretch",
            help=tip,
        )


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


# -- the run in the link -------------------------------------------------------------------------
def attach_linked_run() -> None:
    """Open the run named by the URL's `run=` (a shared link, or this tab reloaded)."""
    wanted, run = state.run_from_link()
    if wanted is not None and run is None:
        state.notify("warning", f"{state.MISSING_RUN} Press Train to start one.")
        del st.query_params["run"]


def share_box(run) -> None:
    with st.sidebar:
        st.caption("Share this run (anyone with the link watches it live, read-only)")
        base = st.context.url or ""
        share_link_box(f"{base}?{share.run_query(run.id)}", key="tb_share_run")


# -- drawing -------------------------------------------------------------------------------------
def live_view(run, view: dict, drawn: tuple) -> None:
    """Draw the run; while it is open, redraw it on a timer: its status, the loss chart,
    progress and figures, the epoch metric and boundary. When what the buttons were drawn for
    (`drawn`: paused, finished) moves on, rerun the whole page so they follow."""
    paused, finished = drawn
    every = None if finished else PAUSED_EVERY_S if paused else LIVE_EVERY_S
    # Rerun the page only from the fragment's own runs, never inside this page run: a rerun
    # there would cut the page off below it.
    in_page_run = True  # the fragment reads it when it runs: False in its own redraws

    # One fragment, after everything else the page draws. Two (a fast one, and a slower one
    # for the epoch metric and boundary) crashed Streamlit's frontend to a white page now and
    # then when a run ended: the second's redraw reached a page already cleared below the
    # first ("Bad delta path index 4 (should be between [0, 3])", 4 of 15 pages with the CPU
    # busy). A redraw at the first place after stable content lands even on such a page.
    @st.fragment(run_every=every)
    def redraw() -> None:
        current = state.service().get(run.id) or run
        live.hold_redraw(current, LIVE_EVERY_S)
        # The status is redrawn here, not by the page: a queued run that starts changes it
        # and not the buttons, so it needs no page rerun (one such rerun, asked for by this
        # fragment on a busy box, was lost: the page froze at "waiting for a free worker").
        live.show_status(current)
        live.draw_run(current, view)
        live.draw_insight(current)
        if drawn_state(current) != drawn and not in_page_run:
            st.rerun(scope="app")

    redraw()
    in_page_run = False


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
    # What varies with the run's state (notices, buttons, captions) sits in one container, so
    # the live view's fragment below keeps its place in the page whatever is shown above
    # it: a fragment's redraw is addressed by its place, and one that landed after a rerun
    # had moved it crashed the page to a white screen ("Cannot set a node at a delta path").
    with st.container():
        run, view, drawn, trainable = header()
    if run is None:  # in the places the run's status and chart will take
        if view["present"]:  # the buttons are hidden
            st.info("No run to present yet: leave presentation mode and press **Train**.")
        elif trainable:  # else the page says above what stops it
            st.info("Press **Train** to start a run with the config from the Data and Model pages.")
        live.draw_empty(view)
        return
    live_view(run, view, drawn)
    if state.view()["present"]:
        present(run, view)


def header() -> tuple:
    """The page above the live view: setup, buttons and view controls, what the run is.
    Returns (the run shown or None, the view, `drawn_state`, whether Train may start one)."""
    attach_linked_run()
    run = state.current_run()
    drawn = drawn_state(run)  # before the buttons: see drawn_state
    if run is not None:
        state.linked_runs().add(run.id)
    config, error = common.page_setup(run_id=run.id if run else None)
    if config is None:
        st.error(f"{plain(error)} Fix the config on the Model page.")
    # The data as it would train, if at hand (never a download): read once for the size
    # check and the worker that gets the run ready.
    dataset = page_data.data_at_hand(config) if config is not None else None
    too_big = None if dataset is None else state.service().size_problem(config, dataset)
    if too_big:  # said before Train is pressed, and Train is off
        st.error(plain(too_big), icon=":material/block:")
    trainable = config is not None and too_big is None
    watching = run is not None and not state.owns(run)
    presenting = state.view()["present"]
    if presenting:
        view = dict(state.view())
    else:
        controls(run, trainable, drawn)
        # Someone who came by a link came to watch: on a phone the options filled the first
        # screen and pushed the chart below it.
        with st.expander("Chart options") if watching else st.container():
            view = view_controls()
    if trainable and drawn[1] and dataset is not None:
        # Train is there to press: a worker gets this run ready (data, model, the traced
        # step), so a press trains its first batch at once (the service declines uploads).
        state.service().warm(config, dataset)
    if run is None:
        return None, view, drawn, trainable
    _, finished = drawn
    share_box(run)
    if watching:
        st.caption(
            f"You are watching {run.name}, started in another browser: it updates live, and "
            "only that browser can pause, step or stop it."
            + ("" if presenting else " Train starts your own run.")
        )
    elif not finished and not presenting:  # the audience need not know
        st.caption(
            "The run trains on the server: closing this tab or leaving the page does not "
            "pause it, and a reload finds it again."
        )
    if config is not None and config != run.config and finished and state.owns(run):
        st.caption("The config changed since this run: press Train to start one with it.")
    return run, view, drawn, trainable


def drawn_state(run) -> tuple[bool, bool]:
    """(paused, finished): what the buttons follow, read once before they are drawn. The live
    view redraws (and reruns the page when this has moved on) unless the run had finished by
    then: read after the buttons, a run that stopped in between left the page saying
    "stopped" with Train still disabled and nothing left to redraw it (a CI failure)."""
    if run is None:
        return False, True  # nothing in flight: the buttons of an ended run
    finished = run.finished
    # A run paused while it waited for a worker is paused too: it will start so.
    paused = run.status == "paused" or (run.status == "queued" and run.queued_mode == "paused")
    return not finished and paused, finished


main()
