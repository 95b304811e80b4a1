"""trainer.orders: each epoch's row order, kept per (rows, buffer, seed) and handed out again."""

import itertools

import keras
import numpy as np
import pytest
import tensorflow as tf

import trainer
from trainer import BatchEnd, RunConfig
from trainer import orders as orders_module
from trainer.orders import epoch_orders


@pytest.fixture(autouse=True)
def nothing_kept():
    orders_module.forget()
    yield
    orders_module.forget()


def guide_orders(n: int, buffer: int, seed: int, epochs: int) -> list[np.ndarray]:
    """The Keras guide's pipeline, shuffled by tf.data itself, under the same global seed."""
    keras.utils.set_random_seed(seed)
    dataset = tf.data.Dataset.range(n).shuffle(buffer, seed=seed, reshuffle_each_iteration=True)
    return [batch.numpy() for batch in itertools.islice(dataset.batch(n).repeat(), epochs)]


def take(n: int, config: RunConfig, epochs: int) -> list[tf.Tensor]:
    keras.utils.set_random_seed(config.seed)  # as the loop does before it asks
    return list(itertools.islice(epoch_orders(n, config), epochs))


def test_kept_orders_are_the_shuffle_and_are_handed_out_again():
    config = RunConfig(shuffle_buffer=8, seed=3, epochs=3)
    expected = guide_orders(50, 8, 3, 3)
    first = take(50, config, 3)
    again = take(50, config, 3)
    for got in (first, again):
        assert [order.numpy().tolist() for order in got] == [e.tolist() for e in expected]
    # The second run shuffled nothing: it got the first run's tensors.
    assert all(a is b for a, b in zip(first, again))


def test_another_seed_buffer_or_size_is_shuffled_anew():
    base = RunConfig(shuffle_buffer=8, seed=3, epochs=2)
    kept = take(50, base, 2)
    for n, config in ((50, base.replace(seed=4)), (50, base.replace(shuffle_buffer=16)),
                      (60, base)):  # fmt: skip
        got = take(n, config, 2)
        assert all(a is not b for a, b in zip(kept, got))
        expected = guide_orders(n, config.shuffle_buffer, config.seed, 2)
        assert [o.numpy().tolist() for o in got] == [e.tolist() for e in expected]


def test_asking_past_the_kept_epochs_goes_on_with_the_shuffle():
    config = RunConfig(shuffle_buffer=8, seed=5, epochs=2)
    take(40, config, 2)
    got = take(40, config, 5)  # two kept, then the third to fifth epochs shuffled
    assert [o.numpy().tolist() for o in got] == [e.tolist() for e in guide_orders(40, 8, 5, 5)]


def test_a_shorter_run_is_kept_but_a_longer_one_does_not_take_it():
    take(40, RunConfig(shuffle_buffer=8, seed=5, epochs=2), 2)
    longer = RunConfig(shuffle_buffer=8, seed=5, epochs=4)
    got = take(40, longer, 4)
    assert [o.numpy().tolist() for o in got] == [e.tolist() for e in guide_orders(40, 8, 5, 4)]
    assert all(a is b for a, b in zip(got, take(40, longer, 4)))  # now kept whole


def test_kept_bytes_stay_under_the_limit(monkeypatch):
    monkeypatch.setattr(orders_module, "CACHE_BYTES", 2 * 100 * 8)  # two epochs of 100 rows
    one = RunConfig(shuffle_buffer=8, seed=1, epochs=1)
    first = take(100, one, 1)
    take(100, one.replace(seed=2), 1)
    take(100, one.replace(seed=3), 1)  # the least recently used (seed 1) goes
    assert take(100, one, 1)[0] is not first[0]
    too_big = RunConfig(shuffle_buffer=8, seed=9, epochs=3)  # 2,400 bytes: never kept
    assert take(100, too_big, 3)[0] is not take(100, too_big, 3)[0]


def test_a_run_trained_again_in_the_same_process_repeats_its_losses():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(300, 2)).astype(np.float32)
    data = trainer.Dataset.from_arrays(x, (x[:, 0] * x[:, 1] > 0).astype(np.int32))
    config = RunConfig(dataset="csv", batch_size=16, epochs=3, shuffle_buffer=32, seed=7)

    def losses() -> list[float]:
        return [e.loss for e in trainer.train(config, data) if isinstance(e, BatchEnd)]

    first = losses()  # shuffles and keeps the orders
    again = losses()  # takes the kept orders
    orders_module.forget()
    fresh = losses()  # shuffles again
    assert first == again == fresh
