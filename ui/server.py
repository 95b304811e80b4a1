"""Process-wide objects shared by every session of this Streamlit server."""

from __future__ import annotations

import streamlit as st

from ui.limits import Limits, TrainingSlots


@st.cache_resource
def server_limits() -> Limits:
    """This server's limits (TAPEBOARD_* variables), read once per process."""
    return Limits.from_env()


@st.cache_resource
def server_slots() -> TrainingSlots:
    """One count for the whole process: every session's runs share these slots."""
    return TrainingSlots(server_limits().max_concurrent)
