"""How a notebook ran: what :func:`grader.execute.runner.execute_notebook` returns, saved beside the result.

``execution.json`` and the executed notebook let a later run re-use the execution: a change of points or
of seed re-scores without running the notebook again. This module imports no kernel machinery, so the
report and the harvest can read an execution cheaply.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from ..result import CellRun, write_json_atomic

if TYPE_CHECKING:
    import nbformat

SAVED = "execution.json"


@dataclass
class Execution:
    cells: list[CellRun]
    notebook: nbformat.NotebookNode    # with outputs
    models_dir: Path
    cell_of_execution: dict[int, int]  # kernel execution_count -> cell index
    problems: list[dict] = field(default_factory=list)   # {lang: words} (i18n.each_language)
    seconds: float = 0.0

    def save(self, out: Path, name: str, key: str) -> None:
        """Write the executed notebook as ``out/<name>.ipynb`` and ``out/execution.json``, marked with ``key``
        (what the execution depended on)."""
        import nbformat
        nbformat.write(self.notebook, out / f"{name}.ipynb")
        write_json_atomic(out / SAVED, {
            "key": key, "cells": [asdict(run) for run in self.cells],
            "cell_of_execution": {str(k): v for k, v in self.cell_of_execution.items()},
            "problems": self.problems, "seconds": self.seconds})

    @classmethod
    def load(cls, out: Path, key: str) -> Execution | None:
        """The execution saved in ``out`` with the same ``key``, if complete; its models are in ``out/models``."""
        import nbformat
        try:
            saved = json.loads((out / SAVED).read_text(encoding="utf-8"))
            if saved["key"] != key:
                return None
            notebook = nbformat.read(next(out.glob("*.ipynb")), as_version=4)
            return cls([CellRun(**run) for run in saved["cells"]], notebook, out / "models",
                       {int(k): v for k, v in saved["cell_of_execution"].items()}, saved["problems"], saved["seconds"])
        except (OSError, ValueError, KeyError, TypeError, StopIteration):
            return None


def saved_key(out: Path) -> str | None:
    """The key of the execution saved in ``out``, or None."""
    try:
        return json.loads((out / SAVED).read_text(encoding="utf-8")).get("key")
    except (OSError, ValueError, AttributeError):
        return None
