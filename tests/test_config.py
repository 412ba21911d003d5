import json

import pytest
from hypothesis import given, settings, strategies as st

from gansim.checks import Choice, Range
from gansim.config import (DEFAULT, FIELD_NAMES, FIELD_TYPES, FIELDS, Config,
                           coerce, restart_fields_changed,
                           split_setting)


# (field, bad value, words the message must contain)
BAD = [
    ("lr_d", -1.0, ["lr_d", "-1"]),
    ("lr_g", 0.0, ["lr_g", "0"]),
    ("loss", "wgan", ["loss", "wasserstein", "'wgan'"]),
    ("data", "ring9", ["data", "ring8"]),
    ("batch", 3, ["batch", "3"]),
    ("batch", 256.5, ["batch", "integer"]),
    ("d_steps", 0, ["d_steps"]),
    ("gp", float("nan"), ["gp", "finite"]),
    ("unroll", -1, ["unroll"]),
    ("pack", 9, ["pack"]),
    ("mbstd", "yes", ["mbstd"]),
    ("activation", "sigmoid", ["activation", "relu"]),
    ("optimizer", "lbfgs", ["optimizer", "adam"]),
    ("device", "tpu", ["device", "auto"]),
    ("dropout", 1.0, ["dropout"]),
    ("seed", -5, ["seed"]),
]


@pytest.mark.parametrize("field,value,words", BAD)
def test_bad_values_name_field_and_value(field, value, words):
    with pytest.raises(ValueError) as err:
        Config(**{field: value})
    for w in words:
        assert w in str(err.value)


def test_cross_field_rules():
    with pytest.raises(ValueError, match="multiple of pack"):
        Config(batch=256, pack=3)
    assert Config(batch=255, pack=3).pack == 3
    with pytest.raises(ValueError, match="label_smoothing"):
        Config(loss="wasserstein", label_smoothing=0.1)
    with pytest.raises(ValueError, match="custom_centers"):
        Config(data="custom")
    with pytest.raises(ValueError, match="custom_stds"):
        Config(data="custom", custom_centers=((0, 0), (1, 1)), custom_stds=(0.1, 0.1, 0.1))
    ok = Config(data="custom", custom_centers=((0, 0), (1, 1)), custom_stds=(0.1,))
    assert len(ok.custom_centers) == 2


def test_unknown_field_suggests_fix():
    with pytest.raises(ValueError, match="did you mean 'lr_d'"):
        Config.from_dict({"lr_dd": "0.1"})
    with pytest.raises(ValueError, match="unknown setting"):
        DEFAULT.replace(nope=1)


def test_from_dict_coerces_strings_both_ways():
    cfg = Config.from_dict({"lr_d": "3e-4", "mbstd": "true", "unroll": "5", "loss": "hinge",
                            "custom_centers": "[[0, 0], [1, 2]]"})
    assert cfg.lr_d == 3e-4 and cfg.mbstd is True and cfg.unroll == 5
    assert cfg.custom_centers == ((0, 0), (1, 2))
    with pytest.raises(ValueError, match="unroll must be a int"):
        coerce("unroll", "2.5")
    with pytest.raises(ValueError, match="mbstd"):
        coerce("mbstd", "maybe")


def test_round_trip_through_json():
    cfg = Config(loss="wasserstein", gp=10.0, d_steps=5, data="custom",
                 custom_centers=((0.0, 0.0), (2.0, 1.0)), custom_stds=(0.1,))
    again = Config.from_dict(json.loads(json.dumps(cfg.to_dict())))
    assert again == cfg
    assert Config.from_dict(cfg.changed()) == cfg


def test_a_shape_change_restarts_and_a_rate_change_applies_live():
    assert restart_fields_changed(DEFAULT, DEFAULT.replace(lr_d=0.01)) == []
    assert restart_fields_changed(DEFAULT, DEFAULT.replace(z_dim=2)) == ["z_dim"]


def test_each_field_is_declared_once_with_a_fitting_check_and_a_sentence():
    # Numbers carry a Range and text a Choice: the sidebar reads its limits and options
    # from these, so the type must match or the widget would have nothing to show.
    wanted = {int: Range, float: Range, str: Choice}
    for name, spec in FIELDS.items():
        kind = wanted.get(FIELD_TYPES[name])
        assert kind is None or isinstance(spec.check, kind), name
        assert spec.help.endswith(".") and len(spec.help) > 20, name
        spec.check(name, getattr(DEFAULT, name))  # the default lies inside its own range
    ints = [n for n, s in FIELDS.items() if FIELD_TYPES[n] is int]
    assert all(FIELDS[n].check.integer for n in ints)


def test_range_limits_are_the_validation_limits():
    spec = FIELDS["pack"].check
    Config(pack=spec.hi, batch=256)
    with pytest.raises(ValueError, match=r"pack must be in \[1, 8\], got 9"):
        Config(pack=spec.hi + 1)
    with pytest.raises(ValueError, match=r"lr_d must be in \(0, 1\], got 0"):
        Config(lr_d=FIELDS["lr_d"].check.lo)


@settings(max_examples=200, deadline=None)
@given(field=st.sampled_from(sorted(FIELD_NAMES)),
       value=st.one_of(st.integers(-10**9, 10**9), st.floats(allow_nan=True),
                       st.text(max_size=8), st.booleans(), st.none()))
def test_any_value_either_builds_or_raises_value_error(field, value):
    """Fuzz: no setting ever escapes as anything but a clean ValueError."""
    try:
        cfg = Config(**{field: value})
    except ValueError as err:
        assert str(err)
    else:
        assert getattr(cfg, field) == value


def test_split_setting_reads_key_value_and_refuses_the_rest():
    assert split_setting(" gp = 10 ") == ("gp", " 10 ")  # the value's spaces are the caller's
    assert split_setting("custom_centers=[[0,0],[1,1]]") == ("custom_centers", "[[0,0],[1,1]]")
    assert split_setting("a=b=c") == ("a", "b=c")
    assert split_setting("gp") is None
    assert split_setting(" =10") is None


