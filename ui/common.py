"""What every page does first: restore/sync the share link, show pending notices."""

from __future__ import annotations

import streamlit as st

from trainer.config import RunConfig
from ui import share, state
from ui.browser import remember_browser, remember_opened
from ui.copy_link import share_link_box
from ui.text import plain

LINK_READ = "tb_present_link_read"  # session_state: the link's `present` has been applied
# Presentation mode hides the sidebar (navigation, settings, share box) and the button that
# brings it back. st.set_page_config's initial_sidebar_state applies only to a session's first
# page, so the page hides it with CSS while presenting; a button in the page leaves. The
# page also starts higher (Streamlit leaves 6rem above it for a header a demo has no use for).
HIDE_SIDEBAR = """<style>
[data-testid="stSidebar"], [data-testid="stSidebarCollapsedControl"],
[data-testid="stExpandSidebarButton"] {display: none !important;}
[data-testid="stMainBlockContainer"] {padding-top: 2rem;}
</style>"""


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
    state.sync_draft()  # the controls' values, even an edit whose on_change was cut short
    presenting = presentation_mode()
    for problem in st.session_state.pop(state.LINK_PROBLEMS, []):
        st.warning(f"The link had a setting that could not be restored: {plain(problem)}")
    for kind, text in state.pop_notices():
        getattr(st, kind)(plain(text))
    config, error = state.current_config()
    share.sync_query_params(config, run_id, present=presenting)
    remember_browser()
    remember_opened(state.opened_ids())
    show_store_problem()
    if presenting:
        st.html(HIDE_SIDEBAR)
        st.button(
            "Leave presentation mode",
            key="btn_leave_present",
            type="tertiary",
            icon=":material/fullscreen_exit:",
            on_click=set_presenting,
            args=(False,),
        )
    with st.sidebar:
        st.toggle(
            "Presentation mode",
            help="For demos: the Train page hides its controls and shows the chart, the key "
            "figures and a summary of the run.",
            **state.bound_view("present"),
        )
        _share_box(config)
    return config, error


def presentation_mode() -> bool:
    """Whether this page presents. On a session's first page, `?present=1` in its link turns
    presentation mode on (and `present=0` off); from then on the toggle decides, and the URL
    follows it (`share.sync_query_params`), so the link in the address bar presents too."""
    if LINK_READ not in st.session_state:
        st.session_state[LINK_READ] = True
        wanted = st.query_params.get(share.PRESENT)
        if wanted is not None:
            set_presenting(wanted.strip().lower() in ("1", "true", "yes", "on"))
    return bool(state.view()["present"])


def set_presenting(on: bool) -> None:
    """Turn presentation mode on or off, and the sidebar's toggle with it."""
    state.view()["present"] = on
    st.session_state[state.widget_key("view_present")] = on


def controls_drawn() -> None:
    """Call once a page has drawn its bound controls. A value Streamlit could read only now
    (the browser reconnected to a new session with values typed) becomes the draft, and the
    page runs again so that the link, the share box and what the page shows follow it."""
    if state.sync_draft():
        st.rerun()


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
    share_link_box(share.share_link(config), key="tb_share_setup")
