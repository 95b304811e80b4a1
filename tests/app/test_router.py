"""app.py: routes to the pages, names a bad server setting, and the run service's workers start
with the TensorFlow thread pools the settings ask for."""

from __future__ import annotations

from pathlib import Path

from apptest_helpers import app, texts

from service import get_service

TF_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "TF_NUM_INTEROP_THREADS")


def test_the_app_opens_on_the_data_page():
    at = app().run()
    assert not at.exception and not at.error
    assert [t.value for t in at.title] == ["Data"]


def test_a_bad_server_setting_is_named_in_the_page(monkeypatch):
    monkeypatch.setenv("TAPEBOARD_TF_THREADS", "many")
    at = app().run()
    assert not at.exception
    assert any("TAPEBOARD_TF_THREADS" in text and "'many'" in text for text in texts(at.error))
    # No page runs without its run service (a page asking for it raised): the message only.
    assert not at.title
    assert any("fix it and restart the app" in text for text in texts(at.error))


def test_workers_start_with_the_thread_pools_of_the_setting():
    runner = get_service()
    assert runner.wait_until_ready()
    worker = runner.pool.snapshot()[0]
    environ = Path(f"/proc/{worker.pid}/environ").read_bytes().split(b"\0")
    values = dict(item.decode().split("=", 1) for item in environ if b"=" in item)
    threads = str(runner.settings.tf_threads)
    assert [values.get(name) for name in TF_VARIABLES] == [threads, threads]
