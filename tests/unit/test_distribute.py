"""One loop, any tf.distribute strategy: the same losses on one device, on MirroredStrategy over
two logical CPUs, and on a two-worker MultiWorkerMirroredStrategy cluster on loopback.

Each case runs in a subprocess: logical devices and a cluster must be set up before TensorFlow
initializes, which this test process has already done.
"""

import json
import os
import re
import socket
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[2]
ENV = {**os.environ, "PYTHONPATH": str(ROOT), "TF_CPP_MIN_LOG_LEVEL": "2"}

MIRRORED = """
import json, sys
import tensorflow as tf
cpu = tf.config.list_physical_devices("CPU")[0]
tf.config.set_logical_device_configuration(cpu, [tf.config.LogicalDeviceConfiguration()] * 2)
import keras, trainer
config = trainer.RunConfig(dataset="digits", epochs=2, l2=1e-3, dropout=0.0)
data = trainer.split_validation(trainer.load_dataset("digits"), 0.2, 0)
keras.utils.set_random_seed(0)
weights = trainer.build_model(config, data).get_weights()

def losses(strategy):
    with strategy.scope():
        model = trainer.build_model(config, data)
    model.set_weights(weights)
    events = list(trainer.train(config, data, model=model, strategy=strategy))
    return [e.loss for e in events if isinstance(e, trainer.BatchEnd)], events[-1].metrics

mirrored = tf.distribute.MirroredStrategy(["/cpu:0", "/cpu:1"])
one, one_metrics = losses(tf.distribute.get_strategy())
two, two_metrics = losses(mirrored)
print(json.dumps({"replicas": mirrored.num_replicas_in_sync, "one": one, "two": two,
                  "one_metrics": one_metrics, "two_metrics": two_metrics}))
"""


def test_mirrored_on_two_logical_devices_matches_one_device():
    done = subprocess.run(
        [sys.executable, "-c", MIRRORED], env=ENV, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout.strip().splitlines()[-1])
    assert result["replicas"] == 2
    assert len(result["one"]) == len(result["two"]) == 46
    np.testing.assert_allclose(result["two"], result["one"], atol=1e-4, rtol=0)
    for name, value in result["one_metrics"].items():
        assert abs(result["two_metrics"][name] - value) < 1e-4, name


def free_ports(count: int) -> list[int]:
    """Distinct free loopback ports: all held open while choosing, so none is handed out twice."""
    sockets = [socket.socket() for _ in range(count)]
    try:
        for s in sockets:
            s.bind(("127.0.0.1", 0))
        return [s.getsockname()[1] for s in sockets]
    finally:
        for s in sockets:
            s.close()


def test_two_workers_on_loopback_match_one_process_and_only_the_chief_writes(tmp_path):
    config = {"dataset": "xor", "num_samples": 400, "batch_size": 32, "epochs": 2}
    (tmp_path / "run.json").write_text(json.dumps(config))
    cluster = {"worker": [f"127.0.0.1:{port}" for port in free_ports(2)]}
    command = [sys.executable, "-m", "trainer", "--config", str(tmp_path / "run.json"), "--quiet"]
    workers = [
        subprocess.Popen(
            [*command, "--strategy", "multi_worker", "--out", str(tmp_path / f"worker{i}")],
            env={
                **ENV,
                "TF_CONFIG": json.dumps(
                    {"cluster": cluster, "task": {"type": "worker", "index": i}}
                ),
            },
            cwd=ROOT,
            stderr=subprocess.PIPE,
            text=True,
        )
        for i in range(2)
    ]
    logs = []
    try:
        for worker in workers:
            logs.append(worker.communicate(timeout=240)[1])
    finally:
        for worker in workers:
            worker.kill()
    single = subprocess.run(
        [*command, "--out", str(tmp_path / "single")],
        env=ENV,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=240,
    )
    assert [w.returncode for w in workers] == [0, 0], "\n".join(log[-2000:] for log in logs)
    assert single.returncode == 0, single.stderr[-2000:]

    chief = pd.read_csv(tmp_path / "worker0" / "history.csv")
    alone = pd.read_csv(tmp_path / "single" / "history.csv")
    assert len(chief) == len(alone) == 2 * 10  # 320 train points / 32 per global batch
    np.testing.assert_allclose(chief["loss"], alone["loss"], atol=1e-4, rtol=0)
    assert not (tmp_path / "worker1").exists(), "only the chief writes outputs"
    last = [float(re.search(r"last_loss=(\S+)", log).group(1)) for log in logs]
    assert abs(last[0] - last[1]) < 1e-6 and abs(last[0] - alone["loss"].iloc[-1]) < 1e-4
