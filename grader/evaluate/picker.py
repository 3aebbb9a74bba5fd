"""Choose which saved model a check judges.

A model qualifies by what it is: input and output signature and layer
types, read from the model file. The signature says what a model must do,
not how it was written: an input qualifies with the same number of values
per sample in any shape (MNIST's 784 as 28x28), losses may be named by
family (``classification``), and a rubric may list several outputs. Among the qualifying ones, place in the
notebook decides: the last version saved inside the question's own cells,
else the last one saved before the question. A model made after the
question belongs to a later question and never counts here; when the
question's label is not found, any model may. Variable names only break
ties. The choice is explained in words.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from ..harvest.answers import Section
from ..harvest.models import ModelVersion
from ..rubric import alternatives
from .models import ModelInfo, losses_meant

RECURRENT = {"SimpleRNN", "LSTM", "GRU"}


@dataclass
class Pick:
    version: ModelVersion
    info: ModelInfo
    where: str                      # "section" | "before" | "anywhere" (no label found)


def matches_shape(shape, pattern) -> bool:
    if pattern is None:
        return True
    if shape is None or len(shape) != len(pattern):
        return False
    return all(want == "any" or got == want for got, want in zip(shape, pattern))


def values_per_sample(shape) -> int | None:
    """How many values one sample holds, when every size but the batch is fixed: 784 for (None, 28, 28)."""
    if shape is None or not all(isinstance(size, int) for size in shape[1:]):
        return None
    return math.prod(shape[1:])


def same_values(shape, pattern) -> bool:
    """Whether ``shape`` holds a fixed pattern's values per sample, in another shape (28x28 for 784)."""
    wanted = values_per_sample(pattern)
    return wanted is not None and values_per_sample(shape) == wanted


def own_recurrent(info: ModelInfo) -> bool:
    """Whether the model has a generic ``RNN`` layer whose cell is a class of the notebook's own."""
    return any(layer["class"] == "RNN" and layer.get("wraps") in info.own_code for layer in info.layers)


def qualifies(info: ModelInfo, selector: dict) -> bool:
    """Whether the model fits ``selector``; an ``RNN`` with a cell of the notebook's own counts as any of the
    recurrent layers ``layers_any`` lists (its points wait for review, as any model with code of its own)."""
    classes = info.layer_classes
    if not any(matches_shape(info.input_shape, p) or same_values(info.input_shape, p)
               for p in alternatives(selector.get("input"))):
        return False
    if not any(matches_shape(info.output_shape, p) for p in alternatives(selector.get("output"))):
        return False
    if selector.get("layers_any") and not classes & set(selector["layers_any"]) \
            and not (RECURRENT & set(selector["layers_any"]) and own_recurrent(info)):
        return False
    if not set(selector.get("layers_all", [])) <= classes:
        return False
    if classes & set(selector.get("layers_none", [])):
        return False
    if selector.get("output_activation") and info.output_activation != selector["output_activation"]:
        return False
    if selector.get("loss") and info.loss not in losses_meant(selector["loss"]):
        return False
    avoided = selector.get("hidden_activation_not")
    if avoided and (not info.hidden_activations or all(a == avoided for a in info.hidden_activations)):
        return False
    return True


def candidates(versions: list[tuple[ModelVersion, ModelInfo]], selector: dict) -> list[tuple[ModelVersion, ModelInfo]]:
    """Every saved version whose model fits ``selector``."""
    return [(version, info) for version, info in versions if qualifies(info, selector)]


def place(version: ModelVersion, section: Section | None) -> str:
    if section is None or version.cell is None:
        return "anywhere"
    if section.start <= version.cell < section.end:
        return "section"
    return "before" if version.cell < section.start else "after"


def pick(versions: list[tuple[ModelVersion, ModelInfo]], selector: dict, section: Section | None,
         exclude: set[int] = frozenset(), only_in_section: bool = False) -> Pick | None:
    """The best version for a check, or None when no model qualifies."""
    if only_in_section and section is None:
        return None  # the question is not in the notebook, so neither is its model
    allowed = {"section"} if only_in_section else {"section", "before"}
    fitting = [(v, i) for v, i in candidates(versions, selector) if v.model not in exclude
               and (section is None or place(v, section) in allowed)]
    if not fitting:
        return None
    names = selector.get("names", [])

    def rank(pair):
        version, _ = pair
        where = place(version, section)
        order = {"section": 3, "before": 2, "anywhere": 1}[where]
        position = version.cell if version.cell is not None else -1
        named = any(name in names for name in version.names)
        return (order, position, named, version.version)

    version, info = max(fitting, key=rank)
    return Pick(version, info, place(version, section))


def pick_all(versions, selector: dict, section: Section | None, elsewhere: bool = False) -> list[Pick]:
    """Every distinct model fitting ``selector`` trained or changed in the section (with ``elsewhere``: outside
    it), each as its last version there."""
    best = {}
    for version, info in candidates(versions, selector):
        where = place(version, section)
        if where in (("before", "after") if elsewhere else ("section", "anywhere")):
            best[version.model] = Pick(version, info, where)  # versions come in order: the last one wins
    return sorted(best.values(), key=lambda p: (p.version.cell if p.version.cell is not None else -1))
