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
from ui.data_charts import CATEGORY10, PLAYGROUND_RANGE, SQUARE, class_scale, target_scale

HEAT_OPACITY = 0.55  # the model's output shows through under the points
UNIT_RANGE = (-1.0, 0.0, 1.0)  # the Playground's regression targets, when no other is given
# Streamlit draws a chart with `autosize: fit`, its height the whole chart's, axes and labels
# included: a chart 80 px high kept a 1 px plot. "pad" (Vega-Lite's own default) makes the
# height the plot's, and the labels come on top; "fit-x" still fits the width to the page.
PLOT_HEIGHT = alt.AutoSizeParams(type="fit-x", contains="padding")
PLOT_SIZE = alt.AutoSizeParams(type="pad")


def confusion_heatmap(frame: pd.DataFrame, normalized: bool = False) -> alt.LayerChart:
    """Counts (or each true class's shares) as a heatmap with the numbers written in: square
    cells, 50 px for a few classes, the plot never under 150 px nor over 300 px (with its
    labels it then fits a phone's 390 px screen: 400 px cut off its last columns there)."""
    value = "share" if normalized else "count"
    order = list(dict.fromkeys(frame["true"]))
    size = min(max(150, 50 * len(order)), 300)  # 30 px cells for 10 classes
    # Names across when they fit under their cell, slanted when not.
    fits = max((len(str(name)) for name in order), default=0) * 7 < size / max(len(order), 1)
    base = alt.Chart(frame).encode(
        x=alt.X(
            "predicted:N",
            sort=order,
            title="predicted",
            axis=alt.Axis(labelAngle=0 if fits else -40, orient="top"),
        ),
        y=alt.Y("true:N", sort=order, title="true"),
    )
    cells = base.mark_rect().encode(
        color=alt.Color(f"{value}:Q", scale=alt.Scale(scheme="blues"), legend=None),
        tooltip=["true", "predicted", "count", alt.Tooltip("share:Q", format=".1%")],
    )
    text = base.mark_text(fontSize=12 if len(order) <= 10 else 10).encode(
        text=alt.Text(f"{value}:Q", format=".0%" if normalized else "d"),
        color=alt.condition(
            alt.datum[value] > frame[value].max() / 2, alt.value("white"), alt.value("#222")
        ),
    )
    return (cells + text).properties(width=size, height=size, autosize=PLOT_SIZE)


GRID_DATA = "boundary_grid"  # dataset names of the decision boundary's two tables
POINTS_DATA = "boundary_points"


def boundary_chart(
    axes: tuple[np.ndarray, np.ndarray],
    values: np.ndarray,
    points: pd.DataFrame,
    task: str,
    class_names: Sequence[str] = (),
    height: int = SQUARE,
    target_domain: Sequence[float] = UNIT_RANGE,
) -> alt.LayerChart:
    """The model's output over the plane with the data on top, as in TensorFlow Playground: a
    square plot `height` px on a side.

    `axes`, `values`: `trainer.evaluate.grid_axes` and `decision_values`. `points`: x1, x2,
    label, split (`ui.page_data.points_frame`). `target_domain`: a regression target's (low,
    mean, high) (`ui.data_charts.target_range`), the stops of its colour scale.
    """
    frames = boundary_frames(axes, values, task, class_names, points, target_domain)
    return _boundary_layers(
        frames[GRID_DATA], frames[POINTS_DATA], task, class_names, height, tuple(target_domain)
    )


# One transparent pixel (grey and alpha, both 0): the image of a boundary not drawn yet.
BLANK_IMAGE = (
    "data:image/png;base64,"
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAQAAAC1HAwCAAAAC0lEQVR4nGNgYAAAAAMAAbitOmMAAAAASUVORK5CYII="
)


