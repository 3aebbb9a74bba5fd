"""model_comparison: models that vary what the question asks, beside the baseline question's model.

Real (untrained) Keras models saved to files, placed in the sections of a
Práctica-1-like notebook; the counting does not depend on what they measure.
"""
import numpy as np
import pytest

from grader import rubric as rubrics
from grader.evaluate import DataCache, evaluate
from grader.harvest import Harvest
from grader.harvest.answers import Section
from grader.harvest.models import ModelVersion

RUBRIC = """
[assignment]
name = "comparison"
reference = "reference.ipynb"
[models.classifier]
input = ["any", 2]
output = ["any", 1]
loss = ["classification"]
[models.other_activation]
input = ["any", 2]
output = ["any", 1]
loss = ["classification"]
hidden_activation_not = "relu"
[models.regressor]
input = ["any", 2]
output = ["any", 1]
loss = ["regression"]
[[questions]]
id = "E1"
  [[questions.checks]]
  kind = "model_structure"
  points = 1
  model = "classifier"
[[questions]]
id = "E2"
  [[questions.checks]]
  kind = "model_comparison"
  points = 1
  model = "classifier"
  data = "sum_classification"
  samples = 200
  metric = "accuracy"
  baseline = "E1"
  differ = "size"
  exclude = ["E1"]
[[questions]]
id = "E3"
  [[questions.checks]]
  kind = "model_comparison"
  points = 1
  model = "other_activation"
  data = "sum_classification"
  samples = 200
  metric = "accuracy"
  baseline = "E1"
  differ = "activation"
[[questions]]
id = "E4"
  [[questions.checks]]
  kind = "model_structure"
  points = 1
  model = "regressor"
[[questions]]
id = "E5"
  [[questions.checks]]
  kind = "model_comparison"
  points = 1
  model = "regressor"
  data = "sum_regression"
  samples = 200
  metric = "mae"
  min_models = 2
  baseline = "E4"
  differ = "data"
"""


@pytest.fixture(scope="module")
def saved(tmp_path_factory):
    """name -> saved .keras file of a two-input network: (hidden units, hidden activation, loss)."""
    import keras
    folder = tmp_path_factory.mktemp("models")
    shapes = {"e1": (64, "relu", "binary_crossentropy"), "same_size_tanh": (64, "tanh", "binary_crossentropy"),
              "small": (32, "relu", "binary_crossentropy"), "sigmoid": (64, "sigmoid", "binary_crossentropy"),
              "reg": (64, "relu", "mse"), "reg_other": (64, "relu", "mse")}
    paths = {}
    for name, (units, activation, loss) in shapes.items():
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(units, activation=activation),
                                  keras.layers.Dense(1, activation="sigmoid" if loss != "mse" else None)])
        model.compile("adam", loss)
        paths[name] = folder / f"{name}.keras"
        model.save(paths[name])
    return paths


def model(saved, serial, name, cell, steps=18):
    fit = {"cell": cell, "params": {"epochs": 20, "steps": steps}, "history": {"loss": [1.0]}}
    return ModelVersion(serial, 1, saved[name], cell, [name], fits=[fit])


def grade(tmp_path, models, sections):
    path = tmp_path / "rubric.toml"
    path.write_text(RUBRIC)
    harvest = Harvest(cells=[], runs=[], sections={q: Section(q, *cells) for q, cells in sections.items()},
                      models=models)
    checks, _, _ = evaluate(harvest, rubrics.load(path), DataCache(1), "en", reference={})
    return {check.id: check for check in checks}


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


def test_without_a_baseline_every_fitting_model_varies_something():
    from grader.evaluate.checks.model_comparison import differs
    from grader.evaluate.picker import Pick
    from grader.evaluate.models import ModelInfo
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
