"""Pure chart builders: DataFrame in, `alt.Chart` out. No Streamlit here, so each is unit-tested
through `chart.to_dict()` without a server."""

from __future__ import annotations

import copy
import functools
from collections.abc import Sequence

import altair as alt
import numpy as np
import pandas as pd

# x-axis choices on the Train page: label -> (column in the History frames, axis title).
X_AXES = {
    "step": ("step", "step"),
    "epoch": ("epoch_progress", "epoch"),
    "samples seen": ("samples_seen", "samples seen"),
}
TRAIN_COLOR = "#1f6feb"
VAL_COLOR = "#e8590c"
# Short: the y axis says "loss", and the three must fit in one row of a phone-wide chart
# ("validation loss" was cut off at 390 px).
SERIES = ["train", "train (smoothed)", "validation"]
SERIES_COLORS = ["#9ec5fe", TRAIN_COLOR, VAL_COLOR]
# Validation points drawn at most: one per epoch for 300 epochs are 2 px apart on a loss chart,
# a band, not points. Longer runs show evenly spaced epochs (the last among them), smaller.
VAL_MARKS = 100
VAL_MARK_SIZE = 70  # area in px^2 while there are few (a 9 px dot)


def _finite_for_scale(values: pd.Series, log_scale: bool) -> pd.Series:
    """NaN where a value cannot be drawn (inf, or <= 0 on a log axis): a gap, not an error."""
    out = values.astype("float64").replace([np.inf, -np.inf], np.nan)
    return out.where(out > 0) if log_scale else out


# Six significant digits at most (a precision of its own, else Vega takes one from the tick
# step), trailing zeros dropped: a run's first point (a zero-height domain) was labelled
# "2.372450" and "0.000000", and a diverged run's axis "9.999999999991e+23".
Y_AXIS = alt.Axis(format=".6~g")


# The x axis ends where the run does: rounded out to a "nice" end, a run of 32,000 steps drew
# an empty band to 35,000 (and 20,040 runs' steps one to 22,000).
X_SCALE = alt.Scale(zero=False, nice=False)


def x_axis(x: str) -> alt.Axis:
    """Steps and samples are whole numbers: no ticks between them (a 10-step run had 0.5).
    Vega's tickMinStep alone still asks for span + 1 ticks, which d3 spaces by 0.5; asking
    for at most `span` ticks makes every step a whole number."""
    if x == "epoch":
        return alt.Axis()
    count = alt.ExprRef(expr="max(1, min(ceil(width / 40), span(domain('x'))))")
    return alt.Axis(tickMinStep=1, tickCount=count)


BATCH_DATA = "loss_batches"  # dataset names of the live chart: stable, so the browser swaps
VAL_DATA = "loss_val"  # the rows of a drawn chart instead of building it again
HOVER_DATA = "loss_hover"  # the batches the tooltip reads: empty while a run trains


def loss_chart(
    batches: pd.DataFrame,
    epochs: pd.DataFrame | None = None,
    *,
    x: str = "step",
    log_scale: bool = False,
    show_smoothed: bool = True,
    height: int = 360,
) -> alt.LayerChart:
    """Per-batch training loss (faint raw line + smoothed line) and validation loss per epoch.

    `batches` is `History.decimated()` (columns step, epoch_progress, samples_seen, loss,
    smoothed); `epochs` is `History.epochs()` (with val_loss when there is validation data).
    `x` is a key of X_AXES.
    """
    frames = loss_frames(batches, epochs, x=x, log_scale=log_scale)
    val = frames[VAL_DATA]  # even empty: its layer carries the legend
    train = frames[BATCH_DATA]
    return _loss_layers(train, val, train, x, log_scale, show_smoothed, height)


