"""Share links: the whole config lives in the URL query, as TensorFlow Playground keeps it in its
hash. Opening a link restores every control; changing a control rewrites the query."""

from __future__ import annotations

from collections.abc import Mapping
from urllib.parse import urlencode

import streamlit as st

from trainer.config import RunConfig

_FIELDS = set(RunConfig().to_dict())


def config_from_query(params: Mapping[str, str]) -> tuple[RunConfig, list[str]]:
    """The config a link describes. Fields that do not validate are left at their defaults
    and reported (one message each) instead of failing the whole link."""
    config = RunConfig()
    problems: list[str] = []
    for name, value in params.items():
        if name not in _FIELDS:
            continue  # URLs carry other things too
        try:
            config = config.replace(**{name: value})
        except ValueError as err:
            problems.append(str(err))
    return config, problems


def sync_query_params(config: RunConfig) -> None:
    """Make the browser's URL carry `config` (only the fields that differ from defaults)."""
    wanted = config.to_params()
    if st.query_params.to_dict() != wanted:
        st.query_params.from_dict(wanted)


def share_link(config: RunConfig) -> str:
    """The link that restores `config`: the app's URL when known, else the relative `?query`."""
    query = urlencode(config.to_params())
    base = st.context.url or ""
    return f"{base}?{query}" if query else (base or "?")
