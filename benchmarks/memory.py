"""Memory of the whole app: a big run, hundreds of runs in a row, two at once, a public link.

    python benchmarks/memory.py [--parts 1,2,3,4] [--runs 500]
    python benchmarks/memory.py --parts 4                 # a public link alone: 10-20 min
    python benchmarks/memory.py --parts 4 --public-samples 20000  # the same batch, fewer steps

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

4. A public link: the real server (`streamlit run app.py`) with the DEFAULT budget (every
   TAPEBOARD_* variable of this shell dropped) and the largest config that budget lets through,
   found by the server's own checks (`check_model_size` on `trainer.budget.estimate_size`,
   `check_run_size`): a Playground set at the most points a config allows (100,000), adam,
   16 hidden layers (the most) as wide as max_params allows, and the largest batch size under
   max_run_mb; the next wider layer and the next larger batch are shown refused. That config
   goes in the link (/train?query) and Chromium (Playwright, as benchmarks/dashboard.py):
   (a) pressed twice: two visitors (browser contexts) press Train together; (b) four visitors
   open the link at once and press Train together: two train, two wait in line (the page says
   so). The total RSS of the server's process tree (the server + every worker, retiring ones
   and the task worker included; VmRSS summed, so shared pages count once per process: PSS is
   printed beside it) is sampled every 0.1 s from the presses until all have finished and
   AFTER_S more. Bar: peak under 2,700 MB (a Streamlit Community Cloud box: 2.7 GB). Where
   this machine allows (root), the server runs in a memory cgroup of its own, made after the
   page cache is emptied, and its peak usage is printed first: that is what a container's
   limit counts (each page once, TensorFlow's shared libraries included), where summed RSS
   counts those libraries once per TensorFlow process. (c) Then
   a later visitor presses Train on a small config (digits, the starter, 2 epochs) and must
   see "run 1 finished"; the seconds from the click are printed. Runs are 1 epoch (--public-
   epochs): the peak is set by the batch and the model, not by how long they train.

Parts 2 and 3 keep their runs in a throwaway store (TAPEBOARD_HOME in a temporary folder,
TAPEBOARD_DB unset), never in yours; part 4's server has its own (TAPEBOARD_HOME and
TAPEBOARD_DB in a temporary folder, printed with its log). Missed bars are printed, not fatal:
the exit status is non-zero only if something crashed.
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
sys.path.insert(0, str(ROOT / "benchmarks"))

import dashboard as web  # noqa: E402  (part 4: the server, the browser, /proc)

import trainer  # noqa: E402  (after the path: the script runs from anywhere)
from service import RunService, Settings  # noqa: E402
from service.memory import rss_mb  # noqa: E402
from trainer.data import split_validation  # noqa: E402

RUN_TIMEOUT_S = 600.0
SAMPLE_S = 0.1
AFTER_S = 15.0  # parts 3 and 4 sample this long after the runs end
BOX_MB = 2700  # part 4: a Streamlit Community Cloud box (2.7 GB)
PUBLIC_DATASET = "xor"  # part 4: a Playground set, so the largest batch is a real batch
LATER_QUERY = "epochs=2"  # part 4: the later visitor's link (digits, the starter config)
QUEUED = "is waiting for a free worker"  # the page's words for a run in line (ui/live.py)

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


# -- 4: a public link -----------------------------------------------------------------------------
def public_data(samples: int):
    """The data a PUBLIC_DATASET config of `samples` points trains on (validation held out as
    the app holds it), and a function giving a config's `trainer.budget.RunSize` on it."""
    from trainer.budget import estimate_size
    from trainer.datasets import load_dataset

    base = trainer.RunConfig(dataset=PUBLIC_DATASET, num_samples=samples)
    data = split_validation(
        load_dataset(PUBLIC_DATASET, num_samples=samples, seed=base.seed),
        base.validation_split,
        base.seed,
    )

    def size(config: trainer.RunConfig):
        itemsize = data.x_train.dtype.itemsize
        return estimate_size(
            config, data.input_shape, data.num_outputs, data.num_train, data.num_val, itemsize
        )

    return data, size


def refusal(config: trainer.RunConfig, data, size, settings: Settings) -> str | None:
    """What the server says to `config` on `data` (None: it trains), by its own checks in the
    order RunService.start makes them."""
    from service.settings import check_model_size, check_run_size

    return check_run_size(config.epochs, data.num_train, settings) or check_model_size(
        size(config), settings
    )


