import numpy as np

from grader.evaluate.data import binary_addition as kind


def decode(digits):
    """Least significant digit first -> integer."""
    return int(sum(int(round(d)) << i for i, d in enumerate(np.ravel(digits))))


def test_shapes_follow_the_handout():
    data = kind.generate(np.random.default_rng(0), 50, max_bit=7)
    assert data.x.shape == (50, 8, 2) and data.y.shape == (50, 8, 1)
    data30 = kind.generate(np.random.default_rng(0), 5, max_bit=30)
    assert data30.x.shape == (5, 31, 2)


def test_digits_are_least_significant_first_and_padded_at_the_end():
    # 6 = 110b -> [0, 1, 1, 0, ...]: the handout reverses "{0:b}".format(i), then pads with zeros after
    assert kind.digits(np.array([6]), 8).tolist() == [[0, 1, 1, 0, 0, 0, 0, 0]]
    data = kind.generate(np.random.default_rng(1), 200, max_bit=7)
    for x, y in zip(data.x, data.y):
        assert decode(x[:, 0]) + decode(x[:, 1]) == decode(y)
        assert decode(x[:, 0]) < 2**7 and x[-1, 0] == 0 and x[-1, 1] == 0  # the extra step is padding


def test_a_perfect_adder_scores_one():
    data = kind.generate(np.random.default_rng(2), 300, max_bit=7)
    metrics = kind.score(data, data.y * 0.9 + 0.05)  # probabilities on the right side of 0.5
    assert metrics == {"bit_accuracy": 1.0, "exact_accuracy": 1.0, "n_samples": 300}


def test_relu_outputs_above_one_still_round_at_half():
    data = kind.generate(np.random.default_rng(3), 100, max_bit=7)
    assert kind.score(data, data.y * 3.0)["exact_accuracy"] == 1.0


def test_a_constant_model_is_not_rewarded():
    data = kind.generate(np.random.default_rng(4), 500, max_bit=30)
    metrics = kind.score(data, np.zeros_like(data.y))
    assert metrics["exact_accuracy"] < 0.01
    assert 0.3 < metrics["bit_accuracy"] < 0.9  # copying the common digit looks good per bit only


def test_same_seed_same_data():
    a = kind.generate(np.random.default_rng(9), 10)
    b = kind.generate(np.random.default_rng(9), 10)
    assert np.array_equal(a.x, b.x)
