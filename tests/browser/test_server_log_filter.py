"""The server-log check itself (no browser): it must see our warnings and tracebacks and must
not trip on TensorFlow's C++ start-up lines or on warnings raised inside installed packages."""

from __future__ import annotations

from browser_helpers import log_problems

TF_STARTUP = """\
WARNING: All log messages before absl::InitializeLog() is called are written to STDERR
I0000 00:00:1795601910.608658   11399 port.cc:153] oneDNN custom operations are on.
I0000 00:00:1795601910.652576   11399 cpu_feature_guard.cc:227] This TensorFlow binary is optimized.
To enable the following instructions: AVX2 FMA, in other operations, rebuild TensorFlow.
E0000 00:00:1795601912.058308   11399 cuda_platform.cc:52] failed call to cuInit: (303)
W0000 00:00:1795601912.058308   11399 some_file.cc:52] a C++ warning
/x/.venv/lib/python3.11/site-packages/keras/src/core.py:172: DeprecationWarning: copy=False
  return np.array(x)
"""


def test_tensorflow_startup_and_third_party_warnings_pass() -> None:
    assert log_problems(TF_STARTUP) == []


def test_our_warnings_tracebacks_and_deprecations_fail() -> None:
    ours = (
        "/work/main/ui/common.py:16: DeprecationWarning: old thing\n"
        "  warnings.warn('old thing', DeprecationWarning)\n"
        "Traceback (most recent call last):\n"
        "2026-11-25 10:18:26.057 Please replace `use_container_width` with `width`: deprecated.\n"
    )
    problems = log_problems(TF_STARTUP + ours)
    assert problems == [
        "/work/main/ui/common.py:16: DeprecationWarning: old thing",
        "  warnings.warn('old thing', DeprecationWarning)",
        "Traceback (most recent call last):",
        "2026-11-25 10:18:26.057 Please replace `use_container_width` with `width`: deprecated.",
    ]
