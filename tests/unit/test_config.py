"""RunConfig: seed defaults, validation at the boundary, and lossless round trips."""

import json

import pytest

from trainer.config import RunConfig


def test_defaults_reproduce_the_keras_guide():
    config = RunConfig()
    assert config.dataset == "digits"
    assert config.hidden_units == (64, 64)
    assert config.activation == "relu"
    assert (config.optimizer, config.learning_rate) == ("sgd", 1e-3)
    assert (config.batch_size, config.epochs, config.shuffle_buffer) == (64, 2, 1024)
    assert config.task == "classification"


def test_config_is_frozen():
    with pytest.raises(AttributeError):
        RunConfig().epochs = 3


@pytest.mark.parametrize(
    ("field", "value", "fragment"),
    [
        ("learning_rate", 0.0, "learning_rate=0.0"),
        ("learning_rate", float("nan"), "learning_rate=nan"),
        ("batch_size", 0, "batch_size=0"),
        ("epochs", 1.5, "epochs=1.5"),
        ("optimizer", "adagrad", "optimizer='adagrad'"),
        ("activation", "softmax", "activation='softmax'"),
        ("hidden_units", "64,x", "hidden_units='64,x'"),
        ("hidden_units", (0,), "hidden_units=(0,)"),
        ("validation_split", 1.0, "validation_split=1.0"),
        ("dropout", -0.1, "dropout=-0.1"),
        ("strategy", "tpu", "strategy='tpu'"),
        ("shuffle", "maybe", "shuffle='maybe'"),
        ("task", "ranking", "task='ranking'"),
    ],
)
def test_invalid_values_name_the_field_and_value(field, value, fragment):
    with pytest.raises(ValueError, match=f"RunConfig.{field}") as err:
        RunConfig(**{field: value})
    assert fragment in str(err.value)


def test_strings_are_coerced_to_field_types():
    config = RunConfig(hidden_units="32, 16", shuffle="false", learning_rate="0.01", epochs="3")
    assert config.hidden_units == (32, 16)
    assert config.shuffle is False
    assert config.learning_rate == 0.01
    assert config.epochs == 3


def test_zero_hidden_layers_is_a_valid_linear_model():
    assert RunConfig(hidden_units="").hidden_units == ()
    assert RunConfig(hidden_units="16 16").hidden_units == (16, 16)  # not one layer of 1616
    assert RunConfig(hidden_units=" 8,  4 2 ").hidden_units == (8, 4, 2)


def test_dict_json_and_query_round_trips():
    config = RunConfig(
        dataset="spiral",
        noise=20,
        hidden_units=(8, 8, 4),
        optimizer="adam",
        learning_rate=0.03,
        lr_schedule="cosine",
        shuffle=False,
        l2=1e-3,
        seed=7,
        task="classification",
    )
    assert RunConfig.from_dict(config.to_dict()) == config
    assert RunConfig.from_json(config.to_json()) == config
    assert RunConfig.from_query(config.to_query()) == config
    assert RunConfig.from_query("?" + config.to_query()) == config
    assert json.loads(config.to_json())["hidden_units"] == [8, 8, 4]


def test_query_holds_only_what_differs_and_ignores_foreign_keys():
    assert RunConfig().to_query() == ""
    assert RunConfig(epochs=5).to_params() == {"epochs": "5"}
    assert RunConfig.from_query({"epochs": "5", "utm_source": "mail"}) == RunConfig(epochs=5)


def test_from_dict_rejects_unknown_fields():
    with pytest.raises(ValueError, match="no field 'epoch'"):
        RunConfig.from_dict({"epoch": 3})


def test_replace_validates_again():
    assert RunConfig().replace(epochs=4).epochs == 4
    with pytest.raises(ValueError, match="epochs"):
        RunConfig().replace(epochs=0)


def test_links_can_be_written_relative_to_another_starting_point():
    starter = RunConfig(learning_rate=0.1, epochs=30)
    seed_defaults = RunConfig()
    params = seed_defaults.to_params(base=starter)
    assert params == {"learning_rate": "0.001", "epochs": "2"}
    assert RunConfig.from_query(params, base=starter) == seed_defaults
    assert RunConfig.from_query("", base=starter) == starter
    assert RunConfig.from_query("?optimizer=adam", base=starter) == starter.replace(
        optimizer="adam"
    )


def test_a_range_names_its_integer_ends_exactly():
    with pytest.raises(ValueError, match=r"must be in \[0, 2147483647\]"):
        RunConfig(seed=2**31)
