"""ui.timer: the run fragment's own redraw timer, set with the message Streamlit sends for
`st.fragment(run_every=...)`. It uses Streamlit internals: this fails if they move."""

from __future__ import annotations

import json

from streamlit.testing.v1 import AppTest


def timer_script() -> None:
    import json

    import streamlit as st
    from streamlit.runtime.scriptrunner_utils.script_run_context import get_script_run_ctx

    from ui import timer

    ctx = get_script_run_ctx()
    sent = []
    enqueue = ctx.enqueue

    def spy(msg):
        if msg.WhichOneof("type") in ("auto_rerun", "stop_auto_rerun"):
            sent.append(msg)
        enqueue(msg)

    ctx.enqueue = spy
    timer.rerun_fragment_every(0.4)  # outside a fragment: nothing to time

    @st.fragment
    def redraw() -> None:
        st.session_state["fragment_id"] = timer.current_fragment_id()
        timer.rerun_fragment_every(0.4)
        timer.rerun_fragment_every(None)

    @st.fragment
    def other() -> None:
        st.session_state["other_id"] = timer.current_fragment_id()
        timer.nudge(st.session_state["fragment_id"])
        timer.nudge(None)  # no fragment to nudge: nothing

    redraw()
    other()
    ctx.enqueue = enqueue
    found = [
        [round(m.auto_rerun.interval, 6), m.auto_rerun.fragment_id]
        if m.WhichOneof("type") == "auto_rerun"
        else ["stop", *m.stop_auto_rerun.fragment_ids]
        for m in sent
    ]
    st.text(json.dumps(found))


def test_the_timer_is_streamlits_auto_rerun_message_for_the_running_fragment():
    at = AppTest.from_function(timer_script).run()
    assert not at.exception
    fragment_id, other_id = at.session_state["fragment_id"], at.session_state["other_id"]
    assert fragment_id and other_id and other_id != fragment_id
    found = json.loads(at.text[0].value)
    # Another fragment nudges the first: a short timer for the first one's id.
    assert found == [[0.4, fragment_id], ["stop", fragment_id], [timer_nudge(), fragment_id]]


def timer_nudge() -> float:
    from ui.timer import NUDGE_S

    return NUDGE_S
