"""Steps/s of trainer.train against model.fit and the Keras guide's plain eager loop, in one run.

The seed's setup: MNIST-shaped data (60000 x 784 float32, 10 classes), two Dense(64, relu)
layers, SGD 1e-3, batch 64, shuffle buffer 1024, 2 epochs; the second epoch is timed (the first
pays for tracing). Every contender trains a fresh model from the same initial weights.

    python benchmarks/throughput.py            # full run (about a minute on 2 cores)
    python benchmarks/throughput.py --quick    # fewer samples, for a smoke check
    python benchmarks/throughput.py --threads 1  # one TF thread for every contender: on 2
                                                 # cores the fastest for this small model
"""

from __future__ import annotations

import argparse
import resource
import sys
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import keras  # noqa: E402
import tensorflow as tf  # noqa: E402

import trainer  # noqa: E402


def make_data(n: int) -> tuple[np.ndarray, np.ndarray]:
    rng = np.random.default_rng(0)
    return rng.random((n, 784), dtype=np.float32), rng.integers(0, 10, n).astype(np.int32)


def time_trainer(config: trainer.RunConfig, dataset: trainer.Dataset, weights) -> float:
    model = trainer.build_model(config, dataset)
    model.set_weights(weights)
    start = steps = None
    for event in trainer.train(config, dataset, model=model):
        if isinstance(event, trainer.EpochEnd) and event.epoch == 0:
            start, steps = time.perf_counter(), 0
        elif isinstance(event, trainer.BatchEnd) and start is not None:
            steps += 1
    return steps / (time.perf_counter() - start)


class EpochTimer(keras.callbacks.Callback):
    def on_epoch_begin(self, epoch, logs=None):
        self.start = time.perf_counter()

    def on_epoch_end(self, epoch, logs=None):
        self.seconds = time.perf_counter() - self.start


def seed_pipeline(x: np.ndarray, y: np.ndarray, batch: int) -> tf.data.Dataset:
    return tf.data.Dataset.from_tensor_slices((x, y)).shuffle(buffer_size=1024).batch(batch)


def time_fit(config, dataset, weights, x, y, steps_per_execution: int = 1) -> float:
    model = trainer.build_model(config, dataset)
    model.set_weights(weights)
    model.compile(
        optimizer=keras.optimizers.SGD(learning_rate=1e-3),
        loss=keras.losses.SparseCategoricalCrossentropy(from_logits=True),
        steps_per_execution=steps_per_execution,
    )
    timer = EpochTimer()
    model.fit(seed_pipeline(x, y, 64), epochs=2, verbose=0, callbacks=[timer])
    return -(-len(x) // 64) / timer.seconds


def time_eager(config, dataset, weights, x, y) -> float:
    """The guide's loop verbatim: eager, one Python iteration per batch."""
    model = trainer.build_model(config, dataset)
    model.set_weights(weights)
    optimizer = keras.optimizers.SGD(learning_rate=1e-3)
    loss_fn = keras.losses.SparseCategoricalCrossentropy(from_logits=True)
    train_dataset = seed_pipeline(x, y, 64)
    for epoch in range(2):
        start = time.perf_counter()
        steps = 0
        for x_batch, y_batch in train_dataset:
            with tf.GradientTape() as tape:
                logits = model(x_batch, training=True)
                loss_value = loss_fn(y_batch, logits)
            grads = tape.gradient(loss_value, model.trainable_weights)
            optimizer.apply_gradients(zip(grads, model.trainable_weights))
            steps += 1
        if epoch == 1:
            return steps / (time.perf_counter() - start)
    raise AssertionError("unreachable")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="12000 samples instead of 60000")
    parser.add_argument("--skip-eager", action="store_true", help="skip the slow eager loop")
    parser.add_argument(
        "--threads",
        type=int,
        default=0,
        help="TensorFlow intra- and inter-op threads for every contender (0: TF's default)",
    )
    args = parser.parse_args()
    if args.threads:
        # Before the first op: thread pools are fixed when TensorFlow's context starts.
        tf.config.threading.set_intra_op_parallelism_threads(args.threads)
        tf.config.threading.set_inter_op_parallelism_threads(args.threads)
    x, y = make_data(12_000 if args.quick else 60_000)
    dataset = trainer.Dataset.from_arrays(x, y, task="classification")
    config = trainer.RunConfig(dataset="csv", validation_split=0.0, epochs=2)
    keras.utils.set_random_seed(0)
    weights = trainer.build_model(config, dataset).get_weights()

    rows = {"trainer.train (every BatchEnd)": time_trainer(config, dataset, weights)}
    rows["model.fit"] = time_fit(config, dataset, weights, x, y)
    rows["model.fit(steps_per_execution=32)"] = time_fit(config, dataset, weights, x, y, 32)
    if not args.skip_eager:
        rows["guide's eager loop"] = time_eager(config, dataset, weights, x, y)
    # A second trainer round, interleaved, so one noisy moment does not decide the ratio.
    rows["trainer.train (every BatchEnd)"] = max(
        rows["trainer.train (every BatchEnd)"], time_trainer(config, dataset, weights)
    )

    ours = rows["trainer.train (every BatchEnd)"]
    threads = args.threads or "TF default"
    print(f"\n{len(x)} x 784 float32, batch 64, second epoch timed, TF {tf.__version__}, "
          f"threads: {threads}")  # fmt: skip
    print(f"{'contender':<36}{'steps/s':>10}{'trainer is':>14}")
    for name, rate in rows.items():
        print(f"{name:<36}{rate:>10.0f}{ours / rate:>13.2f}x")
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"peak memory (max RSS, whole process): {peak_mb:.0f} MB")


if __name__ == "__main__":
    main()
