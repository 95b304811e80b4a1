"""Runs page: every run this browser started (kept across reloads and restarts) and any opened
by link, side by side: the ranking table, curves overlaid, a config diff, downloads, delete.

The table comes from one light line per run (no history, no model), so it paints at once with
thousands of runs stored; only the runs chosen for the overlay or a download are read whole.
"""

from __future__ import annotations

import functools
import json

import pandas as pd
import streamlit as st

from service.runs import RANKING
from ui import charts, common, downloads, state
from ui.browser import browser_key

CURVE_POINTS = 800  # per run in the overlay
FIRST_COLUMNS = [
    "run",
    *(downloads.best_column(task) for task in RANKING),
    "state",
    "data",
    "steps",
    "train time (s)",
]
OVERLAY_DEFAULT = 5  # the newest runs drawn when the page opens
# A cell with nothing to say (a regression run's accuracy, a run with no epoch yet): the
# figures' "-", not Streamlit's default "None", which read to people as a value.
EMPTY_CELL = "-"


def overlay(summaries: list) -> list:
    """The chosen runs' curves on one chart; returns the chosen runs (summaries)."""
    names = {state.run_label(s): s for s in summaries}
    chosen = st.multiselect("Compare runs", list(names), default=list(names)[-OVERLAY_DEFAULT:])
    cols = st.columns([2, 1, 1, 1])
    x = cols[0].radio("X axis", list(charts.X_AXES), horizontal=True, key="w_runs_x")
    method = cols[1].radio("Smoothing", ["EMA", "moving average"], key="w_runs_method")
    if method == "EMA":
        smoothing = cols[2].slider(
            "Smoothing weight", 0.0, 0.999, 0.6, step=0.001, key="w_runs_smooth"
        )
        window = 0
    else:
        smoothing = 0.0
        window = cols[2].number_input("Window (batches)", 2, 10_000, 50, key="w_runs_window")
    log_scale = cols[3].toggle("Log scale", key="w_runs_log")
    ignore_outliers = cols[3].toggle(
        "Ignore outliers",
        value=True,
        key="w_runs_outliers",
        help="Scale the y axis to the runs' usual losses: a diverged run's explosion leaves "
        "the chart at the top instead of flattening the other curves.",
    )
    curves = []
    for name in chosen:
        run = state.service().get(names[name].id)
        if run is not None:
            batches, _ = run.curves(CURVE_POINTS, smoothing, int(window))
            curves.append(batches.assign(run=name))
    if not curves or not sum(len(c) for c in curves):
        st.info("The chosen runs have no steps yet.")
    else:
        frame = pd.concat(curves, ignore_index=True)
        chart = charts.runs_chart(frame, x=x, log_scale=log_scale, ignore_outliers=ignore_outliers)
        st.altair_chart(chart, width="stretch")
        if len({names[name].config.task for name in chosen}) > 1:
            st.caption(
                "These runs' losses are of two kinds (cross-entropy for classification, mean "
                "squared error for regression): compare curves within one task."
            )
        cut = charts.off_scale_runs(frame, log_scale) if ignore_outliers else []
        if cut:
            st.caption(
                f"{', '.join(cut)} {'goes' if len(cut) == 1 else 'go'} off the top of the "
                "chart (outliers ignored): turn off Ignore outliers to see all of it."
            )
    return [names[name] for name in chosen]


def diff(summaries: list) -> None:
    if len(summaries) < 2:
        return
    st.subheader("What differs between two runs")
    names = {state.run_label(s): s for s in summaries}
    cols = st.columns(2)
    a = cols[0].selectbox("First run", list(names), index=len(names) - 2, key="w_diff_a")
    b = cols[1].selectbox("Second run", list(names), index=len(names) - 1, key="w_diff_b")
    if a == b:  # chosen so, or left so by a delete: "same config" would say nothing true
        st.caption("Pick two different runs to see what differs between them.")
        return
    table = downloads.config_diff(names[a], names[b], state.run_label)
    if table.empty:
        st.caption("Same config: any difference in their curves comes from the data order.")
    else:
        st.dataframe(table, hide_index=True, width="stretch", placeholder=EMPTY_CELL)


def all_histories(labels: dict[str, str]) -> str:
    """Every listed run's history in one CSV (run id -> its label, worked out in the script
    run): read from the store on click, not on every rerun."""
    runs = [state.service().get(run_id) for run_id in labels]
    found = [run for run in runs if run is not None]
    return downloads.history_csv(found, lambda run: labels[run.id])


def tensorboard_files(labels: dict[str, str]) -> bytes:
    """The chosen runs as a TensorBoard log folder (zipped), written by the task worker with
    tf.summary: read from the store on click."""
    payload = []
    for run_id, label in labels.items():
        run = state.service().get(run_id)
        if run is None:
            continue
        with run.lock:
            steps, losses = run.history.column("step").copy(), run.history.column("loss").copy()
            epochs = run.history.epochs().to_dict("records")
        payload.append((label, run.config.to_dict(), steps, losses, epochs))
    return state.service().call("tensorboard_zip", payload)


