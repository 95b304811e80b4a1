"""Pure chart builders for what a trained model does (Evaluate page, live decision boundary).

DataFrame in, `alt.Chart` out, no Streamlit: unit-tested through `chart.to_dict()`.
"""

from __future__ import annotations

import base64
import functools
import io
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd
from PIL import Image

from ui.charts import live_spec

PLAYGROUND_RANGE = ["#f59322", "#e8eaeb", "#0877bd"]  # TensorFlow Playground: orange-white-blue
# d3's category10, as Vega names it: the points of 3+ classes, and the regions they fall in.
CATEGORY10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
              "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]  # fmt: skip
HEAT_OPACITY = 0.55  # the model's output shows through under the points


def confusion_heatmap(frame: pd.DataFrame, normalized: bool = False) -> alt.LayerChart:
    """Counts (or each true class's shares) as a heatmap with the numbers written in."""
    value = "share" if normalized else "count"
    order = list(dict.fromkeys(frame["true"]))
    base = alt.Chart(frame).encode(
        x=alt.X("predicted:N", sort=order, title="predicted"),
        y=alt.Y("true:N", sort=order, title="true"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(f"{value}:Q", scale=alt.Scale(scheme="blues"), legend=None),
        tooltip=["true", "predicted", "count", alt.Tooltip("share:Q", format=".1%")],
    )
    text = base.mark_text(fontSize=11).encode(
        text=alt.Text(f"{value}:Q", format=".0%" if normalized else "d"),
        color=alt.condition(
            alt.datum[value] > frame[value].max() / 2, alt.value("white"), alt.value("#222")
        ),
    )
    size = min(40 * len(order) + 60, 520)
    return (cells + text).properties(width=size, height=size)


GRID_DATA = "boundary_grid"  # dataset names of the decision boundary's two tables
POINTS_DATA = "boundary_points"


def boundary_chart(
    axes: tuple[np.ndarray, np.ndarray],
    values: np.ndarray,
    points: pd.DataFrame,
    task: str,
    class_names: Sequence[str] = (),
    height: int = 360,
) -> alt.LayerChart:
    """The model's output over the plane with the data on top, as in TensorFlow Playground.

    `axes`, `values`: `trainer.evaluate.grid_axes` and `decision_values`. `points`: x1, x2,
    label, split (`ui.datasets.points_frame`).
    """
    frames = boundary_frames(axes, values, task, class_names, points)
    return _boundary_layers(frames[GRID_DATA], frames[POINTS_DATA], task, class_names, height)


def boundary_frames(
    axes: tuple[np.ndarray, np.ndarray],
    values: np.ndarray,
    task: str,
    class_names: Sequence[str],
    points: pd.DataFrame,
) -> dict[str, pd.DataFrame]:
    """The boundary chart's two tables, keyed by dataset name: the model's output as one image
    row (its URL and the extent it covers), and the points."""
    x1, x2 = axes
    half1, half2 = _half_step(x1), _half_step(x2)
    image = pd.DataFrame(
        {
            "url": [boundary_image(values, task, class_names)],
            "x1": [x1[0] - half1],
            "x1_end": [x1[-1] + half1],
            "x2": [x2[0] - half2],
            "x2_end": [x2[-1] + half2],
        }
    )
    return {GRID_DATA: image, POINTS_DATA: points}


def _half_step(axis: np.ndarray) -> float:
    """Pixel centres sit on the grid points: the image reaches half a step beyond them."""
    return float(axis[1] - axis[0]) / 2 if len(axis) > 1 else 0.5


def boundary_image(values: np.ndarray, task: str, class_names: Sequence[str] = ()) -> str:
    """`values` (rows of x2, columns of x1) as a PNG data URL, one pixel per grid point, in the
    colours of the boundary's legend. The browser stretches and smooths it over the plot, as
    TensorFlow Playground paints its canvas: one image to swap per live redraw, where a grid of
    rect marks makes Vega lay out thousands of marks each time (and showed seams)."""
    rgb = _heat_rgb(np.asarray(values), task, class_names)[::-1]  # image rows run top-down
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb), "RGB").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


def _heat_rgb(values: np.ndarray, task: str, class_names: Sequence[str]) -> np.ndarray:
    if task == "classification" and len(class_names) != 2:
        palette = np.array([_rgb(c) for c in CATEGORY10], dtype=np.uint8)
        return palette[values.astype(int) % len(palette)]
    domain = [0.0, 0.5, 1.0] if task == "classification" else [-1.0, 0.0, 1.0]
    stops = np.array([_rgb(c) for c in PLAYGROUND_RANGE], dtype=float)
    # np.interp clamps outside the domain, as the legend's scale does (clamp=True). A diverged
    # model's NaN outputs paint as the neutral middle colour.
    values = np.where(np.isfinite(values), values, domain[1])
    channels = [np.interp(values, domain, stops[:, k]) for k in range(3)]
    return np.stack(channels, axis=-1).round().astype(np.uint8)


def _rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))


def live_boundary_spec(task: str, class_names: Sequence[str] = (), *, height: int = 360) -> dict:
    """`boundary_chart` reading `boundary_frames`' named datasets: the same spec on every
    redraw of one run, so the browser swaps the image in place instead of building the chart
    again (as the Train page's loss chart does)."""
    return _live_boundary_json(task, tuple(class_names), height).copy()


@functools.cache
def _live_boundary_json(task: str, class_names: tuple[str, ...], height: int) -> dict:
    layers = _boundary_layers(
        alt.NamedData(GRID_DATA), alt.NamedData(POINTS_DATA), task, class_names, height
    )
    return live_spec(layers)


