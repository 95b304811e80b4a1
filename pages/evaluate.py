"""Evaluate page: what the trained model does, where it fails, try it, and take its code home.

Works on any run of this browser (or opened by link) that has a model: finished, stopped, or
paused mid-training (the model as of its pause; the worker sends it then). The URL carries the
chosen run (`run=<id>`), so the address bar is a link to this evaluation: anyone who opens it,
in a fresh browser or after a restart, sees the same run evaluated. All computing is in
`trainer.evaluate`; this page only picks, draws and offers downloads.
"""

from __future__ import annotations

import numpy as np
import streamlit as st

from service import Run
from service.records import RunSummary
from service.runs import resumable
from ui import common, insight_charts, page_data, share, state
from ui.copy_link import share_link_box
from ui.images import read_image
from ui.text import plain

GALLERY = 16  # misclassified samples shown
BOUNDARY_GRID = 60  # cells per side of the decision boundary
MAX_TYPED_FEATURES = 16  # above this, typing values in is no way to try a model


RUN_KEY = "tb_evaluate_run"  # the chosen run's id (the selectbox's state)


def evaluable_runs() -> list[RunSummary]:
    """This browser's runs (and those it opened by link) that have a model, oldest first: from
    the store's summaries, not the runs this server happens to hold in memory (after a
    restart that was the few opened since, and a listing that loaded them all put them in
    the order it had)."""
    return sorted((s for s in state.run_summaries() if s.has_model), key=lambda s: s.created)


def choose(runs: list[RunSummary], linked: Run | None) -> str | None:
    """The run to show: the one a new link names, else the one chosen before, else the
    newest. Set before the selectbox is drawn, so the URL can carry it from the page's top."""
    ids = [r.id for r in runs]
    if linked is not None and linked.id in ids:
        st.session_state[RUN_KEY] = linked.id
    elif st.session_state.get(RUN_KEY) not in ids:
        st.session_state[RUN_KEY] = ids[-1] if ids else None
    chosen = st.session_state[RUN_KEY]
    if chosen is not None:
        state.linked_runs().add(chosen)  # in the URL by this page: no news on the next run
    return chosen


def pick_run(runs: list[RunSummary], linked: Run | None) -> Run | None:
    """The chosen run, read whole (history, model, data) only now: the list is summaries."""
    if linked is not None and linked.id not in {r.id for r in runs}:
        st.info(why_not_evaluable(linked))
    if not runs:
        if linked is None:
            st.info(
                "No trained model yet: press **Train** on the Train page, then come back (a "
                "run that is training shows here once it pauses or ends)."
            )
        return None
    # Labels made now, in this page run: the widget may format its value later, elsewhere.
    titles = {r.id: title(r) for r in runs}
    chosen = st.selectbox("Run", list(titles), key=RUN_KEY, format_func=titles.__getitem__)
    run = state.service().get(chosen)
    if run is None:
        st.warning(state.MISSING_RUN)
        return None
    if run.model_bytes is None or run.dataset is None:
        st.info(why_not_evaluable(run))
        return None
    return run


def why_not_evaluable(run: Run) -> str:
    """Why a run has no evaluation to show (no model, or its data not kept), for people."""
    if run.end is None:
        return f"{run.name} is still training: its evaluation shows here once it pauses or ends."
    if resumable(run.end):  # its server stopped or its worker died before it kept a model
        return (
            f"{run.name} stopped training ({run.end.reason}) before it kept a model: press "
            "Resume on the Train page, and its evaluation shows here once it pauses or ends."
        )
    if run.model_bytes is None:
        return f"{run.name} {run.end.reason} without a model to evaluate."
    return f"{run.name}'s data is not on this server any more: it cannot be evaluated here."


def title(run: RunSummary) -> str:
    """ "run 3 (completed)"; "run 3 (shared, completed)" for someone else's run."""
    status = run.state.replace("_", " ")
    return f"{run.name} ({status})" if state.owns(run) else f"{run.name} (shared, {status})"


def share_box(run: Run) -> None:
    with st.sidebar:
        st.caption("Share this evaluation (anyone with the link sees it, read-only)")
        base = st.context.url or ""
        share_link_box(f"{base}?{share.run_query(run.id)}", key="tb_share_evaluation")


@st.cache_data(max_entries=32, show_spinner="Evaluating the model...")
def evaluate(task: str, key: tuple, _run: Run, *args) -> object:
    """A `service.tasks` call on the run's model and data, once per model (`key`: the run and
    the step its model is from). The task worker computes it: this process has no TensorFlow."""
    return state.service().call(task, _run.model_ref(), _run.data_ref(), *args)


