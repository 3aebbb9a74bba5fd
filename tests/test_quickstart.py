"""Grade, with practica1's MNIST question, a notebook that names its model ``network`` and later reassigns that
name to a string: the model must still be found and measured, start to finish.

TensorFlow's beginner quickstart (28x28 images, logits trained with ``from_logits=True``, the model wrapped in
``Sequential([model, Softmax()])``) is graded with the real rubric in the corpus (tests/real/, test_real_corpus).
"""
import csv
import json
import subprocess
import sys

import nbformat
import pytest

from grader import rubric as rubrics

from .builders import check, question, rubric_toml
from .expect import assert_errors_only

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
RUBRIC = rubric_toml(
    "tiny-mnist",
    question("mnist", check("model_metric", 2, model="digits", data="mnist", samples=10000, metric="accuracy",
                            band={"zero": 0.8, "full": 0.97, "relative": True, "reference_min": 0.9}),
             labels=["MNIST", "Parte A", "Part A"]),
    models={"digits": {"input": ["any", 784], "output": ["any", 10]}},
    limits={"cell_timeout": 300, "notebook_timeout": 600}, datasets=["mnist"])
LOAD = """import tensorflow as tf
(x_train, y_train), (x_test, y_test) = tf.keras.datasets.mnist.load_data()
x_train, x_test = x_train / 255.0, x_test / 255.0"""
HANDOUT = """network = tf.keras.Sequential([tf.keras.Input((784,)), tf.keras.layers.Dense(128, activation="relu"),
                               tf.keras.layers.Dense(10, activation="softmax")])
network.compile("rmsprop", "sparse_categorical_crossentropy", metrics=["accuracy"])
network.fit(x_train.reshape(-1, 784), y_train, epochs=1, batch_size=64, verbose=0)"""
RENAMED = [HANDOUT.replace('tf.keras.Input((784,))', 'tf.keras.Input((28, 28)), tf.keras.layers.Flatten()')
           .replace("x_train.reshape(-1, 784)", "x_train"),
           'network = "trained above"   # the name now holds a string; the model lives on in the kernel']


def notebook(path, cells):
    nbformat.write(nbformat.v4.new_notebook(cells=[code(LOAD), md("## MNIST")] + [code(c) for c in cells]), path)


@pytest.fixture(scope="module")
def graded(tmp_path_factory):
    root = tmp_path_factory.mktemp("quickstart")
    (root / "rubric.toml").write_text(RUBRIC)
    notebook(root / "reference.ipynb", [HANDOUT])
    submissions = root / "submissions"
    submissions.mkdir()
    notebook(submissions / "renamed.ipynb", RENAMED)
    out = root / "out"
    command = [sys.executable, "-m", "grader", "grade", str(submissions), "--assignment", str(root / "rubric.toml"),
               "--out", str(out), "--lang", "en", "--workers", "1", "--seed", "1"]
    env = {"XDG_CACHE_HOME": str(root / "cache"), "PATH": "/usr/bin:/bin", "GRADER_MNIST_PATH": "/nonexistent.npz"}
    run = subprocess.run(command, capture_output=True, text=True, env=env, timeout=900)
    return out, run, root


def check(out, name):
    result = json.loads((out / name / "result.json").read_text())
    assert_errors_only(result)
    return result, result["checks"][0]


def test_the_rubric_asks_what_practica1_asks(graded):
    tiny, practica1 = rubrics.load(graded[2] / "rubric.toml"), rubrics.load("practica1")
    assert tiny.models["digits"] == practica1.models["digits"]
    assert tiny.questions[0].checks[0].options == practica1.questions[0].checks[0].options


def test_the_batch_grades_it(graded):
    out, run, _ = graded
    assert run.returncode == 0, run.stderr
    rows = {row["submission"]: row for row in csv.DictReader((out / "gradebook.csv").open())}
    assert set(rows) == {"renamed"}


def test_a_model_whose_name_now_holds_a_string_is_graded(graded):
    _, mnist = check(graded[0], "renamed")
    assert mnist["model"]["name"] == "network" and mnist["model"]["cell"] == 2
    assert mnist["metrics"]["accuracy"] > 0.85 and mnist["score"] > 1, mnist["feedback"]
