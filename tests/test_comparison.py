"""model_comparison: models that vary what the question asks, beside the baseline question's model.

Real (untrained) Keras models saved to files, placed in the sections of a
Práctica-1-like notebook; the counting does not depend on what they measure.
"""
import numpy as np
import pytest

from grader import rubric as rubrics
from grader.harvest.models import ModelVersion

from .builders import REGRESSOR, check, dense_network, judge, placed, question, rubric_toml

CLASSIFIER = {"input": ["any", 2], "output": ["any", 1], "loss": ["classification"]}


def comparison(model, data, metric, baseline, differ, **keys) -> dict:
    return check("model_comparison", model=model, data=data, samples=200, metric=metric, baseline=baseline,
                 differ=differ, **keys)


RUBRIC = rubric_toml(
    "comparison",
    question("E1", check("model_structure", model="classifier")),
    question("E2", comparison("classifier", "sum_classification", "accuracy", "E1", "size", exclude=["E1"])),
    question("E3", comparison("other_activation", "sum_classification", "accuracy", "E1", "activation")),
    question("E4", check("model_structure", model="regressor")),
    question("E5", comparison("regressor", "sum_regression", "mae", "E4", "data", min_models=2)),
    models={"classifier": CLASSIFIER, "other_activation": {**CLASSIFIER, "hidden_activation_not": "relu"},
            "regressor": {**REGRESSOR, "loss": ["regression"]}})


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """name -> saved .keras file of a two-input network: (hidden units, hidden activation, loss)."""
    folder = tmp_path_factory.mktemp("models")
    shapes = {"e1": (64, "relu", "binary_crossentropy"), "same_size_tanh": (64, "tanh", "binary_crossentropy"),
              "small": (32, "relu", "binary_crossentropy"), "sigmoid": (64, "sigmoid", "binary_crossentropy"),
              "reg": (64, "relu", "mse"), "reg_other": (64, "relu", "mse")}
    return {name: dense_network(folder / f"{name}.keras",
                                [(units, activation), (1, "sigmoid" if loss != "mse" else None)], loss)
            for name, (units, activation, loss) in shapes.items()}


def model(saved, serial, name, cell, steps=18):
    return placed(saved[name], serial, cell, steps=steps)


def grade(tmp_path, models, sections, rubric=RUBRIC):
    path = tmp_path / "rubric.toml"
    path.write_text(rubric)
    return judge(rubrics.load(path), models, sections, reference={})[0]


def compared(check):
    return [(row["name"], row.get("role", "")) for row in check.model.get("compared", [])]


def test_the_real_labs_layout_counts_each_variation_against_its_baseline(tmp_path, saved):
    models = [model(saved, 1, "e1", 1), model(saved, 2, "small", 3), model(saved, 3, "same_size_tanh", 5),
              model(saved, 4, "sigmoid", 5), model(saved, 5, "reg", 7, steps=18),
              model(saved, 6, "reg_other", 9, steps=9), model(saved, 7, "small", 9, steps=35)]
    checks = grade(tmp_path, models, {"E1": (0, 2), "E2": (2, 4), "E3": (4, 6), "E4": (6, 8), "E5": (8, 10)})
    assert compared(checks["E2"]) == [("e1", "baseline, E1"), ("small", "")] and checks["E2"].score == 1
    assert compared(checks["E3"]) == [("e1", "baseline, E1"), ("same_size_tanh", ""), ("sigmoid", "")]
    assert checks["E3"].score == 1
    assert [name for name, _ in compared(checks["E5"])] == ["reg", "reg_other"]  # model 7 is a classifier
    assert checks["E5"].score == 0 and "At least 2 model(s)" in checks["E5"].feedback


def test_a_model_that_varies_nothing_does_not_count(tmp_path, saved):
    """E2 asks for another size: a 64-unit tanh network in E2's cells is E1's size (it is E3's work)."""
    models = [model(saved, 1, "e1", 1), model(saved, 3, "same_size_tanh", 3)]
    checks = grade(tmp_path, models, {"E1": (0, 2), "E2": (2, 4), "E3": (4, 6)})
    assert checks["E2"].score == 0
    assert "1 model(s) of the section do not count: they have the same size as the baseline" in checks["E2"].feedback
    # left under E2's heading, it is what E3 asks for: it counts there, with a note
    assert compared(checks["E3"]) == [("e1", "baseline, E1"), ("same_size_tanh", "outside its section")]
    assert checks["E3"].score == 1


