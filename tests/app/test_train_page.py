"""Train page: Train / Pause / Resume / Stop / Step / Reset steer a run trained by the server's
worker processes; the page draws what the run recorded; a run's link shows it to anyone."""

from __future__ import annotations

import base64
import dataclasses
import functools
import html
import io
import json
import re
import time

import numpy as np
import pytest
from apptest_helpers import (
    TINY,
    app,
    chart_rows,
    chart_spec,
    charts,
    current,
    dataset_rows,
    descendants,
    elements,
    finished,
    page,
    paused,
    texts,
    train_to_end,
    wait_until,
)
from PIL import Image

from service import get_service
from ui import charts as charts_module
from ui.live import describe

# 2,000 XOR points: 1,600 train / 50 batches of 32 per epoch; 150 steps in all.
LONGER = {**TINY, "num_samples": "2000", "epochs": "3", "log_every": "10"}
BUTTONS = ["Train", "Pause", "Resume", "Stop", "Step", "Reset"]


def enabled(at) -> list[str]:
    return [b.label for b in at.button if b.label in BUTTONS and not b.disabled]


def loss_chart(at):
    (chart,) = [c for c in charts(at) if "loss_batches" in json.dumps(chart_spec(c))]
    return chart


def panel(at) -> str:
    """The HTML beside the chart: progress and the figures of the shown run, in the live
    view's element whether a worker trains the run or not."""
    assert not [e for e in elements(at, "html") if "tb-stats" in e.proto.body]
    return live_parts(at)["panel"]["first"]["panel"]


def stats(at) -> dict[str, str]:
    """The figures beside the chart, label -> value (bold parts as **x**)."""
    cells = re.findall(r"<tr><td>(.*?)</td><td>(.*?)</td></tr>", panel(at))
    bold = functools.partial(re.sub, r"</?strong>", "**")
    return {html.unescape(label): html.unescape(bold(value)) for label, value in cells}


def progress(at) -> tuple[int, int]:
    done, total = re.search(r"Step ([\d,]+) of ([\d,]+)", panel(at)).groups()
    return int(done.replace(",", "")), int(total.replace(",", ""))


def boundary_charts(at):
    return [c for c in charts(at) if '"x1_end"' in json.dumps(chart_spec(c))]


def test_default_render_offers_train_and_step_only():
    at = page("train").run()
    assert not at.exception
    assert [b.label for b in at.button] == BUTTONS
    assert enabled(at) == ["Train", "Step"]
    assert any("Press **Train**" in t for t in texts(at.info))
    # The empty charts a run will draw in (digits: no boundary): the browser loads the
    # charts' scripts with the page, not after the click.
    loss, metric = charts(at)
    # No rows, but each its frame and grid (two invisible points: charts.with_blank_frame).
    assert dataset_rows(loss) == {"loss_batches": 0, "loss_val": 0, "loss_hover": 0,
                                  "blank_frame": 2}  # fmt: skip
    assert dataset_rows(metric) == {"metric_epochs": 0, "blank_frame": 2}


def test_tiny_run_completes_and_its_history_is_drawn():
    at = page("train", TINY, timeout=120).run()
    run = train_to_end(at)
    assert not at.exception
    assert run.end.reason == "completed"
    assert len(run.history) == run.total_steps == 5
    assert any("finished: Completed 1 epoch." in t for t in texts(at.success))
    # Every batch is in the chart's data, again for the tooltip (the run has ended); the
    # validation point in its own dataset.
    assert dataset_rows(loss_chart(at)) == {"loss_batches": 5, "loss_val": 1, "loss_hover": 5,
                                            "blank_frame": 0}  # fmt: skip
    assert progress(at) == (5, 5)
    numbers = stats(at)
    assert numbers["Epoch"] == "**1 / 1**"
    assert numbers["Seen so far"] == "160 samples"
    assert numbers["ETA"] == "done"
    final = run.end.metrics
    assert numbers["Validation loss"].startswith(f"**{final['val_loss']:.4g}** (best ")
    assert numbers["Validation accuracy"].startswith(f"**{final['val_accuracy']:.4g}** (best ")
    assert enabled(at) == ["Train", "Step", "Reset"]
    assert at.query_params["run"] == run.id  # a reload (or the link) finds the run again


