"""Builders the tests and the benchmarks share: saved Keras models, their place in a notebook, judging them.

- :func:`dense_network` saves a small Keras 3 network of Dense layers, with fixed weights when the right
  answer must be known, untrained otherwise.
- :func:`placed` is a saved model as the kernel records it: which object, after which cell, how it trained.
- :func:`judge` grades saved models with a rubric in this process, as after a notebook that made them where
  ``placed`` says, with the questions' sections where the caller puts them.
"""
from __future__ import annotations

from pathlib import Path

import numpy as np

from grader.evaluate import DataCache, evaluate
from grader.harvest import Harvest
from grader.harvest.answers import Section
from grader.harvest.models import ModelVersion


def dense_network(path: Path, layers: list[tuple[int, str | None]], loss, inputs: int = 2,
                  weights: list | None = None) -> Path:
    """Saves ``Input(inputs) -> Dense(units, activation)...`` compiled with ``loss`` (a name, or a function of
    the keras module); ``weights`` (kernel, bias per layer, as nested lists) replace the random ones."""
    import keras
    model = keras.Sequential([keras.Input((inputs,)),
                              *(keras.layers.Dense(units, activation=activation) for units, activation in layers)])
    if weights is not None:
        model.set_weights([np.asarray(w, "float32") for w in weights])
    model.compile("adam", loss(keras) if callable(loss) else loss)
    model.save(path)
    return path


def placed(path: Path, model: int, cell: int, version: int = 1, steps: int | None = None,
           name: str | None = None) -> ModelVersion:
    """Object ``model`` saved after ``cell`` (its ``version``-th state), under the file's name; ``steps``: the
    batches per epoch of its last training, when the check compares amounts of data."""
    fits = [{"cell": cell, "params": {"epochs": 20, "steps": steps}, "history": {"loss": [1.0]}}] if steps else []
    return ModelVersion(model, version, path, cell, [name or path.stem], fits=fits)


def judge(rubric, models: list[ModelVersion], sections: dict[str, tuple[int, int]] | None = None,
          reference: dict | None = None, lang: str = "en") -> tuple[dict, list[str]]:
    """Every question of ``rubric`` judged on ``models``: the checks by question id, and the problems.

    ``sections`` maps a question to its cells (start, one past the end); a question left out has no section
    (its label was not found). ``reference`` is what the reference measured, for relative bands; None judges
    the models as the reference itself is judged (``grader validate``).
    """
    harvest = Harvest(cells=[], runs=[], models=models,
                      sections={q: Section(q, *cells) for q, cells in (sections or {}).items()})
    checks, _, problems = evaluate(harvest, rubric, DataCache(1), lang, reference=reference)
    return {check.id: check for check in checks}, problems
