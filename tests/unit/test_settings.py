"""Server settings: read from the environment, named when wrong; the per-run budgets."""

import os
import subprocess
import sys

import pytest

import trainer
from service.settings import Settings as Limits
from service.settings import check_model_size, check_run_size, tensorflow_environment
from trainer.budget import count_params, estimate_size


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
    message = check_run_size(2, 1_500, limits)  # not even one epoch fits: not "0 epochs"
    assert "at most 0 epochs" not in message
    assert "Even one epoch is too many: use at most 1,000 training samples" in message


def test_every_setting_has_a_variable_and_bad_values_are_named():
    assert Limits.from_env({"TAPEBOARD_MAX_PARAMS": "1000"}).max_params == 1000
    assert Limits.from_env({"TAPEBOARD_WORKER_MAX_RUNS": "3"}).worker_max_runs == 3
    assert Limits.from_env({"TAPEBOARD_PAUSE_LIMIT_S": "5"}).pause_limit_s == 5
    with pytest.raises(ValueError, match="TAPEBOARD_MAX_RUN_MB must be a positive integer.*'-2'"):
        Limits.from_env({"TAPEBOARD_MAX_RUN_MB": "-2"})


def test_parameter_count_matches_the_model_keras_builds():
    config = trainer.RunConfig(hidden_units=(16, 8))
    data = trainer.load_dataset("digits")
    model = trainer.build_model(config, data)
    assert count_params((16, 8), 64, 10) == model.count_params()


def test_the_largest_config_a_link_allows_is_refused_with_its_numbers():
    config = trainer.RunConfig(hidden_units=(4096,) * 16, optimizer="adam")
    size = estimate_size(config, (28, 28), 10, 60_000, 10_000, item_bytes=1)
    message = check_model_size(size, Limits())
    assert f"{size.params:,} parameters" in message and "5,000,000" in message
    assert "fewer or narrower hidden layers" in message


def test_a_run_over_the_memory_budget_is_refused_naming_what_to_lower():
    # Few parameters, a huge batch of wide activations: the memory estimate refuses it.
    config = trainer.RunConfig(hidden_units=(2048, 2048), batch_size=65_536)
    size = estimate_size(config, (2,), 2, 100_000, 0)
    assert size.params < Limits().max_params
    message = check_model_size(size, Limits())
    assert "MB" in message and "Lower the batch size" in message
    small = estimate_size(trainer.RunConfig(hidden_units=(2048,), batch_size=65_536), (2,), 2,
                          100_000, 0)  # fmt: skip
    message = check_model_size(small, Limits())
    assert "under 1 MB of weights" in message and " 0 MB" not in message


def test_a_batch_bigger_than_the_data_counts_as_the_data():
    # 65,536 a batch on 1,438 digits trains in batches of 1,438: it fits.
    config = trainer.RunConfig(hidden_units=(300,), batch_size=65_536)
    size = estimate_size(config, (8, 8), 10, 1_438, 359, item_bytes=1)
    whole = estimate_size(
        trainer.RunConfig(hidden_units=(300,), batch_size=1_438), (8, 8), 10, 1_438, 359, 1
    )
    assert size == whole and check_model_size(size, Limits()) is None


def test_the_starting_configs_fit_the_default_budget():
    mnist = estimate_size(trainer.RunConfig(), (28, 28), 10, 60_000, 10_000, item_bytes=1)
    digits = estimate_size(trainer.RunConfig(), (8, 8), 10, 1_438, 359, item_bytes=1)
    assert check_model_size(mnist, Limits()) is None
    assert check_model_size(digits, Limits()) is None
    assert mnist.total_mb < 200


@pytest.mark.parametrize(
    "config",
    [
        trainer.RunConfig(),
        trainer.RunConfig(hidden_units=(8, 4), dropout=0.2),
        # TensorFlow Playground's input features: a "features" layer of their number
        trainer.RunConfig(dataset="circle", features="x1,x2,x1sq,x2sq,x1x2,sinx1,sinx2"),
        trainer.RunConfig(dataset="circle", features="x1sq", hidden_units=(5,)),  # Identity
    ],
    ids=["digits", "digits-dropout", "circle-every-feature", "circle-one-feature"],
)
def test_the_layer_table_is_what_keras_builds(config):
    from trainer.budget import layer_table

    data = trainer.load_dataset(config.dataset, num_samples=100)
    model = trainer.build_model(config, data)
    rows = layer_table(config, data.input_shape, data.num_outputs)
    built = [
        (layer.name, type(layer).__name__, tuple(layer.output.shape[1:]), layer.count_params())
        for layer in model.layers
    ]
    assert [(r["layer"], r["type"], r["output shape"], r["params"]) for r in rows] == built
    size = estimate_size(config, data.input_shape, data.num_outputs, 80, 20)
    assert size.params == model.count_params()


def test_the_pause_limit_is_said_in_seconds_or_whole_minutes():
    from service.worker import spoken_seconds

    assert spoken_seconds(20) == "20 seconds"  # not "0.333333 minutes"
    assert spoken_seconds(60) == "60 seconds"  # not "1 minutes"
    assert spoken_seconds(600) == "10 minutes"
    assert spoken_seconds(1) == "1 second"