def test_step_pauses_after_one_interval_then_resume_finishes():
    at = page("train", LONGER, timeout=120).run()
    at.button(key="btn_step").click().run()
    run = wait_until(at, paused)
    assert not at.exception
    assert (len(run.history), run.status) == (10, "paused")
    assert run.model_bytes is not None  # a paused run's model, for Evaluate
    assert enabled(at) == ["Resume", "Stop", "Step", "Reset"]
    at.button(key="btn_step").click().run()
    wait_until(at, lambda r: paused(r) and len(r.history) == 20)
    assert len(run.history) == 20
    at.button(key="btn_resume").click().run()
    wait_until(at, finished)
    assert run.end.reason == "completed"
    steps = run.history.batches()["step"].tolist()
    assert steps == list(range(150))  # nothing lost or repeated across pauses


def test_stop_keeps_what_was_learned():
    at = page("train", LONGER, timeout=120).run()
    at.button(key="btn_step").click().run()
    wait_until(at, paused)
    at.button(key="btn_stop").click().run()
    run = wait_until(at, finished)
    assert not at.exception
    assert run.end.reason == "stopped"
    # The batches the engine had already computed in its chunk still arrive, then the end.
    assert 10 <= len(run.history) == run.end.step + 1 < run.total_steps
    assert run.history.batches()["step"].tolist() == list(range(len(run.history)))
    assert run.model_bytes is not None and run.model_step == run.end.step
    assert any("stopped" in t for t in texts(at.warning))


def status_place(at, run) -> int:
    """The place, among the page's top-level blocks, of the one that holds the run's status
    box (the live view's fragment)."""
    for index, node in at.main.children.items():
        for element in [node, *descendants(node)]:
            kind = getattr(element, "type", None)
            if kind in ("info", "success", "warning", "error") and str(element.value).startswith(
                run.name
            ):
                return index
    raise AssertionError(f"no status box for {run.name} in the page")


def test_the_live_view_keeps_its_place_whatever_the_run_shows_above_it():
    # The live fragments are addressed by their place in the page: a redraw that lands after
    # a rerun has moved them crashed the browser's page to a white screen. Above them, a caption
    # shows while the run trains and not once it has ended.
    at = page("train", LONGER, timeout=120).run()
    at.button(key="btn_step").click().run()
    run = wait_until(at, paused)
    assert any("trains on the server" in t for t in texts(at.caption))
    place = status_place(at, run)
    at.button(key="btn_stop").click().run()
    wait_until(at, finished)
    assert not any("trains on the server" in t for t in texts(at.caption))
    assert status_place(at, run) == place


def record(calls: list):
    """A stand-in for ui.timer.rerun_fragment_every that notes (seconds, fragment id)."""
    return lambda seconds, fragment_id=None: calls.append((seconds, fragment_id))


def test_a_run_that_ends_while_the_page_draws_has_the_buttons_redrawn(monkeypatch):
    # The run ends after the buttons are drawn (Train disabled) and before the live view: the
    # live view, which draws it stopped, must have the buttons' fragment redrawn. Once the
    # page was left saying "stopped" with Train disabled and nothing to redraw it (a CI
    # failure of the browser test of Stop).
    import ui.copy_link
    import ui.timer

    at = page("train", LONGER, timeout=120).run()
    at.button(key="btn_step").click().run()
    run = wait_until(at, paused)
    share = ui.copy_link.share_link_box

    def stop_then_share(*args, **kwargs):  # drawn after the buttons, before the live view
        get_service().command(run.id, "stop", run.owner)
        deadline = time.monotonic() + 60
        while not run.finished:
            assert time.monotonic() < deadline, "the run did not stop"
            time.sleep(0.02)
        return share(*args, **kwargs)

    timers = []
    monkeypatch.setattr(ui.copy_link, "share_link_box", stop_then_share)
    monkeypatch.setattr(ui.timer, "rerun_fragment_every", record(timers))
    at.run()
    assert not at.exception
    assert "Train" not in enabled(at)  # the buttons of the paused run...
    assert any("stopped" in t for t in texts(at.warning))  # ...above a stopped run
    # ...and the browser told to redraw the buttons' fragment at once
    nudged = [fragment for seconds, fragment in timers if seconds == ui.timer.NUDGE_S]
    assert nudged and all(nudged), "nothing will bring the buttons up to date"
    monkeypatch.undo()
    at.run()
    assert "Train" in enabled(at)


def has_tooltip(at) -> bool:
    return dataset_rows(loss_chart(at))["loss_hover"] > 0


