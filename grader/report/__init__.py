"""Report: every output derived from a :class:`grader.result.Result`."""
from pathlib import Path

from .gradebook import write_gradebook, write_gradescope
from .html import render_index, render_report, write_index, write_report
from .terminal import format_table

__all__ = ["write_report", "write_index", "render_report", "render_index", "write_gradebook",
           "write_gradescope", "write_class_files", "format_table"]


def write_class_files(results: list, out, question_ids: list[str], title: str, lang: str = "es") -> None:
    """The class's own files in ``out``: the gradebook (gradebook.csv) and the class summary (index.html)."""
    write_gradebook(results, Path(out) / "gradebook.csv", question_ids)
    write_index(results, title, Path(out) / "index.html", lang)