def loss_frames(
    batches: pd.DataFrame,
    epochs: pd.DataFrame | None,
    *,
    x: str = "step",
    log_scale: bool = False,
    hover: bool = True,
) -> dict[str, pd.DataFrame]:
    """The loss chart's tables, keyed by dataset name: what changes between redraws. The
    batches go twice, once for the lines and once for the tooltip, which `hover=False` leaves
    without rows (see `live_loss_spec`)."""
    if x not in X_AXES:
        raise ValueError(f"x must be one of {', '.join(X_AXES)}. Received: x={x!r}")
    column = X_AXES[x][0]
    has = len(batches) > 0
    train = pd.DataFrame(
        {
            "x": batches[column].to_numpy() if has else [],
            "step": batches["step"].to_numpy() if has else [],
            "loss": _finite_for_scale(batches["loss"], log_scale) if has else [],
            "smoothed": (
                _finite_for_scale(batches["smoothed"], log_scale)
                if has and "smoothed" in batches
                else np.nan
            ),
        }
    )
    with_val = epochs is not None and len(epochs) > 0 and "val_loss" in epochs
    if with_val and len(epochs) > VAL_MARKS:
        epochs = epochs.iloc[np.unique(np.linspace(0, len(epochs) - 1, VAL_MARKS).round())]
    val = pd.DataFrame(
        {
            "x": epochs[column].to_numpy() if with_val else [],
            "epoch": epochs["epoch"].to_numpy() + 1 if with_val else [],
            "step": epochs["step"].to_numpy() if with_val else [],
            "val_loss": _finite_for_scale(epochs["val_loss"], log_scale) if with_val else [],
            "size": val_mark_size(len(epochs)) if with_val else [],
        }
    )
    return {
        BATCH_DATA: train,
        VAL_DATA: val,
        HOVER_DATA: train if hover else train.iloc[:0],
        FRAME_DATA: blank_frame_rows("x", "loss", blank=not has),
    }


def marker_sizes(count: int) -> np.ndarray:
    """Point areas for `count` epochs on a line: evenly spaced epochs (at most VAL_MARKS, the
    last among them) get a dot sized by `val_mark_size`, the others none, so the dots of a long
    run stay dots along the line instead of merging into a band."""
    sizes = np.zeros(count)
    if count:
        marked = np.unique(np.linspace(0, count - 1, min(count, VAL_MARKS)).round()).astype(int)
        sizes[marked] = val_mark_size(len(marked))
    return sizes


def val_mark_size(count: int) -> float:
    """The area of a validation point when `count` are drawn: 9 px dots for up to 30, then
    smaller, so that across a ~700 px chart each stays apart from the next (down to 4 px)."""
    diameter = min(9.4, max(4.0, 420 / max(count, 1)))
    return round(np.pi / 4 * diameter**2, 1)


def live_loss_spec(
    *,
    x: str = "step",
    log_scale: bool = False,
    show_smoothed: bool = True,
    height: int = 360,
) -> dict:
    """`loss_chart` as a Vega-Lite spec without data, its layers reading the named datasets of
    `loss_frames`. While the view options stay put the spec is the same on every redraw, from
    the empty chart before a run to the run's end, so the browser only swaps the rows of the
    chart it has: a new spec makes it compile the chart and build a new view (a tenth of a
    second of the browser's main thread on a 2-core box, at the click on Train and again at
    the run's end when the tooltip came back as two more layers).

    The nearest-batch tooltip and rule read their own copy of the batches, HOVER_DATA, which
    the Train page leaves empty while a run trains: redrawn several times a second, those two
    layers (an invisible point and a Voronoi cell per row) cost the browser about as much as
    the rest of the chart together. The rows come back when the run pauses or ends."""
    if x not in X_AXES:
        raise ValueError(f"x must be one of {', '.join(X_AXES)}. Received: x={x!r}")
    return _live_loss_json(x, log_scale, show_smoothed, height).copy()


@functools.cache
def _live_loss_json(x: str, log_scale: bool, show_smoothed: bool, height: int) -> dict:
    layers = _loss_layers(
        alt.NamedData(BATCH_DATA),
        alt.NamedData(VAL_DATA),
        alt.NamedData(HOVER_DATA),
        x,
        log_scale,
        show_smoothed,
        height,
    )
    return live_spec(layers, blank_frame=("x", "loss"))


