"""Session state: the draft config behind every control, and which runs this session looks at.

Streamlit discards a widget's state when a rerun does not draw that widget (another page is
showing), so the config lives under our own key: the draft. Each control is drawn with the
draft as its default (`bound`), and the draft follows the control: at the start of every page
run (`sync_draft`, before the config, the link and the share box are made from it) and again
once the page has drawn its controls. `on_change` alone is not enough. With fastReruns (forced
on Community Cloud) a new edit stops the script run that was applying the previous one, and if
that happens inside the previous edit's callback, Streamlit never calls it again: the control
shows the value, the draft never gets it. And the draft never overwrites a control's value:
after a server restart the browser reconnects to a new session that cannot read its controls'
values until they are drawn again; seeding them from the draft then replaced what the person
had typed.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import streamlit as st

from trainer.config import RunConfig

# Our own session_state keys (widget keys are "w_" + a field or view name).
DRAFT = "tb_draft"  # dict: RunConfig field -> value (hidden_units as the text typed)
CURRENT = "tb_current"  # id of the run the Train page shows, or None
OPENED = "tb_opened"  # ids of the runs this session opened by link
LINKED = "tb_linked_runs"  # run ids this session has put in the URL or opened from it
CSV = "tb_csv"  # CsvUpload or None
VIEW = "tb_view"  # dict of Train/Runs page view options (x axis, smoothing, ...)
NOTICES = "tb_notices"  # messages for the next page run (e.g. a failed start), shown once
LINK_PROBLEMS = "tb_link_problems"  # share-link fields that could not be restored

VIEW_DEFAULTS: dict[str, Any] = {
    "x": "step",
    "smooth": True,
    "smoothing": 0.6,
    "log": False,
    "present": False,  # presentation mode: controls hidden, chart, key figures and a summary
    "discretize": False,  # the decision boundary in class colours, not shades of probability
}


@dataclass(frozen=True)
class CsvUpload:
    """The dataset parsed from an uploaded CSV (per session, never cached process-wide)."""

    file_name: str
    target: str
    task: str  # as chosen: auto | classification | regression
    digest: str  # sha1 of the bytes: a re-upload of the same file is not parsed again
    dataset: Any  # trainer.Dataset
    preview: Any  # pandas.DataFrame: the first rows as uploaded


# -- the draft config --------------------------------------------------------------------------
def _draft_from(config: RunConfig) -> dict[str, Any]:
    draft = config.to_dict()
    draft["hidden_units"] = ",".join(str(u) for u in config.hidden_units)
    return draft


def draft() -> dict[str, Any]:
    """The session's draft config; on a session's first page run, restored from the link."""
    if DRAFT not in st.session_state:
        from ui.share import config_from_query

        config, problems = config_from_query(st.query_params.to_dict())
        st.session_state[DRAFT] = _draft_from(config)
        st.session_state[LINK_PROBLEMS] = problems
    return st.session_state[DRAFT]


def use_config(config: RunConfig) -> None:
    """Make `config` the draft (every control shows it), e.g. a shared run's."""
    for name, value in _draft_from(config).items():
        set_field(name, value)


def set_field(name: str, value: Any) -> None:
    """Change one draft field, and the widget showing it if that widget exists right now."""
    draft()[name] = value
    key = widget_key(name)
    if key in st.session_state:
        st.session_state[key] = value


def widget_key(name: str) -> str:
    return f"w_{name}"


def _commit(name: str) -> None:
    draft()[name] = st.session_state[widget_key(name)]


def sync_draft() -> bool:
    """Make the draft hold every bound control's value that Streamlit has; True if any
    changed. A control's value is what the person sees and typed, so it wins, whether or not
    its `on_change` ran."""
    values = draft()
    changed = False
    for name in values:
        key = widget_key(name)
        if key in st.session_state:
            value = st.session_state[key]
            if value != values[name]:
                values[name] = value
                changed = True
    return changed


def bound(name: str, options: Sequence[Any] | None = None) -> dict[str, Any]:
    """Widget kwargs that show draft field `name` and write changes back to it; `options`:
    the choices of a selectbox or radio.

    Where Streamlit has no value for the control, the draft is its default (`value=`, or
    `index=` among `options`), never a write to its session-state key: a write would also
    replace a value the browser sent that this session cannot read yet (a tab reconnected to
    a restarted server). The value outlives the page (`persist_state`), so an edit whose
    callback a page switch interrupted still reaches the draft on the next page.
    """
    key = widget_key(name)
    kwargs: dict[str, Any] = {
        "key": key,
        "on_change": _commit,
        "args": (name,),
        "persist_state": "session",
    }
    if key not in st.session_state:
        value = draft()[name]
        if options is None:
            kwargs["value"] = value
        else:
            choices = list(options)
            kwargs["index"] = choices.index(value) if value in choices else 0
    return kwargs


def config_from_draft(values: dict[str, Any]) -> tuple[RunConfig | None, str | None]:
    """RunConfig from draft values, or None and RunConfig's message (it names the field)."""
    try:
        return RunConfig.from_dict(values), None
    except ValueError as err:
        return None, str(err)


