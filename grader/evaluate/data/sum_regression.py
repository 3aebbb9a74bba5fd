"""Two features uniform in [0, 1); the target is their sum (E4-E6).

Targets are always clean, also for models trained on noisy ones (E6): the
error then tells how well the underlying sum was recovered.
"""
from __future__ import annotations

import numpy as np

from . import Dataset, mean_error

FIGURE = "pred_vs_true"
METRICS = {"mae": False, "mse": False}
MAX_SAMPLES = 16_000


def generate(rng: np.random.Generator, n: int) -> Dataset:
    x = rng.random((n, 2), dtype=np.float32)
    return Dataset(x, x.sum(axis=1, keepdims=True))


def errors(dataset: Dataset, predictions) -> np.ndarray:
    return np.asarray(predictions, dtype=np.float64).reshape(dataset.y.shape) - dataset.y


def score(dataset: Dataset, predictions) -> dict:
    error = errors(dataset, predictions)
    return {
        "mae": float(np.abs(error).mean()),
        "mse": float((error**2).mean()),
        "n_samples": int(len(dataset.y)),
    }


def noise(dataset: Dataset, predictions, metrics: dict) -> dict:
    error = errors(dataset, predictions)
    return {"mae": mean_error(np.abs(error)), "mse": mean_error(error**2)}


def figure(dataset: Dataset, predictions, metrics: dict) -> dict:
    """Predicted against true sums: a perfect model lies on the diagonal."""
    return {"kind": FIGURE, "title": "", "data": {
        "true": dataset.y[:400, 0].round(4).tolist(),
        "predicted": np.asarray(predictions, dtype=np.float64).reshape(-1)[:400].round(4).tolist()}}