def live_spec(chart: alt.TopLevelMixin, blank_frame: tuple[str, str] | None = None) -> dict:
    """A chart that reads only named datasets, as a plain spec for `st.vega_lite_chart` (the
    rows go under those names), drawn on a canvas. A live chart is redrawn twice a second, and
    Vega redraws hundreds of rows faster on a canvas than as SVG: browser time that a browser
    on the training machine takes from training. `blank_frame`: the (x, y) fields of a chart
    drawn empty before its run (`with_blank_frame`)."""
    spec = chart.to_dict()
    if blank_frame is not None:
        spec = with_blank_frame(spec, *blank_frame)
    # Not Altair's default theme sizes (Streamlit's theme styles the chart), and no ARIA: on a
    # canvas nothing reads the per-row description that Vega-Lite otherwise builds, an
    # interpreted string of formatted numbers for every row on every redraw.
    spec["config"] = {"aria": False}
    for layer in spec.get("layer", [spec]):
        if "name" in layer.get("data", {}):
            # The rows come typed (Arrow); no per-row parse of the x field for the line's sort
            layer["data"]["format"] = {"parse": None}
    spec["usermeta"] = {"embedOptions": {"renderer": "canvas"}}
    return spec


FRAME_DATA = "blank_frame"  # two invisible points that give a chart with no rows its grid
BLANK_X, BLANK_Y = (0.0, 10.0), (0.1, 1.0)  # their x and y (y > 0: a log scale holds them)


def with_blank_frame(spec: dict, x: str, y: str) -> dict:
    """`spec` with one more layer: invisible points at fields `x`, `y` from FRAME_DATA, and
    no tick labels while it has rows. Fed `blank_frame_rows(True)` while the chart has no rows
    of its own, it shows its frame and grid (Vega draws no ticks for a scale without data)
    with the same spec it keeps once the rows come, so the browser never builds it again."""
    spec = copy.deepcopy(spec)
    if "layer" not in spec:  # a single view: the same view as the first of two layers
        top = {k: spec.pop(k) for k in ("$schema", "config", "height", "width") if k in spec}
        spec = {**top, "layer": [spec]}
    if "data" in spec:  # the layers' shared data, each layer's own beside the frame's
        shared = spec.pop("data")
        spec["layer"] = [{"data": copy.deepcopy(shared), **layer} for layer in spec["layer"]]
    hide = f"length(data('{FRAME_DATA}')) ? '' : datum.label"
    for layer in spec["layer"]:
        for channel in ("x", "y"):
            encoding = layer.get("encoding", {}).get(channel)
            if (
                encoding is not None
                and "field" in encoding
                and encoding.get("axis", {}) is not None
            ):
                encoding["axis"] = {**encoding.get("axis", {}), "labelExpr": hide}
    frame = {
        "data": {"name": FRAME_DATA},
        "mark": {"type": "point", "opacity": 0},
        "encoding": {
            "x": {"field": x, "type": "quantitative"},
            "y": {"field": y, "type": "quantitative"},
        },
    }
    spec["layer"].append(frame)
    return spec


def blank_frame_rows(x: str, y: str, blank: bool) -> pd.DataFrame:
    """FRAME_DATA's rows: two points spanning the blank chart when `blank`, else none."""
    rows = 2 if blank else 0
    return pd.DataFrame({x: list(BLANK_X)[:rows], y: list(BLANK_Y)[:rows]}, dtype=float)


