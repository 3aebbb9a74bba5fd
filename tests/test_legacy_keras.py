"""Notebooks written for Keras 2 run with legacy Keras (tf-keras), are saved as .h5 and judged with tf-keras.

The real hand-ins build ``SimpleRNN(4, input_dim=2, return_sequences=True)``
and ``import keras.preprocessing.sequence``: under Keras 3 the first fails and
the second brings Keras 3 back. The grader detects the idioms, makes ``keras``
mean tf-keras in the kernel, the kernel saves such models as ``.h5`` (Keras 3
cannot rebuild tf-keras recurrent layers), and the evaluator loads them with
tf-keras.
"""
import json
import subprocess
import sys
from types import SimpleNamespace

import nbformat
import pytest

from grader.grade import keras_flavour

from .expect import assert_errors_only

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
RUBRIC = """
[assignment]
name = "tiny-legacy"
reference = "reference.ipynb"
keras = "auto"
[limits]
cell_timeout = 120
notebook_timeout = 300
[models.adder]
input = ["any", "any", 2]
output = ["any", "any", 1]
layers_any = ["SimpleRNN"]
[[questions]]
id = "Q2"
  [[questions.checks]]
  kind = "model_structure"
  points = 2
  model = "adder"
  output_activation = "sigmoid"
  hidden = { units = 4, activation = "tanh" }
[[questions]]
id = "Q3"
  [[questions.checks]]
  kind = "model_probe"
  points = 1
  model = "adder"
  input = [[[0, 1], [1, 0], [1, 0]]]
  output_shape = [1, 3, 1]
"""
KERAS2 = """import numpy as np
import keras.preprocessing.sequence   # under Keras 3 this rebinds `keras` to Keras 3
from keras.models import Sequential
from keras.layers import SimpleRNN, Dense

model = Sequential()
model.add(SimpleRNN(4, input_dim=2, return_sequences=True))
model.add(Dense(2, activation='relu'))
model.add(Dense(1, activation='sigmoid'))
model.compile(optimizer='adam', loss='binary_crossentropy')
print('BUILT BY', type(model).__module__)"""


def keras2_notebook(path):
    nb = nbformat.v4.new_notebook(cells=[
        md("**Q2** Completa el modelo."), code(KERAS2),
        md("**Q3** Aplica el modelo a `[[0,1],[1,0],[1,0]]`."),
        code("print(model.predict(np.array([[[0, 1], [1, 0], [1, 0]]]), verbose=0).shape)")])
    nbformat.write(nb, path)


def test_keras2_idioms_choose_legacy_keras_unless_the_rubric_says():
    keras2 = nbformat.v4.new_notebook(cells=[code(KERAS2)])
    keras3 = nbformat.v4.new_notebook(cells=[code("model = keras.Sequential([keras.Input((None, 2)), "
                                                  "keras.layers.SimpleRNN(4, return_sequences=True)])"),
                                             md("In Keras 2 one wrote `SimpleRNN(4, input_dim=2)`.")])
    assert keras_flavour(SimpleNamespace(keras="auto"), keras2)
    assert not keras_flavour(SimpleNamespace(keras="auto"), keras3)   # markdown does not count
    assert keras_flavour(SimpleNamespace(keras="legacy"), keras3)
    assert not keras_flavour(SimpleNamespace(keras="keras3"), keras2)


@pytest.mark.slow
@pytest.mark.kernel
def test_a_keras2_notebook_is_run_saved_and_judged_with_legacy_keras(tmp_path):
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    keras2_notebook(tmp_path / "reference.ipynb")
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    keras2_notebook(submissions / "old.ipynb")
    out = tmp_path / "out"
    run = subprocess.run([sys.executable, "-m", "grader", "grade", str(submissions), "--assignment",
                          str(tmp_path / "rubric.toml"), "--out", str(out), "--lang", "en", "--workers", "1",
                          "--seed", "1"], capture_output=True, text=True, timeout=600)
    assert run.returncode == 0, run.stderr
    result = json.loads((out / "old" / "result.json").read_text())
    assert [cell["status"] for cell in result["execution"]] == ["ok", "ok"], result["execution"]
    assert_errors_only(result)
    checks = {check["id"]: check for check in result["checks"]}
    assert (checks["Q2"]["status"], checks["Q2"]["score"]) == ("pass", 2), checks["Q2"]["feedback"]
    assert (checks["Q3"]["status"], checks["Q3"]["score"]) == ("pass", 1), checks["Q3"]["feedback"]
    assert "SimpleRNN(4" in checks["Q2"]["model"]["layers"]
    executed = nbformat.read(out / "old" / "old.ipynb", as_version=4)
    assert "BUILT BY tf_keras" in "".join(output.get("text", "") for output in executed.cells[1].outputs)

    saved = sorted(p.name for p in (out / "old" / "models").iterdir() if p.name != "manifest.jsonl")
    assert saved and all(name.endswith(".h5") for name in saved), saved
    records = [json.loads(line) for line in (out / "old" / "models" / "manifest.jsonl").read_text().splitlines()]
    assert {r["flavour"] for r in records if r["event"] == "version"} == {"legacy"}

    from grader.evaluate import models
    model, info = models.load(out / "old" / "models" / saved[-1])
    assert type(model).__module__.startswith("tf_keras")    # judged with the Keras that built it
    assert info.summary() == "SimpleRNN(4, tanh) → Dense(2, relu) → Dense(1, sigmoid)"
