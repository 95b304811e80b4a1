"""What every page does first: restore/sync the share link, show pending notices."""

from __future__ import annotations

import streamlit as st

from trainer.config import RunConfig
from ui import share, state
from ui.browser import remember_browser
from ui.text import plain


def use_app_router() -> None:
    """Make sure app.py's st.navigation routes this session, whatever URL it came in by.

    Streamlit treats an app with a `pages/` folder as a legacy multipage app (pages listed by
    file name, app.py not run) until app.py first calls st.navigation in this process. On a
    fresh server (a Cloud app waking up), a first visitor who arrives by a share link to
    /train would get, and leave the whole process in, that legacy mode. Flip the switch as
    st.navigation itself does (PagesManager.uses_pages_directory = False) and rerun, so app.py
    routes from then on.
    """
    from streamlit.runtime.pages_manager import PagesManager

    if PagesManager.uses_pages_directory:
        PagesManager.uses_pages_directory = False
        st.rerun()


def page_setup(run_id: str | None = None) -> tuple[RunConfig | None, str | None]:
    """Sync the URL with the draft config (and the shown run, on the Train page), show
    one-time notices, and make sure this browser keeps its key. Returns the config (or None)
    and the error that makes it invalid (or None)."""
    use_app_router()
    state.draft()
    for problem in st.session_state.pop(state.LINK_PROBLEMS, []):
        st.warning(f"The link had a setting that could not be restored: {plain(problem)}")
    for kind, text in state.pop_notices():
        getattr(st, kind)(plain(text))
    config, error = state.current_config()
    share.sync_query_params(config, run_id)
    remember_browser()
    show_store_problem()
    with st.sidebar:
        st.toggle(
            "Presentation mode",
            help="For demos: the Train page hides its controls and shows the chart, the key "
            "figures and a summary of the run.",
            **state.bound_view("present"),
        )
        _share_box(config)
    return config, error


def show_store_problem() -> None:
    """Runs that cannot be kept must say so (they still train): the setting and the reason."""
    try:
        problem = state.service().store_problem
    except ValueError:  # a bad TAPEBOARD_* setting: app.py names it already
        return
    if problem:
        st.warning(plain(problem), icon=":material/database_off:")


def _share_box(config: RunConfig | None) -> None:
    st.caption("Share this setup")
    if config is None:
        st.caption("The config is invalid: fix it on the Model page to get a link.")
        return
    # Streamlit has no clipboard API; st.code has a copy button.
    st.code(share.share_link(config), language=None, wrap_lines=True)