def _loss_layers(
    train: pd.DataFrame | alt.NamedData,
    val: pd.DataFrame | alt.NamedData | None,
    hover: pd.DataFrame | alt.NamedData,
    x: str,
    log_scale: bool,
    show_smoothed: bool,
    height: int,
) -> alt.LayerChart:
    title = X_AXES[x][1]
    scale = alt.Scale(type="log") if log_scale else alt.Scale(zero=False)

    def color(series: str) -> alt.ColorValue:
        # The lines get constant colours, not a field: no per-row transform or scale lookup
        # for the browser to evaluate on every live redraw of hundreds of rows (Streamlit's
        # Vega interprets expressions row by row). The validation points (one per epoch)
        # carry the colour scale, whose fixed domain makes the legend of all three.
        return alt.value(SERIES_COLORS[SERIES.index(series)])

    # The legend names what is drawn, each entry in the shape drawn: a line for the training
    # curves, a dot for validation.
    shown = [s for s in SERIES if show_smoothed or s != SERIES[1]]
    legend_color = alt.Color(
        "series:N",
        scale=alt.Scale(domain=shown, range=[SERIES_COLORS[SERIES.index(s)] for s in shown]),
        legend=alt.Legend(title=None, orient="top", symbolStrokeWidth=2.5, **_legend_symbols()),
    )

    x_enc = alt.X("x:Q", title=title, scale=X_SCALE, axis=x_axis(x))
    base = alt.Chart(train).encode(x=x_enc)
    tooltip = [
        alt.Tooltip("step:Q", title="step"),
        alt.Tooltip("x:Q", title=title, format=",.4~f"),
        alt.Tooltip("loss:Q", title="loss", format=".4~g"),
    ]
    raw = base.mark_line(strokeWidth=1, opacity=0.6 if show_smoothed else 1.0).encode(
        y=alt.Y("loss:Q", title="loss", scale=scale, axis=Y_AXIS),
        color=color(SERIES[0]),
    )
    layers: list[alt.Chart] = [raw]
    if show_smoothed:
        tooltip.append(alt.Tooltip("smoothed:Q", title="smoothed", format=".4~g"))
        layers.append(
            base.mark_line(strokeWidth=2).encode(
                y=alt.Y("smoothed:Q", scale=scale),
                color=color(SERIES[1]),
            )
        )
    hover_base = alt.Chart(hover).encode(x=x_enc)
    y = "smoothed:Q" if show_smoothed else "loss:Q"
    layers += _hover_layers(hover_base, y, scale, tooltip)
    if val is not None:
        layers.append(
            alt.Chart(val)
            .transform_calculate(series=f"'{SERIES[2]}'")
            .mark_point(filled=True, size=VAL_MARK_SIZE)
            .encode(
                x=x_enc,
                y=alt.Y("val_loss:Q", scale=scale),
                color=legend_color,
                size=alt.Size("size:Q", scale=None),  # per row: smaller when there are many
                tooltip=[
                    alt.Tooltip("epoch:Q", title="epoch"),
                    alt.Tooltip("step:Q", title="step"),
                    alt.Tooltip("val_loss:Q", title="validation loss", format=".4~g"),
                ],
            )
        )
    return alt.layer(*layers).properties(height=height)


def _legend_symbols() -> dict:
    """Legend symbol settings, evaluated per entry: a stroke in the entry's colour for the
    training lines, a filled dot for validation (as drawn)."""
    is_dot = f"datum.value === '{SERIES[2]}'"
    return {
        "symbolType": alt.ExprRef(f"{is_dot} ? 'circle' : 'stroke'"),
        "symbolStrokeColor": alt.ExprRef("scale('color', datum.value)"),
        "symbolFillColor": alt.ExprRef(f"{is_dot} ? scale('color', datum.value) : null"),
    }


def _hover_layers(base: alt.Chart, y: str, scale: alt.Scale, tooltip: list) -> list[alt.Chart]:
    """The nearest batch along x gets a rule and a tooltip (Altair's multi-line example)."""
    nearest = alt.selection_point(
        name="hover", nearest=True, on="pointerover", fields=["x"], empty=False
    )
    points = (
        base.mark_point(size=60)
        .encode(y=alt.Y(y, scale=scale), opacity=alt.value(0), tooltip=tooltip)
        .add_params(nearest)
    )
    return [points, base.mark_rule(color="#888", strokeDash=[3, 3]).transform_filter(nearest)]


METRIC_DATA = "metric_epochs"  # dataset name of the live epoch-metric chart


def metric_frame(epochs: pd.DataFrame | None, metric: str) -> pd.DataFrame:
    """The live metric chart's rows: epoch (from 1), split (train or validation), value, and
    the area of its dot (`marker_sizes`). None or no epoch yet: no rows, the same columns."""
    names = [m for m in (metric, f"val_{metric}") if epochs is not None and m in epochs]
    if not names:
        return pd.DataFrame(
            {"epoch": np.array([], int), "split": np.array([], object),
             "value": np.array([], float), "size": np.array([], float)}
        )  # fmt: skip
    return (
        epochs[["epoch", *names]]
        .assign(epoch=epochs["epoch"] + 1, size=marker_sizes(len(epochs)))
        .melt(id_vars=["epoch", "size"], value_vars=names, var_name="split", value_name="value")
        .replace({"split": {metric: "train", f"val_{metric}": "validation"}})
    )[["epoch", "split", "value", "size"]]