def largest_fitting(lo: int, hi: int, fits) -> int:
    """The largest n in [lo, hi] with fits(n), fits being true up to some n and false after."""
    if not fits(lo):
        raise ValueError(f"nothing from {lo} fits")
    while lo < hi:
        middle = (lo + hi + 1) // 2
        lo, hi = (middle, hi) if fits(middle) else (lo, middle - 1)
    return lo


def largest_public_config(samples: int, epochs: int, settings: Settings) -> dict:
    """The largest config the default budget lets through, and the refusals one size up."""
    from trainer.config import MAX_LAYERS, MAX_UNITS

    data, size = public_data(samples)
    base = trainer.RunConfig(
        dataset=PUBLIC_DATASET,
        num_samples=samples,
        optimizer="adam",
        epochs=epochs,
        hidden_units=(1,) * MAX_LAYERS,
        batch_size=1,
    )
    width = largest_fitting(
        1,
        MAX_UNITS,
        lambda w: size(base.replace(hidden_units=(w,) * MAX_LAYERS)).params <= settings.max_params,
    )
    wide = base.replace(hidden_units=(width,) * MAX_LAYERS)
    batch = largest_fitting(
        1, 65_536, lambda b: refusal(wide.replace(batch_size=b), data, size, settings) is None
    )
    config = wide.replace(batch_size=batch)
    wider = config.replace(hidden_units=(width + 1,) * MAX_LAYERS)
    most_epochs = settings.max_sample_epochs // data.num_train
    try:
        trainer.RunConfig(hidden_units=(width,) * (MAX_LAYERS + 1))
        deeper = "accepted (unexpected)"
    except ValueError as err:
        deeper = str(err)
    return {
        "config": config,
        "size": size(config),
        "data": data,
        "refused": {
            f"{MAX_LAYERS} x {width + 1} units": refusal(wider, data, size, settings),
            f"batch {batch + 1:,}": refusal(
                config.replace(batch_size=batch + 1), data, size, settings
            ),
            f"{most_epochs + 1} epochs": refusal(
                config.replace(epochs=most_epochs + 1), data, size, settings
            ),
            f"{MAX_LAYERS + 1} layers": deeper,
        },
        "most_epochs": most_epochs,
    }


