"""Kinds of fresh data that models are judged on.

Every kind follows one small interface (like a scikit-learn estimator):

- ``generate(rng, n, **params) -> Dataset``: ``n`` fresh samples drawn from
  the numpy ``Generator`` ``rng``; ``params`` come from the rubric.
- ``score(dataset, predictions) -> dict``: plainly named metrics
  (``accuracy``, ``mae``, ``n_samples``, ...) for a model's raw predictions.
- ``METRICS``: for each metric, whether higher is better.
- ``probe_input`` (optional): the input used by structure checks to call a
  model once.

A new kind of data is one module here, registered in ``KINDS``.
"""
from __future__ import annotations

import importlib
from dataclasses import dataclass, field

import numpy as np


@dataclass
class Dataset:
    x: np.ndarray
    y: np.ndarray
    info: dict = field(default_factory=dict)  # e.g. which source provided it


KINDS = {
    "binary_addition": "grader.evaluate.data.binary_addition",
    "sum_classification": "grader.evaluate.data.sum_classification",
    "sum_regression": "grader.evaluate.data.sum_regression",
    "mnist": "grader.evaluate.data.mnist",
}


def get_kind(name: str):
    """Return the module implementing the data kind ``name``."""
    try:
        return importlib.import_module(KINDS[name])
    except KeyError:
        raise KeyError(f"unknown data kind {name!r}; known: {', '.join(KINDS)}") from None
