"""Two features uniform in [0, 1); the label is 1 when their sum exceeds 1 (E1-E3)."""
from __future__ import annotations

import numpy as np

from . import Dataset

METRICS = {"accuracy": True}


def generate(rng: np.random.Generator, n: int) -> Dataset:
    x = rng.random((n, 2), dtype=np.float32)
    y = (x.sum(axis=1, keepdims=True) > 1).astype(np.float32)
    return Dataset(x, y)


def score(dataset: Dataset, predictions) -> dict:
    """Threshold the sigmoid outputs at 0.5, as the handout does."""
    predicted = np.asarray(predictions).reshape(dataset.y.shape) > 0.5
    return {
        "accuracy": float((predicted == (dataset.y > 0.5)).mean()),
        "n_samples": int(len(dataset.y)),
    }