def public_env(home: Path) -> dict[str, str]:
    """The server's environment: this shell's, less every TAPEBOARD_* variable (so the server
    runs with the default budget), with a throwaway TAPEBOARD_HOME."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("TAPEBOARD_")}
    env.update(TF_CPP_MIN_LOG_LEVEL="2", PYTHONUNBUFFERED="1", TAPEBOARD_HOME=str(home))
    if Settings.from_env(env) != Settings():
        raise RuntimeError("the server would not run with the default Settings")
    return env


def pss_mb(pid: int) -> float:
    """Proportional set size (shared pages split between the processes sharing them), MB."""
    try:
        for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
            if line.startswith("Pss:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return 0.0


class MemoryCgroup:
    """A memory cgroup made for the server and its workers (cgroup v2, else v1): its usage is
    what a container's memory limit counts, as on a Community Cloud box: every page once. A sum
    of RSS counts a shared page once per process that maps it (TensorFlow's libraries, ~0.5 GB,
    in every worker); PSS splits it. Made only where this machine lets us (root, a writable
    cgroup file system); `make` returns None elsewhere and the report says so."""

    ROOTS = (  # (folder, usage file, file to join)
        (Path("/sys/fs/cgroup"), "memory.current", "cgroup.procs"),
        (Path("/sys/fs/cgroup/memory"), "memory.usage_in_bytes", "cgroup.procs"),
    )

    def __init__(self, folder: Path, usage: str, procs: str) -> None:
        self.folder, self.usage_file, self.procs = folder, folder / usage, folder / procs

    @classmethod
    def make(cls, name: str) -> MemoryCgroup | None:
        for root, usage, procs in cls.ROOTS:
            if not (root / usage).exists() and not (root / "cgroup.controllers").exists():
                continue
            if root.name != "memory" and "memory" not in _read(root / "cgroup.controllers"):
                continue
            folder = root / name
            try:
                folder.mkdir(exist_ok=True)
                if (folder / usage).exists():
                    return cls(folder, usage, procs)
                folder.rmdir()
            except OSError:
                continue
        return None

    def join(self, pid: int) -> None:
        self.procs.write_text(str(pid))

    def usage_mb(self) -> float:
        """The working set, as Kubernetes counts it against a container's limit: the usage
        less the page cache not used lately (files written, like the store's, that the kernel
        would drop before it ran out of memory)."""
        stat = dict(
            line.split() for line in _read(self.folder / "memory.stat").splitlines() if " " in line
        )
        inactive = int(stat.get("total_inactive_file", stat.get("inactive_file", 0)))
        return (int(_read(self.usage_file) or 0) - inactive) / 2**20

    def remove(self) -> None:
        with contextlib.suppress(OSError):
            self.folder.rmdir()  # once its processes are gone


def _read(path: Path) -> str:
    try:
        return path.read_text().strip()
    except OSError:
        return ""


def drop_page_cache() -> bool:
    """Empty the page cache (root only), so that the libraries the server's processes load are
    read again and counted in their cgroup, not in whichever process read them first."""
    os.sync()
    try:
        Path("/proc/sys/vm/drop_caches").write_text("3")
        return True
    except OSError:
        return False


class TreeSampler(threading.Thread):
    """Samples the summed RSS (and PSS) of a process and all its descendants every SAMPLE_S;
    keeps the peak since the last `reset`, with the processes it was made of."""

    def __init__(self, pid: int, cgroup: MemoryCgroup | None = None) -> None:
        super().__init__(daemon=True)
        self.pid = pid
        self.cgroup = cgroup
        self.idle_box: float | None = None
        self.done = threading.Event()
        self.lock = threading.Lock()
        self.reset()

    def reset(self) -> None:
        with self.lock:
            self.peak_rss, self.peak_pss, self.at_peak, self.most = 0.0, 0.0, [], 0
            self.peak_box = 0.0
            self.samples = 0

    def run(self) -> None:
        while not self.done.is_set():
            tree = web.process_tree(self.pid)
            rss = [(pid, web.rss_mb(pid)) for pid in tree]
            total = sum(mb for _, mb in rss)
            pss = sum(pss_mb(pid) for pid in tree)
            box = self.cgroup.usage_mb() if self.cgroup is not None else 0.0
            with self.lock:
                self.peak_box = max(self.peak_box, box)
                self.samples += 1
                self.most = max(self.most, sum(mb > 0 for _, mb in rss))
                self.peak_pss = max(self.peak_pss, pss)
                if total > self.peak_rss:
                    self.peak_rss = total
                    self.at_peak = [(web.describe_process(pid), mb) for pid, mb in rss if mb > 0]
            self.done.wait(SAMPLE_S)

    def window(self) -> dict:
        with self.lock:
            return {
                "rss": self.peak_rss,
                "pss": self.peak_pss,
                "box": self.peak_box if self.cgroup is not None else None,
                "processes": list(self.at_peak),
                "most": self.most,
                "samples": self.samples,
            }


def wait_accepted(page, timeout_ms: float = web.PAGE_TIMEOUT_MS) -> str:
    """After a press of Train: wait until the page shows the run (its progress, or its place in
    line) and return "queued" or "running"; the page's refusal is a RuntimeError."""
    page.wait_for_function(
        """(queued) => {
            const w = window.__tbWatch, text = document.body.innerText;
            return text.includes("Cannot train") || text.includes(queued)
                || (w && (w.shown !== null || w.finished !== null));
        }""",
        arg=QUEUED,
        polling=100,
        timeout=timeout_ms,
    )
    text = page.evaluate("() => document.body.innerText")
    if "Cannot train" in text:
        line = next(t for t in text.splitlines() if "Cannot train" in t)
        raise RuntimeError(f"the server refused the run: {line}")
    return "queued" if QUEUED in text else "running"


def open_at_once(pages, url: str, query: str) -> float:
    """Every page navigates to the link without waiting for the others; seconds until the
    last one's Train button is enabled."""
    from playwright.sync_api import expect

    started = time.perf_counter()
    for page in pages:
        page.goto(f"{url}/train?{query}", wait_until="commit")
    for page in pages:
        expect(web.train_button(page)).to_be_enabled(timeout=web.PAGE_TIMEOUT_MS)
    return time.perf_counter() - started


