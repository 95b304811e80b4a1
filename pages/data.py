"""Data page: choose what to train on and look at it."""

from __future__ import annotations

import hashlib
import io

import streamlit as st

from trainer.data import Dataset, preview_csv, split_validation
from trainer.datasets import DATASETS
from ui import common, data_charts, page_data, state
from ui.text import message_of, plain

CSV_OPTION = "csv"
TASK_CHOICES = ("auto", "classification", "regression")


def dataset_title(name: str) -> str:
    if name == CSV_OPTION:
        return "Upload a CSV..."
    info = DATASETS.get(name)
    return f"{info.title}{' (download)' if info.needs_download else ''}" if info else name


def choose_csv() -> Dataset | None:
    """File uploader + target picker; the parsed Dataset is kept in session state."""
    upload = st.file_uploader("CSV file", type=["csv"], key="w_csv_file")
    kept = state.csv_upload()
    if upload is None:
        if kept is not None:
            st.caption(
                f"Using {plain(kept.file_name)} (target {plain(kept.target)}), uploaded earlier."
            )
            return kept.dataset
        st.info("Upload a CSV with a header line; then pick the column to predict.")
        return None
    raw = upload.getvalue()
    digest = hashlib.sha1(raw).hexdigest()
    try:
        # The reader training uses: what it accepts, the preview accepts (encodings, quoted
        # line breaks...), and what it refuses is said in a sentence.
        preview = kept.preview if kept and kept.digest == digest else preview_csv(raw)
    except ValueError as err:
        st.error(plain(f"Could not read {upload.name} as CSV: {err}"))
        state.set_csv_upload(None)
        return None
    columns = [str(c) for c in preview.columns]
    left, right = st.columns(2)
    target = left.selectbox("Target column", columns, index=len(columns) - 1, key="w_csv_target")
    task = right.selectbox("Task", TASK_CHOICES, key="w_csv_task")
    if kept is None or (kept.file_name, kept.target, kept.task, kept.digest) != (
        upload.name,
        target,
        task,
        digest,
    ):
        try:
            dataset = Dataset.from_csv(
                io.BytesIO(raw), target=target, task=None if task == "auto" else task
            )
        except ValueError as err:
            st.error(plain(err))
            state.set_csv_upload(None)
            return None
        kept = state.CsvUpload(upload.name, target, task, digest, dataset, preview.head(20))
        state.set_csv_upload(kept)
    return kept.dataset


def load_registry_dataset(name: str) -> Dataset | None:
    draft = state.draft()
    info = DATASETS[name]
    if info.kind == "points":
        left, right = st.columns(2)
        left.slider("Noise (%)", 0.0, 50.0, step=1.0, **state.bound("noise"))
        right.number_input(
            "Number of points",
            min_value=10,
            max_value=100_000,
            step=50,
            **state.bound("num_samples"),
        )
        st.caption(f"Generated with seed {draft['seed']} (the seed is set on the Model page).")
    try:
        return page_data.load_registry(name, draft["noise"], draft["num_samples"], draft["seed"])
    except ValueError as err:
        st.error(message_of(err))
        return None


def show_summary(dataset: Dataset, split: Dataset) -> None:
    cols = st.columns(4)
    cols[0].metric("Training samples", f"{split.num_train:,}")
    cols[1].metric("Validation samples", f"{split.num_val:,}")
    cols[2].metric(
        "Classes" if dataset.task == "classification" else "Task",
        dataset.num_classes or "regression",
    )
    cols[3].metric("Input shape", " x ".join(str(d) for d in dataset.input_shape))
    if dataset.x_val is not None:
        st.caption(
            "This dataset brings its own validation (test) set; the split slider is not used."
        )


def show_samples(dataset: Dataset, split: Dataset, upload: state.CsvUpload | None) -> None:
    if dataset.is_image:
        images, captions = page_data.image_samples(dataset)
        st.subheader("Samples")
        st.image(images, caption=captions, width=84)
    elif dataset.is_2d:
        st.subheader("Points")
        points = page_data.points_frame(split)
        chart = data_charts.scatter_chart(
            points,
            class_names=dataset.class_names,
            regression=dataset.task == "regression",
            target_domain=page_data.target_domain(dataset),
        )
        st.altair_chart(chart, width="content")  # square: its own size, not the page's width
        if len(points) < split.num_train + split.num_val:
            st.caption(f"A sample of {len(points):,} points is drawn.")
    if upload is not None:
        st.subheader("Preview")
        st.dataframe(upload.preview, width="stretch", hide_index=True)
    if dataset.task == "classification":
        st.subheader("Classes")
        st.altair_chart(
            data_charts.class_counts_chart(page_data.class_counts_frame(split)), width="stretch"
        )
    if dataset.notes:
        with st.expander("Notes on how the data was encoded", expanded=upload is not None):
            st.markdown("\n".join(f"- {plain(note)}" for note in dataset.notes))


def main() -> None:
    st.title("Data")
    config, _ = common.page_setup()
    names = [*DATASETS, CSV_OPTION]
    if state.draft()["dataset"] not in names:
        state.notify("warning", f"Unknown dataset {state.draft()['dataset']!r}: using digits.")
        state.set_field("dataset", "digits")
    name = st.selectbox(
        "Dataset", names, format_func=dataset_title, **state.bound("dataset", names)
    )
    if name in DATASETS:
        st.caption(DATASETS[name].description)
    dataset = choose_csv() if name == CSV_OPTION else load_registry_dataset(name)
    st.slider(
        "Validation split",
        0.0,
        0.9,
        step=0.05,
        help="Share of the data held out to validate on.",
        **state.bound("validation_split"),
    )
    common.controls_drawn()
    if dataset is None:
        st.stop()
    draft = state.draft()
    try:
        split = split_validation(dataset, draft["validation_split"], draft["seed"])
    except ValueError as err:
        st.error(plain(err))
        st.stop()
    show_summary(dataset, split)
    show_samples(dataset, split, state.csv_upload() if name == CSV_OPTION else None)


main()
