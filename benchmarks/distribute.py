"""Steps/s of the same run on 1 device vs MirroredStrategy over 2 logical CPU devices.

On a 2-core machine expect no speed-up: the point is equal results and working plumbing. On a
multi-GPU machine pass --gpus to compare one GPU with MirroredStrategy over all of them.

    python benchmarks/distribute.py          # 1 vs 2 logical CPU devices
    python benchmarks/distribute.py --gpus   # 1 GPU vs all local GPUs
"""

from __future__ import annotations

import argparse
import sys
import time
from pathlib import Path

import numpy as np
import tensorflow as tf

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--gpus", action="store_true", help="compare GPUs instead of CPUs")
    parser.add_argument("--samples", type=int, default=60_000)
    args = parser.parse_args()
    if not args.gpus:
        cpu = tf.config.list_physical_devices("CPU")[0]
        tf.config.set_logical_device_configuration(
            cpu, [tf.config.LogicalDeviceConfiguration()] * 2
        )
    import keras

    import trainer

    rng = np.random.default_rng(0)
    x = rng.random((args.samples, 784), dtype=np.float32)
    y = rng.integers(0, 10, args.samples).astype(np.int32)
    data = trainer.Dataset.from_arrays(x, y)
    config = trainer.RunConfig(dataset="csv", validation_split=0.0, epochs=2)
    keras.utils.set_random_seed(0)
    weights = trainer.build_model(config, data).get_weights()
    devices = [d.name for d in tf.config.list_logical_devices("GPU" if args.gpus else "CPU")]
    contenders = {
        "1 device": tf.distribute.OneDeviceStrategy(devices[0]),
        f"MirroredStrategy x{len(devices)}": tf.distribute.MirroredStrategy(devices),
    }
    results = {}
    for name, strategy in contenders.items():
        with strategy.scope():
            model = trainer.build_model(config, data)
        model.set_weights(weights)
        losses, start, steps = [], None, 0
        for event in trainer.train(config, data, model=model, strategy=strategy):
            if isinstance(event, trainer.EpochEnd) and event.epoch == 0:
                start = time.perf_counter()
            elif isinstance(event, trainer.BatchEnd):
                losses.append(event.loss)
                steps += start is not None
        results[name] = (steps / (time.perf_counter() - start), np.array(losses))
    base_rate, base_losses = next(iter(results.values()))
    print(f"\n{args.samples} x 784, global batch 64, second epoch timed")
    print(f"{'strategy':<28}{'steps/s':>10}{'vs 1 device':>13}{'max |loss diff|':>18}")
    for name, (rate, losses) in results.items():
        diff = np.abs(losses - base_losses).max()
        print(f"{name:<28}{rate:>10.0f}{rate / base_rate:>12.2f}x{diff:>18.2e}")


if __name__ == "__main__":
    main()
