"""The film's route (gansim/ui/film.py): tokens, what it answers, and the snapshot it shares
with the page's frame (Run.snapshot's max_age_s, Run.line)."""
from __future__ import annotations

import asyncio
import gc
import json

from starlette.requests import Request

from gansim.config import Config
from gansim.ui import fair, film, transport
from gansim.ui.arena_payload import arena_payload
from gansim.ui.session import Run

OPTIONS = {"show_arrows": True, "show_manifold": False, "show_rings": True}


def _get(token: str):
    scope = {"type": "http", "method": "GET", "path": f"{film.PATH}/{token}", "headers": [],
             "query_string": b"", "path_params": {"token": token}}
    return asyncio.run(film.serve(Request(scope)))


def test_a_registered_tab_gets_its_runs_newest_arena():
    run = Run(Config(seed=3))
    source = film.register(run, OPTIONS)
    with run.lock:
        run.trainer.train(4)
    answer = _get(source.token)
    assert answer.status_code == 200 and answer.headers["cache-control"] == "no-store"
    body = json.loads(answer.body)
    assert body["step"] == 4 and body["line"] == run.line
    # The same fields as the page's own payload: one builder for both.
    assert body.keys() == {**arena_payload(run.snapshot(), **OPTIONS), "line": 0}.keys()


def test_display_toggles_reach_the_route():
    run = Run(Config(seed=3))
    source = film.register(run, OPTIONS)
    assert json.loads(_get(source.token).body)["arrows"]
    source.show({**OPTIONS, "show_arrows": False})
    assert json.loads(_get(source.token).body)["arrows"] == []


def test_unknown_malformed_and_closed_tabs_get_404():
    assert _get("A" * 22).status_code == 404
    assert _get("short").status_code == 404
    source = film.register(Run(Config(seed=1)), OPTIONS)
    token = source.token
    assert film.TOKEN.fullmatch(token) and film.find(token) is source
    del source  # the session's state let go of it: the tab is gone
    gc.collect()
    assert film.find(token) is None and _get(token).status_code == 404


def test_the_address_follows_the_servers_base_path():
    assert film.url("", "t") == "/gansim/film/t"
    assert film.url("/class/", "t") == "/class/gansim/film/t"
    assert [r.path for r in film.routes("class")] == ["/class/gansim/film/{token}"]


def test_a_recent_snapshot_is_shared_until_the_line_changes():
    run = Run(Config(seed=2))
    first = run.snapshot()
    assert run.snapshot(max_age_s=60.0) is first  # the film's route just took one
    assert run.snapshot() is not first  # max_age_s 0: always fresh (a paused page)
    line = run.line
    run.reset()
    assert run.line == line + 1 and run.snapshot(max_age_s=60.0).step == 0
    with run.lock:
        run.trainer.train(3)
    run.snapshot()
    run.rewind(0)  # a rewind starts a new line too: its steps go back
    assert run.line == line + 2


def test_the_page_reruns_once_a_second_beside_the_film_but_each_slow_step(monkeypatch):
    """At full speed the film's payloads come every live_tick() and the page's words once
    a second; at a slow speed the step counter follows every snapshot (one or five
    steps), so the page reruns with the film."""
    monkeypatch.setattr(fair.TURNSTILE, "playing", lambda: 1)
    for label, speed in transport.SPEEDS.items():
        monkeypatch.setattr(transport, "speed", lambda speed=speed: speed)
        assert transport.live_tick() == speed.frame_s, label
        want = speed.frame_s if speed.steps is not None else transport.PAGE_TICK_S
        assert transport.page_tick() == want, label
    # A class: each snapshot 0.05 s × 30, each rerun 0.25 s × 30 (4 reruns a second in all).
    monkeypatch.setattr(fair.TURNSTILE, "playing", lambda: 30)
    assert transport.live_tick() == 30 * transport.CLASS_TICK_S
    assert transport.page_tick() == 30 * transport.CLASS_PAGE_TICK_S


class _Tick:  # the PAGE_TICK key, as the page set it
    def __init__(self, value):
        self.value = value

    def get(self):
        return self.value


def test_a_class_that_grows_resets_the_page_timer(monkeypatch):
    """The fragment's timer is set when the page is drawn; a class that grew from one
    session to ten since then asks for a full rerun (a 1 s timer would rerun 10 times a
    second in all), a small change or a paused page does not."""
    monkeypatch.setattr(transport, "speed", lambda: transport.SPEEDS["Normal"])
    playing = {"n": 1}
    monkeypatch.setattr(fair.TURNSTILE, "playing", lambda: playing["n"])
    monkeypatch.setattr(transport, "PAGE_TICK", _Tick(transport.page_tick()))
    assert not transport.retick()
    playing["n"] = 4  # still 1 s each
    assert not transport.retick()
    playing["n"] = 10
    assert transport.page_tick() == 2.5 and transport.retick()
    monkeypatch.setattr(transport, "PAGE_TICK", _Tick(2.5))
    playing["n"] = 11  # 2.75 s: within RETICK of the timer
    assert not transport.retick()
    playing["n"] = 1
    assert transport.retick()
    monkeypatch.setattr(transport, "PAGE_TICK", _Tick(None))  # no timer: paused
    assert not transport.retick()