def test_the_same_amount_of_data_is_no_variation(tmp_path, saved):
    models = [model(saved, 5, "reg", 7, steps=18), model(saved, 6, "reg_other", 9, steps=18),
              model(saved, 8, "reg_other", 9, steps=35)]
    checks = grade(tmp_path, models, {"E4": (6, 8), "E5": (8, 10)})
    assert checks["E5"].score == 0 and "the same amount of data as the baseline" in checks["E5"].feedback


def test_the_baselines_own_model_retrained_on_other_data_is_no_variation(tmp_path, saved):
    """E4's regressor trained again in E5's cells, on fewer batches per epoch, is still E4's model (training goes
    on from E4's weights): it is not one of E5's models, so E5 has one of the two it asks for."""
    e4 = model(saved, 5, "reg", 7, steps=18)
    again = placed(saved["reg"], 5, 9, version=2, steps=9)
    checks = grade(tmp_path, [e4, again, model(saved, 6, "reg_other", 9, steps=35)], {"E4": (6, 8), "E5": (8, 10)})
    assert compared(checks["E5"]) == [("reg", "baseline, E4"), ("reg_other", "")]
    assert checks["E5"].score == 0 and checks["E5"].details[0]["metrics"] == {"models": 1}
    assert "1 model(s) of the section do not count: they have the same amount of data as the baseline" \
        in checks["E5"].feedback


ACTIVATION_ONLY = rubric_toml(
    "comparison",
    question("E1", check("model_structure", model="classifier")),
    question("E3", comparison("classifier", "sum_classification", "accuracy", "E1", "activation")),
    models={"classifier": CLASSIFIER})


def test_another_activation_is_what_counts_when_no_selector_rules_out_the_baselines(tmp_path, saved):
    """``differ = "activation"`` alone, no ``hidden_activation_not``: a smaller relu network has E1's hidden
    activations and varies nothing asked; a tanh one of E1's size does."""
    sections = {"E1": (0, 2), "E3": (2, 4)}
    checks = grade(tmp_path, [model(saved, 1, "e1", 1), model(saved, 2, "small", 3)], sections, ACTIVATION_ONLY)
    assert compared(checks["E3"]) == [("e1", "baseline, E1")] and checks["E3"].score == 0
    assert "1 model(s) of the section do not count: they have the same hidden activations as the baseline" \
        in checks["E3"].feedback
    checks = grade(tmp_path, [model(saved, 1, "e1", 1), model(saved, 2, "small", 3),
                              model(saved, 3, "same_size_tanh", 3)], sections, ACTIVATION_ONLY)
    assert compared(checks["E3"]) == [("e1", "baseline, E1"), ("same_size_tanh", "")] and checks["E3"].score == 1


def test_without_a_baseline_every_fitting_model_varies_something():
    from grader.evaluate.checks.model_comparison import differs
    from grader.evaluate.models import ModelInfo
    from grader.evaluate.picker import Pick
    dense = [{"class": "Dense", "units": 64, "activation": "relu"}, {"class": "Dense", "units": 1}]
    chosen = Pick(ModelVersion(1, 1, None, 3), ModelInfo((None, 2), (None, 1), dense), "section")
    assert differs("size", chosen, None) and differs(None, chosen, chosen)
    assert not differs("size", chosen, chosen)  # the baseline's own model never varies from itself


def test_a_baseline_or_difference_the_rubric_does_not_know_is_an_error(tmp_path):
    for text, problem in (('baseline = "E1"', 'baseline: no question \'E9\''),
                          ('differ = "size"', "differ: 'depth' is not one of size, activation, data")):
        path = tmp_path / "rubric.toml"
        path.write_text(RUBRIC.replace(text, text.replace('"E1"', '"E9"').replace('"size"', '"depth"'), 1))
        with pytest.raises(rubrics.RubricError, match=problem):
            rubrics.load(path)


def test_measured_values_sit_beside_the_baseline(tmp_path, saved):
    models = [model(saved, 1, "e1", 1), model(saved, 2, "small", 3)]
    rows = grade(tmp_path, models, {"E1": (0, 2), "E2": (2, 4)})["E2"].model["compared"]
    assert all(0 <= row["accuracy"] <= 1 for row in rows) and np.isfinite([r["accuracy"] for r in rows]).all()
