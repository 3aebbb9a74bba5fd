"""Report: every output derived from a :class:`grader.result.Result`."""
from .gradebook import write_gradebook, write_gradescope
from .html import render_index, render_report, write_index, write_report
from .terminal import format_table

__all__ = ["write_report", "write_index", "render_report", "render_index", "write_gradebook",
           "write_gradescope", "format_table"]
