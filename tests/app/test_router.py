"""app.py: routes to the pages, and sizes TensorFlow's thread pools before any page starts it."""

from __future__ import annotations

import os

import pytest
from apptest_helpers import app, texts

from ui.server import server_limits

TF_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


@pytest.fixture
def fresh_environment(monkeypatch):
    """No TensorFlow pool variables and freshly read limits; both put back afterwards."""
    saved = {name: os.environ.pop(name) for name in TF_VARIABLES if name in os.environ}
    server_limits.clear()
    yield monkeypatch
    for name in TF_VARIABLES:
        os.environ.pop(name, None)
    os.environ.update(saved)
    server_limits.clear()


def test_tensorflow_pools_follow_the_server_setting(fresh_environment):
    fresh_environment.setenv("TAPEBOARD_TF_THREADS", "3")
    at = app().run()
    assert not at.exception and not at.error
    assert [os.environ.get(name) for name in TF_VARIABLES] == ["3", "3"]


def test_a_value_already_in_the_environment_wins(fresh_environment):
    fresh_environment.setenv("TF_NUM_INTRAOP_THREADS", "2")
    at = app().run()
    assert not at.exception
    assert [os.environ.get(name) for name in TF_VARIABLES] == ["2", "1"]  # the default is 1


def test_a_bad_thread_count_is_named_in_the_page(fresh_environment):
    fresh_environment.setenv("TAPEBOARD_TF_THREADS", "many")
    at = app().run()
    assert not at.exception
    assert any("TAPEBOARD_TF_THREADS" in text and "'many'" in text for text in texts(at.error))
    assert [os.environ.get(name) for name in TF_VARIABLES] == [None, None]
