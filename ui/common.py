"""What every page does first: restore/sync the share link, show pending notices."""

from __future__ import annotations

import streamlit as st

from trainer.config import RunConfig
from ui import share, state


def page_setup() -> tuple[RunConfig | None, str | None]:
    """Sync the URL with the draft config and show one-time notices. Returns the config (or
    None) and the error that makes it invalid (or None)."""
    state.draft()
    for problem in st.session_state.pop(state.LINK_PROBLEMS, []):
        st.warning(f"The link had a setting that could not be restored: {problem}")
    for kind, text in state.pop_notices():
        getattr(st, kind)(text)
    config, error = state.current_config()
    if config is not None:
        share.sync_query_params(config)
    with st.sidebar:
        st.toggle(
            "Presentation mode",
            help="For demos: the Train page hides its controls and shows the chart, the key "
            "figures and a summary of the run.",
            **state.bound_view("present"),
        )
        _share_box(config)
    return config, error


def _share_box(config: RunConfig | None) -> None:
    st.caption("Share this setup")
    if config is None:
        st.caption("The config is invalid: fix it on the Model page to get a link.")
        return
    # Streamlit has no clipboard API; st.code has a copy button.
    st.code(share.share_link(config), language=None, wrap_lines=True)
