"""Tapeboard: pick data and hyperparameters, press Train, watch a GradientTape loop learn.

The entry script only routes. TensorFlow is imported by the pages that need it, so the page
frame and navigation paint before it loads.
"""

import os

import streamlit as st

from ui.limits import tensorflow_environment
from ui.server import server_limits

st.set_page_config(page_title="Tapeboard", page_icon=":material/monitoring:", layout="wide")
try:
    # Before any page starts TensorFlow; a value already in the environment wins.
    for name, value in tensorflow_environment(server_limits()).items():
        os.environ.setdefault(name, value)
except ValueError as err:  # a bad TAPEBOARD_* variable: say which, in the page
    st.error(str(err))

page = st.navigation(
    [
        st.Page("pages/data.py", title="Data", icon=":material/dataset:", default=True),
        st.Page("pages/model.py", title="Model", icon=":material/account_tree:"),
        st.Page("pages/train.py", title="Train", icon=":material/play_circle:"),
        st.Page("pages/evaluate.py", title="Evaluate", icon=":material/troubleshoot:"),
        st.Page("pages/runs.py", title="Runs", icon=":material/table_chart:"),
    ]
)
page.run()
