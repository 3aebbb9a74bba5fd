"""Binary addition, encoded exactly as the handout does.

Digits are least significant first, zero-padded at the end to
``max_bit + 1`` steps; ``x[t] = [a_t, b_t]``, ``y[t] = c_t`` with c = a + b.
"""
from __future__ import annotations

import numpy as np

from . import Dataset, binomial_error, mean_error

METRICS = {"bit_accuracy": True, "exact_accuracy": True}
MAX_SAMPLES = 12_000   # a 30-bit LSTM reads 8,000 sequences in a few seconds


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


def right_digits(dataset: Dataset, predictions) -> np.ndarray:
    """Which digits each sample got right, one row per sample: rounded at 0.5 (relu heads may exceed 1)."""
    predicted = np.asarray(predictions).reshape(dataset.y.shape) >= 0.5
    return (predicted == (dataset.y >= 0.5)).reshape(len(dataset.y), -1)


def score(dataset: Dataset, predictions) -> dict:
    """Compare digit by digit; a sample is exact when all its digits are right."""
    right = right_digits(dataset, predictions)
    return {
        "bit_accuracy": float(right.mean()),
        "exact_accuracy": float(right.all(axis=1).mean()),
        "n_samples": int(len(right)),
    }


def noise(dataset: Dataset, predictions, metrics: dict) -> dict:
    """Exact accuracy is binomial; the digits of one sample are not independent, so bit accuracy's error
    comes from the spread of the per-sample shares."""
    return {"exact_accuracy": binomial_error(metrics["exact_accuracy"], metrics["n_samples"]),
            "bit_accuracy": mean_error(right_digits(dataset, predictions).mean(axis=1))}
