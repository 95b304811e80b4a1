"""Session state: the draft config behind every control, the runs of this session, and `Run`.

Streamlit discards a widget's state when a rerun does not draw that widget (another page is
showing), so widgets are never the source of truth here. The draft config lives under our own
key; each widget is created from it (`bound`) and writes back to it in its `on_change` callback,
which Streamlit runs before the page script. Switching pages therefore loses nothing.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Generator
from dataclasses import dataclass, field
from typing import Any

import pandas as pd
import streamlit as st

from trainer.config import RunConfig
from trainer.events import STOP, BatchEnd, TrainingEnd
from trainer.history import History

# Our own session_state keys (widget keys are "w_" + a field or view name).
DRAFT = "tb_draft"  # dict: RunConfig field -> value (hidden_units as the text typed)
RUNS = "tb_runs"  # list[Run], oldest first
CURRENT = "tb_current"  # id of the Run the Train page shows, or None
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


def bound(name: str) -> dict[str, Any]:
    """Widget kwargs (key, on_change) that show draft field `name` and write changes back.

    The widget key is seeded from the draft when missing (first draw, or after Streamlit
    dropped it on another page); no `value=` is passed, so Streamlit never warns about a
    default that contradicts session state.
    """
    key = widget_key(name)
    if key not in st.session_state:
        st.session_state[key] = draft()[name]
    return {"key": key, "on_change": _commit, "args": (name,)}


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


# -- runs --------------------------------------------------------------------------------------
@dataclass(eq=False)
class Run:
    """One training run: its config, the live generator and everything it logged.

    A plain Python object: the Train page takes it out of `st.session_state` once and then
    pulls and records with no Streamlit call in between (a rerun can only interrupt a script at
    a Streamlit call, so no event is ever lost between pulling it and recording it).

    `lock` guards the generator and the history: with `runner.fastReruns` a click starts the
    next script run on a new thread while the old one may still be inside `pull` (it only stops
    at its next Streamlit call), and a generator must never be resumed from two threads.
    """

    id: int
    config: RunConfig
    data_title: str
    num_train: int
    num_val: int
    steps_per_epoch: int
    history: History
    gen: Generator[Any, Any, None] | None = None
    model: Any = None  # the keras.Model being trained (same object the generator updates)
    dataset: Any = None  # the trainer.Dataset it trains on, validation split held out
    replicas: int = 1  # replicas in sync under the run's tf.distribute strategy
    wall_s: float = 0.0  # wall time spent training on the page (pulling + drawing), no pauses
    status: str = "paused"  # running | stepping | paused | finished
    end: TrainingEnd | None = None
    started_at: float = field(default_factory=time.time)
    lock: threading.RLock = field(default_factory=threading.RLock, repr=False)

    @property
    def name(self) -> str:
        return f"run {self.id}"

    @property
    def total_steps(self) -> int:
        return self.steps_per_epoch * self.config.epochs

    @property
    def finished(self) -> bool:
        return self.end is not None

    @property
    def steps_done(self) -> int:
        return len(self.history)

    @property
    def live(self) -> bool:
        """The Train page should pull: running, or taking a single step."""
        return self.end is None and self.status in ("running", "stepping")

    # -- transitions (button callbacks) ----------------------------------------------------
    def set_status(self, status: str) -> None:
        with self.lock:
            if self.end is None:
                self.status = status

    def pull_interval(self, batches: int) -> int:
        """Pull events until `batches` more batches are recorded or the run ends; a single step
        ("stepping") then pauses. Pure Python: no Streamlit call, so no rerun can interrupt
        it between pulling an event and recording it. Returns the batches recorded."""
        with self.lock:
            got = self._pull(batches)
            if self.status == "stepping" and self.end is None:
                self.status = "paused"
            return got

    def _pull(self, batches: int) -> int:
        if self.gen is None or self.end is not None:
            return 0
        got = 0
        while got < batches:
            try:
                event = next(self.gen)
            except StopIteration:
                self._finish_without_end("The training loop ended without a final event.")
                break
            got += self._record(event)
            if self.end is not None:
                break
        return got

    def _record(self, event: Any) -> int:
        if isinstance(event, TrainingEnd):
            self.end = event
            self.model = event.model if event.model is not None else self.model
            self.status = "finished"
            self.gen = None
            return 0
        self.history.record(event)
        return 1 if isinstance(event, BatchEnd) else 0

    def stop(self) -> None:
        """Graceful stop: send STOP, then record what was already computed and the end."""
        with self.lock:
            if self.end is not None:
                return
            if self.gen is None or not len(self.history):
                # A generator that never ran cannot take a send(); nothing was computed anyway.
                self.close("Stopped before the first step.")
                return
            try:
                self._record(self.gen.send(STOP))
                while self.end is None:
                    self._record(next(self.gen))
            except StopIteration:
                self._finish_without_end("Stopped by request.")

    def close(self, message: str) -> None:
        """End at once (Reset): close the generator; record a 'stopped' end if none came."""
        with self.lock:
            if self.gen is not None:
                self.gen.close()
                self.gen = None
            if self.end is None:
                self._finish_without_end(message)

    def _finish_without_end(self, message: str) -> None:
        last = self.history.last
        self.end = TrainingEnd(
            reason="stopped",
            step=last.step if last else -1,
            epoch=last.epoch if last else 0,
            elapsed_s=last.elapsed_s if last else 0.0,
            metrics=self.final_metrics(),
            message=message,
            model=self.model,
        )
        self.gen = None
        self.status = "finished"

    # -- what the pages show (read under the lock: another thread may be recording) ---------
    def curves(
        self, max_points: int, smoothing: float, window: int = 0
    ) -> tuple[pd.DataFrame, pd.DataFrame]:
        """(decimated batches, epochs) frames for the charts: `smoothed` is the EMA of weight
        `smoothing`, or the moving average over `window` batches when window > 1."""
        with self.lock:
            history = self.history
            return history.decimated(max_points, smoothing, window), history.epochs(max_points)

    def eta_s(self) -> float | None:
        rate = self.history.steps_per_second()
        if not rate or self.finished:
            return None
        return max(0, self.total_steps - self.steps_done) / rate

    def final_metrics(self) -> dict[str, float]:
        if self.end is not None and self.end.metrics:
            return dict(self.end.metrics)
        row = self.history.last_epoch or {}
        return {k: v for k, v in row.items() if k not in ("epoch", "step", "elapsed_s")}

    def state_label(self) -> str:
        if self.end is not None:
            return self.end.reason
        return "running" if self.status in ("running", "stepping") else "paused"


def steps_per_epoch(num_train: int, batch_size: int) -> int:
    return max(1, math.ceil(num_train / batch_size))


def runs() -> list[Run]:
    return st.session_state.setdefault(RUNS, [])


def current_run() -> Run | None:
    wanted = st.session_state.get(CURRENT)
    return next((r for r in runs() if r.id == wanted), None)


def add_run(run: Run) -> None:
    runs().append(run)
    st.session_state[CURRENT] = run.id


def clear_current() -> None:
    st.session_state[CURRENT] = None


def next_run_id() -> int:
    return max((r.id for r in runs()), default=0) + 1
