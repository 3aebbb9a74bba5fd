"""Two features uniform in [0, 1); the label is 1 when their sum exceeds 1 (E1-E3)."""
from __future__ import annotations

import numpy as np

from . import Dataset, accuracy_noise

FIGURE = "scatter_classes"
METRICS = {"accuracy": True}
noise = accuracy_noise
MAX_SAMPLES = 16_000


def generate(rng: np.random.Generator, n: int) -> Dataset:
    x = rng.random((n, 2), dtype=np.float32)
    y = (x.sum(axis=1, keepdims=True) > 1).astype(np.float32)
    return Dataset(x, y)


def read(predictions) -> np.ndarray:
    """One probability of class 1 per sample, as the handout's sigmoid gives it; two class scores (a softmax
    head) become 1 where the second is larger, 0 elsewhere."""
    predictions = np.asarray(predictions)
    if predictions.ndim == 2 and predictions.shape[1] == 2:
        return (predictions[:, 1] > predictions[:, 0]).astype(np.float32)[:, None]
    return predictions


def score(dataset: Dataset, predictions) -> dict:
    """Threshold the sigmoid outputs at 0.5, as the handout does."""
    predicted = np.asarray(predictions).reshape(dataset.y.shape) > 0.5
    return {
        "accuracy": float((predicted == (dataset.y > 0.5)).mean()),
        "n_samples": int(len(dataset.y)),
    }


def figure(dataset: Dataset, predictions, metrics: dict) -> dict:
    """Fresh points coloured by the predicted class; the report marks the wrong ones."""
    predicted = (np.asarray(predictions).reshape(-1) > 0.5).astype(int)[:400]
    return {"kind": FIGURE, "title": "", "data": {
        "x1": dataset.x[:400, 0].round(3).tolist(), "x2": dataset.x[:400, 1].round(3).tolist(),
        "predicted": predicted.tolist(), "truth": dataset.y[:400, 0].astype(int).tolist()}}
