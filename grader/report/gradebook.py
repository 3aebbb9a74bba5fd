"""The gradebook (CSV for the LMS) and Gradescope's results.json."""
from __future__ import annotations

import csv
import io
import json
from pathlib import Path

from ..atomic import write_text_atomic
from ..i18n import localized
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


# a hidden check's result shows once the instructor publishes the grades (Gradescope's visibility)
GRADESCOPE_VISIBILITY = {"public": "visible", "hidden": "after_published"}


def write_gradescope(result: Result, path, lang: str = "es") -> None:
    """Gradescope's ``results.json`` (https://gradescope-autograders.readthedocs.io/en/latest/specs/): the score,
    one test per check of each question (``number`` the question's id; a hidden check ``after_published``), the
    sandbox level and the problems as the overall output; the autograder's own log stays hidden."""
    tests = []
    for check in result.checks:
        for part in check.details or [{"label": "", "score": check.score, "max_score": check.max_score,
                                       "feedback": check.feedback}]:
            title = f"{check.id} {localized(check.title, lang)}".strip()
            tests.append({"name": " · ".join(text for text in (title, localized(part.get("label"), lang)) if text),
                          "number": check.id, "score": part["score"], "max_score": part["max_score"],
                          "status": "passed" if part["score"] >= part["max_score"] else "failed",
                          "output": str(part.get("feedback") or ""), "output_format": "md",
                          "visibility": GRADESCOPE_VISIBILITY[part.get("visibility", "public")]})
    level = result.sandbox.get("level")
    notes = ([f"Sandbox: {level}."] if level else []) + \
        ([result.sandbox["warning"]] if result.sandbox.get("warning") else []) + list(result.problems)
    data = {"score": result.score, "execution_time": round(result.timings.get("total", 0)),
            "output": "\n\n".join(notes), "output_format": "md", "stdout_visibility": "hidden", "tests": tests}
    write_text_atomic(Path(path), json.dumps(data, indent=2, ensure_ascii=False))
