"""Start, change or stop the timer that reruns the fragment being drawn.

`st.fragment(run_every=...)` fixes a fragment's timer when the whole page runs: a fragment cannot
start it when a click in the fragment starts a run, nor stop it when the run ends, without a
rerun of the whole page. On the Train page those two reruns cost the server about a tenth of a
core-second a run, and the browser's redraw of the whole page took cores from the workers
(xor 100,000 points, 6 epochs, ~0.75 s of training, Chromium on the same 2 cores: the server's
processes used 0.98 core-s a run, worker included, against 0.89 with the fragment alone; two
visitors pressing Train together each finished at 0.42-0.43x of a run alone, against
0.51-0.56x).

So the fragment sets its own timer each time it draws, with the message Streamlit itself sends
for `run_every` (ForwardMsg.auto_rerun, keyed by fragment id; the browser keeps one timer per
fragment, replaces it when the interval changes and drops it on a stop_auto_rerun or a page
change). These are Streamlit internals (1.67); tests/unit/test_timer.py fails if they move.
"""

from __future__ import annotations


def rerun_fragment_every(seconds: float | None) -> None:
    """From inside a fragment: have the browser rerun it every `seconds` from now on, or never
    again on its own (None). Outside a fragment (or with no session: a bare script), nothing."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    fragment_id = current_fragment_id()
    if ctx is None or fragment_id is None:
        return
    msg = ForwardMsg()
    if seconds:
        msg.auto_rerun.interval = seconds
        msg.auto_rerun.fragment_id = fragment_id
    else:
        msg.stop_auto_rerun.fragment_ids.append(fragment_id)
    ctx.enqueue(msg)


def current_fragment_id() -> str | None:
    """The id of the fragment now running in this thread, or None outside fragments."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState

    return ThreadState.get().fragment_id
