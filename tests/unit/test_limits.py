"""Server-wide limits: concurrent training slots and the per-run size budget."""

import os
import subprocess
import sys
import threading

import pytest

from ui.limits import Limits, TrainingSlots, check_run_size, tensorflow_environment


def test_limits_read_the_environment_and_name_bad_values():
    assert Limits.from_env({}) == Limits()
    assert Limits.from_env({"TAPEBOARD_MAX_CONCURRENT": "4"}).max_concurrent == 4
    with pytest.raises(ValueError, match="TAPEBOARD_MAX_SAMPLE_EPOCHS.*'lots'"):
        Limits.from_env({"TAPEBOARD_MAX_SAMPLE_EPOCHS": "lots"})
    with pytest.raises(ValueError, match="TAPEBOARD_MAX_CONCURRENT"):
        Limits.from_env({"TAPEBOARD_MAX_CONCURRENT": "0"})


def test_tf_threads_default_to_one_and_zero_means_tensorflows_default():
    assert Limits.from_env({}).tf_threads == 1
    assert Limits.from_env({"TAPEBOARD_TF_THREADS": "0"}).tf_threads == 0
    assert Limits.from_env({"TAPEBOARD_TF_THREADS": " 4 "}).tf_threads == 4
    with pytest.raises(ValueError, match=r"TAPEBOARD_TF_THREADS must be an integer >= 0.*'-1'"):
        Limits.from_env({"TAPEBOARD_TF_THREADS": "-1"})
    assert tensorflow_environment(Limits(tf_threads=2)) == {
        "TF_NUM_INTRAOP_THREADS": "2",
        "TF_NUM_INTEROP_THREADS": "2",
    }
    assert tensorflow_environment(Limits(tf_threads=0)) == {}


def test_tensorflow_starts_with_the_pools_the_environment_names():
    # A fresh interpreter: TensorFlow reads the variables once, when it starts.
    code = (
        "import os, tensorflow as tf\n"
        "tf.constant(1.0) + 1.0\n"
        "print(sum(open(f'/proc/self/task/{t}/comm').read().strip() == 'tf_Compute'\n"
        "          for t in os.listdir('/proc/self/task')))\n"
    )
    env = {**os.environ, **tensorflow_environment(Limits(tf_threads=3))}
    done = subprocess.run(
        [sys.executable, "-c", code], env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert done.stdout.split()[-1] == "3"  # inter-op threads (TF's default: one per core)


def test_run_size_budget_says_what_to_shrink():
    limits = Limits(max_sample_epochs=1_000)
    assert check_run_size(10, 100, limits) is None
    message = check_run_size(11, 100, limits)
    assert "1,100 sample-epochs" in message and "at most 10 epochs" in message


def test_slots_cap_concurrent_holders_and_free_on_exit():
    slots = TrainingSlots(limit=2)
    with slots.hold() as first, slots.hold() as second, slots.hold() as third:
        assert (first, second, third) == (True, True, False)
        assert slots.busy == 2
    assert slots.busy == 0


def test_slots_are_released_when_the_holder_is_interrupted():
    slots = TrainingSlots(limit=1)
    with pytest.raises(RuntimeError), slots.hold():
        raise RuntimeError("a rerun interrupted the script")
    assert slots.try_acquire()


def test_slots_never_overbook_under_threads():
    slots = TrainingSlots(limit=3)
    peak, lock, inside = [0], threading.Lock(), [0]

    def worker():
        for _ in range(200):
            with slots.hold() as got:
                if got:
                    with lock:
                        inside[0] += 1
                        peak[0] = max(peak[0], inside[0])
                    with lock:
                        inside[0] -= 1

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert 1 <= peak[0] <= 3 and slots.busy == 0
