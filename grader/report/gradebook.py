"""The gradebook (CSV for the LMS) and Gradescope's results.json."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..atomic import write_text_atomic
from ..result import Result


def write_gradebook(results: list[Result], path, question_ids: list[str]) -> None:
    """One row per submission: submission, score, max_score, then the points of each question."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow(["submission", "score", "max_score", *question_ids])
    for result in sorted(results, key=lambda r: r.submission):
        points = {check.id: check.score for check in result.checks}
        writer.writerow([result.submission, f"{result.score:g}", f"{result.max_score:g}",
                         *[f"{points[q]:g}" if q in points else "" for q in question_ids]])
    write_text_atomic(Path(path), buffer.getvalue())


def write_gradescope(result: Result, path) -> None:
    """Gradescope's results format, for courses that upload there."""
    tests = [{"name": f"{c.id} {c.title}", "score": c.score, "max_score": c.max_score,
              "output": c.feedback, "visibility": "visible"} for c in result.checks]
    write_text_atomic(Path(path), json.dumps({"score": result.score, "tests": tests}, indent=2, ensure_ascii=False))
