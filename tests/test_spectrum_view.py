"""The live run's spectrum in the Game view: its sentence reads the eigenvalues right, and
the button draws them for the run in the arena (or says why it cannot)."""
from __future__ import annotations

import numpy as np

from gansim.spectrum import Spectrum
from gansim.ui import spectrum_view
from apphelpers import app

SMALL = dict(g_hidden="16", d_hidden="16", batch="64", data="two_gaussians")


def test_the_sentence_tells_a_turn_from_a_pull():
    turning = Spectrum(np.array([0.1 + 5j, 0.1 - 5j, -0.2 + 3j]), 1234, ())
    pulling = Spectrum(np.array([-3.0 + 0j, -2.0 + 1j, -2.0 - 1j]), 1234, ("gp",))
    assert "turn far more than they pull" in spectrum_view.sentence(turning)
    assert "largest |imaginary part| 5" in spectrum_view.sentence(turning)
    said = spectrum_view.sentence(pulling)
    assert "no strong turn" in said and "left out of the field: gp" in said
    assert "1,234 weights" in said


def test_the_button_draws_the_live_runs_spectrum():
    at = app(**SMALL)
    at.segmented_control(key="arena_mode").set_value("Game").run()
    at.button(key="game_spectrum").click().run()
    assert not at.exception
    captions = " ".join(c.value for c in at.caption)
    assert "6 largest eigenvalues of the game's Jacobian" in captions
    titles = [e.proto.spec for e in at.get("vega_lite_chart")]
    assert any("The run's game at step 0" in t for t in titles)


def test_a_run_the_field_cannot_hold_is_named():
    at = app(pack="2", **SMALL)
    at.segmented_control(key="arena_mode").set_value("Game").run()
    at.button(key="game_spectrum").click().run()
    assert not at.exception
    assert any("No spectrum for this run" in i.value and "pack" in i.value for i in at.info)