def press_and_finish(pages, server, sampler: TreeSampler) -> dict:
    """Press Train in every page at one moment; each page's state just after (running or in
    line), the seconds until the last finished, and the peaks until then and AFTER_S after."""
    web.wait_quiet(server.process.pid)
    sampler.reset()
    web.press_train_together(pages)
    states = [wait_accepted(page) for page in pages]
    watches = [web.wait_stamp(page, "finished") for page in pages]
    for watch in watches:
        web.finish_figures(watch)  # a run that did not complete is a crash
    during = sampler.window()
    time.sleep(AFTER_S)
    return {
        "states": states,
        "seconds": max(w.finished_s for w in watches),
        "texts": [w.text for w in watches],
        "during": during,
        "after": sampler.window(),
    }


def measure_public(browser, workdir: Path, query: str) -> dict:
    """Part 4 on one fresh server with the default budget: pressed twice, four at once, a
    later visitor."""
    env = public_env(workdir / "home")
    result: dict = {}
    cgroup = MemoryCgroup.make(f"tapeboard-bench-{os.getpid()}")
    result["cgroup"] = None if cgroup is None else str(cgroup.folder)
    result["dropped_cache"] = cgroup is not None and drop_page_cache()
    join = cgroup.join if cgroup is not None else None
    with web.running_server(workdir / "public.log", env, on_start=join) as server:
        sampler = TreeSampler(server.process.pid, cgroup)
        sampler.start()
        try:
            result["idle"] = idle_tree(server)
            sampler.idle_box = cgroup.usage_mb() if cgroup is not None else None
            pages = [web.new_page(browser) for _ in range(2)]
            open_at_once(pages, server.url, query)
            print("  (a) two visitors press Train together", flush=True)
            result["twice"] = press_and_finish(pages, server, sampler)
            for page in pages:
                page.context.close()
            pages = [web.new_page(browser) for _ in range(4)]
            print("  (b) four visitors open the link at once and press Train", flush=True)
            result["open_s"] = open_at_once(pages, server.url, query)
            result["four"] = press_and_finish(pages, server, sampler)
            for page in pages:
                page.context.close()
            print("  (c) a later visitor presses Train on a small config", flush=True)
            page = web.new_page(browser)
            try:
                web.open_train(page, server.url, LATER_QUERY)
                sampler.reset()
                web.press_train(page)
                state = wait_accepted(page)
                watch = web.wait_stamp(page, "finished")
                result["later"] = {
                    "state": state,
                    "text": watch.text,
                    "seconds": watch.finished_s,
                    "peak": sampler.window(),
                }
            finally:
                page.context.close()
        finally:
            sampler.done.set()
            sampler.join()
            result["idle"]["box"] = sampler.idle_box
    if cgroup is not None:
        cgroup.remove()
    return result


def idle_tree(server) -> dict:
    """The server's processes once quiet, before anyone presses Train."""
    waited = web.wait_quiet(server.process.pid, timeout=180)
    tree = web.process_tree(server.process.pid)
    return {
        "waited": waited,
        "rss": sum(web.rss_mb(pid) for pid in tree),
        "processes": [(web.describe_process(pid), web.rss_mb(pid)) for pid in tree],
    }


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


def mb_list(processes: list[tuple[str, float]]) -> str:
    return ", ".join(f"{name} {mb:,.0f}" for name, mb in processes)


