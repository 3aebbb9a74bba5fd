"""Grade a tiny binary-addition notebook with the real command, start to finish."""
import csv
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from .expect import assert_errors_only

pytestmark = pytest.mark.slow

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
RUBRIC = """
[assignment]
name = "tiny-adder"
reference = "reference.ipynb"
[limits]
cell_timeout = 120
notebook_timeout = 300
[models.adder]
input = ["any", "any", 2]
output = ["any", "any", 1]
layers_any = ["SimpleRNN", "LSTM", "GRU"]
[[questions]]
id = "Q1"
  [[questions.checks]]
  kind = "numeric_answer"
  points = 1
  expected = 127
  context = [7]
  wrong.256 = "256 = 2^8 counts values; the largest 7-bit number is 127."
[[questions]]
id = "Q2"
  [[questions.checks]]
  kind = "model_structure"
  points = 2
  model = "adder"
  output_activation = "sigmoid"
  partial_activations.relu = { fraction = 0.5, en = "relu output: not a probability." }
[[questions]]
id = "Q4"
  [[questions.checks]]
  kind = "model_metric"
  points = 3
  model = "adder"
  data = "binary_addition"
  params = { max_bit = 3 }
  samples = 500
  metric = "exact_accuracy"
  band = { zero = 0.5, full = 0.95, relative = true }
  [[questions.checks]]
  kind = "code_runs"
  points = 1
  [[questions.checks]]
  kind = "free_text"
  points = 2
  keywords.training = ["entrena", "train"]
"""
SETUP = """import numpy as np
import keras
from keras import layers
keras.utils.set_random_seed(1)
MAX_BIT = 3
def gen(n):
    a = np.random.randint(0, 2**MAX_BIT, n); b = np.random.randint(0, 2**MAX_BIT, n)
    f = lambda v: ((v[:, None] >> np.arange(MAX_BIT + 1)) & 1).astype('float32')
    return np.stack([f(a), f(b)], -1), f(a + b)[..., None]"""


def notebook(path, answer, head, train):
    nb = nbformat.v4.new_notebook()
    nb.cells = [code("!pip install d2l"), code(SETUP),
                md("**Q1**: ¿Cuál es el mayor número con 7 bits?"), md(answer),
                md("**Q2** El modelo"),
                code("model = keras.Sequential([keras.Input((None, 2)), layers.SimpleRNN(8, return_sequences=True),"
                     f" layers.Dense(1, activation='{head}')])\nmodel.compile('adam', 'binary_crossentropy')"),
                md("**Q4** Entrenamiento"), code(train), md("Entrenamos con datos nuevos en cada época.")]
    nbformat.write(nb, path)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("e2e")
    (root / "rubric.toml").write_text(RUBRIC)
    notebook(root / "reference.ipynb", "127", "sigmoid",
             "x, y = gen(3000)\nmodel.fit(x, y, epochs=30, batch_size=50, verbose=0)")
    submissions = root / "submissions"
    (submissions / "bea").mkdir(parents=True)
    notebook(submissions / "ana.ipynb", "$2^7 - 1 = 127$", "sigmoid",
             "x, y = gen(3000)\nmodel.fit(x, y, epochs=30, batch_size=50, verbose=0)")
    notebook(submissions / "bea" / "entrega.ipynb", "$$2^8 = 256$$", "relu", "raise RuntimeError('no time')")
    out = root / "out"
    command = [sys.executable, "-m", "grader", "grade", str(submissions), "--assignment", str(root / "rubric.toml"),
               "--out", str(out), "--lang", "en", "--workers", "1", "--seed", "7"]
    env = {"XDG_CACHE_HOME": str(root / "cache"), "PATH": "/usr/bin:/bin"}
    first = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    second = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    (submissions / "manual_scores.csv").write_text("submission,question,points,comment\nana,Q4,1.5,Clara pero breve.\n")
    third = subprocess.run(command, capture_output=True, text=True, env=env, timeout=600)
    return out, first, second, third


def result(out, name):
    return json.loads((out / name / "result.json").read_text())


