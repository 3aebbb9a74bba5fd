"""Kinds of checks. Each module declares ``KIND`` (a :class:`CheckKind`) and has ``run(spec, question, ctx) -> Part``.

The rubric configures them; a new kind is a new module, registered here with :func:`register`
(``tests/test_kinds.py`` proves that every registered kind keeps the interface).
"""
from __future__ import annotations

from types import ModuleType

from . import code_runs, free_text, hidden, model_comparison, model_metric, model_probe, model_structure, numeric_answer
from .kind import CheckKind

KINDS: dict[str, ModuleType] = {}


def register(module: ModuleType) -> None:
    """Make the check kind that ``module`` declares available to rubrics."""
    KINDS[module.KIND.name] = module


def declared(name: str) -> CheckKind:
    return KINDS[name].KIND


for _module in (numeric_answer, model_structure, model_probe, model_metric, model_comparison, free_text, code_runs,
                hidden):
    register(_module)
