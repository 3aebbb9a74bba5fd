"""Models with code of their own: saved by the kernel, called in a sandbox, held for the instructor.

One notebook runs in a real sandboxed kernel and builds every kind: a binary
adder from an RNN cell class of its own (trained for a few seconds), a
subclassed ``keras.Model`` whose ``__init__`` takes no Keras keys, a
``Lambda``, a class dressed as Keras's ``Dense``, an ordinary model, and
layers that spy, stall, hog memory or exit when the predictor calls them. The
grader's side never unpickles what the kernel wrote; the end-to-end test
grades an adder with the real command and confirms its points with
manual_scores.csv.
"""
import csv
import json
import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest

from grader.evaluate import models as model_files
from grader.evaluate.picker import qualifies
from grader.execute.predictor import PredictionError, SandboxedPredictor
from grader.execute.runner import Limits, execute_notebook
from grader.execute.sandbox import detect
from grader.harvest.models import read_models

from .builders import ADDER, adder_metric, check, question, rubric_toml

pytestmark = [pytest.mark.slow, pytest.mark.kernel]
REPO = Path(__file__).resolve().parent.parent
RUBRIC = rubric_toml("own-adder", question("Q4", adder_metric(3, 7, 1000, {"zero": 0.5, "full": 0.95}),
                                          check("free_text")),
                     models={"adder": ADDER}, limits={"cell_timeout": 300, "notebook_timeout": 600})

SETUP = '''import os, time
import numpy as np
import keras
from keras import layers
import tensorflow as tf
keras.utils.set_random_seed(0)
MAX_BIT = 7

def gen(n):
    a = np.random.randint(0, 2 ** MAX_BIT, n); b = np.random.randint(0, 2 ** MAX_BIT, n)
    bits = lambda v: ((v[:, None] >> np.arange(MAX_BIT + 1)) & 1).astype("float32")
    return np.stack([bits(a), bits(b)], -1), bits(a + b)[..., None]

def exact_sum(x):
    a, b = x[..., 0], x[..., 1]
    carry, out = tf.zeros_like(a[:, 0]), []
    for t in range(MAX_BIT + 1):
        s = a[:, t] + b[:, t] + carry
        out.append(tf.math.floormod(s, 2.0))
        carry = tf.math.floordiv(s, 2.0)
    return tf.stack(out, axis=1)[..., None]

PROBE = gen(50)[0]
np.save("probe.npy", PROBE)'''

CELL = '''class CarryCell(layers.Layer):
    """A simple recurrent cell, written by hand."""
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units, self.state_size = units, units
    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
        self.recurrent_kernel = self.add_weight(shape=(self.units, self.units), name="recurrent_kernel")
        self.bias = self.add_weight(shape=(self.units,), initializer="zeros", name="bias")
    def call(self, inputs, states):
        h = keras.ops.tanh(keras.ops.matmul(inputs, self.kernel) + keras.ops.matmul(states[0], self.recurrent_kernel)
                           + self.bias)
        return h, [h]
    def get_config(self):
        return {**super().get_config(), "units": self.units}

adder = keras.Sequential([keras.Input((None, 2)), layers.RNN(CarryCell(8), return_sequences=True),
                          layers.Dense(1, activation="sigmoid")])
adder.compile(keras.optimizers.Adam(0.03), "binary_crossentropy")
X, Y = gen(2000)
for epoch in range(10):
    adder.fit(X, Y, epochs=1, batch_size=32, verbose=0)
    if ((adder.predict(X, verbose=0) > 0.5) == Y).all(axis=(1, 2)).mean() == 1:
        break
np.save("adder.npy", adder(PROBE))'''

OTHERS = '''class Summer(keras.Model):
    def __init__(self):
        super().__init__()
        self.rnn = layers.SimpleRNN(4, return_sequences=True)
        self.out = layers.Dense(1, activation="sigmoid")
    def call(self, x):
        return exact_sum(x) + 0.0 * self.out(self.rnn(x))

summer = Summer()
summer(PROBE[:1])
np.save("summer.npy", summer(PROBE))

inputs = keras.Input((None, 2))
hidden = layers.SimpleRNN(4, return_sequences=True)(inputs)
lambda_model = keras.Model(inputs, layers.Lambda(lambda t: exact_sum(t[0]) + 0.0 * t[1][..., :1])([inputs, hidden]))
np.save("lambda_model.npy", lambda_model(PROBE))

class Dense2(layers.Layer):
    def call(self, x):
        return exact_sum(x)
Dense2.__module__ = "keras.layers"
Dense2.__qualname__ = Dense2.__name__ = "Dense"
disguised = keras.Model(inputs, Dense2()(inputs) + 0.0 * layers.Dense(1, activation="sigmoid")(hidden))
np.save("disguised.npy", disguised(PROBE))

plain = keras.Sequential([keras.Input((None, 2)), layers.SimpleRNN(2, return_sequences=True), layers.Dense(1)])'''

