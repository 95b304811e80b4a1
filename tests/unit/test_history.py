"""History: columnar recording, decimation that keeps spikes, TensorBoard smoothing, CSV."""

from __future__ import annotations

import math

import numpy as np
import pandas as pd
import pytest

from trainer.events import BatchEnd, EpochEnd, TrainingEnd
from trainer.history import BATCH_COLUMNS, History, smooth


def fill(history: History, losses, per_epoch: int = 100, batch_size: int = 32) -> History:
    for i, loss in enumerate(losses):
        history.record(
            BatchEnd(i, i // per_epoch, i % per_epoch, float(loss), (i + 1) * batch_size, i * 0.01)
        )
        if i % per_epoch == per_epoch - 1:
            metrics = {"loss": float(loss), "val_loss": 1.0 / (i + 1), "accuracy": 0.5}
            history.record(EpochEnd(i // per_epoch, metrics, i, i * 0.01))
    return history


def tensorboard_smooth(values, weight):
    """TensorBoard's resampleData smoothing, transcribed (vz_line_chart2 / scalar dashboard)."""
    last, count, out = 0.0, 0, []
    for v in values:
        if not math.isfinite(v):
            out.append(v)
            continue
        last = last * weight + (1 - weight) * v
        count += 1
        out.append(last / (1 - weight**count))
    return np.array(out)


def test_records_batches_and_grows_by_doubling():
    history = fill(History(capacity=4), np.linspace(2, 1, 1000))
    assert len(history) == 1000
    assert history.capacity == 1024  # 4 doubled until it held 1000
    frame = history.batches()
    assert list(frame.columns) == list(BATCH_COLUMNS)
    assert frame["step"].tolist() == list(range(1000))
    assert frame["samples_seen"].iloc[-1] == 32_000
    assert history.last == BatchEnd(999, 9, 99, 1.0, 32_000, 9.99)


def test_training_end_is_ignored():
    history = fill(History(), [1.0, 0.5])
    history.record(TrainingEnd("completed", 1, 0, 0.01))
    assert len(history) == 2


def test_epochs_frame_has_metrics_and_position():
    history = fill(History(steps_per_epoch=100), np.ones(300))
    epochs = history.epochs()
    assert epochs["epoch"].tolist() == [0, 1, 2]
    assert epochs["step"].tolist() == [99, 199, 299]
    assert epochs["samples_seen"].tolist() == [3200, 6400, 9600]
    assert epochs["epoch_progress"].tolist() == [1.0, 2.0, 3.0]
    assert {"loss", "val_loss", "accuracy"} <= set(epochs.columns)
    assert history.best("val_loss") == pytest.approx(1 / 300)
    assert history.best("accuracy") == 0.5


@pytest.mark.parametrize("n", [10, 1999, 2000, 2001, 50_000])
def test_decimated_is_bounded_whatever_the_length(n):
    history = fill(History(steps_per_epoch=100), np.random.default_rng(0).random(n))
    frame = history.decimated(max_points=2000)
    assert len(frame) <= 2000
    assert len(frame) == min(n, 2000) if n <= 2000 else len(frame) > 1000
    assert frame["step"].is_monotonic_increasing


def test_decimated_keeps_each_buckets_min_and_max():
    losses = np.random.default_rng(1).random(100_000) + 1.0
    losses[54_321] = 50.0  # a spike
    losses[77_777] = 0.001  # a dip
    losses[12_345] = np.nan  # a NaN step stays visible too
    history = fill(History(steps_per_epoch=1000), losses)
    frame = history.decimated(max_points=500)
    assert len(frame) <= 500
    steps = set(frame["step"])
    assert {54_321, 77_777, 12_345} <= steps
    # Bucket by bucket, the kept rows span the same min and max as the raw data.
    edges = np.linspace(0, len(losses), 251).astype(int)
    for lo, hi in zip(edges[:-1], edges[1:]):
        kept = frame[(frame["step"] >= lo) & (frame["step"] < hi)]["loss"]
        assert np.nanmin(kept) == np.nanmin(losses[lo:hi])
        if lo <= 12_345 < hi:
            assert kept.isna().sum() == 1  # the NaN counts as the bucket's extreme
        else:
            assert kept.max() == losses[lo:hi].max()


def test_decimated_carries_smoothing_and_fractional_epochs():
    losses = np.random.default_rng(2).random(300)
    history = fill(History(steps_per_epoch=100), losses)
    frame = history.decimated(smoothing=0.6)
    np.testing.assert_allclose(frame["smoothed"], tensorboard_smooth(losses, 0.6))
    assert frame["epoch_progress"].iloc[0] == pytest.approx(0.01)
    assert frame["epoch_progress"].iloc[-1] == pytest.approx(3.0)


@pytest.mark.parametrize("weight", [0.0, 0.6, 0.9, 0.999])
def test_smooth_equals_tensorboards_debiased_ema(weight):
    values = np.random.default_rng(3).normal(size=500)
    values[[7, 100]] = [np.inf, np.nan]
    np.testing.assert_allclose(smooth(values, weight), tensorboard_smooth(values, weight))


def test_smooth_hand_computed():
    # weight 0.5: 1 -> 1; (0.25 + 0.5*3... ) computed by hand: (0.5*1 + 3) / 1.5 = 2.333...
    np.testing.assert_allclose(smooth([1.0, 3.0], 0.5), [1.0, (0.5 * 1 + 3) / 1.5])
    with pytest.raises(ValueError, match="weight"):
        smooth([1.0], 1.0)


def test_steps_per_second_uses_recent_window():
    history = History()
    for i in range(200):
        # 10 steps/s for the first 100 steps, then 100 steps/s.
        t = i * 0.1 if i < 100 else 9.9 + (i - 99) * 0.01
        history.record(BatchEnd(i, 0, i, 1.0, i + 1, t))
    assert history.steps_per_second(window_s=0.5) == pytest.approx(100, rel=0.05)
    assert History().steps_per_second() is None


def test_steps_per_second_leaves_out_the_first_call_that_traced():
    # As the engine records them: a call's time spread evenly over its steps. The first call
    # (4 steps) took 2 s, tracing included; then calls of 20 steps at 10 ms a step.
    history, elapsed, step = History(), 0.0, 0
    for size, seconds in [(4, 2.0)] + [(20, 0.2)] * 5:
        for k in range(size):
            history.record(
                BatchEnd(step, 0, step, 1.0, step + 1, elapsed + seconds * (k + 1) / size)
            )
            step += 1
        elapsed += seconds
    assert history.steps_per_second() == pytest.approx(100, rel=1e-6)  # not 104 / 3 s
    # While only the first call is known, it is all there is.
    first = History()
    for k in range(4):
        first.record(BatchEnd(k, 0, k, 1.0, k + 1, 0.5 * (k + 1)))
    assert first.steps_per_second() == pytest.approx(2.0)


def test_to_csv_is_atomic_and_tidy(tmp_path):
    history = fill(History(), np.ones(200))
    path = history.to_csv(tmp_path / "out" / "history.csv")
    assert sorted(p.name for p in path.parent.iterdir()) == ["history.csv"]  # no temp left
    frame = pd.read_csv(path)
    assert len(frame) == 200
    assert {"epoch_loss", "val_loss", "accuracy"} <= set(frame.columns)
    assert frame["val_loss"].notna().sum() == 2


def test_to_csv_failure_leaves_no_temp_file(tmp_path, monkeypatch):
    history = fill(History(), np.ones(5))

    def boom(*args, **kwargs):
        raise OSError("disk full")

    monkeypatch.setattr(pd.DataFrame, "to_csv", boom)
    with pytest.raises(OSError):
        history.to_csv(tmp_path / "h.csv")
    assert list(tmp_path.iterdir()) == []


def test_moving_average_is_a_trailing_mean_and_decimated_can_use_it():
    from trainer.events import BatchEnd
    from trainer.history import History, moving_average

    values = [1.0, 3.0, 5.0, float("inf"), 7.0]
    np.testing.assert_allclose(moving_average(values, 2), [1.0, 2.0, 4.0, 5.0, 7.0])
    history = History()
    for step, loss in enumerate([4.0, 2.0, 6.0, 0.0]):
        history.record(BatchEnd(step, 0, step, loss, step + 1, 0.0))
    np.testing.assert_allclose(history.decimated(window=3)["smoothed"], [4.0, 3.0, 4.0, 8 / 3])
    raw = history.decimated(window=3)["loss"].tolist()
    assert raw == [4.0, 2.0, 6.0, 0.0]  # the raw line is kept beside the smoothed one


def test_epochs_is_rebuilt_when_an_epoch_ends_and_callers_cannot_corrupt_it():
    h = fill(History(), [1.0] * 200)
    first = h.epochs()
    first.loc[0, "val_loss"] = 123.0  # a caller's edit stays in its copy
    assert h.epochs()["val_loss"].tolist() == [1 / 100, 1 / 200]
    assert h.best("val_loss") == 1 / 200
    h.record(EpochEnd(2, {"loss": 0.7, "val_loss": 1e-4}, 299, 3.0))
    assert h.epochs()["epoch"].tolist() == [0, 1, 2]
    assert h.best("val_loss") == 1e-4


def test_epochs_for_display_is_bounded_and_keeps_first_and_last():
    h = History()
    for epoch in range(5000):  # a small dataset: thousands of epochs
        h.record(BatchEnd(epoch, epoch, 0, 1.0, epoch + 1, float(epoch)))
        h.record(EpochEnd(epoch, {"loss": 1.0 / (epoch + 1)}, epoch, float(epoch)))
    shown = h.epochs(max_points=600)
    assert len(shown) <= 600
    assert shown["epoch"].iloc[[0, -1]].tolist() == [0, 4999]
    assert shown["epoch"].is_monotonic_increasing
    assert len(h.epochs(max_points=6000)) == 5000
