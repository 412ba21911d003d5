"""Helpers shared by the AppTest files (plain functions: a test file never imports another)."""
from __future__ import annotations

import json
import time
from pathlib import Path

from streamlit.testing.v1 import AppTest

ROOT = Path(__file__).resolve().parents[1]
FIXTURE_LESSONS = Path(__file__).parent / "fixtures" / "lessons"
TIMEOUT = 60


def app(**params) -> AppTest:
    at = AppTest.from_file(str(ROOT / "page.py"), default_timeout=TIMEOUT)
    at.query_params.update(params)
    return at.run()


def run_of(at: AppTest):
    return at.session_state["run"]


def arena_of(at: AppTest) -> dict | None:
    """The live arena film's last payload (gansim/ui/arena_payload.py), or None when the
    page drew no film (another arena mode, slow motion)."""
    films = [e for e in at.get("bidi_component") if e.proto.id.endswith("-arena")]
    return json.loads(films[0].proto.json) if films else None


def until_trained(at: AppTest, steps: int, timeout: float = 30.0) -> None:
    """Wait for the run's worker (gansim/ui/worker.py) to pass `steps` G steps."""
    end = time.monotonic() + timeout
    while run_of(at).step < steps:
        assert time.monotonic() < end, f"the worker did not reach step {steps}"
        time.sleep(0.02)


def step_shown(at: AppTest) -> int:
    return int(at.metric[0].value.replace(",", ""))


def query(at: AppTest) -> dict[str, str]:
    """The address bar's settings as plain strings (AppTest may hold lists); the tab's
    run token (gansim/ui/runstore.py) is not a setting and is left out."""
    return {k: v[-1] if isinstance(v, list) else v for k, v in at.query_params.items()
            if k != "run"}


# One claim no run can show and one every run shows (tests/test_app_lesson_miss.py).
CLAIMS = Path(__file__).parent / "fixtures" / "lessons_claims"


def finish(at):
    """Rerun until the step's run (and any replayed steps before it) has ended and the
    page has stopped playing: the worker counts its last step down a moment before it
    says it has finished, and the frame that sees that reruns the page (transport.follow),
    which draws the lesson panel's verdict on the ended run."""
    state = at.session_state
    for _ in range(200):
        if not state["train_left"] and not state["lesson_queue"] and not state["playing"]:
            return at.run()  # the page's rerun after the end (AppTest may not replay it)
        at.run()
        time.sleep(0.02)
    raise AssertionError("the step's run did not end")


def spec_json(spec: dict) -> str:
    """A Vega-Lite spec without its data: what must stay identical between frames for the
    browser to update a view in place."""
    return json.dumps({k: v for k, v in spec.items() if k != "datasets"}, sort_keys=True)
