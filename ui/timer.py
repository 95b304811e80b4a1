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
change). The same message with a short interval nudges another fragment to rerun once (it
stops the timer as it starts): the Train page's live view has the run's controls redrawn so when
the run pauses or ends, which `st.rerun` cannot ask from a fragment's body. These are
Streamlit internals (1.67); tests/unit/test_timer.py fails if they move.
"""

from __future__ import annotations

# A nudge is a timer this short that the nudged fragment stops as it starts: the browser's
# first tick reruns it; a second tick before the stop arrives is merged by the server into the
# rerun it has queued, or reruns it once more (harmless, and rare).
NUDGE_S = 0.05


def rerun_fragment_every(seconds: float | None, fragment_id: str | None = None) -> None:
    """From inside a fragment: have the browser rerun it (or another fragment, `fragment_id`)
    every `seconds` from now on, or never again on its own (None). Outside a fragment (or with
    no session: a bare script), nothing."""
    from streamlit.proto.ForwardMsg_pb2 import ForwardMsg
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    ctx = get_script_run_ctx(suppress_warning=True)
    fragment_id = fragment_id or current_fragment_id()
    if ctx is None or fragment_id is None:
        return
    msg = ForwardMsg()
    if seconds:
        msg.auto_rerun.interval = seconds
        msg.auto_rerun.fragment_id = fragment_id
    else:
        msg.stop_auto_rerun.fragment_ids.append(fragment_id)
    ctx.enqueue(msg)


def nudge(fragment_id: str | None) -> None:
    """Have the browser rerun the fragment `fragment_id` once, at once: it calls
    `rerun_fragment_every(None)` as it starts. From another fragment's body, which `st.rerun`
    cannot do (from a body it reruns the app or the fragment that calls it)."""
    if fragment_id:
        rerun_fragment_every(NUDGE_S, fragment_id)


def current_fragment_id() -> str | None:
    """The id of the fragment now running in this thread, or None outside fragments."""
    from streamlit.runtime.scriptrunner_utils.script_run_context import ThreadState

    return ThreadState.get().fragment_id