def live_parts(at) -> dict[str, dict]:
    """The parts of the live view the browser keeps live itself (ui.live_feed) by role
    ("chart", "panel"): the data each was drawn with."""
    parts = {}
    for element in elements(at, "bidi_component"):
        if element.proto.component_name == "tapeboard_live_run":
            data = json.loads(element.proto.json)
            parts[data["role"]] = data
    return parts


def layers(spec: dict) -> list:
    return spec["layer"]


def chart_places(at) -> dict[tuple[int, ...], str]:
    """Each chart's spec (its rows aside) by its place in the page's tree, the address by
    which the browser keeps the chart it drew there; the live loss chart's as its spec."""
    places = {}

    def walk(node, path):
        for index, child in getattr(node, "children", {}).items():
            if getattr(child, "type", None) == "vega_lite_chart":
                places[(*path, index)] = child.proto.spec
            if getattr(child, "type", None) == "bidi_component":
                data = json.loads(child.proto.json)
                if data.get("spec"):
                    places[(*path, index)] = data["spec"]
            walk(child, (*path, index))

    walk(at._tree, ())
    return places


def epochs_recorded(run) -> int:
    with run.lock:
        return len(run.history.epochs())


def test_a_run_fills_in_the_charts_of_the_empty_page_and_never_draws_new_ones():
    # The browser compiles a chart and builds its view anew whenever the element at a place
    # changes kind or spec, a tenth of a second of its main thread on a 2-core box (taken
    # from the worker starting to train beside it, and from other visitors' pages). The empty
    # page's charts, a run's live ones and the ended run's are one element per chart
    # (ui.live_feed): the browser fills in the three views it has.
    at = page("train", {**LONGER, "epochs": "1000"}, timeout=120).run()
    empty = chart_places(at)
    assert len(empty) == 3  # loss, epoch metric, and (xor is 2-D) the boundary with the points
    assert all(isinstance(spec, dict) for spec in empty.values())  # kept by the browser
    assert {data["url"] for data in live_parts(at).values() if "url" in data} == {None}
    boundary = dataset_rows(boundary_charts(at)[0])
    assert boundary["boundary_points"] > 0 and boundary["boundary_grid"] == 1  # blank image
    at.button(key="btn_train").click().run()
    # The run's history under its lock, as the app reads it: the service's thread appends to it.
    wait_until(at, lambda run: run.steps_done > 0 and epochs_recorded(run) > 0)
    # While it trains, each chart is the same element, at the same place, with the same spec:
    # only its rows and the feed it follows are new.
    assert chart_places(at) == empty
    parts = live_parts(at)
    assert [layers(parts[role]["spec"]) for role in ("loss", "metric")] == [
        layers(charts_module.live_loss_spec()),
        layers(charts_module.live_metric_spec("accuracy")),
    ]
    # each part is sent with its own rows only
    assert [set(parts[role]["first"]["charts"]) for role in ("loss", "metric", "panel")] == [
        {"loss"},
        {"metric"},
        set(),
    ]
    first = {role: parts[role]["first"]["charts"][role] for role in ("loss", "metric", "boundary")}
    assert not first["loss"]["loss_hover"]["step"]  # no tooltip rows while it trains
    assert first["metric"]["metric_epochs"]["epoch"] and first["boundary"]["boundary_points"]["x1"]
    at.button(key="btn_stop").click().run()
    wait_until(at, finished)
    # Ended: the same again, with the tooltip's rows and no feed to follow.
    assert chart_places(at) == empty and has_tooltip(at)
    assert {data["url"] for data in live_parts(at).values() if "url" in data} == {None}


def test_the_fragment_redraws_while_the_run_trains_slower_paused_and_stops_at_the_end(
    monkeypatch,
):
    import ui.timer

    calls = []
    monkeypatch.setattr(ui.timer, "rerun_fragment_every", record(calls))

    def live_timer(at) -> float | None:
        """The live view's timer in a page run: the buttons' fragment stops its own as it
        starts (a nudge's), the live view sets its own, and nothing nudges the buttons when
        they were drawn for the run as the live view reads it."""
        del calls[:]
        at.run()
        (stop, live) = calls
        assert stop == (None, None) and live[1] is None
        return live[0]

    at = page("train", {**LONGER, "epochs": "1000"}, timeout=120).run()
    assert live_timer(at) is None  # no run: nothing to redraw
    at.button(key="btn_step").click().run()
    wait_until(at, paused)
    assert live_timer(at) == 1.0  # paused: resumable from another tab, so still looked at
    assert has_tooltip(at)
    at.button(key="btn_resume").click().run()
    wait_until(at, lambda r: r.status == "running")
    # the browser keeps the loss chart and figures live; the page redraws the rest slower
    assert live_timer(at) == 15.0  # only should the browser's own updates stall
    assert set(live_parts(at)) == {"loss", "metric", "boundary", "panel"}
    at.button(key="btn_stop").click().run()
    wait_until(at, finished)
    assert live_timer(at) is None and has_tooltip(at)  # ended: nothing more to redraw


