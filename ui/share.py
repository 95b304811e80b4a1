"""Share links: the whole config lives in the URL query, as TensorFlow Playground keeps it in its
hash. Opening a link restores every control; changing a control rewrites the query."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import streamlit as st

from trainer.config import RunConfig

_FIELDS = set(RunConfig().to_dict())
PRESENT = "present"  # `?present=1`: the link opens in presentation mode (ui.common)

# Where a new session starts, and what links are written relative to: the Keras guide's model
# and optimizer (RunConfig's defaults), with a learning rate suited to inputs scaled to [0, 1]
# and enough epochs to watch it learn. The guide's own lr (1e-3) was set for raw 0-255 MNIST
# pixels; on scaled digits it leaves a flat line for 46 steps. Measured: 95% validation
# accuracy on digits in under a second with these.
STARTER = RunConfig(learning_rate=0.1, epochs=30)


def config_from_query(params: Mapping[str, str]) -> tuple[RunConfig, list[str]]:
    """The config a link describes. Fields that do not validate are left at their defaults
    and reported (one message each) instead of failing the whole link."""
    config = STARTER
    problems: list[str] = []
    for name, value in params.items():
        if name not in _FIELDS:
            continue  # URLs carry other things too
        try:
            config = config.replace(**{name: value})
        except ValueError as err:
            problems.append(str(err))
    return config, problems


def sync_query_params(
    config: RunConfig | None, run_id: str | None = None, *, present: bool = False
) -> None:
    """Make the browser's URL carry `config` (only the fields that differ from the starter),
    on the Train page the shown run's id (`run=`), so a reload finds the run again, and
    `present=1` in presentation mode, so the link presents too."""
    wanted = config.to_params(STARTER) if config is not None else st.query_params.to_dict()
    wanted.pop("run", None)
    wanted.pop(PRESENT, None)
    if run_id:
        wanted["run"] = run_id
    if present:
        wanted[PRESENT] = "1"
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def run_query(run_id: str) -> str:
    """The query of a run's link: the run alone (its config comes with it)."""
    return urlencode({"run": run_id})


def share_link(config: RunConfig) -> str:
    """The link that restores `config`: the app's URL when known, else the relative `?query`."""
    query = urlencode(config.to_params(STARTER))
    base = st.context.url or ""
    return f"{base}?{query}" if query else (base or "?")
