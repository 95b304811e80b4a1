"""Train page: Train / Pause / Resume / Stop / Step / Reset drive one generator; history stays."""

from __future__ import annotations

import base64
import io
import json
import threading
import time

import pyarrow as pa
import pytest
from apptest_helpers import TINY, app, chart_rows, chart_spec, charts, page, texts
from PIL import Image

# 2,000 XOR points: 1,600 train / 50 batches of 32 per epoch; 150 steps in all.
LONGER = {**TINY, "num_samples": "2000", "epochs": "3", "log_every": "10"}
BUTTONS = ["Train", "Pause", "Resume", "Stop", "Step", "Reset"]


def enabled(at) -> list[str]:
    return [b.label for b in at.button if b.label in BUTTONS and not b.disabled]


def current(at):
    return at.session_state["tb_runs"][-1]


def loss_chart(at):
    (chart,) = [c for c in charts(at) if "train loss" in json.dumps(chart_spec(c))]
    return chart


def stats(at) -> dict[str, str]:
    """The numbers beside the chart: the Markdown table headed by the run's name."""
    (table,) = [t for t in texts(at.markdown) if t.startswith("| run ")]
    rows = [line.strip("|").split("|") for line in table.splitlines()[2:]]
    return {label.strip(): value.strip() for label, value in rows}


def boundary_charts(at):
    return [c for c in charts(at) if '"x1_end"' in json.dumps(chart_spec(c))]


def test_default_render_offers_train_and_step_only():
    at = page("train").run()
    assert not at.exception
    assert [b.label for b in at.button] == BUTTONS
    assert enabled(at) == ["Train", "Step"]
    assert any("Press **Train**" in t for t in texts(at.info))


def test_tiny_run_completes_and_its_history_is_drawn():
    at = page("train", TINY, timeout=120).run()
    at.button(key="btn_train").click().run()
    assert not at.exception
    run = current(at)
    assert run.end.reason == "completed"
    assert len(run.history) == run.total_steps == 5
    assert any("finished: Completed 1 epochs" in t for t in texts(at.success))
    # Every batch is in the chart's data; the validation point in its own dataset.
    assert sorted(chart_rows(loss_chart(at))) == [1, 5]
    assert at.get("progress")[0].value == 100
    numbers = stats(at)
    assert numbers["Epoch"] == "**1 / 1**"
    assert numbers["Seen so far"] == "160 samples"
    assert numbers["ETA"] == "done"
    final = run.end.metrics
    assert numbers["Validation loss"].startswith(f"**{final['val_loss']:.4g}** (best ")
    assert numbers["Validation accuracy"].startswith(f"**{final['val_accuracy']:.4g}** (best ")
    assert enabled(at) == ["Train", "Step", "Reset"]


def test_step_pauses_after_one_interval_then_resume_finishes():
    at = page("train", LONGER, timeout=120).run()
    at.button(key="btn_step").click().run()
    assert not at.exception
    run = current(at)
    assert (len(run.history), run.status) == (10, "paused")
    assert enabled(at) == ["Resume", "Stop", "Step", "Reset"]
    at.button(key="btn_step").click().run()
    assert len(run.history) == 20
    at.button(key="btn_resume").click().run()
    assert run.end.reason == "completed"
    steps = run.history.batches()["step"].tolist()
    assert steps == list(range(150))  # nothing lost or repeated across pauses


def test_stop_keeps_what_was_learned():
    at = page("train", LONGER, timeout=120).run()
    at.button(key="btn_step").click().run()
    at.button(key="btn_stop").click().run()
    assert not at.exception
    run = current(at)
    assert run.end.reason == "stopped"
    # The batches the engine had already computed in its chunk still arrive, then the end.
    assert 10 <= len(run.history) == run.end.step + 1 < run.total_steps
    assert run.history.batches()["step"].tolist() == list(range(len(run.history)))
    assert run.model is not None
    assert any("stopped" in t for t in texts(at.warning))


def test_leaving_the_page_pauses_and_coming_back_resumes():
    at = app(LONGER, timeout=120).run()
    at.switch_page("pages/train.py").run()
    at.button(key="btn_step").click().run()
    run = current(at)
    run.set_status("running")  # as when a click interrupted a running page
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    assert len(run.history) == 10  # no page but Train pulls
    at.switch_page("pages/train.py").run()
    assert run.end.reason == "completed"
    assert len(run.history) == 150


def test_reset_puts_the_run_aside():
    at = page("train", TINY, timeout=120).run()
    at.button(key="btn_train").click().run()
    at.button(key="btn_reset").click().run()
    assert not at.exception
    assert enabled(at) == ["Train", "Step"]
    assert len(at.session_state["tb_runs"]) == 1