def test_leaving_the_page_does_not_pause_the_run():
    at = app({**LONGER, "epochs": "20"}, timeout=120).run()
    at.switch_page("pages/train.py").run()
    at.button(key="btn_train").click().run()
    run = current(at)
    at.switch_page("pages/runs.py").run()
    assert not at.exception
    wait_until(at, finished)  # nobody on the Train page: the worker trains on
    assert run.end.reason == "completed"
    assert len(run.history) == 1000
    at.switch_page("pages/train.py").run()
    assert any("run 1 finished" in t for t in texts(at.success))


def test_reset_puts_the_run_aside():
    at = page("train", TINY, timeout=120).run()
    run = train_to_end(at)
    at.button(key="btn_reset").click().run()
    assert not at.exception
    assert enabled(at) == ["Train", "Step"]
    assert "run" not in at.query_params
    assert get_service().runs_of(at.session_state["tb_browser"]) == [run]


def test_view_controls_redraw_a_finished_run():
    at = page("train", TINY, timeout=120).run()
    train_to_end(at)
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
    run = train_to_end(at)
    assert not at.exception
    assert run.end.reason == "diverged"
    assert any("diverged" in t for t in texts(at.error))
    evaluate = page("evaluate", {"run": run.id}, timeout=120).run()  # its scores say little
    assert not evaluate.exception
    (warning,) = [t for t in texts(evaluate.warning) if "diverged" in t]
    assert "scores say little" in warning and "lower learning rate" in warning


@pytest.fixture
def server_settings():
    """Change the running service's settings for one test, put them back afterwards."""
    runner = get_service()
    saved = runner.settings

    def change(**values):
        runner.settings = dataclasses.replace(saved, **values)

    yield change
    runner.settings = saved


def test_a_run_over_the_servers_budget_is_refused_with_the_numbers(server_settings):
    server_settings(max_sample_epochs=100)
    at = page("train", TINY).run()
    assert not at.exception
    # Said before Train is pressed (and Train is off), in plain words: no Markdown marks.
    (error,) = [t for t in texts(at.error) if "too big for this server" in t]
    assert "160 training samples" in error and "limit is 100" in error and "`" not in error
    assert at.button(key="btn_train").disabled and at.button(key="btn_step").disabled
    assert not any("Press **Train**" in t for t in texts(at.info))  # not while it cannot be
    assert current(at) is None


def test_a_press_on_a_train_drawn_before_the_budget_changed_is_refused(server_settings):
    at = page("train", TINY).run()
    server_settings(max_sample_epochs=100)
    at.button(key="btn_train").click().run()
    assert current(at) is None
    assert any("Cannot train" in t and "limit is 100" in t for t in texts(at.error))


def test_a_model_over_the_parameter_budget_is_refused_before_it_is_built(server_settings):
    server_settings(max_params=1_000)
    at = page("train", {**TINY, "hidden_units": "64,64"}).run()
    (error,) = [t for t in texts(at.error) if "too big for this server" in t]
    assert "4,482 parameters" in error and "1,000" in error
    assert at.button(key="btn_train").disabled
    assert current(at) is None


def test_the_model_page_says_a_run_is_too_big_before_train_is_pressed(server_settings):
    at = page("model", TINY).run()
    assert any("Config is valid" in t for t in texts(at.success))
    server_settings(max_sample_epochs=100)
    at = page("model", TINY).run()
    assert not at.exception and not at.success
    (error,) = [t for t in texts(at.error) if "too big for this server" in t]
    assert "limit is 100" in error


