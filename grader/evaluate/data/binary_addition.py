"""Binary addition, encoded exactly as the handout does.

Digits are least significant first, zero-padded at the end to
``max_bit + 1`` steps; ``x[t] = [a_t, b_t]``, ``y[t] = c_t`` with c = a + b.
"""
from __future__ import annotations

import numpy as np

from . import Dataset

METRICS = {"bit_accuracy": True, "exact_accuracy": True}


def digits(values: np.ndarray, length: int) -> np.ndarray:
    """Binary digits of each value, least significant first, as floats."""
    values = np.asarray(values, dtype=np.int64)
    return ((values[:, None] >> np.arange(length)) & 1).astype(np.float32)


def generate(rng: np.random.Generator, n: int, max_bit: int = 7) -> Dataset:
    a = rng.integers(0, 2**max_bit, size=n, dtype=np.int64)
    b = rng.integers(0, 2**max_bit, size=n, dtype=np.int64)
    steps = max_bit + 1
    x = np.stack([digits(a, steps), digits(b, steps)], axis=-1)
    y = digits(a + b, steps)[..., None]
    return Dataset(x, y, {"max_bit": max_bit})


def score(dataset: Dataset, predictions) -> dict:
    """Round at 0.5 (relu heads may exceed 1) and compare digit by digit."""
    predicted = np.asarray(predictions).reshape(dataset.y.shape) >= 0.5
    right = predicted == (dataset.y >= 0.5)
    return {
        "bit_accuracy": float(right.mean()),
        "exact_accuracy": float(right.reshape(len(right), -1).all(axis=1).mean()),
        "n_samples": int(len(right)),
    }