def test_view_controls_redraw_a_finished_run():
    at = page("train", TINY, timeout=120).run()
    at.button(key="btn_train").click().run()
    at.toggle(key="w_view_log").set_value(True).run()
    at.radio(key="w_view_x").set_value("epoch").run()
    at.toggle(key="w_view_smooth").set_value(False).run()
    assert not at.exception
    spec = chart_spec(loss_chart(at))
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks.count("line") == 1  # raw only
    assert spec["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"
    assert spec["layer"][0]["encoding"]["x"]["title"] == "epoch"


def test_invalid_config_blocks_training():
    at = page("train", TINY)
    at.session_state["tb_draft"] = {
        **{"dataset": "xor", "num_samples": 200, "epochs": 1, "batch_size": 32},
        "hidden_units": "64,abc",
    }
    at.run()
    assert not at.exception
    assert any("Fix the config on the Model page" in t for t in texts(at.error))
    assert enabled(at) == []


@pytest.mark.parametrize("lr", ["100"])
def test_divergence_is_reported_as_an_error(lr):
    params = {**TINY, "dataset": "plane", "optimizer": "sgd", "learning_rate": lr, "epochs": "5"}
    at = page("train", params, timeout=120).run()
    at.button(key="btn_train").click().run()
    assert not at.exception
    assert current(at).end.reason == "diverged"
    assert any("diverged" in t for t in texts(at.error))


@pytest.fixture
def server_env(monkeypatch):
    """Set TAPEBOARD_* limits for one test; the page reads them once per process (cached)."""
    import streamlit as st

    def set_env(**values):
        for name, value in values.items():
            monkeypatch.setenv(name, str(value))
        st.cache_resource.clear()

    yield set_env
    monkeypatch.undo()
    st.cache_resource.clear()


def test_a_run_over_the_servers_budget_is_refused_with_the_numbers(server_env):
    server_env(TAPEBOARD_MAX_SAMPLE_EPOCHS=100)
    at = page("train", TINY).run()
    at.button(key="btn_train").click().run()
    assert not at.exception
    (error,) = [t for t in texts(at.error) if "too big for this server" in t]
    assert "160 training samples" in error and "limit is 100" in error
    assert "tb_runs" not in at.session_state or not at.session_state["tb_runs"]


def test_a_full_server_makes_the_run_wait_then_it_trains(server_env):
    from ui.server import server_slots

    server_env(TAPEBOARD_MAX_CONCURRENT=1)
    slots = server_slots()
    at = page("train", TINY, timeout=120).run()
    assert slots.try_acquire()  # somebody else's run holds the only slot...

    def finish_the_other_run():  # ...until our run has been told to wait (or 30 s, if never)
        deadline = time.monotonic() + 30
        while slots.refusals == 0 and time.monotonic() < deadline:
            time.sleep(0.05)
        slots.release()

    threading.Thread(target=finish_the_other_run, daemon=True).start()
    at.button(key="btn_train").click().run()
    assert not at.exception
    assert slots.refusals >= 1  # our run waited for the slot
    assert current(at).end.reason == "completed"
    assert slots.busy == 0  # and gave it back


def test_2d_data_gets_a_live_decision_boundary_and_images_do_not():
    at = page("train", TINY, timeout=120).run()
    at.button(key="btn_train").click().run()
    (boundary,) = boundary_charts(at)
    tables = [
        pa.ipc.open_stream(io.BytesIO(d.data.data)).read_all() for d in boundary.proto.datasets
    ]
    (image,) = [t.to_pylist() for t in tables if "url" in t.column_names]
    prefix = "data:image/png;base64,"
    assert len(image) == 1 and image[0]["url"].startswith(prefix)
    png = Image.open(io.BytesIO(base64.b64decode(image[0]["url"][len(prefix) :])))
    assert png.size == (32, 32)  # the model on the live grid, one pixel per point
    assert image[0]["x1"] < image[0]["x1_end"] and image[0]["x2"] < image[0]["x2_end"]
    digits = page("train", {"epochs": "1"}, timeout=120).run()
    digits.button(key="btn_train").click().run()
    assert not digits.exception and boundary_charts(digits) == []


def test_presentation_mode_hides_controls_and_summarizes_the_run():
    at = page("train", TINY, timeout=120).run()
    at.button(key="btn_train").click().run()
    at.toggle(key=[t.key for t in at.toggle if t.label == "Presentation mode"][0]).set_value(
        True
    ).run()
    assert not at.exception
    assert not [b for b in at.button if b.label in BUTTONS]
    (summary,) = [t for t in texts(at.markdown) if t.startswith("**Summary.**")]
    assert "Trained 1 epoch" in summary and "completed every epoch" in summary
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download chart (PNG)", "Download chart (SVG)"]


def test_chart_files_are_real_png_and_svg():
    from ui.export import chart_file

    at = page("train", TINY, timeout=120).run()
    at.button(key="btn_train").click().run()
    view = {"x": "step", "smooth": True, "smoothing": 0.6, "log": False}
    png = chart_file(current(at), view, "png")
    svg = chart_file(current(at), view, "svg")
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert svg.lstrip().startswith(b"<svg") and b"train loss" in svg