def test_a_full_server_makes_the_run_wait_then_it_trains():
    runner = get_service()
    assert runner.wait_until_ready()
    from trainer.config import RunConfig
    from ui.page_data import load_registry, with_validation

    # Somebody else's long runs hold every worker...
    long = RunConfig(dataset="xor", num_samples=2000, epochs=1000, batch_size=8)
    data = with_validation(load_registry("xor", 0.0, 2000, 0), long)
    others = [
        runner.start(long, data, owner="somebody-else")
        for _ in range(runner.settings.max_concurrent)
    ]
    try:
        while any(other.status == "queued" for other in others):
            time.sleep(0.02)  # the others start within a moment
        at = page("train", TINY, timeout=120).run()
        at.button(key="btn_train").click().run()
        assert current(at).status == "queued"
        assert any("waiting for a free worker: both workers are" in t for t in texts(at.warning))
        assert enabled(at) == ["Pause", "Stop", "Reset"]
        at.button(key="btn_pause").click().run()  # paused in line: it says so, Resume is on
        assert any("It will start paused" in t for t in texts(at.warning))
        assert enabled(at) == ["Resume", "Stop", "Step", "Reset"]
        at.button(key="btn_resume").click().run()
        assert not any("start paused" in t for t in texts(at.warning))
        assert enabled(at) == ["Pause", "Stop", "Reset"]
    finally:
        for other in others:  # ...until they end
            runner.command(other.id, "stop", "somebody-else")
    run = wait_until(at, finished)
    assert run.end.reason == "completed"
    assert all(other.end.reason == "stopped" for other in others)


def boundary_png(at) -> tuple[dict, Image.Image]:
    """The live boundary's image row and its PNG."""
    (boundary,) = boundary_charts(at)
    data = json.loads(boundary.proto.json)
    tables = data["first"]["charts"]["boundary"].values()
    (image,) = [
        [dict(zip(t, row, strict=True)) for row in zip(*t.values())] for t in tables if "url" in t
    ]
    prefix = "data:image/png;base64,"
    assert len(image) == 1 and image[0]["url"].startswith(prefix)
    return image[0], Image.open(io.BytesIO(base64.b64decode(image[0]["url"][len(prefix) :])))


def test_2d_data_gets_a_live_decision_boundary_and_images_do_not():
    at = page("train", TINY, timeout=120).run()
    train_to_end(at)
    image, png = boundary_png(at)
    assert png.size == (32, 32)  # the model on the live grid, one pixel per point
    assert image["x1"] < image["x1_end"] and image["x2"] < image["x2_end"]
    shades = len(np.unique(np.asarray(png.convert("RGB")).reshape(-1, 3), axis=0))
    # Discretize: each point in its class's colour, as Playground's "Discretize output".
    at.toggle(key="w_view_discretize").set_value(True).run()
    _, sharp = boundary_png(at)
    sharp_colours = np.unique(np.asarray(sharp.convert("RGB")).reshape(-1, 3), axis=0)
    assert sharp.size == (128, 128) and len(sharp_colours) <= 2 < shades  # 4x finer, 2 colours
    digits = page("train", {"epochs": "1"}, timeout=120).run()
    train_to_end(digits)
    assert not digits.exception and boundary_charts(digits) == []
    assert "w_view_discretize" not in [t.key for t in digits.toggle]  # nothing to discretize


def test_presentation_mode_hides_controls_and_summarizes_the_run():
    at = page("train", TINY, timeout=120).run()
    train_to_end(at)
    at.toggle(key=[t.key for t in at.toggle if t.label == "Presentation mode"][0]).set_value(
        True
    ).run()
    assert not at.exception
    assert not [b for b in at.button if b.label in BUTTONS]
    (summary,) = [t for t in texts(at.markdown) if t.startswith("**Summary.**")]
    assert "Trained 1 epoch" in summary and "completed every epoch" in summary
    labels = [b.label for b in at.get("download_button")]
    assert labels == ["Download chart (PNG)", "Download chart (SVG)"]


def test_presenting_a_running_run_shows_the_audience_no_operator_notes():
    at = page("train", {**TINY, "epochs": "2000"}, timeout=120).run()
    at.button(key="btn_train").click().run()
    run = wait_until(at, lambda r: r is not None and r.status == "running")
    note = "The run trains on the server"
    assert any(note in t for t in texts(at.caption))  # for the one who runs it
    (status,) = [t for t in texts(at.info) if t.startswith("run ")]
    assert status.startswith(f"{run.name}: ") and "xor, hidden " in status
    assert "strategy" not in status and "replica" not in status  # one device: nothing to say
    at.toggle(key=[t.key for t in at.toggle if t.label == "Presentation mode"][0]).set_value(
        True
    ).run()
    assert not at.exception
    assert not any(note in t for t in texts(at.caption))
    get_service().command(run.id, "stop", run.owner)


