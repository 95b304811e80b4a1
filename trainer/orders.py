"""Each epoch's row order: `shuffle(buffer).batch(...)`'s order, computed once per data size,
buffer and seed in a process.

tf.data shuffles element by element (about 0.8 us a row): 16 epochs of 80,000 rows take a
second of a core, on a thread beside training. A run that repeats an earlier run's data size,
shuffle buffer and seed (Train again, a sweep over the learning rate or the layers) gets the
same orders, so they are kept (a bounded number of bytes, least recently used first out) and
handed out again instead of shuffled again.
"""

from __future__ import annotations

import threading
from collections import OrderedDict
from collections.abc import Iterator

import tensorflow as tf

from trainer.config import RunConfig

# Kept orders at most, in bytes: 40 epochs of a 100,000-row set (int64 indices).
CACHE_BYTES = 32 * 2**20

_lock = threading.Lock()
_kept: OrderedDict[tuple[int, int, int], list[tf.Tensor]] = OrderedDict()


def epoch_orders(n: int, config: RunConfig) -> Iterator[tf.Tensor]:
    """Each epoch's row order (int64 indices into the n training rows), endlessly: what the
    seed's `shuffle(buffer_size, reshuffle_each_iteration=True).batch(...)` takes rows in. The
    caller must have fixed TF's global seed to `config.seed` (`keras.utils.set_random_seed`):
    the shuffle's op seed pairs with it. `shuffle=False` keeps dataset order."""
    if not config.shuffle:
        order = tf.range(n, dtype=tf.int64)
        while True:
            yield order
    key = (n, config.shuffle_buffer, config.seed)
    known = _recall(key, config.epochs) or []
    yield from known
    # Not kept (or asked past the kept epochs): shuffle, keeping a whole run's orders.
    fresh: list[tf.Tensor] = []
    keep = not known and n * 8 * config.epochs <= CACHE_BYTES
    for epoch, order in enumerate(_shuffled(n, config)):
        if epoch < len(known):
            continue
        if keep and len(fresh) < config.epochs:
            fresh.append(order)
            if len(fresh) == config.epochs:
                _remember(key, fresh)
        yield order


def _shuffled(n: int, config: RunConfig) -> Iterator[tf.Tensor]:
    """tf.data shuffles the indices (same buffer semantics, reshuffled every epoch, seeded) and
    hands over a whole epoch's order at once, computing the next one in the background while
    this one trains."""
    indices = tf.data.Dataset.range(n).shuffle(
        config.shuffle_buffer, seed=config.seed, reshuffle_each_iteration=True
    )
    # No autotuning: the pipeline is fixed (one epoch ahead), and the autotuner's background
    # thread made deleting the iterator at the end of a run wait seconds for it to wake up.
    options = tf.data.Options()
    options.autotune.enabled = False
    yield from indices.batch(n).repeat().prefetch(1).with_options(options)


def _recall(key: tuple[int, int, int], epochs: int) -> list[tf.Tensor] | None:
    with _lock:
        known = _kept.get(key)
        if known is None or len(known) < epochs:
            return None
        _kept.move_to_end(key)
        return known


def _remember(key: tuple[int, int, int], orders: list[tf.Tensor]) -> None:
    with _lock:
        _kept[key] = orders
        _kept.move_to_end(key)
        while sum(map(_size, _kept.values())) > CACHE_BYTES:
            _kept.popitem(last=False)


def _size(orders: list[tf.Tensor]) -> int:
    return sum(int(order.shape[0]) * 8 for order in orders)


def forget() -> None:
    """Drop the kept orders (tests; a process that wants the memory back)."""
    with _lock:
        _kept.clear()
