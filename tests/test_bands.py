import pytest

from grader import bands


def test_linear_between_zero_and_full():
    assert bands.fraction(0.5, 0.5, 0.9) == 0
    assert bands.fraction(0.7, 0.5, 0.9) == pytest.approx(0.5)
    assert bands.fraction(0.95, 0.5, 0.9) == 1
    assert bands.fraction(0.1, 0.5, 0.9) == 0


def test_lower_is_better_works_the_same_way():
    # MAE: 0.2 earns nothing, 0.05 earns everything
    assert bands.fraction(0.05, 0.2, 0.05) == 1
    assert bands.fraction(0.125, 0.2, 0.05) == pytest.approx(0.5)
    assert bands.fraction(0.3, 0.2, 0.05) == 0


def test_relative_band_scales_with_the_reference():
    bounds = bands.resolve({"zero": 0.5, "full": 0.95, "relative": True}, 0.8)
    assert bounds == {"zero": pytest.approx(0.4), "full": pytest.approx(0.76), "reference": 0.8}
    with pytest.raises(ValueError):
        bands.resolve({"zero": 0.5, "full": 0.95, "relative": True}, None)
    assert bands.resolve({"zero": 0.5, "full": 0.9}, None) == {"zero": 0.5, "full": 0.9}


def test_a_value_within_its_noise_of_a_band_edge_is_too_close_to_call():
    assert bands.too_close_to_call(0.94, 0.01, 0.5, 0.95)       # another draw may well reach the full mark
    assert bands.too_close_to_call(0.51, 0.01, 0.5, 0.95)       # or fall to zero
    assert not bands.too_close_to_call(0.99, 0.01, 0.5, 0.95)   # full marks either way
    assert not bands.too_close_to_call(0.40, 0.01, 0.5, 0.95)   # zero either way
    assert bands.too_close_to_call(0.06, 0.005, 0.2, 0.05)      # lower is better (MAE): just as near


def test_inside_a_band_only_noise_that_moves_the_points_enough_is_too_close_to_call():
    # the band spans 0.45: +-2 errors of 0.01 move the points by 9 %, of 0.002 by under 2 %
    assert bands.too_close_to_call(0.7, 0.01, 0.5, 0.95)
    assert not bands.too_close_to_call(0.7, 0.002, 0.5, 0.95)
    assert not bands.too_close_to_call(0.95, 0.0, 0.5, 0.95)    # no noise, not even on the edge
