"""A re-grade answers from what the models measured last time, without loading them.

A tiny regressor is saved as the kernel would save it and graded twice:
the second evaluation, with Keras' loader made to fail, must give the same
checks (thresholds may change in between); a new seed or a changed model
file must measure again.
"""
import json

import numpy as np
import pytest

from grader import rubric as rubrics
from grader.evaluate import DataCache, Memo, evaluate
from grader.evaluate import models as model_files
from grader.harvest import Harvest
from grader.harvest.models import ModelVersion

RUBRIC = """
[assignment]
name = "tiny-memo"
reference = "reference.ipynb"
[models.regressor]
input = ["any", 2]
output = ["any", 1]
[[questions]]
id = "E4"
  [[questions.checks]]
  kind = "model_structure"
  points = 1
  model = "regressor"
  output_activation = "linear"
  [[questions.checks]]
  kind = "model_probe"
  points = 1
  model = "regressor"
  input = [[0.3, 0.7]]
  output_shape = [1, 1]
  expected = [1.0]
  tolerance = 0.2
  [[questions.checks]]
  kind = "model_metric"
  points = 2
  model = "regressor"
  data = "sum_regression"
  samples = 500
  metric = "mae"
  band = { zero = ZERO, full = 0.05 }
"""


def save_model(path, bias=0.0):
    import keras
    model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])
    model.layers[0].set_weights([np.ones((2, 1), "float32"), np.array([bias], "float32")])  # x1 + x2 (+ bias)
    model.save(path)


def grade(tmp_path, memo_path, seed=1, zero=0.5):
    (tmp_path / "rubric.toml").write_text(RUBRIC.replace("ZERO", str(zero)))
    rubric = rubrics.load(tmp_path / "rubric.toml")
    version = ModelVersion(model=1, version=1, path=tmp_path / "model.keras", cell=1, names=["model"])
    harvest = Harvest(cells=[], runs=[], sections={}, models=[version])
    memo = Memo(memo_path, version="v1")
    checks, _, refused = evaluate(harvest, rubric, DataCache(seed), "en", memo=memo)
    memo.save()
    return checks, refused


@pytest.fixture
def loads(monkeypatch):
    """Counts Keras loads of a model file."""
    calls = []
    real = model_files.load

    def counting(path, *notes):
        calls.append(path)
        return real(path, *notes)
    monkeypatch.setattr(model_files, "load", counting)
    return calls


def test_a_threshold_change_is_scored_without_loading_any_model(tmp_path, loads):
    save_model(tmp_path / "model.keras", bias=0.1)
    memo_path = tmp_path / "measurements.json"
    first, _ = grade(tmp_path, memo_path)
    assert len(loads) == 1 and memo_path.is_file()
    mae = first[0].metrics["mae"]
    assert mae == pytest.approx(0.1, abs=1e-4)
    assert first[0].details[2]["score"] == pytest.approx(2 * (0.5 - mae) / (0.5 - 0.05), abs=1e-3)

    again, _ = grade(tmp_path, memo_path, zero=0.2)   # a stricter band: same measurements, other points
    assert len(loads) == 1
    assert again[0].metrics == first[0].metrics
    assert again[0].details[1]["metrics"]["predicted"] == first[0].details[1]["metrics"]["predicted"]
    assert again[0].figures == json.loads(json.dumps(first[0].figures))
    assert again[0].details[2]["score"] == pytest.approx(2 * (0.2 - mae) / (0.2 - 0.05), abs=1e-3)
    assert again[0].score == pytest.approx(2 + again[0].details[2]["score"])


def test_new_data_or_a_new_model_file_is_measured_again(tmp_path, loads):
    save_model(tmp_path / "model.keras", bias=0.05)
    memo_path = tmp_path / "measurements.json"
    first, _ = grade(tmp_path, memo_path, seed=1)
    other_seed, _ = grade(tmp_path, memo_path, seed=2)
    assert len(loads) == 2
    assert other_seed[0].metrics["mae"] == pytest.approx(0.05, abs=1e-4)   # a constant error, on any data

    save_model(tmp_path / "model.keras", bias=0.5)    # the notebook changed and trained another model
    changed, _ = grade(tmp_path, memo_path, seed=2)
    assert len(loads) == 3
    assert changed[0].metrics["mae"] == pytest.approx(0.5, abs=1e-4)
    assert other_seed[0].score == pytest.approx(4.0)   # x1 + x2 + 0.05: every point
    assert changed[0].score == pytest.approx(1.0)      # + 0.5: only the structure (probe 1.5, mae at the band's zero)


def test_a_memo_of_another_grader_version_or_a_damaged_one_is_ignored(tmp_path, loads):
    save_model(tmp_path / "model.keras")
    memo_path = tmp_path / "measurements.json"
    grade(tmp_path, memo_path)
    saved = json.loads(memo_path.read_text())
    memo_path.write_text(json.dumps({**saved, "version": "v0"}))
    grade(tmp_path, memo_path)
    memo_path.write_text("{not json")
    checks, _ = grade(tmp_path, memo_path)
    assert len(loads) == 3
    assert checks[0].score == pytest.approx(4.0)


def test_a_model_with_code_of_its_own_is_described_once(tmp_path, loads):
    import keras
    model = keras.Sequential([keras.Input((2,)), keras.layers.Lambda(lambda x: keras.ops.sum(x, axis=1, keepdims=True))])
    model.save(tmp_path / "model.keras")
    memo_path = tmp_path / "measurements.json"
    first = grade(tmp_path, memo_path)
    second = grade(tmp_path, memo_path)
    assert len(loads) == 1
    assert first[1] == second[1] == []
    assert "model (cell 2): Lambda (code of its own)" in second[0][0].feedback  # no notes: no output shape, no pick
    assert second[0][0].score == 0


def test_a_failure_of_this_machine_is_not_remembered(tmp_path, monkeypatch):
    """Out of memory while loading says nothing about the file: the next run loads it again."""
    import keras
    save_model(tmp_path / "model.keras", bias=0.1)
    memo_path = tmp_path / "measurements.json"
    real = keras.models.load_model

    def out_of_memory(*args, **kwargs):
        raise MemoryError("no room")
    monkeypatch.setattr(keras.models, "load_model", out_of_memory)
    failed, refused = grade(tmp_path, memo_path)
    assert failed[0].score == 0 and "MemoryError" in refused[0]
    monkeypatch.setattr(keras.models, "load_model", real)
    again, refused = grade(tmp_path, memo_path)
    assert refused == [] and again[0].score == pytest.approx(2 + 2 * (0.5 - 0.1) / (0.5 - 0.05), abs=1e-3)
