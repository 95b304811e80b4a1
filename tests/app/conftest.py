"""Fixtures for the AppTest page tests (helpers live in apptest_helpers.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def offline_keras(monkeypatch, tmp_path):
    """No Keras download cache and no network: MNIST must fail with a message."""
    import keras

    def refuse(*args, **kwargs):
        raise OSError("network is unreachable (test)")

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(keras.utils, "get_file", refuse)
