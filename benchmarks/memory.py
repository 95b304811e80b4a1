"""Memory of the whole app: one big run, hundreds of runs in a row, and two big runs at once.

    python benchmarks/memory.py [--runs 500] [--skip-peak]

TensorFlow/Keras keeps a little memory for every model a process builds, and never gives it
back: a process that trains run after run grows without end. So the server (this process here)
never imports TensorFlow, and its runs are trained by worker processes (`service.RunService`)
that are replaced after `Settings.worker_max_runs` runs or above `worker_max_rss_mb`. Only those
replacements keep a long-lived server flat; this measures that they do.

1. Peak: trainer.train on MNIST-shaped uint8 data (60000 x 28 x 28, kept uint8, scaled
   in-graph), the seed's model, 2 epochs; max RSS of a fresh process. Bar: under 1.5 GB.
2. Creep: --runs runs (digits, the seed's model, 2 epochs) one after another through one
   RunService with default Settings. After each: the RSS of this process (the server, which
   keeps every run's record, up to Settings.keep_runs) and the sum over the live worker
   processes (every child of this process, retiring ones included). Worker starts and
   replacements make the total a saw-tooth, so the honest figure is the least-squares slope
   over runs 20..N. Bars: run N within +10% of run 20; the app under 0.5 MB a run.
3. Concurrent: Settings.max_concurrent (2) MNIST-sized runs started at the same moment; the
   total RSS (this process + every worker) sampled every 0.1 s until both finish. Bar: peak
   under 2.5 GB. (dataset="csv": the data is pickled to each worker, as CSV uploads travel.)
   Sampling goes on for AFTER_S more: a run that ends warms the task worker (Evaluate's
   TensorFlow) while the training workers still hold what the big runs used.

Parts 2 and 3 keep their runs in a throwaway store (TAPEBOARD_HOME in a temporary folder,
TAPEBOARD_DB unset), never in yours. Missed bars are printed, not fatal: the exit status is
non-zero only if something crashed.
"""

from __future__ import annotations

import argparse
import contextlib
import os
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import trainer  # noqa: E402  (after the path: the script runs from anywhere)
from service import RunService, Settings  # noqa: E402
from service.memory import rss_mb  # noqa: E402
from trainer.data import split_validation  # noqa: E402

RUN_TIMEOUT_S = 600.0
SAMPLE_S = 0.1
AFTER_S = 15.0  # part 3 samples this long after the runs end

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


# -- measuring -------------------------------------------------------------------------------------
def measure_peak() -> float:
    """Max RSS of a fresh process that trains one MNIST-sized run (MB)."""
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


def child_pids() -> list[int]:
    """The processes this one started that are still alive: the workers, retiring ones too."""
    me, pids = os.getpid(), []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, ValueError, IndexError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == me:
                pids.append(int(stat.parent.name))
    return pids


def measure_rss() -> tuple[float, float, int]:
    """(this process's RSS, the sum over its live children, how many children), in MB."""
    workers = [rss_mb(pid) for pid in child_pids()]
    workers = [mb for mb in workers if mb is not None]  # an exited child has no RSS left
    return rss_mb() or 0.0, sum(workers), len(workers)


def slope(values: list[float], first: int) -> float:
    """Least-squares MB per run of values[first - 1:], values[0] being run 1."""
    runs = np.arange(first, len(values) + 1)
    return float(np.polyfit(runs, values[first - 1 :], 1)[0])


# -- training through the service ------------------------------------------------------------------
def start_service() -> RunService:
    service = RunService(Settings())
    if not service.wait_until_ready():
        service.close()
        raise RuntimeError("the workers were not ready within 120 s")
    return service


def wait_for(runs: list) -> None:
    """Block until every run has ended; a run that did not complete is a crash."""
    deadline = time.monotonic() + RUN_TIMEOUT_S
    while not all(run.finished for run in runs):
        if time.monotonic() > deadline:
            raise TimeoutError(f"runs still training after {RUN_TIMEOUT_S:.0f} s")
        time.sleep(0.01)
    for run in runs:
        if run.end.reason != "completed":
            raise RuntimeError(f"{run.name} ended {run.end.reason}: {run.end.message}")


def settle(service: RunService) -> None:
    """Wait until the pool has taken every worker's Idle: the run's worker is free again (or
    being replaced), so each run is measured at the same point."""
    deadline = time.monotonic() + 10
    while any(w.run_id for w in service.pool.snapshot()) and time.monotonic() < deadline:
        time.sleep(0.005)


