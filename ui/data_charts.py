"""Charts of a dataset in the plane and its classes: the Data page's points and class counts,
and the colour scales the decision boundary shares with them (one per class, one diverging
scale for a regression target). Pure builders: DataFrame in, `alt.Chart` out."""

from __future__ import annotations

from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

from ui.charts import TRAIN_COLOR, VAL_COLOR

PLAYGROUND_RANGE = ["#f59322", "#e8eaeb", "#0877bd"]  # TensorFlow Playground: orange-white-blue
# d3's category10, as Vega names it: the points of 3+ classes, and the regions they fall in.
CATEGORY10 = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
              "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"]  # fmt: skip
SQUARE = 400  # side of the plane's plots (points, decision boundary), in px of plot area


def scatter_chart(
    points: pd.DataFrame,
    *,
    class_names: Sequence[str] = (),
    regression: bool = False,
    target_domain: Sequence[float] | None = None,
    size: int = SQUARE,
) -> alt.Chart:
    """2-D points (columns x1, x2, label) as in the TensorFlow Playground: a square plot with
    the same units per pixel on both axes, so a circle is round. Classes take the colours the
    decision boundary paints them (`class_scale`); a regression target takes the one diverging
    scale of the app (`target_scale`)."""
    if regression:
        domain = target_domain or target_range(points["label"])
        color_enc = alt.Color("label:Q", scale=target_scale(domain), title="target")
    else:
        scale = class_scale(class_names) if len(class_names) else alt.Undefined
        color_enc = alt.Color("label:N", scale=scale, title="class")
    x1, x2 = equal_spans(points)
    return (
        alt.Chart(points)
        # A regression's mean is near white: a hairline keeps those points on white paper.
        .mark_circle(
            size=30,
            opacity=0.85,
            **({"stroke": "#80868b", "strokeWidth": 0.4} if regression else {}),
        )
        .encode(
            x=alt.X("x1:Q", title="x1", scale=alt.Scale(domain=x1, nice=False)),
            y=alt.Y("x2:Q", title="x2", scale=alt.Scale(domain=x2, nice=False)),
            color=color_enc,
            tooltip=[
                alt.Tooltip("x1:Q", format=".3~f"),
                alt.Tooltip("x2:Q", format=".3~f"),
                alt.Tooltip("label:Q", format=".4~g") if regression else "label:N",
            ],
        )
        .properties(width=size, height=size, autosize=alt.AutoSizeParams(type="pad"))
    )


def equal_spans(points: pd.DataFrame, padding: float = 0.05) -> tuple[list, list]:
    """x1 and x2 domains of one width, each centred on its data: in a square plot a unit is
    as long on both axes."""
    if not len(points):
        return [-1.0, 1.0], [-1.0, 1.0]
    lo = points[["x1", "x2"]].min().to_numpy(dtype=float)
    hi = points[["x1", "x2"]].max().to_numpy(dtype=float)
    half = max(float((hi - lo).max()), 1e-9) * (0.5 + padding)
    mid = (lo + hi) / 2
    return [mid[0] - half, mid[0] + half], [mid[1] - half, mid[1] + half]


def class_scale(class_names: Sequence[str]) -> alt.Scale:
    """The colour of each class everywhere it is drawn: two classes in TensorFlow Playground's
    orange (the first) and blue (the second), more in category10's colours in class order."""
    names = list(class_names)
    if len(names) == 2:
        return alt.Scale(domain=names, range=[PLAYGROUND_RANGE[0], PLAYGROUND_RANGE[2]])
    return alt.Scale(
        domain=names, range=[CATEGORY10[i % len(CATEGORY10)] for i in range(len(names))]
    )


def target_range(values: Sequence[float] | pd.Series | np.ndarray) -> tuple[float, float, float]:
    """(lowest, mean, highest) of a regression target: the stops of `target_scale`."""
    v = np.asarray(values, dtype="float64")
    v = v[np.isfinite(v)]
    if not len(v) or v.min() == v.max():
        centre = float(v[0]) if len(v) else 0.0
        return (centre - 1.0, centre, centre + 1.0)
    return (float(v.min()), float(v.mean()), float(v.max()))


def target_scale(domain: Sequence[float]) -> alt.Scale:
    """The one colour scale of a regression target, on the Data page, the decision boundary
    and its points: TensorFlow Playground's orange (low) through white (the mean) to blue
    (high), interpolated in RGB as `insight_charts.boundary_image` paints it."""
    return alt.Scale(domain=list(domain), range=PLAYGROUND_RANGE, clamp=True, interpolate="rgb")


def class_counts_chart(counts: pd.DataFrame, *, height: int = 220) -> alt.Chart:
    """Bar per class (columns class, count, split)."""
    return (
        alt.Chart(counts)
        .mark_bar()
        .encode(
            x=alt.X("class:N", title="class", sort=None),
            y=alt.Y("count:Q", title="samples"),
            color=alt.Color(
                "split:N",
                scale=alt.Scale(domain=["train", "validation"], range=[TRAIN_COLOR, VAL_COLOR]),
                legend=alt.Legend(title=None, orient="top"),
            ),
            xOffset="split:N",
            tooltip=["class:N", "split:N", "count:Q"],
        )
        .properties(height=height)
    )