def labels_of(summaries: list) -> dict[str, str]:
    # Worked out here, in the script run: a download's callable runs without this session.
    return {s.id: state.run_label(s) for s in summaries}


def tensorboard_label(count: int) -> str:
    runs = "the compared run" if count == 1 else f"the {count} compared runs"
    return f"Download {runs} for TensorBoard (.zip)"


def download_section(summaries: list, chosen: list) -> None:
    st.subheader("Downloads")
    left, right = st.columns(2)
    left.download_button(
        "Download history CSV (all runs)",
        functools.partial(all_histories, labels_of(summaries)),
        file_name="tapeboard-history.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
    )
    right.download_button(
        tensorboard_label(len(chosen)),
        functools.partial(tensorboard_files, labels_of(chosen)),
        file_name="tapeboard-tensorboard.zip",
        mime="application/zip",
        on_click="ignore",
        icon=":material/monitoring:",
        disabled=not chosen,
        help="Event files written with tf.summary: unzip, then `tensorboard --logdir "
        "tapeboard-runs`. Batch loss by step, epoch metrics for train and validation, and "
        "each run's config in the HParams tab.",
    )
    names = {state.run_label(s): s for s in summaries}
    picked = names[st.selectbox("Run", list(names), index=len(names) - 1, key="w_runs_pick")]
    run = state.service().get(picked.id)
    if run is None:
        st.warning("This run is no longer on the server.")
        return
    left, middle, right = st.columns(3)
    # Keyed by the run: each run's buttons are their own elements, their files their own.
    left.download_button(
        "Download config JSON",
        run.config.to_json(),
        file_name=f"tapeboard-run-{run.number}-config.json",
        mime="application/json",
        on_click="ignore",
        icon=":material/download:",
        key=f"dl_config_{run.id}",
    )
    middle.download_button(
        "Download model (.keras)",
        # Built on click by the task worker (this process has no TensorFlow): the trained
        # model behind its data's preprocessing, so it takes raw rows.
        functools.partial(state.service().call, "serving_model", run.model_ref(), run.data_ref()),
        file_name=f"tapeboard-run-{run.number}.keras",
        mime="application/octet-stream",
        on_click="ignore",
        icon=":material/download:",
        disabled=run.model_bytes is None,
        help="Takes raw rows: a CSV's columns by name (`model.input` lists them), or the images "
        "or points as loaded. Gives each row's class name and the class probabilities, or the "
        "prediction in the target's units. See the README for the three lines that use it.",
        key=f"dl_model_{run.id}",
    )
    mine = run.owner == browser_key()
    right.button(
        "Delete this run",
        on_click=delete,
        args=(run.id,),
        icon=":material/delete:",
        disabled=not mine or not run.finished,
        help="Remove it from this server and its store for good."
        if mine
        else "Only the browser that started it can delete it.",
        key=f"delete_{run.id}",
    )
    with st.expander("Config of the chosen run"):
        # Plain text, not st.code: the highlighter's scripts cost a first visit 0.7 s before
        # the table shows (the Download button above gives the same JSON as a file).
        st.text(json.dumps(run.config.to_dict(), indent=2))


def delete(run_id: str) -> None:
    run = state.service().get(run_id)
    try:
        state.service().delete(run_id, browser_key())
    except (PermissionError, ValueError) as err:
        state.notify("error", str(err))
        return
    if st.session_state.get(state.CURRENT) == run_id:
        state.set_current(None)
    state.notify("success", f"Deleted {run.name if run else 'the run'}.")


def main() -> None:
    st.title("Runs")
    # A run's link opened here (`/runs?run=...`): the run joins this browser's list, newest,
    # so it is among the runs compared. Read before page_setup rewrites the URL.
    wanted, linked = state.run_from_link()
    common.page_setup()
    if wanted is not None and linked is None:
        st.warning(state.MISSING_RUN)
    summaries = state.run_summaries()
    if not summaries:
        st.info("No runs yet: press **Train** on the Train page.")
        st.stop()
    table = downloads.runs_table(summaries, state.run_label)
    ordered = [c for c in FIRST_COLUMNS if c in table] + [
        c for c in table if c not in FIRST_COLUMNS
    ]
    # Metrics in four significant digits: the default shows four decimals, and a small loss
    # (1.795e-05) as 0.00002.
    metrics = {name for s in summaries for name in s.metrics}
    metrics |= {downloads.best_column(task) for task in RANKING}
    formats = {n: st.column_config.NumberColumn(format="%.4g") for n in metrics if n in table}
    st.dataframe(
        table[ordered],
        width="stretch",
        hide_index=True,
        column_config=formats,
        placeholder=EMPTY_CELL,
    )
    if len(summaries) >= state.LIST_LIMIT:
        st.caption(
            f"Your newest {state.LIST_LIMIT:,} of {state.stored_runs():,} kept runs are listed; "
            "an older run opens by its link."
        )
    if any(s.state in ("queued", "running", "stepping") for s in summaries):
        st.caption("Runs train on the server: they go on while you are on other pages.")
    chosen = overlay(summaries)
    diff(summaries)
    download_section(summaries, chosen)


main()
