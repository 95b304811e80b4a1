"""Evaluate page: scores, confusion, boundary, try-the-model and the exported script."""

from __future__ import annotations

import ast

from apptest_helpers import (
    TINY,
    app,
    chart_spec,
    charts,
    current,
    finished,
    page,
    shared_links,
    texts,
    train_to_end,
    wait_until,
)

from ui.text import plain


def trained(params: dict[str, str]):
    at = app(params, timeout=120).run()
    at.switch_page("pages/train.py").run()
    train_to_end(at)
    at.switch_page("pages/evaluate.py").run()
    assert not at.exception
    return at


def keras_model(run):
    """The run's model, loaded here from its bytes (the page has the task worker do it)."""
    import tempfile
    from pathlib import Path

    import keras

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "model.keras"
        path.write_bytes(run.model_bytes)
        return keras.saving.load_model(path, compile=False)


def test_no_model_yet():
    at = page("evaluate").run()
    assert not at.exception
    assert any("No trained model yet" in t for t in texts(at.info))


def test_an_evaluation_link_shows_that_run_to_another_browser():
    owner = trained({**TINY, "epochs": "2"})
    theirs = current(owner)
    assert owner.query_params["run"] == theirs.id  # the address bar links this evaluation
    assert shared_links(owner)[-1].endswith(f"?run={theirs.id}")  # "Share this evaluation"
    viewer = trained(TINY)  # another browser, with a run of its own (its newest)
    mine = current(viewer)
    assert viewer.selectbox(key="tb_evaluate_run").value == mine.id
    viewer.query_params["run"] = theirs.id  # ...opens the owner's link
    viewer.run()
    assert not viewer.exception
    assert viewer.selectbox(key="tb_evaluate_run").value == theirs.id
    assert viewer.query_params["run"] == theirs.id
    metrics = {m.label: m.value for m in owner.metric}
    assert {m.label: m.value for m in viewer.metric} == metrics
    assert viewer.session_state["tb_draft"]["epochs"] == 1  # a session of its own: its config
    fresh = page("evaluate", {"run": theirs.id}).run()  # a fresh browser: the run's config,
    assert fresh.session_state["tb_draft"]["epochs"] == 2  # so Train trains it again
    assert {m.label: m.value for m in fresh.metric} == metrics
    viewer.selectbox(key="tb_evaluate_run").set_value(mine.id).run()  # and can go back
    assert viewer.query_params["run"] == mine.id


def test_the_run_list_is_this_browsers_runs_in_the_store_newest_chosen():
    # After a restart the server holds in memory only the runs opened since: the list came
    # from memory (one run of many), in the order they were read back (the default "newest"
    # was whichever came last).
    from service import get_service

    at = trained(TINY)
    first = current(at)
    at.switch_page("pages/train.py").run()
    second = train_to_end(at)
    service = get_service()
    service.keeper.writer.flush()
    with service._lock:  # as a restart leaves it: neither run in memory...
        for run in (first, second):
            service._runs.pop(run.id)
    assert service.get(first.id) is not None  # ...then the older one opened again
    at.switch_page("pages/evaluate.py").run()
    assert not at.exception
    picker = at.selectbox(key="tb_evaluate_run")
    assert picker.options[-2:] == [f"{first.name} (completed)", f"{second.name} (completed)"]
    assert picker.value == second.id


def test_an_evaluation_link_to_a_run_the_server_lacks_says_so():
    at = page("evaluate", {"run": "no-such-run"}).run()
    assert not at.exception
    assert any(
        "No run on this server has this link: it was deleted" in t for t in texts(at.warning)
    )
    assert "run" not in at.query_params


def test_classification_on_2d_data_shows_scores_confusion_and_boundary():
    at = trained({**TINY, "epochs": "3", "optimizer": "adam", "learning_rate": "0.05"})
    metrics = {m.label: m.value for m in at.metric}
    assert metrics["Samples"] == "40"  # xor 200 points, 20% validation
    run = current(at)
    from trainer.evaluate import classify

    expected = classify(keras_model(run), run.dataset).accuracy
    assert metrics["Accuracy (validation)"] == f"{expected:.1%}"
    marks = [chart_spec(c).get("layer", [{}])[0].get("mark", {}) for c in charts(at)]
    assert {"type": "rect"} in [{"type": m.get("type")} for m in marks]  # heatmaps
    per_class = at.dataframe[0].value
    assert per_class["class"].tolist() == ["-1", "+1"]
    assert per_class["support"].sum() == 40
    assert "Decision boundary" in [h.value for h in at.subheader]


def test_trying_a_sample_and_typing_features_changes_the_prediction():
    at = trained(TINY)
    bars = [c for c in charts(at) if chart_spec(c).get("mark", {}).get("type") == "bar"]
    assert len(bars) == 1
    at.number_input(key="try_index").set_value(3).run()
    assert not at.exception
    assert [n.label for n in at.number_input][1:] == ["x1", "x2"]


def test_the_true_value_shows_for_the_sample_only_not_for_typed_values():
    at = trained(TINY)
    at.number_input(key="try_index").set_value(3).run()
    run = current(at)
    label = run.dataset.class_names[run.dataset.y_val[3]]
    captions = [c.value for c in at.caption]
    assert f"True value: {plain(label)}" in captions  # as markdown: "\\+1"
    typed = at.number_input(key="try_3_x1")
    typed.set_value(typed.value + 2.5).run()
    captions = [c.value for c in at.caption]
    assert not any(c.startswith("True value") for c in captions)
    assert "Your own input: it has no true value to compare with." in captions


def test_exported_script_is_offered_and_is_python():
    at = trained(TINY)
    (button,) = [b for b in at.get("download_button") if "training script" in b.label]
    source = [c.value for c in at.code if "GradientTape" in c.value][0]
    ast.parse(source)
    assert "import trainer" not in source and "streamlit" not in source
    assert any("using only TensorFlow and NumPy. Run" in c.value for c in at.caption)


def test_the_digits_script_says_it_needs_scikit_learn_too():
    at = trained({"dataset": "digits", "epochs": "1", "batch_size": "256"})
    source = [c.value for c in at.code if "GradientTape" in c.value][0]
    assert "from sklearn.datasets import load_digits" in source
    assert any("TensorFlow and NumPy (and scikit-learn" in c.value for c in at.caption)


def test_regression_shows_predicted_vs_true_and_residuals():
    at = trained(
        {
            "dataset": "plane",
            "task": "regression",
            "num_samples": "200",
            "epochs": "1",
            "batch_size": "32",
        }
    )
    assert {"MSE", "MAE", "Samples", "Prediction"} <= {m.label for m in at.metric}
    assert {"Predicted vs true", "Residuals", "Decision boundary"} <= {
        h.value for h in at.subheader
    }


def test_a_run_whose_worker_died_before_it_kept_a_model_says_so_not_still_training():
    import os
    import signal

    from service import get_service

    at = page("train", {**TINY, "num_samples": "2000", "epochs": "500"}, timeout=120).run()
    at.button(key="btn_train").click().run()
    run = wait_until(at, lambda r: r is not None and len(r.history) > 0)
    (worker,) = [w for w in get_service().pool.snapshot() if w.run_id == run.id]
    os.kill(worker.pid, signal.SIGKILL)
    wait_until(at, finished)
    assert run.end.reason == "failed" and run.model_bytes is None
    viewer = page("evaluate", {"run": run.id}).run()
    assert not viewer.exception
    (info,) = texts(viewer.info)[:1]
    assert "before it kept a model" in info and "Resume" in info and "still training" not in info