def test_the_batch_finishes_and_writes_every_output(graded):
    out, first, _, _ = graded
    assert first.returncode == 0, first.stderr
    for name in ("ana", "bea"):  # a flat file and a student folder
        assert (out / name / "report.html").is_file() and (out / name / f"{name}.ipynb").is_file()
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert [r["submission"] for r in rows] == ["ana", "bea"]
    assert list(rows[0]) == ["submission", "student_id", "name", "late", "attempt", "raw_score", "late_penalty",
                             "score", "max_score", "Q1", "Q2", "Q4"]
    assert (out / "index.html").is_file()


def test_a_good_submission_earns_its_points(graded):
    ana = result(graded[0], "ana")
    assert_errors_only(ana)
    checks = {c["id"]: c for c in ana["checks"]}
    assert checks["Q1"]["status"] == "pass"
    assert checks["Q2"]["status"] == "pass"
    samples = checks["Q4"]["metrics"]["n_samples"]
    assert samples in (500, 2000)      # the rubric's 500, or 4x when the model sat too close to a band edge
    assert f"measured on {samples} fresh samples" in checks["Q4"]["feedback"]
    assert ("(on 500 samples it measured" in checks["Q4"]["feedback"]) == (samples == 2000)
    # trained like the reference, with the same seed: the same exact sums, all of the band's points
    assert checks["Q4"]["metrics"]["exact_accuracy"] == checks["Q4"]["thresholds"]["exact_accuracy"]["reference"]
    assert [(d["score"], d["status"]) for d in checks["Q4"]["details"][:2]] == [(3, "pass"), (1, "pass")]
    assert ana["execution"][0]["status"] == "skipped" and "pip install d2l" in ana["execution"][0]["note"]
    assert ana["seed"] == result(graded[0], "bea")["seed"]  # the whole class sees the same fresh data


def test_a_weak_submission_is_explained(graded):
    bea = result(graded[0], "bea")
    assert_errors_only(bea, {"Q4#1": "cell 8: RuntimeError (no time)"})  # code_runs names the cell that failed
    checks = {c["id"]: c for c in bea["checks"]}
    assert checks["Q1"]["score"] == 0 and "You answered 256" in checks["Q1"]["feedback"]
    assert checks["Q2"]["status"] == "partial" and checks["Q2"]["score"] == 1
    assert "relu output" in checks["Q2"]["feedback"]
    q4 = checks["Q4"]
    assert (q4["status"], q4["score"]) == ("error", 0)  # the untrained model, and a training cell that failed
    assert [d["status"] for d in q4["details"]] == ["fail", "error", "manual"]
    assert "RuntimeError" in q4["feedback"]  # the failing training cell is named
    failed = [cell for cell in bea["execution"] if cell["status"] == "error"]
    assert [cell["error_name"] for cell in failed] == ["RuntimeError"]


def test_running_again_reuses_finished_results(graded):
    out, first, second, _ = graded
    assert second.returncode == 0, second.stderr
    assert "unchanged, result re-used" in second.stderr
    assert "evaluating" not in second.stderr


def test_human_review_waits_for_the_instructor_then_counts(graded):
    out, first, _, third = graded
    assert third.returncode == 0, third.stderr
    ana = result(out, "ana")
    q4 = {c["id"]: c for c in ana["checks"]}["Q4"]
    review = [d for d in q4["details"] if d["label"].startswith("Explanation")][0]
    assert review["score"] == 1.5 and review["status"] == "partial" and "Clara pero breve." in review["feedback"]
    assert "notebook already run (saved execution re-used), evaluating" in third.stderr  # the notebook did not run again
    bea_q4 = {c["id"]: c for c in result(out, "bea")["checks"]}["Q4"]
    assert [d["status"] for d in bea_q4["details"]][-1] == "manual"  # not reviewed yet
    row = next(r for r in csv.DictReader((out / "gradebook.csv").open()) if r["submission"] == "ana")
    assert float(row["Q4"]) == q4["score"] and float(row["score"]) == ana["score"]
    assert "Clara pero breve." in (out / "ana" / "report.html").read_text()
