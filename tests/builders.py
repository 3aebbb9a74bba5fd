"""Builders the tests and the benchmarks share: rubrics, saved Keras models, their place in a notebook, judging.

- :func:`rubric_toml` writes a rubric's TOML from :func:`question` and :func:`check` (and the pieces many
  tests share: :data:`ADDER`, :func:`seven_bits`, :func:`adder_metric`, :data:`FAST`...), so a test says only
  what its rubric is about.
- :func:`dense_network` saves a small Keras 3 network of Dense layers, with fixed weights when the right
  answer must be known, untrained otherwise.
- :func:`placed` is a saved model as the kernel records it: which object, after which cell, how it trained.
- :func:`judge` grades saved models with a rubric in this process, as after a notebook that made them where
  ``placed`` says, with the questions' sections where the caller puts them.
"""
from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

import numpy as np
import tomli_w

if TYPE_CHECKING:
    from grader.harvest.models import ModelVersion

# Limits of a notebook that trains nothing, or very little
FAST = {"cell_timeout": 60, "notebook_timeout": 120}
# Selectors: binary addition's recurrent adder, a two-input regressor
ADDER = {"input": ["any", "any", 2], "output": ["any", "any", 1], "layers_any": ["SimpleRNN", "LSTM", "GRU"]}
REGRESSOR = {"input": ["any", 2], "output": ["any", 1]}
RELU_HEAD = {"relu": {"fraction": 0.5, "en": "relu output: not a probability."}}   # partial_activations


def rubric_toml(name: str, *questions: dict, models: dict | None = None, limits: dict | None = None,
           late: dict | None = None, reference: str | None = "reference.ipynb", **assignment) -> str:
    """A rubric's TOML: ``[assignment]`` (``name``, ``reference`` unless None, and ``assignment``'s keys), then
    ``[limits]``, ``[late]``, ``[models.*]`` when given, then the questions."""
    tables = {"assignment": {"name": name, **({"reference": reference} if reference else {}), **assignment},
              "limits": limits, "late": late, "models": models, "questions": list(questions)}
    return tomli_w.dumps({key: value for key, value in tables.items() if value})


def question(id: str, *checks: dict, **keys) -> dict:
    """A ``[[questions]]`` entry: its id, other keys (``title``, ``labels``), its checks."""
    return {"id": id, **keys, "checks": list(checks)}


def check(kind: str, points: float = 1, **keys) -> dict:
    return {"kind": kind, "points": points, **keys}


def seven_bits(points: float = 1, **keys) -> dict:
    """The numeric answer most tests ask: the largest number with 7 bits, 127."""
    return check("numeric_answer", points, expected=127, **keys)


def adder_structure(points: float = 2, **keys) -> dict:
    """Binary addition's structure check: the adder ends in a sigmoid."""
    return check("model_structure", points, model="adder", output_activation="sigmoid", **keys)


def adder_metric(points: float, max_bit: int, samples: int, band: dict, metric: str = "exact_accuracy",
                 model: str = "adder", **keys) -> dict:
    """Binary addition's adder measured on fresh ``max_bit``-bit sums."""
    return check("model_metric", points, model=model, data="binary_addition", params={"max_bit": max_bit},
                 samples=samples, metric=metric, band=band, **keys)


def adder_setup(max_bit: int, seed: int) -> str:
    """A binary-addition notebook's first cell: Keras, a seed, and ``gen(n)``: ``n`` sums of random
    ``max_bit``-bit numbers as (bits of both numbers, bits of the sum), least significant bit first."""
    return f"""import numpy as np
import keras
from keras import layers
keras.utils.set_random_seed({seed})
MAX_BIT = {max_bit}
def gen(n):
    a = np.random.randint(0, 2**MAX_BIT, n); b = np.random.randint(0, 2**MAX_BIT, n)
    f = lambda v: ((v[:, None] >> np.arange(MAX_BIT + 1)) & 1).astype('float32')
    return np.stack([f(a), f(b)], -1), f(a + b)[..., None]"""


def dense_network(path: Path, layers: list[tuple[int, str | None]], loss, inputs: int = 2,
                  weights: list | None = None) -> Path:
    """Saves ``Input(inputs) -> Dense(units, activation)...`` compiled with ``loss`` (a name, or a function of
    the keras module); ``weights`` (kernel, bias per layer, as nested lists) replace the random ones."""
    import keras  # imported when used: the benchmarks' driver never imports TensorFlow
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
    from grader.harvest.models import ModelVersion
    fits = [{"cell": cell, "params": {"epochs": 20, "steps": steps}, "history": {"loss": [1.0]}}] if steps else []
    return ModelVersion(model, version, path, cell, [name or path.stem], fits=fits)


def judge(rules, models: list[ModelVersion], sections: dict[str, tuple[int, int]] | None = None,
          reference: dict | None = None, lang: str = "en") -> tuple[dict, list[str]]:
    """Every question of the rubric ``rules`` judged on ``models``: the checks by question id, and the problems.

    ``sections`` maps a question to its cells (start, one past the end); a question left out has no section
    (its label was not found). ``reference`` is what the reference measured, for relative bands; None judges
    the models as the reference itself is judged (``grader validate``).
    """
    from grader.evaluate import DataCache, evaluate
    from grader.harvest import Harvest
    from grader.harvest.answers import Section
    harvest = Harvest(cells=[], runs=[], models=models,
                      sections={q: Section(q, *cells) for q, cells in (sections or {}).items()})
    checks, _, problems = evaluate(harvest, rules, DataCache(1), lang, reference=reference)
    return {check.id: check for check in checks}, problems
