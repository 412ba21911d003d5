"""`streamlit run` with one probe more: the moment a page's click reaches the server.

    python bench/click_probe.py run app.py --server.port ...   # as `python -m streamlit`

bench/bench_class.py starts the app's worker through this launcher. Its click log
(GANSIM_CLICK_LOG, written by gansim.ui.fair.note) already holds the button's callback
and the page's redraw; this adds "received", noted when the session takes in a rerun
request that a person made (a click: a full rerun, or the toolbar's fragment; the
fragments' timers ask with `is_auto_rerun` and are not noted). With it the bench splits
a click's delay into the browser's part (the click until the page's websocket sends
it), the way across (until the server's session has it), and the server's part (from
there until the click's result is drawn), instead of one figure that holds a starved
browser's time as well.

Bench-only: the app never imports this, and the patch wraps one Streamlit method without
changing what it does.
"""
from __future__ import annotations

import sys
from pathlib import Path

from streamlit.runtime import app_session
from streamlit.web import cli

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from gansim.ui import fair  # noqa: E402


def _noting(handle):
    def handle_backmsg(self, msg):
        if msg.WhichOneof("type") == "rerun_script" and not msg.rerun_script.is_auto_rerun:
            fair.note("received")
        return handle(self, msg)
    return handle_backmsg


if __name__ == "__main__":
    app_session.AppSession.handle_backmsg = _noting(app_session.AppSession.handle_backmsg)
    cli.main(prog_name="streamlit")  # as `python -m streamlit` calls it
