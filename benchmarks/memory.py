"""Memory: peak RSS of a full MNIST-sized run, and RSS across 20 runs in a row in one process.

    python benchmarks/memory.py

1. Peak: trainer.train on MNIST-shaped uint8 data (60000 x 28 x 28, kept uint8, scaled
   in-graph), the seed's model, 2 epochs; max RSS of a fresh process. Bar: under 1.5 GB.
2. Creep: 20 consecutive runs (digits, the seed's model, 2 epochs) in one process, the way a
   long-lived dashboard server trains run after run; RSS after each. Bar: within 10% of the
   RSS after the second run.
"""

from __future__ import annotations

import gc
import resource
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

PEAK = """
import resource, numpy as np, trainer
rng = np.random.default_rng(0)
x = rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8)
y = rng.integers(0, 10, 60000).astype(np.int32)
data = trainer.Dataset.from_arrays(x, y)
config = trainer.RunConfig(dataset="csv", epochs=2, validation_split=1 / 6)
for event in trainer.train(config, data):
    pass
print(event.reason, resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)
"""


def rss_mb() -> float:
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def measure_peak() -> float:
    done = subprocess.run(
        [sys.executable, "-c", PEAK],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        env={"PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2", "PATH": "/usr/bin:/bin"},
    )
    reason, peak = done.stdout.split()
    assert reason == "completed", done.stdout
    return float(peak)


def measure_creep(runs: int = 20) -> list[float]:
    sys.path.insert(0, str(ROOT))
    import trainer

    config = trainer.RunConfig()
    data = trainer.load_dataset("digits")
    after = []
    for _ in range(runs):
        for _event in trainer.train(config, data):
            pass
        del _event
        gc.collect()
        after.append(rss_mb())
    return after


def main() -> None:
    peak = measure_peak()
    print(f"peak RSS, MNIST-sized uint8 run (60000x28x28, 2 epochs): {peak:.0f} MB (bar 1536)")
    after = measure_creep()
    base = after[1]
    print("RSS after each of 20 runs (MB):", " ".join(f"{v:.0f}" for v in after))
    print(
        f"run 20 vs run 2: {after[-1]:.0f} / {base:.0f} MB = {after[-1] / base - 1:+.1%} (bar +10%)"
    )


if __name__ == "__main__":
    main()
