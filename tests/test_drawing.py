import pytest

from gansim import Config, Trainer
from gansim.data import make_dataset
from gansim.drawing import (DRAW_BOX, MAX_DRAWN, MAX_STD, MIN_STD, Mode, add_mode, config_fields,
                            mode_from_box, mode_from_selection, modes_of, remove_mode)


def test_a_box_is_a_mode_s_three_sigma_square():
    m = mode_from_box([1.0, 2.2], [-1.0, 0.2])  # a 1.2 × 1.2 box: half-side 0.6 = 3σ
    assert (m.x, m.y, m.std) == (1.6, -0.4, pytest.approx(0.2))


def test_box_corners_in_any_order_and_spread_clamped():
    assert mode_from_box([2.0, 1.0], [0.5, -0.5]) == mode_from_box([1.0, 2.0], [-0.5, 0.5])
    assert mode_from_box([0.0, 0.0], [0.0, 0.0]).std == MIN_STD  # a click-sized box
    assert mode_from_box([-5.0, 5.0], [-5.0, 5.0]).std == MAX_STD  # the whole plane


def test_streamlit_interval_selection_becomes_a_mode():
    # What st.altair_chart(on_select=...) returns for an interval on the x and y fields.
    assert mode_from_selection({"x": [0.0, 0.6], "y": [0.0, 0.6]}) == Mode(0.3, 0.3, 0.1)
    assert mode_from_selection({}) is None and mode_from_selection(None) is None


def test_bad_boxes_get_messages_that_say_what_to_fix():
    x1 = DRAW_BOX[1]
    with pytest.raises(ValueError, match="off the drawing plane.*draw inside"):
        mode_from_box([x1 + 1, x1 + 2], [0, 1])
    with pytest.raises(ValueError, match="box x must be two numbers"):
        mode_from_box([1.0], [0, 1])
    with pytest.raises(ValueError, match="box y must be finite"):
        mode_from_box([0, 1], [0, float("nan")])


def test_too_many_and_no_modes_are_refused():
    modes = ()
    for i in range(MAX_DRAWN):
        modes = add_mode(modes, Mode(0.1 * i, 0.0, 0.1))
    with pytest.raises(ValueError, match=f"at most {MAX_DRAWN} modes; remove one"):
        add_mode(modes, Mode(0.0, 1.0, 0.1))
    with pytest.raises(ValueError, match="no modes; drag a box"):
        config_fields(())
    with pytest.raises(ValueError, match="remove some"):
        config_fields(modes + (Mode(0.0, 1.0, 0.1),))


def test_remove_takes_out_exactly_that_mode():
    modes = (Mode(0, 0, 0.1), Mode(1, 1, 0.2), Mode(2, 2, 0.3))
    assert remove_mode(modes, 1) == (Mode(0, 0, 0.1), Mode(2, 2, 0.3))
    assert remove_mode(modes, 7) == modes


def test_a_drawing_is_a_custom_config_that_trains():
    modes = (Mode(-1.0, 0.5, 0.1), Mode(1.5, -0.5, 0.2))
    cfg = Config(**config_fields(modes))
    t = Trainer(cfg)
    assert t.dataset.centers.tolist() == [[-1.0, 0.5], [1.5, -0.5]]
    assert t.dataset.stds.tolist() == [0.1, 0.2]
    t.train(3)  # the drawn data feeds the one training path like any preset
    assert t.g_step == 3
    assert modes_of(t.dataset) == modes  # and it can be opened again for editing


def test_modes_of_a_preset_start_the_drawing():
    assert len(modes_of(make_dataset("ring8"))) == 8
    assert len(modes_of(make_dataset("grid25"))) == 25


def test_a_drawing_survives_the_config_export_and_the_cli_loader(tmp_path):
    from gansim.cli import load_config_file
    from gansim.ui import export

    cfg = Config(**config_fields((Mode(-2.0, 1.0, 0.1), Mode(0.5, 2.5, 0.25))))
    path = tmp_path / "drawn.toml"
    path.write_bytes(export.config_toml(cfg))
    assert Config.from_dict(load_config_file(path)) == cfg
