"""The sidebar's widgets take their limits, options and help from config.FIELDS."""
from __future__ import annotations

from streamlit.testing.v1 import AppTest

from gansim.config import FIELDS, RESTART_FIELDS


def _sidebar() -> AppTest:
    def page():
        from gansim.ui import controls

        controls.seed_widgets(controls.Config())
        for group in controls.GROUPS:
            controls.draw_group(group)

    at = AppTest.from_function(page, default_timeout=60)
    return at.run()


def test_widgets_offer_exactly_the_range_and_options_the_validation_accepts():
    at = _sidebar()
    assert not at.exception
    numbers = {w.key[len("cfg_"):]: w for w in at.number_input}
    assert numbers["gp"].min == FIELDS["gp"].check.lo and numbers["gp"].max == 1000
    assert numbers["pack"].max == FIELDS["pack"].check.hi == 8
    for name, w in numbers.items():
        assert (w.min, w.max) == (FIELDS[name].check.lo, FIELDS[name].check.hi), name
    for w in at.slider:
        name = w.key[len("cfg_"):]
        assert (w.min, w.max) == (FIELDS[name].check.lo, FIELDS[name].check.hi), name
    for w in at.selectbox:  # options show as labels; device drops cuda without a GPU
        name = w.key[len("cfg_"):]
        allowed = FIELDS[name].check.options
        assert len(w.options) == len(allowed) or name == "device", name
    optimisers = at.selectbox(key="cfg_optimizer")
    assert list(optimisers.options) == list(FIELDS["optimizer"].check.options)


def test_help_is_the_fields_sentence_and_says_when_a_change_restarts():
    at = _sidebar()
    pack, gp = at.number_input(key="cfg_pack"), at.number_input(key="cfg_gp")
    assert "pack" in RESTART_FIELDS and "gp" not in RESTART_FIELDS
    assert pack.help == FIELDS["pack"].help + " Changing this resets the run."
    assert gp.help == FIELDS["gp"].help
