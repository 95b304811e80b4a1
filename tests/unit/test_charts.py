"""Chart builders are pure: a DataFrame in, an alt.Chart out, inspected through to_dict()."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from trainer.events import BatchEnd, EpochEnd
from trainer.history import History
from ui import charts, data_charts


def history(n: int, per_epoch: int = 100) -> History:
    h = History(steps_per_epoch=per_epoch)
    rng = np.random.default_rng(0)
    for i in range(n):
        h.record(BatchEnd(i, i // per_epoch, i % per_epoch, 1 + rng.random(), (i + 1) * 10, i))
        if i % per_epoch == per_epoch - 1:
            h.record(
                EpochEnd(
                    i // per_epoch,
                    {"loss": 1.0, "val_loss": 0.9, "accuracy": 0.5, "val_accuracy": 0.6},
                    i,
                    float(i),
                )
            )
    return h


def datasets(spec: dict) -> dict[str, list]:
    return spec.get("datasets", {})


def test_loss_chart_layers_and_encodings():
    h = history(300)
    spec = charts.loss_chart(h.decimated(smoothing=0.6), h.epochs()).to_dict()
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["line", "line", "point", "rule", "point"]  # raw, smoothed, hover, rule, val
    raw, smoothed, hover, _, val = spec["layer"]
    assert raw["encoding"]["y"]["field"] == "loss"
    assert raw["mark"]["opacity"] < 1  # faint under the smoothed line
    assert smoothed["encoding"]["y"]["field"] == "smoothed"
    assert val["encoding"]["y"]["field"] == "val_loss"
    assert {t["field"] for t in hover["encoding"]["tooltip"]} == {"step", "x", "loss", "smoothed"}
    assert sorted(len(rows) for rows in datasets(spec).values()) == [3, 300]


def test_loss_chart_data_is_bounded_by_the_decimated_frame():
    h = history(20_000)
    spec = charts.loss_chart(h.decimated(max_points=1000), h.epochs()).to_dict()
    assert max(len(rows) for rows in datasets(spec).values()) <= 1000


@pytest.mark.parametrize(
    ("x", "title"), [("step", "step"), ("epoch", "epoch"), ("samples seen", "samples seen")]
)
def test_x_axis_choices(x, title):
    h = history(200)
    spec = charts.loss_chart(h.decimated(), h.epochs(), x=x).to_dict()
    assert spec["layer"][0]["encoding"]["x"]["title"] == title
    rows = next(r for r in datasets(spec).values() if len(r) == 200)
    expected = {"step": 199, "epoch": 2.0, "samples seen": 2000}[x]
    assert rows[-1]["x"] == pytest.approx(expected)


def test_log_scale_and_no_smoothing():
    h = history(50)
    frame = h.decimated()
    frame.loc[3, "loss"] = 0.0  # cannot be drawn on a log axis: becomes a gap, not an error
    spec = charts.loss_chart(frame, None, log_scale=True, show_smoothed=False).to_dict()
    marks = [layer["mark"]["type"] for layer in spec["layer"]]
    assert marks == ["line", "point", "rule", "point"]  # the last: validation (none) + legend
    assert spec["layer"][0]["encoding"]["y"]["scale"]["type"] == "log"
    rows = next(iter(datasets(spec).values()))
    assert rows[3]["loss"] is None


def test_loss_chart_of_an_empty_history():
    h = History()
    spec = charts.loss_chart(h.decimated(), h.epochs()).to_dict()
    assert all(len(rows) == 0 for rows in datasets(spec).values())


def test_unknown_x_axis_is_rejected():
    with pytest.raises(ValueError, match="x must be one of"):
        charts.loss_chart(History().decimated(), x="time")


def test_runs_chart_colors_by_run():
    curves = pd.concat(
        [history(100).decimated(smoothing=0.6).assign(run=name) for name in ("run 1", "run 2")]
    )
    spec = charts.runs_chart(curves).to_dict()
    assert spec["encoding"]["color"]["field"] == "run"
    assert {r["run"] for r in next(iter(datasets(spec).values()))} == {"run 1", "run 2"}


def test_the_runs_legend_lists_every_compared_run_in_the_order_compared():
    import re

    import vl_convert

    for count in (3, charts.RIGHT_LEGEND_RUNS + 9):  # beside the chart, then under it
        names = [f"run {i}" for i in range(count, 0, -1)]  # newest first, as compared
        curves = pd.concat(
            [history(20).decimated(smoothing=0.6).assign(run=name) for name in names]
        )
        spec = charts.runs_chart(curves).to_dict()
        svg = vl_convert.vegalite_to_svg(spec)
        drawn = re.findall(r">(run \d+)</text>", svg)
        assert drawn == names, drawn  # as text, run 10 came before run 2; past 18, none
        legend = spec["encoding"]["color"]["legend"]
        assert legend["symbolLimit"] == 0
        # Beside a 380-px chart a legend fits ~18 entries: Streamlit's chart cut the rest.
        assert legend.get("orient", "right") == (
            "right" if count <= charts.RIGHT_LEGEND_RUNS else "bottom"
        )


def test_small_charts_build():
    lr = charts.learning_rate_chart([(0, 0.1), (10, 0.05)]).to_dict()
    assert lr["encoding"]["y"]["field"] == "learning_rate"
    points = pd.DataFrame({"x1": [0.0, 1.0], "x2": [1.0, 0.0], "label": ["-1", "+1"]})
    assert data_charts.scatter_chart(points).to_dict()["encoding"]["color"]["type"] == "nominal"
    counts = pd.DataFrame({"class": ["a", "a"], "split": ["train", "validation"], "count": [3, 1]})
    assert data_charts.class_counts_chart(counts).to_dict()["mark"]["type"] == "bar"


def test_live_spec_is_the_same_whatever_the_data_and_reads_named_datasets():
    spec = charts.live_loss_spec(x="epoch", log_scale=True)
    assert spec == charts.live_loss_spec(x="epoch", log_scale=True)
    assert "datasets" not in spec
    names = {layer["data"]["name"] for layer in spec["layer"]}
    assert names == {charts.BATCH_DATA, charts.VAL_DATA, charts.HOVER_DATA, charts.FRAME_DATA}
    spec["datasets"] = {"mine": []}  # a caller adding its data does not touch the cached spec
    assert "datasets" not in charts.live_loss_spec(x="epoch", log_scale=True)
    assert charts.live_loss_spec(x="step") != charts.live_loss_spec(x="epoch")


def compiled(spec: dict) -> dict:
    """The Vega spec a Vega-Lite spec compiles to (as the browser's Vega-Lite does)."""
    import vl_convert

    return vl_convert.vegalite_to_vega(spec)


def mark_descriptions(vega: dict) -> list[dict]:
    """The per-item `description` encodings of a Vega spec's marks, nested marks (a faceted
    line's) included."""

    def walk(marks: list[dict]) -> list[dict]:
        return [m for mark in marks for m in (mark, *walk(mark.get("marks", [])))]

    updates = [m.get("encode", {}).get("update", {}) for m in walk(vega["marks"])]
    return [update["description"] for update in updates if "description" in update]


def parsed_fields(vega: dict) -> list[str]:
    """The per-row type conversions (`toNumber(datum[...])`) of a Vega spec's data flow."""
    return [
        step["expr"]
        for data in vega["data"]
        for step in data.get("transform", [])
        if step["type"] == "formula" and "toNumber" in step["expr"]
    ]


def boundary_spec() -> dict:
    from trainer.playground import CLASS_NAMES
    from ui import insight_charts

    return insight_charts.live_boundary_spec("classification", CLASS_NAMES)


@pytest.mark.parametrize(
    "make",
    [
        charts.live_loss_spec,
        lambda: charts.live_loss_spec(x="epoch", log_scale=True),
        lambda: charts.live_metric_spec("accuracy"),
        boundary_spec,
    ],
    ids=["loss", "loss by epoch, log scale", "metric", "boundary"],
)
def test_live_charts_compute_nothing_per_row_that_a_canvas_does_not_show(make):
    # Vega-Lite's ARIA default gives every mark item a description string, formatted by an
    # interpreted expression on each redraw of every row; on a canvas nothing reads it. Its
    # implicit parse re-types the x field of every row, which already comes typed.
    spec = make()
    vega = compiled(spec)
    assert vega["marks"] and mark_descriptions(vega) == [] and parsed_fields(vega) == []
    # Without the settings the same spec compiles to both: the checks can fail.
    spec.pop("config")
    for layer in spec.get("layer", [spec]):
        layer.get("data", {}).pop("format", None)
    vega = compiled(spec)
    assert mark_descriptions(vega)
    assert make is boundary_spec or parsed_fields(vega)  # the loss's and metric's x fields


def test_loss_frames_match_the_inline_chart():
    h = history(300)
    batches, epochs = h.decimated(smoothing=0.6), h.epochs()
    frames = charts.loss_frames(batches, epochs, x="samples seen")
    inline = datasets(charts.loss_chart(batches, epochs, x="samples seen").to_dict())
    assert sorted(len(rows) for rows in inline.values()) == [3, 300]
    assert len(frames[charts.BATCH_DATA]) == 300 and len(frames[charts.VAL_DATA]) == 3
    assert frames[charts.BATCH_DATA]["x"].tolist() == batches["samples_seen"].tolist()
    assert frames[charts.VAL_DATA]["epoch"].tolist() == [1, 2, 3]
    assert frames[charts.HOVER_DATA] is frames[charts.BATCH_DATA]  # the tooltip's rows
    empty = charts.loss_frames(History().decimated(), History().epochs())
    assert [len(f) for f in empty.values()] == [0, 0, 0, 2]  # the blank chart's two points


def test_the_live_tooltip_reads_its_own_rows_which_a_training_run_leaves_empty():
    spec = charts.live_loss_spec()
    *layers, frame = spec["layer"]  # the blank chart's frame (with_blank_frame)
    assert frame["data"]["name"] == charts.FRAME_DATA
    assert [layer["mark"]["type"] for layer in layers] == ["line", "line", "point", "rule", "point"]
    assert [layer["data"]["name"] for layer in layers] == [
        charts.BATCH_DATA,
        charts.BATCH_DATA,
        charts.HOVER_DATA,
        charts.HOVER_DATA,
        charts.VAL_DATA,
    ]
    assert [param["name"] for param in spec["params"]] == ["hover"]
    # The lines' colours are constants: no per-row transform for the browser on each redraw.
    assert all("transform" not in layer for layer in layers[:2])
    assert spec["usermeta"] == {"embedOptions": {"renderer": "canvas"}}
    h = history(300)
    batches, epochs = h.decimated(smoothing=0.6), h.epochs()
    training = charts.loss_frames(batches, epochs, hover=False)
    assert len(training[charts.BATCH_DATA]) == 300 and len(training[charts.HOVER_DATA]) == 0
    assert list(training[charts.HOVER_DATA]) == list(training[charts.BATCH_DATA])
    assert len(charts.loss_frames(batches, epochs)[charts.HOVER_DATA]) == 300


@pytest.mark.parametrize(
    "make, fields",
    [(charts.live_loss_spec, ("x", "loss")), (lambda: charts.live_metric_spec("mae"),
                                              ("epoch", "value"))],
    ids=["loss", "metric"],
)  # fmt: skip
def test_a_live_chart_with_no_rows_shows_its_grid_from_two_invisible_points(make, fields):
    # Vega draws no ticks, so no grid, for a scale without data: the empty chart before a
    # run was a blank space with two axis titles. Two invisible points span its scales
    # while it has no rows, with the spec it keeps once the rows come.
    spec = make()
    frame = spec["layer"][-1]
    assert frame["data"]["name"] == charts.FRAME_DATA and frame["mark"]["opacity"] == 0
    assert (frame["encoding"]["x"]["field"], frame["encoding"]["y"]["field"]) == fields
    vega = compiled(spec)
    # The browser feeds the rows under the dataset's own name, which the labels then read.
    assert charts.FRAME_DATA in {data["name"] for data in vega["data"]}
    labels = [
        axis["encode"]["labels"]["update"]["text"]["signal"]
        for axis in vega["axes"]
        if "labels" in axis.get("encode", {})
    ]
    assert len(labels) == 2 and all(f"data('{charts.FRAME_DATA}')" in text for text in labels)
    blank, filled = (charts.blank_frame_rows(*fields, blank=b) for b in (True, False))
    assert blank.columns.tolist() == list(fields) and len(blank) == 2 and len(filled) == 0
    assert (blank[fields[1]] > 0).all()  # on a log scale too


def test_the_metric_frame_of_no_epoch_has_the_columns_and_no_rows():
    for epochs in (None, History().epochs()):
        frame = charts.metric_frame(epochs, "accuracy")
        assert frame.columns.tolist() == ["epoch", "split", "value", "size"] and frame.empty


def test_live_metric_spec_reads_the_metric_frame():
    h = history(300)
    frame = charts.metric_frame(h.epochs(), "accuracy")
    assert frame.columns.tolist() == ["epoch", "split", "value", "size"]
    assert frame["epoch"].tolist() == [1, 2, 3, 1, 2, 3]
    assert frame["split"].tolist() == ["train"] * 3 + ["validation"] * 3
    spec = charts.live_metric_spec("accuracy")
    assert spec == charts.live_metric_spec("accuracy") and "datasets" not in spec
    line, dots, frame = spec["layer"]
    assert line["data"]["name"] == dots["data"]["name"] == charts.METRIC_DATA
    assert frame["data"]["name"] == charts.FRAME_DATA
    assert line["encoding"]["y"]["title"] == "accuracy"


def decode_png(url: str) -> np.ndarray:
    import base64
    import io

    from PIL import Image

    prefix = "data:image/png;base64,"
    assert url.startswith(prefix)
    return np.asarray(Image.open(io.BytesIO(base64.b64decode(url[len(prefix) :]))))


def test_live_boundary_is_one_image_over_the_grid_extent_in_the_legend_colours():
    from ui import insight_charts

    x1, x2 = np.array([0.0, 1.0, 2.0]), np.array([10.0, 20.0])
    values = np.array([[0.0, 0.5, 1.0], [1.0, 1.0, 7.0]])  # rows: x2 = 10, then x2 = 20
    points = pd.DataFrame({"x1": [0.1], "x2": [0.2], "label": ["+1"], "split": ["train"]})
    frames = insight_charts.boundary_frames(
        (x1, x2), values, "classification", ["-1", "+1"], points
    )
    (image,) = frames[insight_charts.GRID_DATA].to_dict("records")
    # Pixel centres on the grid points: the image reaches half a cell beyond them.
    assert (image["x1"], image["x1_end"], image["x2"], image["x2_end"]) == (-0.5, 2.5, 5, 25)
    assert frames[insight_charts.POINTS_DATA] is points
    pixels = decode_png(image["url"])
    assert pixels.shape == (2, 3, 3)
    orange, white, blue = ([int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in
                           insight_charts.PLAYGROUND_RANGE)  # fmt: skip
    # The top row of the image is the highest x2; values beyond [0, 1] clamp, as the legend.
    assert pixels[1].tolist() == [orange, white, blue] and pixels[0].tolist() == [blue] * 3
    spec = insight_charts.live_boundary_spec("classification", ["-1", "+1"], height=300)
    assert spec == insight_charts.live_boundary_spec("classification", ("-1", "+1"), height=300)
    heat, legend, dots = spec["layer"]
    assert heat["mark"]["type"] == "image" and heat["encoding"]["url"]["field"] == "url"
    assert heat["data"]["name"] == insight_charts.GRID_DATA
    assert dots["data"]["name"] == insight_charts.POINTS_DATA
    assert legend["encoding"]["color"]["scale"]["domain"] == [0, 0.5, 1]
    diverged = decode_png(insight_charts.boundary_image(np.array([[np.nan, np.inf]]), "regression"))
    assert diverged.tolist() == [[white, white]]
    regression = insight_charts.live_boundary_spec("regression", height=300)
    assert regression["layer"][1]["encoding"]["color"]["scale"]["domain"] == [-1, 0, 1]
    # No model yet: a transparent pixel over the same extent (the points do not move later).
    frames = insight_charts.boundary_frames((x1, x2), None, "classification", ["-1", "+1"], points)
    (blank,) = frames[insight_charts.GRID_DATA].to_dict("records")
    assert {k: v for k, v in blank.items() if k != "url"} == {
        k: v for k, v in image.items() if k != "url"
    }
    assert decode_png(blank["url"]).shape == (1, 1, 2)  # one pixel: grey 0, alpha 0
    assert decode_png(blank["url"]).tolist() == [[[0, 0]]]


def test_a_discrete_boundary_paints_each_point_in_its_predicted_class_colour():
    from ui import insight_charts

    def discrete(values) -> list:
        url = insight_charts.boundary_image(
            np.array([values]), "classification", ["-1", "+1"], discrete=True
        )
        pixels = decode_png(url)
        assert pixels.shape == (4, 4 * len(values), 3)  # four pixels a side per grid point
        return pixels[0].tolist()

    orange, white, blue = ([int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in
                           insight_charts.PLAYGROUND_RANGE)  # fmt: skip
    # Between two grid points the line falls where the interpolated probability crosses 0.5:
    # half-way between 0.2 and 0.8, a quarter of the way from 0.4 to 0.8.
    assert discrete([0.2, 0.8]) == [orange] * 4 + [blue] * 4
    assert discrete([0.4, 0.8]) == [orange] * 3 + [blue] * 5
    assert discrete([0.5, 0.5]) == [orange] * 8  # 0.5 is the first class's, as argmax says
    assert discrete([np.nan, np.nan]) == [white] * 8  # a diverged model's stays neutral
    three = np.array([[0, 1, 2]])  # several classes: already one colour per class
    assert insight_charts.boundary_image(
        three, "classification", ["a", "b", "c"], discrete=True
    ) == insight_charts.boundary_image(three, "classification", ["a", "b", "c"])


def test_boundary_chart_carries_the_image_and_points_inline_under_the_live_layers():
    from ui import insight_charts

    axes = (np.linspace(0, 1, 4), np.linspace(0, 1, 3))
    points = pd.DataFrame({"x1": [0.1, 0.9], "x2": [0.2, 0.8], "label": ["a", "b"]})
    points["split"] = "train"
    spec = insight_charts.boundary_chart(axes, np.full((3, 4), 0.7), points, "classification",
                                         ["a", "b"]).to_dict()  # fmt: skip
    tables = sorted(spec["datasets"].values(), key=len)
    assert [len(rows) for rows in tables] == [1, 2]
    assert decode_png(tables[0][0]["url"]).shape == (3, 4, 3)
    live = insight_charts.live_boundary_spec("classification", ["a", "b"])
    assert [layer["mark"] for layer in spec["layer"]] == [layer["mark"] for layer in live["layer"]]


def test_live_boundary_of_three_classes_paints_each_region_its_class_colour():
    from ui import insight_charts

    predicted = np.array([[0, 1, 2, 1]])
    url = insight_charts.boundary_image(predicted, "classification", ["a", "b", "c"])
    colours = [[int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in insight_charts.CATEGORY10]
    assert decode_png(url)[0].tolist() == [colours[0], colours[1], colours[2], colours[1]]
    spec = insight_charts.live_boundary_spec("classification", ["a", "b", "c"])
    legend_scale = spec["layer"][1]["encoding"]["color"]["scale"]
    assert legend_scale == {"domain": ["a", "b", "c"], "range": insight_charts.CATEGORY10[:3]}


def long_history(epochs: int) -> History:
    return history(epochs * 2, per_epoch=2)


def test_a_long_run_keeps_its_validation_points_apart():
    short, long = long_history(20), long_history(350)
    val = charts.loss_frames(short.decimated(), short.epochs())[charts.VAL_DATA]
    assert len(val) == 20 and set(val["size"]) == {charts.val_mark_size(20)}
    val = charts.loss_frames(long.decimated(), long.epochs())[charts.VAL_DATA]
    assert len(val) == charts.VAL_MARKS and val["epoch"].iloc[-1] == 350  # the last one shown
    assert val["size"].iloc[0] < charts.val_mark_size(20) / 3  # smaller dots when many
    spec = charts.live_loss_spec()
    assert spec["layer"][-2]["encoding"]["size"] == {"field": "size", "type": "quantitative",
                                                     "scale": None}  # fmt: skip
    # The epoch metric keeps its line through every epoch, dots on at most VAL_MARKS of them.
    frame = charts.metric_frame(long.epochs(), "accuracy")
    assert len(frame) == 700 and (frame["size"] > 0).sum() == 2 * charts.VAL_MARKS
    dots = charts.live_metric_spec("accuracy")["layer"][1]["mark"]
    assert dots["type"] == "point" and dots["size"] == {"expr": "datum.size"}


def test_the_legend_names_only_what_is_drawn():
    h = history(50)
    for smooth, names in ((True, charts.SERIES), (False, [charts.SERIES[0], charts.SERIES[2]])):
        spec = charts.loss_chart(h.decimated(), h.epochs(), show_smoothed=smooth).to_dict()
        (legend,) = [layer["encoding"]["color"] for layer in spec["layer"]
                     if "field" in layer["encoding"].get("color", {})]  # fmt: skip
        assert legend["scale"]["domain"] == names


def curves_of(**runs: np.ndarray) -> pd.DataFrame:
    return pd.concat(
        pd.DataFrame({"run": name, "step": np.arange(len(v)), "smoothed": v})
        for name, v in runs.items()
    )


def test_the_runs_overlay_ignores_a_diverged_runs_explosion():
    healthy = 2.3 * np.exp(-np.arange(400) / 80) + 0.05
    exploded = np.concatenate([healthy[:10], 10.0 ** np.arange(2, 32)])  # a third: 1e2 ... 1e31
    curves = curves_of(**{"run 1": healthy, "run 2": exploded})
    low, high = charts.outlier_domain(curves)
    assert low == 0 and 2.3 < high < 3  # the healthy run, whole
    assert np.percentile(curves["smoothed"], 99) > 1e20  # where a 99th percentile would end
    spec = charts.runs_chart(curves).to_dict()
    assert spec["encoding"]["y"]["scale"]["domain"] == [low, high]
    assert spec["mark"]["clip"] is True
    assert charts.off_scale_runs(curves) == ["run 2"]
    everything = charts.runs_chart(curves, ignore_outliers=False).to_dict()
    assert "domain" not in everything["encoding"]["y"]["scale"]
    # Healthy runs alone, their first batches included, are not cut.
    assert charts.outlier_domain(curves_of(a=healthy, b=healthy * 2 + 1)) is None
    assert charts.off_scale_runs(curves_of(a=healthy)) == []
    # A run that diverged at its second batch: one point of two is the explosion.
    at_once = curves_of(a=healthy, b=np.array([0.6, 1.1e12]))
    assert charts.outlier_domain(at_once)[1] < 3 and charts.off_scale_runs(at_once) == ["b"]
    log_low, log_high = charts.outlier_domain(curves, log_scale=True)
    assert log_low == healthy.min() and 2.3 < log_high < 3


def test_points_are_square_with_one_unit_on_both_axes_and_the_boundarys_colours():
    points = pd.DataFrame({"x1": [0.0, 10.0, 5.0], "x2": [100.0, 102.0, 101.0],
                           "label": ["a", "b", "c"]})  # fmt: skip
    spec = data_charts.scatter_chart(points, class_names=["a", "b", "c"]).to_dict()
    assert spec["width"] == spec["height"] == data_charts.SQUARE
    assert spec["autosize"] == {"type": "pad"}  # the plot's size, whatever Streamlit's default
    x1 = spec["encoding"]["x"]["scale"]["domain"]
    x2 = spec["encoding"]["y"]["scale"]["domain"]
    assert x1[1] - x1[0] == pytest.approx(x2[1] - x2[0]) and x2[0] < 100 < 102 < x2[1]
    assert spec["encoding"]["color"]["scale"]["range"] == data_charts.CATEGORY10[:3]
    two = data_charts.scatter_chart(points.head(2), class_names=["a", "b"]).to_dict()
    low, _, high = data_charts.PLAYGROUND_RANGE
    assert two["encoding"]["color"]["scale"]["range"] == [low, high]


def test_a_regression_target_has_one_diverging_scale_everywhere():
    from ui import insight_charts

    points = pd.DataFrame({"x1": [0.0, 1.0, 2.0], "x2": [0.0, 1.0, 2.0],
                           "label": [25.0, 100.0, 346.0], "split": "train"})  # fmt: skip
    domain = data_charts.target_range(points["label"])
    assert domain == (25.0, 157.0, 346.0)  # lowest, mean, highest
    data_page = data_charts.scatter_chart(points, regression=True).to_dict()["encoding"]["color"]
    boundary = insight_charts.live_boundary_spec("regression", target_domain=domain)
    heat, dots = boundary["layer"][1]["encoding"]["color"], boundary["layer"][2]["encoding"]["fill"]
    expected = {"domain": list(domain), "range": data_charts.PLAYGROUND_RANGE, "clamp": True,
                "interpolate": "rgb"}  # fmt: skip
    assert data_page["scale"] == heat["scale"] == dots["scale"] == expected
    # The image is painted on the same stops: the mean white, the lowest orange, highest blue.
    url = insight_charts.boundary_image(np.array([[25.0, 157.0, 346.0]]), "regression", (),
                                        domain)  # fmt: skip
    orange, white, blue = ([int(c[i : i + 2], 16) for i in (1, 3, 5)] for c in
                           data_charts.PLAYGROUND_RANGE)  # fmt: skip
    assert decode_png(url)[0].tolist() == [orange, white, blue]


def test_few_classes_get_plots_at_least_150_px_high_and_planes_are_square():
    from ui import insight_charts

    names = ["setosa", "versicolor", "virginica"]
    bars = insight_charts.probability_bars([0.1, 0.7, 0.2], names).to_dict()
    # Streamlit's default autosize ("fit") counts axes in the height: the spec says otherwise.
    assert bars["height"] >= 150 and bars["autosize"]["type"] == "fit-x"
    frame = pd.DataFrame([{"true": t, "predicted": p, "count": 1, "share": 1 / 3}
                          for t in names for p in names])  # fmt: skip
    matrix = insight_charts.confusion_heatmap(frame).to_dict()
    assert matrix["width"] == matrix["height"] >= 150 and matrix["autosize"] == {"type": "pad"}
    axes = (np.linspace(0, 1, 4), np.linspace(0, 1, 3))
    points = pd.DataFrame({"x1": [0.1], "x2": [0.2], "label": ["setosa"], "split": ["train"]})
    boundary = insight_charts.boundary_chart(axes, np.zeros((3, 4)), points, "classification",
                                             names).to_dict()  # fmt: skip
    assert boundary["width"] == boundary["height"] and boundary["autosize"] == {"type": "pad"}


def axis_labels(chart) -> tuple[list[str], list[str]]:
    """(x labels, y labels) of the chart as Vega draws it (an SVG by vl-convert): the left
    axis's labels stand 7 px left of the plot, the bottom axis's 15 px below it."""
    import re

    import vl_convert

    svg = vl_convert.vegalite_to_svg(chart.to_dict())
    found = re.findall(r'transform="translate\(([-0-9.]+),([-0-9.]+)\)"[^>]*>([^<]+)</text>', svg)
    x = [text for left, top, text in found if top == "15"]
    y = [text for left, top, text in found if left == "-7"]
    return x, y


def losses_frame(losses) -> pd.DataFrame:
    n = len(losses)
    return pd.DataFrame({"step": range(n), "epoch_progress": np.linspace(0, 1, n),
                         "samples_seen": range(n), "loss": losses})  # fmt: skip


def test_step_and_sample_axes_have_no_ticks_between_whole_numbers():
    for n in (2, 3, 10):  # d3 spaced 3 steps by 0.5 even with tickMinStep 1
        for x in ("step", "samples seen"):
            labels, _ = axis_labels(charts.loss_chart(losses_frame(np.linspace(1, 0, n)), x=x))
            assert labels == [str(i) for i in range(n)], (n, x, labels)
    labels, _ = axis_labels(charts.loss_chart(losses_frame(np.linspace(1, 0, 3)), x="epoch"))
    assert "0.5" in labels  # an epoch has parts


def test_the_step_axis_ends_where_the_run_does():
    for total in (32_000, 20_040):
        steps = np.unique(np.linspace(0, total - 1, 600).astype(int))
        frame = losses_frame(np.linspace(1, 0.1, len(steps))).assign(step=steps)
        labels, _ = axis_labels(charts.loss_chart(frame))
        assert int(labels[-1].replace(",", "")) <= total - 1, labels  # was 35,000 / 22,000
        curves = frame.assign(run="run 1", smoothed=frame["loss"])
        labels, _ = axis_labels(charts.runs_chart(curves))
        assert int(labels[-1].replace(",", "")) <= total - 1, labels


def test_loss_axis_labels_have_at_most_six_significant_digits():
    def y_labels(losses) -> set[str]:
        return set(axis_labels(charts.loss_chart(losses_frame(losses)))[1])

    assert y_labels([2.37245]) == {"2.37245"}  # a first point: was "2.372450"
    assert y_labels([1e24, 9.99999999999e23, 1e24]) == {"1e+24"}  # was 9.999999999991e+23...
    assert {"0.2", "1"} <= y_labels(list(np.linspace(1.2, 0.01, 50)))


def test_the_view_names_the_x_axis_and_an_unknown_one_reads_as_steps():
    assert [charts.view_x({"x": x}) for x in charts.X_AXES] == list(charts.X_AXES)
    assert charts.view_x({"x": "wall time"}) == "step"  # a link from an older version