def test_presentation_mode_before_any_run_does_not_ask_for_a_hidden_button():
    at = page("train", {**TINY, "present": "1"}).run()
    assert not at.exception and not [b for b in at.button if b.label in BUTTONS]
    (info,) = texts(at.info)
    assert "leave presentation mode and press **Train**" in info


def test_chart_files_are_real_png_and_svg():
    from ui.downloads import chart_file

    at = page("train", TINY, timeout=120).run()
    run = train_to_end(at)
    view = {"x": "step", "smooth": True, "smoothing": 0.6, "log": False}
    png = chart_file(run, view, "png")
    svg = chart_file(run, view, "svg")
    assert png.startswith(b"\x89PNG") and len(png) > 10_000
    assert svg.lstrip().startswith(b"<svg") and b"train (smoothed)" in svg


def test_a_runs_link_shows_it_to_anyone_read_only():
    owner = page("train", LONGER, timeout=120).run()
    run = train_to_end(owner)
    viewer = page("train", {"run": run.id}, timeout=120).run()  # another browser, the link
    assert not viewer.exception
    assert any(f"{run.name} finished" in t for t in texts(viewer.success))
    assert sorted(chart_rows(loss_chart(viewer))) == sorted(chart_rows(loss_chart(owner)))
    assert any("You are watching run 1" in t for t in texts(viewer.caption))
    # Train (their own run) and Reset; Step, like Pause and Stop, is the owner's.
    assert enabled(viewer) == ["Train", "Reset"]
    # They came to watch: the chart options are folded away (the owner's are not).
    assert "Chart options" in [e.label for e in viewer.expander]
    assert "Chart options" not in [e.label for e in owner.expander]
    # ...and Train is not the page's big blue button for them (on a phone it led the page).
    assert owner.button(key="btn_train").proto.type == "primary"
    assert viewer.button(key="btn_train").proto.type == "secondary"
    presenting = page("train", {"run": run.id, "present": "1"}, timeout=120).run()
    (caption,) = [t for t in texts(presenting.caption) if "You are watching" in t]
    assert "Train starts" not in caption  # its button is hidden there
    assert viewer.session_state["tb_draft"]["num_samples"] == 2000  # Train again: its config
    with pytest.raises(PermissionError):
        get_service().command(run.id, "stop", viewer.session_state["tb_browser"])


def test_the_owner_keeps_the_controls_in_a_new_session():
    at = page("train", LONGER, timeout=120).run()
    at.button(key="btn_step").click().run()
    run = wait_until(at, paused)
    again = page("train", {"run": run.id}, timeout=120)  # a reload: same browser key (cookie)
    again.session_state["tb_browser"] = at.session_state["tb_browser"]
    again.run()
    assert enabled(again) == ["Resume", "Stop", "Step", "Reset"]
    again.button(key="btn_stop").click().run()
    assert wait_until(again, finished).end.reason == "stopped"


def test_a_link_to_a_run_this_server_does_not_have_says_so():
    at = page("train", {"run": "no-such-run"}).run()
    assert not at.exception
    assert any(
        "No run on this server has this link: it was deleted" in t for t in texts(at.warning)
    )
    assert "run" not in at.query_params


def test_a_playground_link_with_input_features_trains_a_linear_model_on_the_circle():
    """TensorFlow Playground's classic: X1² and X2², no hidden layer, and the ring is learned;
    the worker draws the boundary of the model (which takes the raw points) as it trains."""
    link = {"dataset": "circle", "num_samples": "300", "features": "x1sq,x2sq",
            "hidden_units": "", "optimizer": "adam", "learning_rate": "0.1",
            "batch_size": "16", "epochs": "15"}  # fmt: skip
    at = page("train", link, timeout=120).run()
    run = train_to_end(at)
    assert not at.exception
    assert run.end.reason == "completed"
    assert describe(run.config).startswith("circle, features X₁², X₂², hidden none relu")
    assert run.end.metrics["val_accuracy"] > 0.95
    image, png = boundary_png(at)
    pixels = np.asarray(png).reshape(-1, len(png.getbands()))
    assert png.size == (32, 32) and len(np.unique(pixels, axis=0)) > 2  # shades of the output
