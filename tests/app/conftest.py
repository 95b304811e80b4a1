"""Fixtures for the AppTest page tests (helpers live in apptest_helpers.py)."""

from __future__ import annotations

import pytest


@pytest.fixture
def offline_keras(monkeypatch, tmp_path):
    """No Keras download cache, and the download host unreachable (a loopback port nobody
    listens on): MNIST must fail with a message. The download itself runs for real, through
    keras.utils.get_file in the run service's task worker."""
    import trainer.datasets

    monkeypatch.setenv("KERAS_HOME", str(tmp_path))
    monkeypatch.setattr(trainer.datasets, "ORIGIN", "http://127.0.0.1:9/")