def live_metric_spec(metric: str, *, height: int = 220) -> dict:
    """One epoch metric and its validation twin (e.g. accuracy and val_accuracy) per epoch,
    reading `metric_frame` rows from the dataset METRIC_DATA: the same spec on every redraw
    (see `live_loss_spec`)."""
    return _live_metric_json(metric, height).copy()


@functools.cache
def _live_metric_json(metric: str, height: int) -> dict:
    return live_spec(
        _metric_layer(alt.NamedData(METRIC_DATA), metric, height), blank_frame=("epoch", "value")
    )


def _metric_layer(data: pd.DataFrame | alt.NamedData, metric: str, height: int) -> alt.LayerChart:
    base = alt.Chart(data).encode(
        x=alt.X("epoch:Q", title="epoch", axis=alt.Axis(tickMinStep=1, format="d")),
        y=alt.Y("value:Q", title=metric, scale=alt.Scale(zero=False), axis=Y_AXIS),
        color=alt.Color(
            "split:N",
            scale=alt.Scale(domain=["train", "validation"], range=[TRAIN_COLOR, VAL_COLOR]),
            legend=alt.Legend(title=None, orient="top"),
        ),
        tooltip=["epoch:Q", "split:N", alt.Tooltip("value:Q", title=metric, format=".4~g")],
    )
    # A dot per epoch, sized by the row's `size` (none between the marked epochs of a long
    # run: `marker_sizes`), so the spec stays the same while the run grows. Two layers, not
    # a line with its point overlay: in a layer (`with_blank_frame`) Vega-Lite keeps the
    # overlay's per-row parse of the x field that the rows, typed, do not need.
    points = base.mark_point(filled=True, size=alt.ExprRef("datum.size"), opacity=1)
    return alt.layer(base.mark_line(), points).properties(height=height)


def runs_chart(
    curves: pd.DataFrame,
    *,
    x: str = "step",
    log_scale: bool = False,
    ignore_outliers: bool = True,
    height: int = 380,
) -> alt.Chart:
    """Smoothed loss curves of several runs, one color per run (`curves` has columns run,
    the x column of X_AXES[x], and smoothed).

    With `ignore_outliers` (TensorBoard's "Ignore outliers in chart scaling"), the y axis ends
    below a diverged run's explosion (`outlier_domain`) and its line leaves the plot there,
    so the other runs keep the height of the chart."""
    column, title = X_AXES[x]
    data = pd.DataFrame(
        {
            "run": curves["run"].astype(str).to_numpy(),
            "x": curves[column].to_numpy(),
            "smoothed": _finite_for_scale(curves["smoothed"], log_scale).to_numpy(),
        }
    )
    domain = outlier_domain(curves, log_scale) if ignore_outliers else None
    scale = alt.Scale(type="log") if log_scale else alt.Scale(zero=False)
    if domain is not None:
        scale = alt.Scale(type="log" if log_scale else "linear", domain=list(domain), nice=False)
    runs = list(pd.unique(data["run"]))
    color, legend_rows = runs_color(runs)
    return (
        alt.Chart(data)
        .mark_line(strokeWidth=2, clip=True)
        .encode(
            x=alt.X("x:Q", title=title, scale=X_SCALE, axis=x_axis(x)),
            y=alt.Y("smoothed:Q", title="loss (smoothed)", scale=scale),
            color=color,
            tooltip=[
                "run:N",
                alt.Tooltip("x:Q", title=title),
                alt.Tooltip("smoothed:Q", format=".4~g"),
            ],
        )
        .properties(height=height + LEGEND_ROW_PX * legend_rows)
    )


RIGHT_LEGEND_RUNS = 15  # the most runs a legend beside a 380-px chart lists (Vega cuts the rest)
LEGEND_COLUMNS = 4  # under the chart, for more
LEGEND_ROW_PX = 20
THEME_COLORS = 10  # Streamlit's theme's categorical colours: more runs take tableau20's