PROBES = '''class Spy(layers.Layer):
    """Counts the .npy files it can see anywhere but in the system and Python (its answers are that count)."""
    def call(self, x):
        import sys
        skipped = {"/proc", "/sys", "/usr", "/dev", sys.prefix, sys.base_prefix}
        found = 0
        for root, folders, files in os.walk("/"):
            folders[:] = [f for f in folders if os.path.join(root, f) not in skipped]
            found += sum(name.endswith(".npy") for name in files)
        return keras.ops.ones_like(x[:, :1, :1]) * found

class Stall(layers.Layer):
    def call(self, x):
        if x.shape[0] == 7:
            time.sleep(10 ** 6)
        return x[..., :1]

class Hog(layers.Layer):
    def call(self, x):
        if x.shape[0] == 9:
            hoard = [np.ones(2 ** 27) for _ in range(40)]  # 40 GiB, 1 GiB at a time
        return x[..., :1]

class Leave(layers.Layer):
    def call(self, x):
        if x.shape[0] == 11:
            print("the notebook's last words", flush=True)
            os._exit(3)
        return x[..., :1]

spy, stall, hog, leave = (keras.Sequential([keras.Input((None, 2)), cls()]) for cls in (Spy, Stall, Hog, Leave))'''


@pytest.fixture(scope="module")
def kernel_run(tmp_path_factory):
    """The notebook run in the sandboxed kernel: its saved models by variable name, and its scratch folder."""
    job = tmp_path_factory.mktemp("own-code")
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(s) for s in (SETUP, CELL, OTHERS, PROBES)])
    execution = execute_notebook(notebook, job, detect("auto"), Limits(cell_timeout=300, notebook_timeout=600))
    assert [run.status for run in execution.cells] == ["ok"] * 4, execution.cells
    versions = {version.label: version for version in read_models(execution.models_dir, execution.cell_of_execution)}
    return versions, job / "work"


def notes_of(version) -> dict:
    return json.loads(version.code_notes.read_text())


def test_the_kernel_saves_the_code_of_each_model_beside_it(kernel_run):
    versions, _ = kernel_run
    assert {(version.path.suffix, version.flavour) for version in versions.values()} == {(".keras", "keras3")}
    assert versions["plain"].code is None and versions["plain"].code_notes is None
    adder = notes_of(versions["adder"])
    assert list(adder["classes"]) == ["CarryCell"] and adder["classes"]["CarryCell"].startswith("class CarryCell(")
    assert adder["output_shape"] == [None, None, 1] and adder["error"] == ""
    summer = notes_of(versions["summer"])
    assert "def call(self, x):" in summer["classes"]["Summer"] and summer["output_shape"] == [None, 8, 1]
    assert [layer["class_name"] for layer in summer["layers"]] == ["SimpleRNN", "Dense"]
    lambdas = notes_of(versions["lambda_model"])["lambdas"]
    assert list(lambdas.values()) == ["lambda_model = keras.Model(inputs, layers.Lambda(lambda t: exact_sum(t[0]) "
                                      "+ 0.0 * t[1][..., :1])([inputs, hidden]))\n"]
    assert "class Dense2(layers.Layer)" in notes_of(versions["disguised"])["classes"]["Dense"]
    for name in ("adder", "summer", "lambda_model", "disguised", "spy"):
        assert versions[name].code.stat().st_size > 0, name


def test_the_grader_describes_them_from_their_files_without_loading_them(kernel_run):
    versions, _ = kernel_run

    def described(name):
        version = versions[name]
        model, info = model_files.load(version.path, model_files.read_notes(version.code_notes))
        assert model is None, name
        return info

    adder = described("adder")
    assert adder.own_code == ["CarryCell"] and adder.summary() == "RNN(CarryCell(8)) → Dense(1, sigmoid)"
    assert adder.input_shape == (None, None, 2) and adder.output_shape == (None, None, 1)
    assert adder.loss == "binarycrossentropy" and qualifies(adder, ADDER)
    assert not qualifies(adder, {**ADDER, "layers_any": ["Dense"], "layers_all": ["LSTM"]})
    summer = described("summer")
    assert summer.own_code == ["Summer"] and summer.summary() == "SimpleRNN(4, tanh) → Dense(1, sigmoid)"
    assert summer.input_shape == (None, 8, 2) and qualifies(summer, ADDER)
    assert described("lambda_model").own_code == ["Lambda"] and described("disguised").own_code == ["Dense"]
    assert model_files.load(versions["plain"].path)[0] is not None