def _boundary_layers(
    image: pd.DataFrame | alt.NamedData,
    points: pd.DataFrame | alt.NamedData,
    task: str,
    class_names: Sequence[str],
    height: int,
) -> alt.LayerChart:
    heat = (
        alt.Chart(image)
        .mark_image(aspect=False, opacity=HEAT_OPACITY)
        .encode(
            x=alt.X("x1:Q", title="x1", scale=alt.Scale(zero=False, nice=False)),
            x2="x1_end:Q",
            y=alt.Y("x2:Q", title="x2", scale=alt.Scale(zero=False, nice=False)),
            y2="x2_end:Q",
            url="url:N",
        )
    )
    # No marks, only the legend of the image's colours (an image mark has no colour scale).
    legend = (
        alt.Chart(alt.Data(values=[]))
        .mark_rect(opacity=HEAT_OPACITY)
        .encode(color=_heat_color(task, class_names))
    )
    dots = _points_layer(points, task, class_names)
    return (heat + legend + dots).properties(height=height).resolve_scale(color="independent")


def _heat_color(task: str, class_names: Sequence[str]) -> alt.Color:
    """The legend of the model's output: P(+1) or the output from orange through white to blue
    (interpolated in RGB, as `boundary_image` paints it), else the predicted class."""
    two_classes = task == "classification" and len(class_names) == 2
    if task == "regression" or two_classes:
        domain = [0, 0.5, 1] if two_classes else [-1, 0, 1]
        return alt.Color(
            "value:Q",
            scale=alt.Scale(domain=domain, range=PLAYGROUND_RANGE, clamp=True, interpolate="rgb"),
            legend=alt.Legend(title="P(+1)" if two_classes else "output"),
        )
    return alt.Color(
        "class:N", scale=_class_scale(class_names), legend=alt.Legend(title="predicted")
    )


def _points_layer(
    points: pd.DataFrame | alt.NamedData, task: str, class_names: Sequence[str]
) -> alt.Chart:
    return (
        alt.Chart(points)
        .mark_point(filled=True, size=28, stroke="white", strokeWidth=0.6, opacity=0.95)
        .encode(
            x="x1:Q",
            y="x2:Q",
            fill=alt.Fill(
                "label:N" if task == "classification" else "label:Q",
                scale=_point_scale(task, class_names),
                legend=None,
            ),
            shape=alt.Shape("split:N", legend=alt.Legend(title=None, orient="bottom")),
            tooltip=[
                alt.Tooltip("x1:Q", format=".3~f"),
                alt.Tooltip("x2:Q", format=".3~f"),
                "label:N" if task == "classification" else alt.Tooltip("label:Q", format=".3~f"),
                "split:N",
            ],
        )
    )


def _point_scale(task: str, class_names: Sequence[str]) -> alt.Scale:
    if task == "regression":
        return alt.Scale(domain=[-1, 0, 1], range=PLAYGROUND_RANGE, clamp=True)
    if len(class_names) == 2:  # the colours the heat gives P(second class) = 0 and 1
        return alt.Scale(domain=list(class_names), range=[PLAYGROUND_RANGE[0], PLAYGROUND_RANGE[2]])
    return _class_scale(class_names)


def _class_scale(class_names: Sequence[str]) -> alt.Scale:
    """Class i in CATEGORY10's colour i, as `boundary_image` paints the regions of 3+ classes."""
    names = list(class_names)
    return alt.Scale(
        domain=names, range=[CATEGORY10[i % len(CATEGORY10)] for i in range(len(names))]
    )


def probability_bars(probabilities: Sequence[float], class_names: Sequence[str]) -> alt.Chart:
    """Predicted class probabilities, the winner highlighted."""
    frame = pd.DataFrame({"class": list(class_names), "probability": list(probabilities)})
    best = frame["probability"].idxmax() if len(frame) else -1
    frame["predicted"] = frame.index == best
    return (
        alt.Chart(frame)
        .mark_bar()
        .encode(
            x=alt.X("probability:Q", scale=alt.Scale(domain=[0, 1]), axis=alt.Axis(format="%")),
            y=alt.Y("class:N", sort=list(class_names), title=None),
            color=alt.condition(alt.datum.predicted, alt.value("#1f6feb"), alt.value("#b6c8e6")),
            tooltip=["class", alt.Tooltip("probability:Q", format=".1%")],
        )
        .properties(height=max(22 * len(frame), 80))
    )


def predicted_vs_true(frame: pd.DataFrame) -> alt.LayerChart:
    """Regression: predictions against targets, with the y = x line a perfect model sits on."""
    lo = float(min(frame["true"].min(), frame["predicted"].min())) if len(frame) else 0.0
    hi = float(max(frame["true"].max(), frame["predicted"].max())) if len(frame) else 1.0
    diagonal = alt.Chart(pd.DataFrame({"true": [lo, hi], "predicted": [lo, hi]})).mark_line(
        color="#999", strokeDash=[4, 4]
    )
    dots = (
        alt.Chart(frame)
        .mark_circle(size=24, opacity=0.6, color="#1f6feb")
        .encode(x="true:Q", y="predicted:Q", tooltip=["true", "predicted", "residual"])
    )
    return (diagonal.encode(x="true:Q", y="predicted:Q") + dots).properties(height=320)


def residual_histogram(frame: pd.DataFrame) -> alt.Chart:
    return (
        alt.Chart(frame)
        .mark_bar(color="#e8590c")
        .encode(
            x=alt.X("residual:Q", bin=alt.Bin(maxbins=40), title="residual (predicted - true)"),
            y=alt.Y("count():Q", title="samples"),
        )
        .properties(height=320)
    )
