"""Runs page: every run this browser started (and any opened by link), side by side, and their
downloads."""

from __future__ import annotations

import json

import pandas as pd
import streamlit as st

from service import Run
from ui import charts, common, export, state

CURVE_POINTS = 800  # per run in the overlay
FIRST_COLUMNS = ["run", "best", "state", "data", "steps", "train time (s)"]


def overlay(runs: list[Run]) -> None:
    names = {state.run_label(run): run for run in runs}
    chosen = st.multiselect("Compare runs", list(names), default=list(names)[-5:])
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
    curves = []
    for name in chosen:
        batches, _ = names[name].curves(CURVE_POINTS, smoothing, int(window))
        curves.append(batches.assign(run=name))
    if not curves or not sum(len(c) for c in curves):
        st.info("The chosen runs have no steps yet.")
        return
    chart = charts.runs_chart(pd.concat(curves, ignore_index=True), x=x, log_scale=log_scale)
    st.altair_chart(chart, width="stretch")


def diff(runs: list[Run]) -> None:
    if len(runs) < 2:
        return
    st.subheader("What differs between two runs")
    names = {state.run_label(run): run for run in runs}
    cols = st.columns(2)
    a = cols[0].selectbox("First run", list(names), index=len(names) - 2, key="w_diff_a")
    b = cols[1].selectbox("Second run", list(names), index=len(names) - 1, key="w_diff_b")
    table = export.config_diff(names[a], names[b], state.run_label)
    if table.empty:
        st.caption("Same config: any difference in their curves comes from the data order.")
    else:
        st.dataframe(table, hide_index=True, width="stretch")


def downloads(runs: list[Run]) -> None:
    st.subheader("Downloads")
    st.download_button(
        "Download history CSV (all runs)",
        export.history_csv(runs, state.run_label),
        file_name="tapeboard-history.csv",
        mime="text/csv",
        on_click="ignore",
        icon=":material/download:",
    )
    names = {state.run_label(run): run for run in runs}
    run = names[st.selectbox("Run", list(names), index=len(names) - 1, key="w_runs_pick")]
    left, right = st.columns(2)
    left.download_button(
        "Download config JSON",
        run.config.to_json(),
        file_name=f"tapeboard-run-{run.number}-config.json",
        mime="application/json",
        on_click="ignore",
        icon=":material/download:",
    )
    right.download_button(
        "Download model (.keras)",
        run.model_bytes or b"",
        file_name=f"tapeboard-run-{run.number}.keras",
        mime="application/octet-stream",
        on_click="ignore",
        icon=":material/download:",
        disabled=run.model_bytes is None,
    )
    with st.expander("Config of the chosen run"):
        st.code(json.dumps(run.config.to_dict(), indent=2), language="json")


def main() -> None:
    st.title("Runs")
    common.page_setup()
    runs = state.runs()
    if not runs:
        st.info("No runs yet: press **Train** on the Train page.")
        st.stop()
    table = export.runs_table(runs, state.run_label)
    ordered = [c for c in FIRST_COLUMNS if c in table] + [
        c for c in table if c not in FIRST_COLUMNS
    ]
    st.dataframe(table[ordered], width="stretch", hide_index=True)
    if any(run.live for run in runs):
        st.caption("Runs train on the server: they go on while you are on other pages.")
    overlay(runs)
    diff(runs)
    downloads(runs)


main()