def model_key(run: Run) -> tuple:
    return run.id, run.model_step


def show_classification(run: Run) -> None:
    result = evaluate("classify", model_key(run), run)
    split = "validation" if run.dataset.num_val else "training"
    cols = st.columns(3)
    cols[0].metric(f"Accuracy ({split})", f"{result.accuracy:.1%}")
    cols[1].metric("Mistakes", f"{int((result.y_true != result.y_pred).sum()):,}")
    cols[2].metric("Samples", f"{len(result.y_true):,}")
    left, right = st.columns([3, 2], gap="large")
    with left:
        st.subheader("Confusion matrix")
        normalized = st.toggle("Row-normalised (share of each true class)", value=False)
        # "content": the chart's own size (square cells), not the column's width.
        st.altair_chart(
            insight_charts.confusion_heatmap(result.confusion_frame(), normalized), width="content"
        )
    with right:
        st.subheader("Per class")
        st.dataframe(
            result.per_class().style.format(
                {"precision": "{:.1%}", "recall": "{:.1%}", "f1": "{:.3f}"}
            ),
            hide_index=True,
            width="stretch",
        )
    if run.dataset.is_image:
        show_mistakes(run, result)


def show_mistakes(run: Run, result) -> None:
    st.subheader("Most confident mistakes")
    wrong = result.misclassified(GALLERY)
    if not len(wrong):
        st.success(f"No misclassified {'validation' if run.dataset.num_val else ''} samples.")
        return
    x = run.dataset.x_val if run.dataset.num_val else run.dataset.x_train
    names = result.class_names
    images = [_as_image(x[i], run.dataset.scale) for i in wrong]
    captions = [
        f"true {names[result.y_true[i]]}, predicted {names[result.y_pred[i]]} "
        f"({result.confidence[i]:.0%})"
        for i in wrong
    ]
    st.image(images, caption=captions, width=96)