def current_config() -> tuple[RunConfig | None, str | None]:
    """The draft as a validated RunConfig (task taken from the chosen data), or the error."""
    values = dict(draft())
    task = dataset_task(values.get("dataset", ""))
    if task:
        values["task"] = task
    return config_from_draft(values)


def dataset_task(name: str) -> str | None:
    """The task the named data implies: the registry entry's, or the uploaded CSV's."""
    if name == "csv":
        upload = csv_upload()
        return upload.dataset.task if upload else None
    from trainer import DATASETS

    info = DATASETS.get(name)
    return info.task if info else None


# -- view options (not part of a run's config, but they survive page switches too) -------------
def view() -> dict[str, Any]:
    return st.session_state.setdefault(VIEW, dict(VIEW_DEFAULTS))


def _commit_view(name: str) -> None:
    view()[name] = st.session_state[widget_key(f"view_{name}")]


def bound_view(name: str) -> dict[str, Any]:
    key = widget_key(f"view_{name}")
    if key not in st.session_state:
        st.session_state[key] = view()[name]
    return {"key": key, "on_change": _commit_view, "args": (name,)}


# -- uploaded CSV ------------------------------------------------------------------------------
def csv_upload() -> CsvUpload | None:
    return st.session_state.get(CSV)


def set_csv_upload(upload: CsvUpload | None) -> None:
    st.session_state[CSV] = upload


# -- notices shown once on the next page run ---------------------------------------------------
def notify(kind: str, text: str) -> None:
    st.session_state.setdefault(NOTICES, []).append((kind, text))


def pop_notices() -> list[tuple[str, str]]:
    return st.session_state.pop(NOTICES, [])


# -- runs: they live in the run service; a session only remembers which it looks at -----------
def service():
    """This server's run service (one per process; its workers start with the server)."""
    from service import get_service

    return get_service()


def current_run():
    """The run the Train page shows (a `service.Run`), or None."""
    wanted = st.session_state.get(CURRENT)
    return service().get(wanted) if wanted else None


def set_current(run_id: str | None) -> None:
    st.session_state[CURRENT] = run_id


def open_run(run_id: str):
    """Attach this session to a run by its id (from a link); None if the server has no such
    run. It joins this session's Runs page."""
    run = service().get(run_id)
    if run is not None:
        opened = opened_ids()
        if run_id not in opened:
            opened.append(run_id)
        set_current(run_id)
    return run


def opened_ids() -> list[str]:
    """The runs this browser opened by link, oldest first: this session's list, begun from
    the browser's cookie (ui.browser), so they stay on the Runs page after a reload."""
    from ui.browser import opened_by_link

    if OPENED not in st.session_state:
        st.session_state[OPENED] = opened_by_link()
    return st.session_state[OPENED]


# Runs outlive restarts in the store; what is missing was deleted, mistyped, or in a store that
# was reset (an app whose SQLite file was on a disk its host wiped).
MISSING_RUN = (
    "No run on this server has this link: it was deleted, the link is incomplete, or this "
    "server's run store was reset."
)


def linked_runs() -> set[str]:
    return st.session_state.setdefault(LINKED, set())


def run_from_link() -> tuple[str | None, Any]:
    """The run the URL's `run=` names, if it is news to this session (a shared link, or this
    tab reloaded): (its id, the run, now attached to this session, or None if the server has
    no such run). (None, None) if the URL names no run or one this session put there itself:
    after a click (Train, Reset) a rerun can still bring the previous URL. A link that opens a
    session also sets its config: "Train" trains the shared run's config again."""
    wanted = st.query_params.get("run")
    if not wanted or wanted in linked_runs():
        return None, None
    linked_runs().add(wanted)
    first_visit = DRAFT not in st.session_state
    run = open_run(wanted)
    if run is not None and first_visit:
        use_config(run.config)
    return wanted, run


LIST_LIMIT = 1000  # the Runs page lists this browser's newest runs, at most this many


def stored_runs() -> int:
    """How many runs this browser has in the store (more than LIST_LIMIT: not all listed)."""
    from ui.browser import browser_key

    return service().count_stored(browser_key())


def run_summaries() -> list:
    """Every run this browser started (kept in the store across reloads and restarts), then
    those opened by link (kept in a cookie): one light line each, oldest first."""
    from service.records import summarize
    from ui.browser import browser_key

    runner = service()
    own = runner.summaries(browser_key(), LIST_LIMIT)[::-1]
    seen = {summary.id for summary in own}
    opened = [runner.get(i) for i in opened_ids() if i not in seen]
    return own + [summarize(run) for run in opened if run is not None]


def run_label(run) -> str:
    """ "run 3" for this browser's runs; "run 3 (shared)" for one opened by someone's link."""
    return run.name if owns(run) else f"{run.name} (shared)"


def owns(run) -> bool:
    """True when this browser started `run`: only then may it pause, step or stop it."""
    from ui.browser import browser_key

    return run is not None and run.owner == browser_key()
