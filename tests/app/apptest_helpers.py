"""AppTest helpers: drive one page file, or app.py, with a tiny fast config."""

from __future__ import annotations

import io
import json
import re
import sys
import time
from pathlib import Path

import pyarrow as pa
from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[2]
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))  # pages import `ui` and `trainer` from the repository root

# TensorFlow Playground XOR, 200 points: 160 train / 40 validation, 5 batches of 32 per epoch.
TINY = {"dataset": "xor", "num_samples": "200", "epochs": "1", "batch_size": "32"}


def page(name: str, params: dict[str, str] | None = None, timeout: float = 60) -> AppTest:
    """An AppTest of pages/<name>.py, with `params` as the URL query (not run yet)."""
    at = AppTest.from_file(str(ROOT / "pages" / f"{name}.py"), default_timeout=timeout)
    at.query_params.update(params or {})
    return at


def app(params: dict[str, str] | None = None, timeout: float = 60) -> AppTest:
    at = AppTest.from_file(str(ROOT / "app.py"), default_timeout=timeout)
    at.query_params.update(params or {})
    return at


def _walk(node, out):
    for child in getattr(node, "children", {}).values():
        out.append(child)
        _walk(child, out)
    return out


def descendants(node) -> list:
    """Every element and block inside `node`, however deeply nested."""
    return _walk(node, [])


def elements(at: AppTest, kind: str) -> list:
    """Every element of type `kind` in the last run, however deeply nested."""
    return [e for e in _walk(at._tree, []) if getattr(e, "type", None) == kind]


LIVE_CHARTS = ("loss", "metric", "boundary")


def live_chart_data(element) -> dict | None:
    """The data of a chart the Train page's browser keeps itself (ui.live_feed: its empty
    charts, a training run's live ones), None for any other element."""
    if getattr(element, "type", None) != "bidi_component":
        return None
    if element.proto.component_name != "tapeboard_live_run":
        return None
    data = json.loads(element.proto.json)
    return data if data["role"] in LIVE_CHARTS else None


def charts(at: AppTest) -> list:
    """Every chart drawn in the last run, Streamlit's Vega-Lite charts and the Train page's
    kept ones (AppTest has no accessor for charts)."""
    return [
        e
        for e in _walk(at._tree, [])
        if getattr(e, "type", None) == "vega_lite_chart" or live_chart_data(e)
    ]


def chart_spec(element) -> dict:
    data = live_chart_data(element)
    return json.loads(element.proto.spec) if data is None else data["spec"]


def dataset_rows(element) -> dict[str, int]:
    """Row count of each named dataset a chart carries (Streamlit ships them as Arrow IPC,
    a kept chart as columns)."""
    data = live_chart_data(element)
    if data is not None:
        datasets = data["first"]["charts"].get(data["role"], {})
        return {name: len(next(iter(columns.values()), [])) for name, columns in datasets.items()}
    return {
        d.name: pa.ipc.open_stream(io.BytesIO(d.data.data)).read_all().num_rows
        for d in element.proto.datasets
    }


def chart_rows(element) -> list[int]:
    """Row count of each dataset a chart carries, in its order."""
    return list(dataset_rows(element).values())


def shared_links(at: AppTest) -> list[str]:
    """The links the page's share boxes show (ui.copy_link), in page order."""
    boxes = [e.proto for e in elements(at, "bidi_component")]
    return [json.loads(b.json)["url"] for b in boxes if b.component_name == "tapeboard_share_link"]


def texts(elements) -> list[str]:
    """The elements' text as a person reads it: Markdown escapes and the invisible joiners that
    keep visitor text inert (ui.text.plain) taken out."""
    return [re.sub(r"\\(.)", r"\1", str(e.value)).replace("\u2060", "") for e in elements]


def current(at: AppTest):
    """The run the Train page shows (a `service.Run`), or None."""
    from service import get_service

    try:
        run_id = at.session_state["tb_current"]  # AppTest's session state has no .get()
    except KeyError:
        return None
    return get_service().get(run_id) if run_id else None


def wait_until(at: AppTest, done, timeout: float = 120.0):
    """Wait until `done(run)` holds for the shown run (it trains in a worker process, not in
    the script), then rerun the page so it draws that state. Returns the run."""
    deadline = time.monotonic() + timeout
    run = current(at)
    while not done(run):
        assert time.monotonic() < deadline, f"timed out; the run is {run and run.status}"
        time.sleep(0.02)
        run = current(at)
    at.run()
    return run


def finished(run) -> bool:
    return run is not None and run.finished


def paused(run) -> bool:
    return run is not None and run.status == "paused"


def train_to_end(at: AppTest, timeout: float = 120.0):
    """Press Train, wait for the run to end, draw the page again; returns the run."""
    at.button(key="btn_train").click().run()
    return wait_until(at, finished, timeout)
