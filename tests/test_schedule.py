"""Schedules over G steps (gansim.schedule): annealed instance noise, learning-rate decay."""
import pytest

from gansim.schedule import instance_noise_std, lr_factor


def test_instance_noise_anneals_to_zero():
    assert instance_noise_std(0.2, 100, 0) == pytest.approx(0.2)
    assert instance_noise_std(0.2, 100, 50) == pytest.approx(0.1)
    assert instance_noise_std(0.2, 100, 500) == 0.0
    assert instance_noise_std(0.2, 0, 500) == pytest.approx(0.2)


def test_lr_factor_schedule():
    assert lr_factor(0, 0, 0.02, 10_000) == 1.0
    assert lr_factor(1500, 3000, 0.02, 1000) == 1.0
    assert lr_factor(1500, 3000, 0.02, 2250) == pytest.approx(0.51)
    assert lr_factor(1500, 3000, 0.02, 9000) == pytest.approx(0.02)