def _as_image(x: np.ndarray, scale: float) -> np.ndarray:
    """A sample as a displayable uint8 image, upscaled so 8x8 digits are visible."""
    pixels = np.clip(np.asarray(x, dtype=np.float32) * scale * 255, 0, 255).astype(np.uint8)
    factor = max(1, 96 // max(pixels.shape[:2]))
    return np.kron(pixels, np.ones((factor, factor), dtype=np.uint8))


def show_regression(run: Run) -> None:
    frame = evaluate("regression_frame", model_key(run), run)
    cols = st.columns(3)
    cols[0].metric("MSE", f"{float(np.mean(frame['residual'] ** 2)):.4g}")
    cols[1].metric("MAE", f"{float(np.mean(np.abs(frame['residual']))):.4g}")
    cols[2].metric("Samples", f"{len(frame):,}")
    left, right = st.columns(2, gap="large")
    left.subheader("Predicted vs true")
    left.altair_chart(insight_charts.predicted_vs_true(frame), width="content")
    right.subheader("Residuals")
    right.altair_chart(insight_charts.residual_histogram(frame), width="stretch")


def show_boundary(run: Run) -> None:
    from trainer.evaluate import grid_axes

    st.subheader("Decision boundary")
    ds = run.dataset
    axes = grid_axes(ds, resolution=BOUNDARY_GRID)
    values = evaluate("decision_values", model_key(run), run, BOUNDARY_GRID)
    points = page_data.points_frame(ds)
    chart = insight_charts.boundary_chart(
        axes, values, points, ds.task, ds.class_names, target_domain=page_data.target_domain(ds)
    )
    st.altair_chart(chart, width="content")  # square: its own size, not the page's width


def try_the_model(run: Run) -> None:
    from trainer.evaluate import softmax

    st.subheader("Try the model")
    ds = run.dataset
    x_pool = ds.x_val if ds.num_val else ds.x_train
    y_pool = ds.y_val if ds.num_val else ds.y_train
    index = st.number_input(
        f"Sample number (0 to {len(x_pool) - 1})", 0, len(x_pool) - 1, 0, key="try_index"
    )
    sample = np.asarray(x_pool[index])
    left, right = st.columns([1, 2], gap="large")
    with left:
        if ds.is_image:
            st.image(_as_image(sample, ds.scale), caption=f"sample {index}", width=160)
            upload = st.file_uploader("...or upload an image", type=["png", "jpg", "jpeg"])
            if upload is not None:
                invert = st.toggle("Invert (dark digit on light)")
                try:
                    sample = image_to_sample(upload, ds, invert)
                    st.image(_as_image(sample, ds.scale), caption="your image", width=160)
                except ValueError as err:
                    st.error(plain(err))
        elif ds.input_shape and ds.input_shape[0] <= MAX_TYPED_FEATURES:
            sample = typed_features(sample, ds, index)
        if np.allclose(sample, x_pool[index], rtol=1e-5, atol=1e-6):
            truth = y_pool[index]
            truth_text = ds.class_names[truth] if ds.task == "classification" else f"{truth:.4g}"
            st.caption(f"True value: {plain(truth_text)}")
        else:  # typed over or an upload: the sample's label is not this input's
            st.caption("Your own input: it has no true value to compare with.")
    outputs = state.service().call("predict", run.model_ref(), sample[None, ...], ds.scale)[0]
    with right:
        if ds.task == "classification":
            st.altair_chart(
                insight_charts.probability_bars(softmax(outputs[None])[0], ds.class_names),
                width="stretch",
            )
        else:
            st.metric("Prediction", f"{float(outputs[0]):.4g}")


def typed_features(sample: np.ndarray, ds, index: int) -> np.ndarray:
    """Number inputs per feature, in the CSV's own units (standardization undone and redone)."""
    mean = ds.feature_mean if ds.feature_mean is not None else np.zeros(len(sample))
    std = ds.feature_std if ds.feature_std is not None else np.ones(len(sample))
    names = ds.feature_names or tuple(f"x{i + 1}" for i in range(len(sample)))
    raw = sample * std + mean
    typed = [
        st.number_input(plain(name), value=float(value), key=f"try_{index}_{name}", format="%.4g")
        for name, value in zip(names, raw, strict=True)
    ]
    return ((np.asarray(typed) - mean) / std).astype(np.float32)


def image_to_sample(upload, ds, invert: bool) -> np.ndarray:
    """An uploaded picture as the dataset's input: grayscale, resized, in its value range.
    Raises ValueError with a sentence for any file it cannot use."""
    height, width = ds.input_shape[:2]
    pixels = read_image(upload.getvalue(), height, width)
    if invert:
        pixels = 1.0 - pixels
    return (pixels / ds.scale).astype(np.float32)  # the model sees x * scale in [0, 1]


def export_code(run: Run) -> None:
    import trainer

    st.subheader("Take the code home")
    script = trainer.export_script(run.config)
    st.caption(
        "A standalone script in the Keras guide's shape (tf.data pipeline, functional model, "
        "GradientTape loop under tf.function, validation loop), using only TensorFlow and NumPy"
        + (" (and scikit-learn, which ships the digits)" if "sklearn" in script else "")
        + ". Run with the same seed, it reproduces this run's per-batch losses."
    )
    cols = st.columns(2)
    cols[0].download_button(
        "Download training script (.py)",
        script,
        file_name=f"tapeboard_{run.config.dataset}_{run.number}.py",
        mime="text/x-python",
        icon=":material/code:",
    )
    if run.config.dataset == "csv":
        cols[1].download_button(
            "Download its data (.npz)",
            trainer.export_arrays(run.dataset),
            file_name="data.npz",
            help="The script reads it with --data data.npz",
            icon=":material/database:",
        )
    with st.expander("Show the script"):
        st.code(script, language="python")


def main() -> None:
    st.title("Evaluate")
    wanted, linked = state.run_from_link()  # read before page_setup rewrites the URL
    runs = evaluable_runs()
    common.page_setup(run_id=choose(runs, linked))
    if wanted is not None and linked is None:
        st.warning(state.MISSING_RUN)
    run = pick_run(runs, linked)
    if run is None:
        return
    share_box(run)
    if run.end is not None and run.end.reason == "diverged":
        st.warning(
            f"{run.name} diverged: the model evaluated here is what training left, and its "
            f"scores say little. {plain(run.end.message)}",
            icon=":material/warning:",
        )
    # The model as of the run's last pause or its end: a copy, so training goes on meanwhile.
    try:
        if run.dataset.task == "classification":
            show_classification(run)
        else:
            show_regression(run)
        if run.dataset.is_2d:
            show_boundary(run)
        try_the_model(run)
    except ValueError as err:  # the task worker's answer, in words (e.g. it did not start)
        st.error(f"Could not evaluate {state.run_label(run)}: {plain(err)}")
    export_code(run)


main()