def boundary_frames(
    axes: tuple[np.ndarray, np.ndarray],
    values: np.ndarray | None,
    task: str,
    class_names: Sequence[str],
    points: pd.DataFrame,
    target_domain: Sequence[float] = UNIT_RANGE,
    *,
    discrete: bool = False,
) -> dict[str, pd.DataFrame]:
    """The boundary chart's two tables, keyed by dataset name: the model's output as one image
    row (its URL and the extent it covers), and the points. `values` None (no model yet): a
    transparent image over the same extent, so the points stay put when the model's comes.
    `discrete`: a two-class output in its classes' colours (`boundary_image`)."""
    x1, x2 = axes
    half1, half2 = _half_step(x1), _half_step(x2)
    url = BLANK_IMAGE
    if values is not None:
        url = boundary_image(values, task, class_names, target_domain, discrete=discrete)
    image = pd.DataFrame(
        {
            "url": [url],
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


def boundary_image(
    values: np.ndarray,
    task: str,
    class_names: Sequence[str] = (),
    target_domain: Sequence[float] = UNIT_RANGE,
    *,
    discrete: bool = False,
) -> str:
    """`values` (rows of x2, columns of x1) as a PNG data URL, one pixel per grid point, in the
    colours of the boundary's legend. The browser stretches and smooths it over the plot, as
    TensorFlow Playground paints its canvas: one image to swap per live redraw, where a grid of
    rect marks makes Vega lay out thousands of marks each time (and showed seams).

    `discrete` (two classes): each point in its predicted class's colour, the legend's ends,
    as Playground's "Discretize output"; a probability of exactly 0.5 goes to the first
    class, as the argmax of the model's predictions does. Other outputs are drawn as they are
    (several classes are already one colour per class)."""
    values = np.asarray(values)
    if discrete and is_two_class(task, class_names):
        # Thresholded on a finer grid, the probabilities interpolated between the model's
        # points: the line between the classes runs smooth instead of in the live grid's steps.
        values = finer(values.astype(float), DISCRETE_FINER)
        values = np.where(np.isfinite(values), (values > 0.5).astype(float), values)
    rgb = _heat_rgb(values, task, class_names, target_domain)[::-1]  # top row first
    buffer = io.BytesIO()
    Image.fromarray(np.ascontiguousarray(rgb), "RGB").save(buffer, format="PNG")
    return "data:image/png;base64," + base64.b64encode(buffer.getvalue()).decode("ascii")


DISCRETE_FINER = 4  # a discretized boundary's pixels per grid point, along each axis


def is_two_class(task: str, class_names: Sequence[str]) -> bool:
    """Whether a boundary shows P(second class) (`trainer.evaluate.decision_values`): the one
    output that discretizing changes."""
    return task == "classification" and len(class_names) == 2


def finer(values: np.ndarray, factor: int) -> np.ndarray:
    """`values` (a grid of pixels) bilinearly interpolated onto `factor` x `factor` pixels per
    pixel over the same extent: pixel centres at the same places, edges half a pixel out."""

    def along(n: int) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
        at = np.clip((np.arange(n * factor) + 0.5) / factor - 0.5, 0, n - 1)
        low = np.floor(at).astype(int)
        return low, np.minimum(low + 1, n - 1), at - low

    top, bottom, down = along(values.shape[0])
    left, right, across = along(values.shape[1])
    rows = values[top] * (1 - down)[:, None] + values[bottom] * down[:, None]
    return rows[:, left] * (1 - across) + rows[:, right] * across


def _heat_rgb(
    values: np.ndarray, task: str, class_names: Sequence[str], target_domain: Sequence[float]
) -> np.ndarray:
    if task == "classification" and len(class_names) != 2:
        palette = np.array([_rgb(c) for c in CATEGORY10], dtype=np.uint8)
        return palette[values.astype(int) % len(palette)]
    domain = [0.0, 0.5, 1.0] if task == "classification" else [float(v) for v in target_domain]
    stops = np.array([_rgb(c) for c in PLAYGROUND_RANGE], dtype=float)
    # np.interp clamps outside the domain, as the legend's scale does (clamp=True). A diverged
    # model's NaN outputs paint as the neutral middle colour.
    values = np.where(np.isfinite(values), values, domain[1])
    channels = [np.interp(values, domain, stops[:, k]) for k in range(3)]
    return np.stack(channels, axis=-1).round().astype(np.uint8)


def _rgb(color: str) -> tuple[int, int, int]:
    return tuple(int(color[i : i + 2], 16) for i in (1, 3, 5))


def live_boundary_spec(
    task: str,
    class_names: Sequence[str] = (),
    *,
    height: int = SQUARE,
    target_domain: Sequence[float] = UNIT_RANGE,
) -> dict:
    """`boundary_chart` reading `boundary_frames`' named datasets: the same spec on every
    redraw of one run, so the browser swaps the image in place instead of building the chart
    again (as the Train page's loss chart does)."""
    domain = tuple(float(v) for v in target_domain)
    return _live_boundary_json(task, tuple(class_names), height, domain).copy()


@functools.cache
def _live_boundary_json(
    task: str, class_names: tuple[str, ...], height: int, target_domain: tuple[float, ...]
) -> dict:
    layers = _boundary_layers(
        alt.NamedData(GRID_DATA),
        alt.NamedData(POINTS_DATA),
        task,
        class_names,
        height,
        target_domain,
    )
    return live_spec(layers)


def _boundary_layers(
    image: pd.DataFrame | alt.NamedData,
    points: pd.DataFrame | alt.NamedData,
    task: str,
    class_names: Sequence[str],
    height: int,
    target_domain: tuple[float, ...] = UNIT_RANGE,
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
        .encode(color=_heat_color(task, class_names, target_domain))
    )
    dots = _points_layer(points, task, class_names, target_domain)
    # Square, and `height` is the plot's side (not the whole chart's, see PLOT_SIZE): the
    # Playground's circles and spirals come out round.
    return (
        (heat + legend + dots)
        .properties(width=height, height=height, autosize=PLOT_SIZE)
        .resolve_scale(color="independent")
    )


def _heat_color(task: str, class_names: Sequence[str], target_domain: Sequence[float]) -> alt.Color:
    """The legend of the model's output: P(second class) from orange through white to blue,
    a prediction on the target's scale (`ui.data_charts.target_scale`), else the predicted class."""
    two_classes = task == "classification" and len(class_names) == 2
    if two_classes:
        return alt.Color(
            "value:Q",
            scale=target_scale([0, 0.5, 1]),
            legend=alt.Legend(title=f"P({class_names[1]})"),
        )
    if task == "regression":
        return alt.Color(
            "value:Q", scale=target_scale(target_domain), legend=alt.Legend(title="prediction")
        )
    return alt.Color(
        "class:N", scale=class_scale(class_names), legend=alt.Legend(title="predicted")
    )


def _points_layer(
    points: pd.DataFrame | alt.NamedData,
    task: str,
    class_names: Sequence[str],
    target_domain: Sequence[float],
) -> alt.Chart:
    return (
        alt.Chart(points)
        .mark_point(filled=True, size=28, stroke="white", strokeWidth=0.6, opacity=0.95)
        .encode(
            x="x1:Q",
            y="x2:Q",
            fill=alt.Fill(
                "label:N" if task == "classification" else "label:Q",
                scale=target_scale(target_domain)
                if task == "regression"
                else class_scale(class_names),
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


def probability_bars(probabilities: Sequence[float], class_names: Sequence[str]) -> alt.Chart:
    """Predicted class probabilities, the winner highlighted: a bar of at least 28 px a class,
    the plot at least 150 px high."""
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
        .properties(height=max(150, 28 * len(frame)), autosize=PLOT_HEIGHT)
    )


def predicted_vs_true(frame: pd.DataFrame, size: int = 320) -> alt.LayerChart:
    """Regression: predictions against targets, with the y = x line a perfect model sits on,
    square with one scale on both axes (so that line is the diagonal)."""
    lo = float(min(frame["true"].min(), frame["predicted"].min())) if len(frame) else 0.0
    hi = float(max(frame["true"].max(), frame["predicted"].max())) if len(frame) else 1.0
    scale = alt.Scale(domain=[lo, hi], nice=False, zero=False)
    diagonal = alt.Chart(pd.DataFrame({"true": [lo, hi], "predicted": [lo, hi]})).mark_line(
        color="#999", strokeDash=[4, 4]
    )
    dots = (
        alt.Chart(frame)
        .mark_circle(size=24, opacity=0.6, color="#1f6feb")
        .encode(
            x=alt.X("true:Q", scale=scale),
            y=alt.Y("predicted:Q", scale=scale),
            tooltip=["true", "predicted", "residual"],
        )
    )
    return (diagonal.encode(x="true:Q", y="predicted:Q") + dots).properties(
        width=size, height=size, autosize=PLOT_SIZE
    )


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
