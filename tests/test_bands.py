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
