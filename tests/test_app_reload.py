"""A reload keeps the tab's run (gansim/ui/runstore.py): the same run object, its step
and settings; a link with a stranger's or a malformed token starts fresh."""
from __future__ import annotations

from apphelpers import app, query, run_of, step_shown


def token_of(at) -> str:
    value = at.query_params["run"]
    return value[-1] if isinstance(value, list) else value


def test_a_reload_takes_the_tabs_run_back():
    at = app(seed="3", lr_d="0.0005")
    at.button(key="play_pause").click().run()
    at.run()
    at.button(key="play_pause").click().run()
    run, step = run_of(at), run_of(at).step
    assert step > 0
    sent = query(at)  # what a reload sends: the address bar, "engine=eager" included
    assert sent["engine"] == "eager"
    again = app(**sent, run=token_of(at))
    assert not again.exception
    assert run_of(again) is run and step_shown(again) == step
    assert any(f"continues at step {step:,}" in t.body for t in again.toast)
    again.run()  # the widgets say "eager", the run's own setting "auto": no new run
    assert run_of(again) is run and step_shown(again) == step and not again.exception
    assert again.number_input(key="cfg_seed").value == 3
    assert token_of(again) == token_of(at) and query(again) == query(at)


def test_an_unknown_or_malformed_token_starts_a_fresh_run():
    for token in ("A" * 16, "not a token"):
        at = app(seed="3", run=token)
        assert not at.exception and not at.warning, [w.body for w in at.warning]
        assert run_of(at).step == 0 and run_of(at).cfg.seed == 3
        assert token_of(at) != token  # the tab gets its own
