"""Model page: widgets build a validated RunConfig; errors name the field."""

from __future__ import annotations

from apptest_helpers import page, shared_links, texts

from trainer.optimizers import OPTIMIZERS, OptimizerSpec
from trainer.schedules import LR_SCHEDULES, ScheduleSpec


def test_default_shows_summary_and_parameter_count():
    at = page("model").run()
    assert not at.exception
    assert not at.error
    # digits: 64 -> 64 -> 64 -> 10 Dense layers.
    assert [m.value for m in at.metric if m.label == "Trainable parameters"] == ["8,970"]
    layers = at.dataframe[0].value
    assert layers["layer"].tolist() == ["inputs", "flatten", "dense_1", "dense_2", "predictions"]
    assert layers["output shape"].tolist()[-1] == "(None, 10)"


def test_bad_hidden_units_text_is_an_error_naming_the_field():
    at = page("model").run()
    at.text_input(key="w_hidden_units").set_value("64,abc").run()
    assert not at.exception
    assert any("RunConfig.hidden_units" in t and "64,abc" in t for t in texts(at.error))
    at.text_input(key="w_hidden_units").set_value("16").run()
    assert not at.error
    assert [m.value for m in at.metric if m.label == "Trainable parameters"] == ["1,210"]


def test_learning_rate_out_of_range_is_an_error():
    at = page("model").run()
    for bad in (0.0, 200.0):
        at.number_input(key="w_learning_rate").set_value(bad).run()
        assert not at.exception
        assert any("RunConfig.learning_rate must be in (0, 100]" in t for t in texts(at.error))
    at.number_input(key="w_learning_rate").set_value(0.01).run()
    assert not at.error
    assert at.query_params["learning_rate"] == "0.01"


def test_an_edit_whose_callback_was_cut_short_still_reaches_the_config_and_link():
    # With fastReruns a new edit can stop the run that was calling the previous edit's
    # on_change; Streamlit never calls it again. The control's value must win anyway.
    at = page("model").run()
    at.number_input(key="w_epochs").set_value(4).run()
    at.session_state["tb_draft"]["epochs"] = 30  # as if the callback had never run
    at.run()
    assert at.session_state["tb_draft"]["epochs"] == 4
    assert at.query_params["epochs"] == "4"
    assert at.number_input(key="w_epochs").value == 4


def test_l1_and_l2_penalties_reach_the_config_and_the_link_and_a_bad_one_is_named():
    at = page("model").run()
    at.number_input(key="w_l1").set_value(0.001).run()
    at.number_input(key="w_l2").set_value(0.002).run()
    assert not at.error
    assert (at.query_params["l1"], at.query_params["l2"]) == ("0.001", "0.002")
    at.number_input(key="w_l1").set_value(2.0).run()
    assert not at.exception
    assert any("RunConfig.l1" in t and "l1=2.0" in t for t in texts(at.error))


def test_add_and_remove_layer_buttons_edit_the_widths():
    at = page("model").run()
    at.button[0].click().run()  # Add layer
    assert at.text_input(key="w_hidden_units").value == "64,64,64"
    at.button[1].click().run().button[1].click().run()  # Remove layer, twice
    assert at.text_input(key="w_hidden_units").value == "64"


def test_schedule_shows_its_settings_and_preview():
    at = page("model").run()
    assert not [n for n in at.number_input if n.label == "Decay steps"]
    at.selectbox(key="w_lr_schedule").set_value("exponential").run()
    assert not at.exception
    labels = [n.label for n in at.number_input]
    assert "Decay steps" in labels and "Decay rate" in labels


def test_share_link_restores_every_control():
    params = {"hidden_units": "16,8", "activation": "tanh", "learning_rate": "0.05", "epochs": "7"}
    at = page("model", params).run()
    assert not at.exception
    assert at.text_input(key="w_hidden_units").value == "16,8"
    assert at.selectbox(key="w_activation").value == "tanh"
    assert at.number_input(key="w_learning_rate").value == 0.05
    assert at.number_input(key="w_epochs").value == 7
    (link,) = shared_links(at)  # the sidebar's copyable link carries the config
    assert "learning_rate=0.05" in link and "hidden_units=16%2C8" in link


def test_bad_link_value_is_reported_and_the_default_kept():
    at = page("model", {"learning_rate": "-1", "epochs": "3"}).run()
    assert not at.exception
    assert any("learning_rate" in t for t in texts(at.warning))
    # The starting point's learning rate is kept (ui.share.STARTER), the valid field applied.
    assert at.number_input(key="w_learning_rate").value == 0.1
    assert at.number_input(key="w_epochs").value == 3


def _inverse_time(config, steps):
    return config.learning_rate / (1 + config.decay_rate * steps / config.decay_steps)


def test_choices_are_the_tables_and_a_new_entry_shows(monkeypatch):
    monkeypatch.setitem(OPTIMIZERS, "nadam", OptimizerSpec("Nadam"))
    monkeypatch.setitem(
        LR_SCHEDULES,
        "inverse_time",
        ScheduleSpec("InverseTimeDecay", _inverse_time, ("decay_steps", "decay_rate")),
    )
    at = page("model").run()
    assert at.selectbox(key="w_optimizer").options == list(OPTIMIZERS)
    assert at.selectbox(key="w_lr_schedule").options == list(LR_SCHEDULES)
    at.selectbox(key="w_optimizer").set_value("nadam").run()
    at.selectbox(key="w_lr_schedule").set_value("inverse_time").run()
    assert not at.exception and not at.error
    assert at.query_params["optimizer"] == "nadam"
    labels = [n.label for n in at.number_input]
    assert "Decay steps" in labels and "Decay rate" in labels
    at.selectbox(key="w_lr_schedule").set_value("cosine").run()  # takes decay_steps only
    labels = [n.label for n in at.number_input]
    assert "Decay steps" in labels and "Decay rate" not in labels


def test_playground_data_offers_input_features_in_the_model_and_the_link():
    at = page("model", {"dataset": "circle", "hidden_units": "4"}).run()
    features = at.pills(key="w_features")
    assert features.value == ["x1", "x2"]
    assert features.options == ["X₁", "X₂", "X₁²", "X₂²", "X₁X₂", "sin(X₁)", "sin(X₂)"]
    features.set_value(["x2sq", "x1sq"]).run()
    assert not at.exception
    assert not at.error
    assert at.query_params["features"] == "x1sq,x2sq"  # the link reproduces the setup
    layers = at.dataframe[0].value
    assert layers["layer"].tolist() == ["inputs", "features", "dense_1", "predictions"]
    assert layers["output shape"].tolist()[1] == "(None, 2)"
    # 2 features -> 4 units -> 2 classes: (2 + 1) * 4 + (4 + 1) * 2
    assert [m.value for m in at.metric if m.label == "Trainable parameters"] == ["22"]
    at.pills(key="w_features").set_value([]).run()
    assert any("RunConfig.features must name at least one feature" in t for t in texts(at.error))


def test_features_are_not_offered_for_images_and_a_leftover_choice_is_said():
    at = page("model").run()  # digits: 64 pixels, not points in the plane
    assert not at.get("button_group")
    at = page("model", {"features": "x1sq,x2sq"}).run()  # carried over from a Playground set
    assert not at.exception
    assert at.pills(key="w_features").value == ["x1sq", "x2sq"]  # there to put back
    assert any("applies to two-feature data" in t and "'digits'" in t for t in texts(at.error))
    at.pills(key="w_features").set_value(["x1", "x2"]).run()
    assert not at.error