def runs_color(runs: list[str]) -> tuple[alt.Color, int]:
    """The overlay's colour by run, its legend listing every run in the order compared (not
    sorted as text: run 10 after run 9, not after run 1), and the rows its legend adds under
    the chart: beside it for up to RIGHT_LEGEND_RUNS, else in LEGEND_COLUMNS columns below,
    the chart taller by those rows so the plot keeps its height."""
    many = len(runs) > RIGHT_LEGEND_RUNS
    rows = -(-len(runs) // LEGEND_COLUMNS) if many else 0
    legend = (
        alt.Legend(title=None, orient="bottom", columns=LEGEND_COLUMNS, symbolLimit=0)
        if many
        else alt.Legend(title="run", symbolLimit=0)
    )
    scale = alt.Scale(scheme="tableau20") if len(runs) > THEME_COLORS else alt.Undefined
    return alt.Color("run:N", sort=runs, scale=scale, legend=legend), rows


# A run's smoothed loss this many times its starting level is an explosion (a diverged run, a
# spike): the overlay's y axis ignores it. Training rarely lifts a loss above where it started.
OUTLIER_FACTOR = 10


def outlier_domain(curves: pd.DataFrame, log_scale: bool = False) -> tuple | None:
    """A y range for the overlay's curves (`run`, `smoothed`, each run in step order) that
    leaves out explosions, or None when no run has one.

    A loss is bounded below and diverges upwards, so only the top is cut: the values of each
    run above OUTLIER_FACTOR times its first (a run that diverged at once has two). A
    percentile would not do: a run that diverged early is mostly explosion, a tenth of all
    points and more, and a 99th percentile is then inside the explosion."""
    values = _finite_for_scale(curves["smoothed"], log_scale)
    kept, cut = [], False
    for _, run in values.groupby(curves["run"].to_numpy(), sort=False):
        v = run.dropna().to_numpy()
        if not len(v):
            continue
        start = float(v[0])
        inside = v[v <= OUTLIER_FACTOR * start] if start > 0 else v
        cut |= len(inside) < len(v)
        kept.append(inside)
    if not cut:
        return None
    inside = np.concatenate(kept)
    bottom, top = float(values.min()), float(inside.max()) if len(inside) else float("nan")
    if not np.isfinite(top) or top <= bottom:
        return None
    if log_scale:
        return (bottom, top * 1.1)
    margin = (top - bottom) * 0.05
    return (max(bottom - margin, 0.0) if bottom >= 0 else bottom - margin, top + margin)


def off_scale_runs(curves: pd.DataFrame, log_scale: bool = False) -> list[str]:
    """The runs whose lines `runs_chart` cuts at the top when it ignores outliers."""
    domain = outlier_domain(curves, log_scale)
    if domain is None:
        return []
    above = _finite_for_scale(curves["smoothed"], log_scale) > domain[1]
    return list(dict.fromkeys(curves.loc[above.to_numpy(), "run"].astype(str)))


def learning_rate_chart(curve: Sequence[tuple[int, float]], *, height: int = 160) -> alt.Chart:
    """The schedule's learning rate against the step (from trainer.learning_rate_curve)."""
    data = pd.DataFrame(list(curve), columns=["step", "learning_rate"])
    return (
        alt.Chart(data)
        .mark_line(color=TRAIN_COLOR)
        .encode(
            x=alt.X("step:Q", title="step"),
            y=alt.Y("learning_rate:Q", title="learning rate", axis=alt.Axis(format=".2~e")),
            tooltip=["step:Q", alt.Tooltip("learning_rate:Q", format=".3~e")],
        )
        .properties(height=height)
    )


def view_x(view: dict) -> str:
    """The x axis the Train page's view options ask for ("step" for one it does not know: a
    link from an older version)."""
    return view["x"] if view["x"] in X_AXES else "step"


def view_smoothing(view: dict) -> float:
    """The EMA weight the Train page's view options ask for (0 when smoothing is off)."""
    return float(view["smoothing"]) if view["smooth"] else 0.0


def loss_chart_for_view(batches: pd.DataFrame, epochs: pd.DataFrame, view: dict) -> alt.LayerChart:
    """`loss_chart` as the Train page's view options (x axis, smoothing, log scale) draw it."""
    x = view_x(view)
    return loss_chart(
        batches, epochs, x=x, log_scale=bool(view["log"]), show_smoothed=bool(view["smooth"])
    )