def test_the_predictor_gives_what_the_notebook_computed(kernel_run):
    versions, work = kernel_run
    probe = np.load(work / "probe.npy")
    with SandboxedPredictor() as predictor:
        for name in ("adder", "summer", "lambda_model", "disguised"):
            version = versions[name]
            outputs = predictor.predict(version.path, version.code, version.flavour, probe)
            np.testing.assert_allclose(outputs, np.load(work / f"{name}.npy"), atol=1e-5, err_msg=name)
        assert (np.round(predictor.predict(versions["summer"].path, versions["summer"].code, "keras3", probe[:3]))
                == np.load(work / "summer.npy")[:3]).all()  # the same process, the model already loaded


def test_the_models_code_sees_its_inputs_and_nothing_else(kernel_run):
    versions, _ = kernel_run
    adder, spy = versions["adder"], versions["spy"]
    with SandboxedPredictor() as predictor:
        predictor.predict(adder.path, adder.code, adder.flavour, np.zeros((4, 8, 2)))
        counted = predictor.predict(spy.path, spy.code, spy.flavour, np.zeros((4, 8, 2)))
    assert counted.reshape(-1).tolist() == [1.0] * 4  # its own inputs: no targets, nothing of the call before


def test_the_models_code_is_stopped_at_the_limits(kernel_run):
    versions, _ = kernel_run
    stall, hog, leave, adder = (versions[name] for name in ("stall", "hog", "leave", "adder"))
    with SandboxedPredictor(limits=Limits(cell_timeout=120, memory=2 * 1024**3)) as predictor:
        predictor.predict(stall.path, stall.code, stall.flavour, np.zeros((1, 8, 2)))  # TensorFlow imported
        predictor.limits.cell_timeout = 5
        with pytest.raises(PredictionError, match="ran longer than 5 s and was stopped"):
            predictor.predict(stall.path, stall.code, stall.flavour, np.zeros((7, 8, 2)))
        predictor.limits.cell_timeout = 120
        with pytest.raises(PredictionError, match="more than 2.0 GiB of memory"):
            predictor.predict(hog.path, hog.code, hog.flavour, np.zeros((9, 8, 2)))
        with pytest.raises(PredictionError, match=r"ended \(exit code 3\): the notebook's last words$"):
            predictor.predict(leave.path, leave.code, leave.flavour, np.zeros((11, 8, 2)))
        outputs = predictor.predict(adder.path, adder.code, adder.flavour, np.zeros((2, 8, 2)))  # a new process
    assert outputs.shape == (2, 8, 1)


AUDITED = '''
import json, sys
from pathlib import Path
events = []
def audit(event, args):
    if event == "pickle.find_class":  # any unpickling, by pickle or cloudpickle, of anything
        events.append(f"unpickled {args[0]}.{args[1]}")
sys.addaudithook(audit)
from grader import rubric as rubrics
from grader.evaluate import DataCache, evaluate
from grader.harvest import Harvest
from grader.harvest.models import read_models
cells = {int(count): index for count, index in json.loads(sys.argv[2]).items()}
versions = [version for version in read_models(Path(sys.argv[1]), cells) if version.label == "adder"]
checks, _, problems = evaluate(Harvest([], [], {}, versions), rubrics.load(sys.argv[3]), DataCache(1), "en")
print(json.dumps({"events": events, "problems": problems, "details": [c.details for c in checks]}))
'''


def test_the_grader_never_unpickles_what_the_kernel_wrote(kernel_run, tmp_path):
    """Evaluated in a fresh process with an audit hook: nothing is unpickled there (the .code.pkl is only hashed
    and copied to the predictor as bytes). Keras imports cloudpickle (through scikit-learn) but never uses it here."""
    versions, _ = kernel_run
    models = versions["adder"].path.parent
    cells = {str(count + 1): count for count in range(4)}  # the kernel's execution counts: cells 0-3
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    command = [sys.executable, "-c", AUDITED, str(models), json.dumps(cells), str(tmp_path / "rubric.toml")]
    done = subprocess.run(command, capture_output=True, text=True, timeout=600, cwd=REPO)
    assert done.returncode == 0, done.stderr[-3000:]
    report = json.loads(done.stdout.splitlines()[-1])
    assert report["events"] == [] and report["problems"] == []
    part = report["details"][0][0]
    assert part["status"] == "manual" and part["score"] == 0 and part["would_earn"] == 3, part
    assert "Held for review: a model with code of its own" in part["feedback"]