def measure_creep(runs: int) -> tuple[list[float], list[float], int]:
    """RSS of the server and of all workers after each of `runs` digits runs; workers started."""
    config = trainer.RunConfig(dataset="digits", epochs=2)
    data = split_validation(trainer.load_dataset("digits"), config.validation_split, config.seed)
    server, workers = [], []
    service = start_service()
    began = time.perf_counter()
    try:
        for number in range(1, runs + 1):
            wait_for([service.start(config, data, owner="bench", data_title="digits")])
            settle(service)
            mine, theirs, count = measure_rss()
            server.append(mine)
            workers.append(theirs)
            if number % 50 == 0:
                print(
                    f"  run {number:4d}: server {mine:5.0f} MB + {count} workers {theirs:5.0f} MB"
                    f" = {mine + theirs:5.0f} MB ({time.perf_counter() - began:.0f} s)",
                    flush=True,
                )
        started = service.pool.started
    finally:
        service.close()
    return server, workers, started


class Sampler(threading.Thread):
    """Samples the total RSS (this process + its children) every SAMPLE_S; keeps the peak."""

    def __init__(self) -> None:
        super().__init__(daemon=True)
        self.done = threading.Event()
        self.peak = (0.0, 0.0, 0)  # (server, workers, worker count) at the highest total

    def run(self) -> None:
        while not self.done.is_set():
            sample = measure_rss()
            if sample[0] + sample[1] > self.peak[0] + self.peak[1]:
                self.peak = sample
            self.done.wait(SAMPLE_S)


def mnist_sized() -> trainer.Dataset:
    rng = np.random.default_rng(0)
    x = rng.integers(0, 256, (60000, 28, 28), dtype=np.uint8)
    y = rng.integers(0, 10, 60000).astype(np.int32)
    return split_validation(trainer.Dataset.from_arrays(x, y), 1 / 6, 0)


def measure_concurrent() -> tuple[tuple, tuple, int, float]:
    """Peaks (server, workers, count) while max_concurrent MNIST-sized runs train at once and
    up to AFTER_S after they end; how many ran, and how long they took."""
    config = trainer.RunConfig(dataset="csv", epochs=2, validation_split=1 / 6)
    data = mnist_sized()
    service = start_service()
    sampler = Sampler()
    try:
        sampler.start()
        began = time.perf_counter()
        count = service.settings.max_concurrent
        wait_for([service.start(config, data, owner="bench") for _ in range(count)])
        seconds = time.perf_counter() - began
        during = sampler.peak
        time.sleep(AFTER_S)
    finally:
        sampler.done.set()
        sampler.join()
        service.close()
    return during, sampler.peak, count, seconds


# -- report ----------------------------------------------------------------------------------------
def report_peak() -> None:
    peak = measure_peak()
    print("1. peak RSS, one MNIST-sized run (60000x28x28 uint8, 2 epochs), fresh process:")
    print(f"   {peak:.0f} MB (bar < 1536 MB)", flush=True)


def report_creep(runs: int) -> None:
    print(f"2. {runs} digits runs (seed's model, 2 epochs) in a row through one RunService:")
    server, workers, started = measure_creep(runs)
    total = [s + w for s, w in zip(server, workers)]
    first, last = total[19], total[-1]
    print(
        f"   total run 20 vs run {runs}: {first:.0f} -> {last:.0f} MB = "
        f"{last / first - 1:+.1%} (bar within +10%)"
    )
    print(f"   slope over runs 20..{runs}, server alone: {slope(server, 20):+.3f} MB/run")
    print(
        f"   slope over runs 20..{runs}, server + workers: {slope(total, 20):+.3f} MB/run "
        "(bar < 0.5 MB/run)"
    )
    print(f"   max total: {max(total):.0f} MB; worker processes started in all: {started}")
    print(f"   server after run 20: {server[19]:.0f} MB, after run {runs}: {server[-1]:.0f} MB")


def report_concurrent() -> None:
    during, after, runs, seconds = measure_concurrent()
    print(f"3. {runs} MNIST-sized runs (60000x28x28 uint8, 2 epochs) at once through a RunService:")
    for when, (server, workers, count) in (
        (f"until both finished ({seconds:.0f} s)", during),
        (f"until {AFTER_S:.0f} s after", after),
    ):
        print(
            f"   peak total {when}: {server + workers:.0f} MB (bar < 2560 MB) = server "
            f"{server:.0f} MB + {count} workers {workers:.0f} MB"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=500, help="runs in part 2 (at least 21)")
    parser.add_argument("--skip-peak", action="store_true", help="skip part 1")
    args = parser.parse_args()
    if args.runs < 21:
        parser.error("--runs must be at least 21 (the slope starts at run 20)")
    if not args.skip_peak:
        report_peak()
    with tempfile.TemporaryDirectory(prefix="tapeboard-bench-") as home:
        os.environ.pop("TAPEBOARD_DB", None)
        os.environ["TAPEBOARD_HOME"] = home
        report_creep(args.runs)
        report_concurrent()


if __name__ == "__main__":
    main()
