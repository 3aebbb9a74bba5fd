"""`grader validate`, which course CI runs: a reference that earns every point passes, one that does not fails.

The real command on a tiny rubric given by path. The model check's band is
lenient on purpose: only ``reference_min`` stops a reference that trains
badly from silently lowering everyone's bar.
"""
import subprocess
import sys

import nbformat
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
RUBRIC = """
[assignment]
name = "tiny-validate"
reference = "reference.ipynb"
[limits]
cell_timeout = 120
notebook_timeout = 300
[models.regressor]
input = ["any", 2]
output = ["any", 1]
[[questions]]
id = "Q1"
  [[questions.checks]]
  kind = "numeric_answer"
  points = 1
  expected = 127
[[questions]]
id = "E4"
  [[questions.checks]]
  kind = "model_metric"
  points = 2
  model = "regressor"
  data = "sum_regression"
  samples = 500
  metric = "mae"
  band = { zero = 1.0, full = 0.6, reference_min = 0.01 }
  [[questions.checks]]
  kind = "free_text"
  points = 1
"""


def validate(tmp_path, weights: str):
    """Validate a reference whose regressor computes ``weights`` · (x1, x2), set by hand (no training)."""
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    nb = nbformat.v4.new_notebook(cells=[
        md("**Q1** ¿El mayor número con 7 bits?"), md("127"), md("**E4** Un modelo que suma."),
        code("import numpy as np\nimport keras\nmodel = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])\n"
             f"model.layers[0].set_weights([np.array({weights}, 'float32'), np.zeros(1, 'float32')])"),
        md("Una capa lineal con pesos 1 y 1 suma exactamente.")])
    nbformat.write(nb, tmp_path / "reference.ipynb")
    return subprocess.run([sys.executable, "-m", "grader", "validate", "--assignment", str(tmp_path / "rubric.toml")],
                          capture_output=True, text=True, timeout=600)


def lines_of(run) -> dict[str, str]:
    return {line.split()[1]: line for line in run.stdout.splitlines() if line.startswith("tiny-validate ")}


def test_a_reference_that_earns_every_point_passes(tmp_path):
    run = validate(tmp_path, "[[1], [1]]")
    assert run.returncode == 0, run.stdout + run.stderr
    lines = lines_of(run)
    assert "ok   1/1 automatic points" in lines["Q1"]
    assert "ok   2/2 automatic points + human review" in lines["E4"]
    assert run.stdout.splitlines()[-1].startswith("tiny-validate: ok (seed ")


def test_a_reference_below_its_minimum_fails_and_names_the_check(tmp_path):
    run = validate(tmp_path, "[[1], [0]]")   # predicts x1: mae 0.5, inside the band, far from reference_min
    assert run.returncode == 1, run.stdout + run.stderr
    lines = lines_of(run)
    assert "ok   1/1 automatic points" in lines["Q1"]
    assert "FAIL 0/2 automatic points" in lines["E4"] and "must reach 0.01" in lines["E4"], lines["E4"]
    assert run.stdout.splitlines()[-1].startswith("tiny-validate: FAIL (seed ")
