"""Harvest: turn an executed notebook into data the evaluator can judge.

Only data comes out of the sandbox: the executed cells, the model files the
kernel saved (see :mod:`grader.execute.kernel.grader_kernel`), what the
kernel did about its environment, and the text written for each question.
"""
from __future__ import annotations

from dataclasses import dataclass, field

from ..execute.execution import Execution
from ..result import CellRun
from .answers import Section, find_sections
from .environment import read_environment
from .models import ModelVersion, read_models


@dataclass
class Harvest:
    cells: list                     # the notebook's cells, as executed
    runs: list[CellRun]             # how each code cell ran
    sections: dict[str, Section]
    models: list[ModelVersion]
    problems: list[str] = field(default_factory=list)
    environment: dict = field(default_factory=dict)   # see harvest.environment.read_environment

    def run_of(self, index: int) -> CellRun | None:
        return next((run for run in self.runs if run.index == index), None)


def harvest(execution: Execution, questions: dict[str, list[str]], handout: frozenset = frozenset()) -> Harvest:
    """``questions`` maps each question id to the labels that start it; ``handout`` holds the handout's cells."""
    cells = execution.notebook.cells
    return Harvest(cells, execution.cells, find_sections(cells, questions, handout),
                   read_models(execution.models_dir, execution.cell_of_execution), list(execution.problems),
                   read_environment(execution.models_dir, execution.cell_of_execution))
