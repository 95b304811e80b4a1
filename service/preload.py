"""TensorFlow imported once per process, in one thread, before anyone needs it.

`import tensorflow` takes seconds and holds the GIL for much of it; two threads importing
TensorFlow and Keras modules at once can deadlock on Python's import locks (seen on a cold
server: `_DeadlockError`, then every later import failed). So the server never imports them in
a page's script run: `start()` imports them in a dedicated thread as the server starts, and
code that needs them calls `wait()` first, which only waits for that one thread.
"""

from __future__ import annotations

import importlib
import threading
from collections.abc import Callable

MODULES = ("tensorflow", "keras", "trainer.model", "trainer.evaluate", "trainer.loop")

_lock = threading.Lock()
_thread: threading.Thread | None = None
_error: BaseException | None = None
_needed = threading.Event()  # someone waits: import now, whatever `after` says


def _load(after: Callable[[], bool] | None) -> None:
    global _error
    while after is not None and not after() and not _needed.wait(0.1):
        pass
    try:
        _size_thread_pools()
        for name in MODULES:
            importlib.import_module(name)
    except BaseException as err:  # kept, and raised in every waiter
        _error = err


def _size_thread_pools() -> None:
    """TAPEBOARD_TF_THREADS for this process too (a value already in the environment wins):
    its TensorFlow only evaluates models, and must not take the cores the workers train on."""
    import os

    from service.settings import Settings, tensorflow_environment

    for name, value in tensorflow_environment(Settings.from_env()).items():
        os.environ.setdefault(name, value)


def start(after: Callable[[], bool] | None = None) -> None:
    """Begin importing TensorFlow in the background (once per process). With `after`, the
    import waits until `after()` is true (e.g. the workers are warm: on a small box their
    imports come first), or until someone calls `wait()`."""
    global _thread
    with _lock:
        if _thread is None:
            _thread = threading.Thread(
                target=_load, args=(after,), name="tapeboard-tensorflow", daemon=True
            )
            _thread.start()


def wait() -> None:
    """Return once TensorFlow is imported (starting the import if nobody has)."""
    _needed.set()
    start()
    assert _thread is not None
    _thread.join()
    if _error is not None:
        raise RuntimeError(f"TensorFlow could not be imported: {_error}") from _error


def ready() -> bool:
    return _thread is not None and not _thread.is_alive() and _error is None