def test_an_adder_of_its_own_cell_is_measured_held_then_confirmed(tmp_path):
    """The real command: found, measured on fresh data by its own code, held; manual_scores.csv confirms it."""
    md = nbformat.v4.new_markdown_cell
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    nbformat.write(nbformat.v4.new_notebook(cells=[md("**Q4** Nothing to run.")]), tmp_path / "reference.ipynb")
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    cells = [md("**Q4** Entrena una red recurrente que sume."), nbformat.v4.new_code_cell(SETUP),
             nbformat.v4.new_code_cell(CELL), md("Mi celda recurrente aprende el acarreo en tres épocas.")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), submissions / "ana.ipynb")
    out = tmp_path / "out"
    command = [sys.executable, "-m", "grader", "grade", str(submissions), "--assignment", str(tmp_path / "rubric.toml"),
               "--out", str(out), "--lang", "en", "--workers", "1", "--seed", "3"]
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}

    def grade(scores: str = "") -> dict:
        if scores:
            (submissions / "manual_scores.csv").write_text("submission,question,part,points,comment\n" + scores)
        done = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
        assert done.returncode == 0, done.stderr[-3000:]
        return json.loads((out / "ana" / "result.json").read_text())

    held = grade()
    model_part, text_part = held["checks"][0]["details"]
    assert held["score"] == 0 and held["checks"][0]["status"] == "manual"
    assert model_part["status"] == "manual" and model_part["score"] == 0 and model_part["would_earn"] == 3
    assert model_part["metrics"]["exact_accuracy"] >= 0.95 and model_part["metrics"]["n_samples"] == 1000
    assert model_part["model"]["layers"] == "RNN(CarryCell(8)) → Dense(1, sigmoid)"
    for words in ("Held for review: a model with code of its own (“adder” (cell 3): class CarryCell, defined in "
                  "the notebook).", "made by the model's own code", "It would earn 3 of 3 points"):
        assert words in model_part["feedback"]
    report = (out / "ana" / "report.html").read_text()
    assert "class CarryCell(layers.Layer):" in report and "would earn" in report
    assert "4 points awaiting human review" in report

    confirmed = grade("ana,Q4,model,,The cell is a plain RNN cell: fine.\nana,Q4,,1,\n")
    model_part, text_part = confirmed["checks"][0]["details"]
    assert confirmed["score"] == 4 and confirmed["timings"]["execute"] == held["timings"]["execute"]
    assert model_part["score"] == 3 and model_part["status"] == "pass" and text_part["score"] == 1
    assert model_part["feedback"].endswith("Reviewed by the instructor: The cell is a plain RNN cell: fine.")
    overruled = grade("ana,Q4,model,1,Copied from a tutorial.\n")
    assert overruled["score"] == 1 and overruled["checks"][0]["details"][1]["status"] == "manual"
    gradebook = list(csv.DictReader((out / "gradebook.csv").open()))
    assert gradebook[0]["Q4"] == "1"


LEGACY = '''import numpy as np
import keras
from keras import layers

class Cell(layers.Layer):
    def __init__(self, units, **kwargs):
        super().__init__(**kwargs)
        self.units, self.state_size = units, units
    def build(self, input_shape):
        self.kernel = self.add_weight(shape=(input_shape[-1], self.units), name="kernel")
    def call(self, inputs, states):
        h = keras.backend.tanh(keras.backend.dot(inputs, self.kernel) + states[0])
        return h, [h]
    def get_config(self):
        return {**super().get_config(), "units": self.units}

class Twice(keras.Model):
    def __init__(self):
        super().__init__()
        self.dense = layers.Dense(1)
    def call(self, x):
        return 2 * self.dense(x)

probe = np.random.rand(5, 8, 2).astype("float32")
np.save("probe.npy", probe)
cell = keras.Sequential([layers.RNN(Cell(3), return_sequences=True, input_shape=(None, 2)), layers.Dense(1)])
twice = Twice()
np.save("cell.npy", cell(probe))
np.save("twice.npy", twice(probe))'''


def test_a_tf_keras_model_of_its_own_is_called_with_tf_keras(tmp_path):
    """Legacy Keras: the cell model is an .h5, the subclassed one (which .h5 refuses) a tf-keras .keras."""
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(LEGACY)])
    execution = execute_notebook(notebook, tmp_path, detect("auto"), Limits(cell_timeout=300, notebook_timeout=600),
                                 legacy_keras=True)
    assert execution.cells[0].status == "ok", execution.cells
    versions = {v.label: v for v in read_models(execution.models_dir, execution.cell_of_execution)}
    assert [versions[name].path.suffix for name in ("cell", "twice")] == [".h5", ".keras"]
    assert all(versions[name].flavour == "legacy" and versions[name].code for name in ("cell", "twice"))
    probe = np.load(tmp_path / "work" / "probe.npy")
    with SandboxedPredictor() as predictor:
        for name in ("cell", "twice"):
            version = versions[name]
            np.testing.assert_allclose(predictor.predict(version.path, version.code, version.flavour, probe),
                                       np.load(tmp_path / "work" / f"{name}.npy"), atol=1e-5, err_msg=name)
