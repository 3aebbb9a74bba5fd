"""The gradebook (CSV for the LMS) and Gradescope's results.json."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..atomic import write_text_atomic
from ..result import Result


def _points(value: float) -> str:
    return f"{round(float(value), 3):g}"


COLUMNS = ["submission", "student_id", "name", "late", "attempt", "raw_score", "late_penalty", "score", "max_score"]


def write_gradebook(results: list[Result], path, question_ids: list[str]) -> None:
    """One row per submission, sorted: the :data:`COLUMNS`, then the points of each question.

    ``student_id`` and ``name`` are the LMS's (empty without one); ``score`` is
    ``raw_score`` less ``late_penalty``. A question missing from a result (a
    notebook that could not be graded at all) is left empty. Written
    atomically: a reader sees the previous gradebook or the new one, never half.
    """
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([*COLUMNS, *question_ids])
    for result in sorted(results, key=lambda r: r.submission):
        points = {check.id: check.score for check in result.checks}
        raw = result.score if result.raw_score is None else result.raw_score
        writer.writerow([result.submission, result.student_id, result.name, str(result.late).lower(), result.attempt,
                         _points(raw), _points(result.late_penalty), _points(result.score), _points(result.max_score),
                         *[_points(points[q]) if q in points else "" for q in question_ids]])
    write_text_atomic(Path(path), buffer.getvalue())


def write_gradescope(result: Result, path) -> None:
    """Gradescope's results format: the score, one test per question, problems as the overall output."""
    tests = [{"name": f"{c.id} {c.title}".strip(), "score": c.score, "max_score": c.max_score,
              "output": c.feedback, "visibility": "visible"} for c in result.checks]
    data = {"score": result.score, "tests": tests}
    notes = ([result.sandbox["warning"]] if result.sandbox.get("warning") else []) + list(result.problems)
    if notes:
        data["output"] = "\n".join(notes)
    if result.timings.get("total"):
        data["execution_time"] = round(result.timings["total"], 1)
    write_text_atomic(Path(path), json.dumps(data, indent=2, ensure_ascii=False))