def report_public(samples: int, epochs: int) -> None:
    settings = Settings()  # the defaults: public_env checks that the server has them too
    found = largest_public_config(samples, epochs, settings)
    config, size, data = found["config"], found["size"], found["data"]
    print(
        f"4. A public link, the default budget: max_params {settings.max_params:,}, max_run_mb "
        f"{settings.max_run_mb}, max_sample_epochs {settings.max_sample_epochs:,}, "
        f"max_concurrent {settings.max_concurrent}, worker_max_rss_mb "
        f"{settings.worker_max_rss_mb}"
    )
    units = config.hidden_units
    print(
        f"   largest config: {config.dataset}, {config.num_samples:,} points ({data.num_train:,}"
        f" train, {data.num_val:,} validation), {len(units)} x {units[0]} units, "
        f"{config.optimizer}, batch {config.batch_size:,}, {config.epochs} epoch(s)"
    )
    print(
        f"   {size.params:,} parameters; estimated {size.total_mb:,.1f} MB (weights and "
        f"optimizer {size.weight_bytes / 2**20:,.1f}, activations "
        f"{size.activation_bytes / 2**20:,.1f}, data {size.data_bytes / 2**20:,.1f}); up to "
        f"{found['most_epochs']} epochs would pass too"
    )
    for what, said in found["refused"].items():
        print(f"   one more ({what}): {said or 'ACCEPTED: not the largest'}")
    from ui.share import STARTER  # links are written relative to it

    query = config.to_query(STARTER)
    print(f"   link: /train?{query}", flush=True)

    from playwright.sync_api import sync_playwright

    workdir = Path(tempfile.mkdtemp(prefix="tapeboard-public-"))
    print(f"   server log and store in {workdir}", flush=True)
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=web.CHROMIUM, args=web.CHROMIUM_ARGS)
        try:
            result = measure_public(browser, workdir, query)
        finally:
            browser.close()

    idle = result["idle"]
    if result["cgroup"] is None:
        print("   (no memory cgroup could be made here: the box's own count is not measured)")
    else:
        print(
            f"   the server and its workers ran in the memory cgroup {result['cgroup']} (page "
            f"cache emptied first: {'yes' if result['dropped_cache'] else 'NO'}): its usage is "
            "what a container's limit is checked against: its working set, every page once"
        )
    box = f"; the box counts {idle['box']:,.0f} MB" if idle.get("box") is not None else ""
    print(
        f"   the server once quiet, nobody training: RSS {idle['rss']:,.0f} MB "
        f"({mb_list(idle['processes'])}){box}"
    )
    for key, what in (("twice", "pressed twice"), ("four", "four visitors at once")):
        r = result[key]
        states = ", ".join(r["states"])
        print(
            f"   {what}: the pages right after the press: {states}; all finished "
            f"{r['seconds']:.0f} s after the press"
        )
        for when, peak in (
            ("until all finished", r["during"]),
            (f"and {AFTER_S:.0f} s after", r["after"]),
        ):
            if peak["box"] is not None:
                print(
                    f"     peak {when}, as the box counts it (cgroup): {peak['box']:,.0f} MB, "
                    f"{peak['box'] / BOX_MB:.0%} of {BOX_MB:,} MB (bar < {BOX_MB:,}: "
                    f"{web.verdict(peak['box'] < BOX_MB)})"
                )
            print(
                f"     peak {when}, summed RSS: {peak['rss']:,.0f} MB, {peak['rss'] / BOX_MB:.0%}"
                f" of {BOX_MB:,} MB (bar < {BOX_MB:,}: {web.verdict(peak['rss'] < BOX_MB)}); "
                f"PSS {peak['pss']:,.0f} MB; at the peak: {mb_list(peak['processes'])}; at most "
                f"{peak['most']} processes ({peak['samples']} samples)"
            )
    if "open_s" in result:
        print(f"   the four pages had Train enabled {result['open_s']:.1f} s after opening")
    queued, expected = result["four"]["states"].count("queued"), 4 - settings.max_concurrent
    print(
        f"   in line after the four presses: {queued} of 4 (expected {expected}: "
        f"{'yes' if queued == expected else 'NO'})"
    )
    later = result["later"]
    text = later["text"] or ""
    text = text[text.find("run ") :]  # after the alert's icon name
    trained = web.FINISHED.search(text) is not None
    print(
        f"   a later visitor ({LATER_QUERY}): {text!r} {later['seconds']:.1f} s after "
        f"the click (bar: trains: {'yes' if trained else 'NO'}); peak meanwhile "
        f"{later['peak']['rss']:,.0f} MB"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parts", default="1,2,3,4", help="which parts (default: all)")
    parser.add_argument("--runs", type=int, default=500, help="runs in part 2 (at least 21)")
    parser.add_argument("--skip-peak", action="store_true", help="skip part 1")
    parser.add_argument(
        "--public-samples", type=int, default=100_000, help="part 4 points (default: the most)"
    )
    parser.add_argument("--public-epochs", type=int, default=1, help="part 4 epochs")
    args = parser.parse_args()
    parts = {int(p) for p in args.parts.split(",") if p.strip()}
    if args.skip_peak:
        parts.discard(1)
    if 2 in parts and args.runs < 21:
        parser.error("--runs must be at least 21 (the slope starts at run 20)")
    if 1 in parts:
        report_peak()
    if parts & {2, 3}:
        with tempfile.TemporaryDirectory(prefix="tapeboard-bench-") as home:
            os.environ.pop("TAPEBOARD_DB", None)
            os.environ["TAPEBOARD_HOME"] = home
            if 2 in parts:
                report_creep(args.runs)
            if 3 in parts:
                report_concurrent()
    if 4 in parts:
        report_public(args.public_samples, args.public_epochs)


if __name__ == "__main__":
    main()
