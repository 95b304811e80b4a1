"""Tapeboard: pick data and hyperparameters, press Train, watch a GradientTape loop learn.

This file has two roles. When `streamlit run app.py` starts the server, it imports this module
and finds the `st.App` below: its lifespan starts the run service as the server comes up, so
its worker processes import TensorFlow and trace a step in the background and the first Train
does not wait for them. Then, as every session's script (`__name__ == "__main__"`), it only
routes. This process never imports TensorFlow: the workers train and evaluate (see
service/tasks.py), so pages paint at once and no import can race another session's.
"""

from __future__ import annotations

import os
import threading
from contextlib import asynccontextmanager

import streamlit as st


def route() -> None:
    st.set_page_config(page_title="Tapeboard", page_icon=":material/monitoring:", layout="wide")
    from service.settings import Settings

    try:
        Settings.from_env()
    except ValueError as err:  # a bad TAPEBOARD_* variable: say which, in every page
        from ui.text import plain

        # ...and no page: the run service did not start, and a page that asked for it showed
        # a traceback (on Community Cloud, its "error message is redacted" box).
        st.error(f"{plain(err)} The server cannot start its runs: fix it and restart the app.")
        st.stop()
    # The Data page is the app's root URL; its own pathname is not /data, which people type
    # by analogy with /model and /train (Streamlit said "Page not found" there).
    data = st.Page(
        "pages/data.py", title="Data", icon=":material/dataset:", default=True, url_path="setup"
    )

    def open_data_page() -> None:
        """/data: the Data page, at the root URL, with the link's settings."""
        st.switch_page(data, query_params=st.query_params.to_dict())

    page = st.navigation(
        [
            data,
            st.Page(open_data_page, title="Data", url_path="data", visibility="hidden"),
            st.Page("pages/model.py", title="Model", icon=":material/account_tree:"),
            st.Page("pages/train.py", title="Train", icon=":material/play_circle:"),
            st.Page("pages/evaluate.py", title="Evaluate", icon=":material/troubleshoot:"),
            st.Page("pages/runs.py", title="Runs", icon=":material/table_chart:"),
        ]
    )
    page.run()


@asynccontextmanager
async def serve(_app):
    """Start the run service with the server; stop its workers with it."""
    from service import close_service, get_service

    use_secrets()
    try:
        get_service()
    except ValueError as err:  # a bad TAPEBOARD_* setting: the pages say which, too
        print(f"tapeboard: {err}", flush=True)
    # The default dataset, read once before the first visitor: its scikit-learn import takes
    # seconds of the GIL that the first Train (or the first page) would otherwise wait for.
    # Likewise the pages' preload hints (0.4 s of reading the frontend's modules), and the
    # live charts' specs (the first run's redraws took 70 ms more of this process than later
    # runs', as other visitors' pages loaded).
    import trainer
    from ui import live, live_feed
    from ui.preload import prepare_hints

    trainer.load_dataset("digits")
    prepare_hints()
    live.prepare()
    # Vega for the live views, built off the event loop: ~3 s that would otherwise fall on
    # the first visitor who watches a run.
    threading.Thread(target=live_feed.prepare, name="tapeboard-vega", daemon=True).start()
    yield
    close_service()


def use_secrets() -> None:
    """Settings kept in the app's Secrets (Community Cloud's settings page, or a local
    .streamlit/secrets.toml): TAPEBOARD_DB with a database password, say. Copied to the
    environment, where the service reads its settings; a variable already set wins."""
    try:
        items = dict(st.secrets)
    except Exception:  # no secrets file: nothing to copy
        return
    for key, value in items.items():
        if key.startswith("TAPEBOARD_") and isinstance(value, str | int | float):
            os.environ.setdefault(key, str(value))


if __name__ == "__main__":
    route()
else:
    from starlette.middleware import Middleware

    from ui import live_feed
    from ui.preload import PreloadMiddleware

    # The Train and Runs pages' chart and table scripts load with the page, not after it; a
    # training run's live view reads its rows from live_feed's routes.
    app = st.App(
        __file__,
        lifespan=serve,
        routes=live_feed.routes(),
        middleware=[Middleware(PreloadMiddleware)],
    )
