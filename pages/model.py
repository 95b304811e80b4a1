"""Model page: the network and how it is optimized, as one validated RunConfig."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from trainer.budget import layer_table, steps_per_epoch
from trainer.config import ACTIVATIONS, MAX_LAYERS, RunConfig
from trainer.features import FEATURES, RAW, label
from trainer.optimizers import OPTIMIZERS
from trainer.schedules import LR_SCHEDULES, learning_rate_points
from ui import charts, common, page_data, state
from ui.text import plain

DEFAULT_NEW_LAYER = 32


def _layer_widths() -> list[str]:
    text = str(state.draft()["hidden_units"])
    return [p for p in text.replace(" ", "").split(",") if p]


def _add_layer() -> None:
    widths = _layer_widths()
    widths.append(widths[-1] if widths else str(DEFAULT_NEW_LAYER))
    state.set_field("hidden_units", ",".join(widths[:MAX_LAYERS]))


def _remove_layer() -> None:
    state.set_field("hidden_units", ",".join(_layer_widths()[:-1]))


def input_features() -> None:
    """TensorFlow Playground's FEATURES column: what the first layer sees of points in the
    plane. Shown for such data, and for any other while it still has features set (so a
    setup carried over from a Playground set can be put back)."""
    draft = state.draft()
    if not page_data.has_two_features(draft) and list(draft["features"]) == list(RAW):
        return
    kwargs = state.bound("features")
    if "value" in kwargs:  # the pills' starting value is their default
        kwargs["default"] = list(kwargs.pop("value"))
    # Each feature a chip that a click turns on or off, all in sight, as Playground's boxes (in
    # a column Streamlit keeps pills on one scrolled row, which hid the sines at 1280 px).
    st.pills(
        "Input features",
        list(FEATURES),
        selection_mode="multi",
        format_func=label,
        wrap=True,
        help="What the first layer sees of each point, as in TensorFlow Playground: with "
        "X₁² and X₂² a circle is one ring, with sin(X₁) and sin(X₂) a spiral takes fewer "
        "units. Computed inside the model: the saved model still takes X₁ and X₂.",
        **kwargs,
    )


def architecture() -> None:
    st.subheader("Network")
    input_features()
    st.text_input(
        "Hidden units per layer",
        help="Comma-separated widths of the Dense layers, e.g. 64,64. Empty: no hidden layer "
        "(a linear model).",
        **state.bound("hidden_units"),
    )
    # Sized to their labels (two half-width columns cut "Remove layer" short on a laptop).
    row = st.container(horizontal=True, gap="small")
    row.button("Add layer", on_click=_add_layer, icon=":material/add:")
    row.button("Remove layer", on_click=_remove_layer, icon=":material/remove:")
    st.selectbox("Activation", ACTIVATIONS, **state.bound("activation", ACTIVATIONS))
    # TensorFlow Playground's regularization, both kinds at once if wanted (Keras' L1L2).
    left, right = st.columns(2)
    left.number_input(
        "L1 penalty",
        step=1e-4,
        format="%g",
        help="Adds L1 x sum(|w|) over the Dense kernels to the loss: drives weights to zero.",
        **state.bound("l1"),
    )
    right.number_input(
        "L2 penalty",
        step=1e-4,
        format="%g",
        help="Adds L2 x sum(w²) over the Dense kernels to the loss: keeps weights small.",
        **state.bound("l2"),
    )
    st.number_input("Dropout", step=0.05, format="%g", **state.bound("dropout"))


def optimization() -> None:
    st.subheader("Optimizer")
    # Choices read from the tables at each run: an entry added there shows here.
    optimizers = list(OPTIMIZERS)
    st.selectbox("Optimizer", optimizers, **state.bound("optimizer", optimizers))
    st.number_input(
        "Learning rate", step=1e-3, format="%g", help="In (0, 100].", **state.bound("learning_rate")
    )
    schedules = list(LR_SCHEDULES)
    schedule = st.selectbox(
        "Learning-rate schedule", schedules, **state.bound("lr_schedule", schedules)
    )
    takes = LR_SCHEDULES[schedule].fields if schedule in LR_SCHEDULES else ()
    if takes:
        left, right = st.columns(2)
        if "decay_steps" in takes:
            left.number_input("Decay steps", step=100, **state.bound("decay_steps"))
        if "decay_rate" in takes:
            right.number_input("Decay rate", step=0.05, format="%g", **state.bound("decay_rate"))


def training() -> None:
    st.subheader("Training")
    left, right = st.columns(2)
    left.number_input("Batch size", step=1, **state.bound("batch_size"))
    right.number_input("Epochs", step=1, **state.bound("epochs"))
    left.number_input(
        "Logging interval (batches)",
        step=1,
        help="Batches trained per press of Step on the Train page; the exported script prints "
        "its loss this often.",
        **state.bound("log_every"),
    )
    right.number_input(
        "Early-stopping patience (epochs)",
        step=1,
        help="Stop after this many epochs without a better validation loss; 0 turns it off.",
        **state.bound("patience"),
    )
    left.number_input(
        "Seed", step=1, help="Seeds data generation, split and weights.", **state.bound("seed")
    )
    right.checkbox(
        "Shuffle", help="Shuffle the training data before each epoch.", **state.bound("shuffle")
    )
    strategies = ["default", "mirrored"]
    left.selectbox(
        "Distribution strategy",
        strategies,
        help="default: one device. mirrored: tf.distribute.MirroredStrategy over every local "
        "GPU (the CPU if none). For a cluster (multi_worker), take the config to "
        "`python -m trainer`: see the README's Scale out section.",
        **state.bound("strategy", strategies),
    )


def summary(config: RunConfig) -> None:
    """The layers the config builds, with shapes and parameters (computed, not built: this
    process never imports TensorFlow)."""
    st.subheader("Model summary")
    try:
        dataset = page_data.dataset_for(config)
    except ValueError as err:
        st.info(f"Choose data first to see the model: {plain(err)}")
        return
    rows = layer_table(config, dataset.input_shape, dataset.num_outputs)
    st.metric("Trainable parameters", f"{sum(row['params'] for row in rows):,}")
    table = pd.DataFrame(rows)
    table["output shape"] = [
        "(None, " + ", ".join(map(str, shape)) + ")" for shape in table["output shape"]
    ]
    st.dataframe(table, hide_index=True, width="stretch")


def schedule_preview(config: RunConfig, dataset) -> None:
    """The learning rate over the run's steps (`dataset`: the data at hand, or None)."""
    if dataset is not None:
        total = steps_per_epoch(dataset.num_train, config.batch_size) * config.epochs
    else:
        total = max(config.decay_steps * 2, 100)
    st.caption(f"Learning rate over {total:,} steps")
    curve = learning_rate_points(config, total)
    st.altair_chart(charts.learning_rate_chart(curve), width="stretch")


def main() -> None:
    st.title("Model")
    config, error = common.page_setup()
    cols = st.columns(3, gap="large")
    with cols[0]:
        architecture()
    with cols[1]:
        optimization()
    with cols[2]:
        training()
    common.controls_drawn()
    if config is None:
        st.error(f"Invalid config: {plain(error)}")
        st.stop()
    dataset = page_data.data_at_hand(config)  # once: the size check and the schedule's steps
    too_big = None if dataset is None else state.service().size_problem(config, dataset)
    if too_big:  # a valid config this server will not train: say so before Train is pressed
        st.error(plain(too_big), icon=":material/block:")
    else:
        st.success(
            "Config is valid: press **Train** on the Train page.", icon=":material/check_circle:"
        )
    with cols[1]:
        schedule_preview(config, dataset)
    summary(config)


main()
