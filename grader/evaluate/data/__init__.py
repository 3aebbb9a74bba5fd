"""Kinds of fresh data that models are judged on.

Every kind follows one small interface (like a scikit-learn estimator):

- ``generate(rng, n, **params) -> Dataset``: ``n`` fresh samples drawn from
  the numpy ``Generator`` ``rng``; ``params`` come from the rubric.
- ``score(dataset, predictions) -> dict``: plainly named metrics
  (``accuracy``, ``mae``, ``n_samples``, ...) for a model's raw predictions.
- ``METRICS``: for each metric, whether higher is better.
- ``noise(dataset, predictions, metrics) -> dict``: each metric's standard
  error on these samples (how far another draw of as many samples would
  move it): binomial for an accuracy, the standard deviation of the
  per-sample errors over sqrt(n) for an MAE or MSE.
- ``MAX_SAMPLES``: the most fresh samples one measurement takes (its cost).
  A kind that holds only so many unique samples (MNIST's held-out digits)
  gives all of them when asked for more, and says how many it holds in
  ``Dataset.info["held_out"]``; ``SAMPLE_NAME`` (optional) names them.
- ``read(predictions)`` (optional): the outputs of any model the kind can
  score, in the form of the handout's model (two class scores become the
  probability of class 1); without it, outputs are scored as they come.
- ``ENCODINGS`` (optional): other ways a notebook may have fed the same
  inputs to its model (MNIST pixels not divided by 255), as :class:`Encoding`.
- ``figure(dataset, predictions, metrics)`` and ``FIGURE`` (optional): the
  report's picture, a figure of kind ``FIGURE`` (see :mod:`grader.report.figures`).
- ``kernel_file(cache_dir) -> Path`` and ``LOAD_DATA`` (optional): a data set
  a notebook may load offline (the rubric's ``datasets``): the kernel answers
  ``load_data()`` of the modules in ``LOAD_DATA`` from that ``.npz`` (arrays
  ``x_train``, ``y_train``, ``x_test``, ``y_test``).

The rubric's ``params`` are ``generate``'s keyword arguments.

Predictions reach ``score`` already reshaped to the model's input and, for a
logits head, through its softmax or sigmoid (see the evaluation context).

A new kind of data is one module here, registered in ``KINDS`` (``tests/test_kinds.py`` proves that every
registered kind keeps the interface).
"""
from __future__ import annotations

import importlib
import inspect
import math
from dataclasses import dataclass, field
from typing import Callable

import numpy as np


@dataclass
class Dataset:
    x: np.ndarray
    y: np.ndarray
    info: dict = field(default_factory=dict)  # e.g. which source provided it


@dataclass(frozen=True)
class Encoding:
    """Another way a notebook may have fed the handout's inputs to its model.

    A model is measured on it too when it has one of ``layers`` (it scales
    its input itself) or when it measures below ``poor`` on the handout's
    encoding (no model trained on that encoding is so bad); it keeps the
    better measurement. Trying it on every model would let a model trained
    on the handout's encoding gain by chance.
    """
    name: str
    encode: Callable[[np.ndarray], np.ndarray]   # from the handout's encoding to this one
    description: dict                            # {"es": ..., "en": ...}
    layers: tuple = ()                           # layer classes that may expect this encoding
    poor: dict = field(default_factory=dict)     # metric -> value below which a model is poor (higher is better)

    def worth_trying(self, layer_classes: set, metric: str, handout_value: float) -> bool:
        return bool(layer_classes & set(self.layers)) or handout_value < self.poor.get(metric, float("-inf"))


KINDS = {
    "binary_addition": "grader.evaluate.data.binary_addition",
    "sum_classification": "grader.evaluate.data.sum_classification",
    "sum_regression": "grader.evaluate.data.sum_regression",
    "mnist": "grader.evaluate.data.mnist",
}


def binomial_error(share: float, n: int) -> float:
    """Standard error of a share of right answers (an accuracy) measured on ``n`` samples."""
    return math.sqrt(share * (1 - share) / n)


def mean_error(per_sample: np.ndarray) -> float:
    """Standard error of the mean of ``per_sample`` values (absolute or squared errors)."""
    per_sample = np.asarray(per_sample, dtype=np.float64)
    return float(per_sample.std() / math.sqrt(len(per_sample)))


def accuracy_noise(dataset: Dataset, predictions, metrics: dict) -> dict:
    """``noise`` for a kind whose metric is ``accuracy``."""
    return {"accuracy": binomial_error(metrics["accuracy"], metrics["n_samples"])}


def get_kind(name: str):
    """Return the module implementing the data kind ``name``."""
    try:
        return importlib.import_module(KINDS[name])
    except KeyError:
        raise KeyError(f"unknown data kind {name!r}; known: {', '.join(KINDS)}") from None


def read(kind, predictions) -> np.ndarray:
    """A model's outputs as the kind scores them (see ``read`` above)."""
    return kind.read(predictions) if hasattr(kind, "read") else np.asarray(predictions)


def params(kind) -> list[str]:
    """The parameters a rubric may give the kind (``generate``'s keyword arguments)."""
    return list(inspect.signature(kind.generate).parameters)[2:]


def offline_kinds() -> list[str]:
    """The kinds a notebook may load offline: the names a rubric's ``datasets`` may hold."""
    return [name for name in KINDS if hasattr(get_kind(name), "LOAD_DATA")]
