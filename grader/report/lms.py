"""Grades and feedback back into the LMS, from the results of ``grader grade``.

The files are written the way each LMS reads them back:

- Canvas's gradebook import (app/models/gradebook_importer.rb in
  instructure/canvas-lms): the header ``Student,ID,SIS User ID,SIS Login
  ID,Section,<Assignment> (<id>)``, then a row whose first cell holds
  ``Points Possible``; a student is found by ``ID``, Canvas's user id, which
  is also the number in the names of its "Download Submissions".
- Moodle's offline grading worksheet (mod/assign/feedback/offline/
  importgradeslib.php in moodle/moodle): a row is found by ``Identifier``
  (``Participant 12345``, the participant id of the download's folder names);
  ``Grade`` and the ``Feedback comments`` column are filled in.
- Moodle's "Upload multiple feedback files in a zip" (mod/assign/feedback/
  file/importziplib.php): each file in a folder named
  ``<Full Name>_<participant id>_assignsubmission_file_``, the name its
  download gave (Moodle before 4.1 needs the last ``_``, later ones accept it).

A score is scaled to the LMS's maximum when it has one (Canvas's ``Points
Possible`` of an existing column, Moodle's ``Maximum Grade``). Nothing is
dropped silently: the results without a row and the rows without a result
are returned for the command to list.
"""
from __future__ import annotations

import codecs
import csv
import io
import os
import re
import tempfile
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .. import i18n
from ..atomic import write_text_atomic
from ..batch import BatchError
from ..result import Result, load_result
from .summary import pending

CANVAS_COLUMNS = ["Student", "ID", "SIS User ID", "SIS Login ID", "Section"]
CANVAS_TEST_STUDENT = "Student, Test"   # the row Canvas adds for "Student View"
# The worksheet's columns are in the language of the Moodle that wrote it: English, or Spanish (lang/es/assign.php)
MOODLE_COLUMNS = {"identifier": ("Identifier", "Identificador"), "grade": ("Grade", "Calificación"),
                  "maximum": ("Maximum Grade", "Calificación máxima"), "name": ("Full name", "Nombre completo"),
                  "feedback": ("Feedback comments", "Comentarios de retroalimentación")}


@dataclass
class Matching:
    """What an export wrote, and what it could not match."""
    written: int = 0
    without_row: list[str] = field(default_factory=list)     # results (submission ids) the LMS file has no row for
    without_result: list[str] = field(default_factory=list)  # LMS rows (names) with no result
    notes: list[str] = field(default_factory=list)


@dataclass
class _Table:
    """A CSV file as read, kept so that it can be written back the same way."""
    header: list[str]
    rows: list[list[str]]
    delimiter: str
    bom: bool
    newline: str

    def find(self, *names: str) -> int | None:
        """The position of the first of ``names`` that is a column, or None."""
        return next((self.header.index(name) for name in names if name in self.header), None)

    def column(self, names: tuple, path: Path, hint: str) -> int:
        found = self.find(*names)
        if found is None:
            raise BatchError(f"{path}: no column {' or '.join(map(repr, names))}; {hint}")
        return found

    def write(self, path: Path) -> None:
        buffer = io.StringIO()
        writer = csv.writer(buffer, delimiter=self.delimiter, lineterminator=self.newline)
        writer.writerow(self.header)
        writer.writerows(self.rows)
        write_text_atomic(path, ("\ufeff" if self.bom else "") + buffer.getvalue())


def _read_table(path: Path) -> _Table:
    try:
        raw = path.read_bytes()
        text = raw.decode("utf-8-sig")
    except OSError as error:
        raise BatchError(f"{path}: cannot be read: {error.strerror}") from None
    except UnicodeDecodeError as error:
        raise BatchError(f"{path}: not UTF-8 (byte {error.start}); export it again as CSV (UTF-8)") from None
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    try:
        rows = list(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter))
    except csv.Error as error:
        raise BatchError(f"{path}: not a CSV file: {error}") from None
    if not rows:
        raise BatchError(f"{path}: empty")
    return _Table(rows[0], rows[1:], delimiter, raw.startswith(codecs.BOM_UTF8), "\r\n" if "\r\n" in text else "\n")


def load_results(folder: Path) -> list[Result]:
    """Every result that ``grader grade --out folder`` wrote, by submission id."""
    results = [result for path in sorted(folder.glob("*/result.json")) if (result := load_result(path))]
    if not results:
        raise BatchError(f"{folder}: no results (*/result.json); give the --out folder of grader grade")
    return results


def _number(text: str) -> float | None:
    try:
        return float(text.strip().replace(",", "."))
    except (AttributeError, ValueError):
        return None


def _scaled(result: Result, maximum: float) -> float:
    return result.score / result.max_score * maximum if result.max_score else 0.0


def canvas(results: list[Result], roster: Path, column: str, out: Path) -> Matching:
    """Write ``out``, a Canvas gradebook import of ``column`` (``"Práctica 1 (123456)"``), from a Canvas roster.

    ``roster`` is a gradebook export (Grades > Export); only students found in
    it by ``ID`` get a row, so no other grade in Canvas changes.
    """
    table = _read_table(roster)
    hint = "give a Canvas gradebook export (Grades > Export > Export Entire Gradebook)"
    positions = [table.column((name,), roster, hint) for name in CANVAS_COLUMNS]
    points_row = next((row for row in table.rows if row and "Points Possible" in row[0]), None)
    possible = None
    if column in table.header and points_row is not None and len(points_row) > table.header.index(column):
        possible = _number(points_row[table.header.index(column)])
    matching = Matching()
    if possible:
        matching.notes.append(f"scores are scaled to the column's Points Possible, {possible:g}")
    possible = possible or max(result.max_score for result in results)
    by_id = {result.student_id: result for result in results if result.student_id}
    rows, matched = [], set()
    for row in table.rows:
        if row is points_row or not any(cell.strip() for cell in row):
            continue
        student = [row[i] if i < len(row) else "" for i in positions]
        result = by_id.get(student[1].strip())
        if result is None:
            if student[0] != CANVAS_TEST_STUDENT:
                matching.without_result.append(f"{student[0]} (ID {student[1]})")
            continue
        matched.add(result.student_id)
        rows.append(student + [f"{_scaled(result, possible):.2f}"])
    header = CANVAS_COLUMNS + [column]
    points = ["    Points Possible", "", "", "", "", f"{possible:.2f}"]
    _Table(header, [points] + rows, ",", False, "\n").write(out)
    matching.written = len(rows)
    matching.without_row = [r.submission for r in results if r.student_id not in matched]
    return matching


def moodle(results: list[Result], worksheet: Path, out: Path, lang: str = "es") -> Matching:
    """Write ``out``: Moodle's grading ``worksheet`` with ``Grade`` and ``Feedback comments`` filled in.

    A row is changed only when its ``Identifier`` matches a result; every other
    cell and row stays as it was. A Spanish Moodle's worksheet (``Identificador``,
    ``Calificación``...) works the same.
    """
    table = _read_table(worksheet)
    hint = "give the assignment's grading worksheet (View all submissions > Download grading worksheet)"
    identifier = table.column(MOODLE_COLUMNS["identifier"], worksheet, hint)
    grade = table.column(MOODLE_COLUMNS["grade"], worksheet, hint)
    feedback, maximum = table.find(*MOODLE_COLUMNS["feedback"]), table.find(*MOODLE_COLUMNS["maximum"])
    full_name = table.find(*MOODLE_COLUMNS["name"])
    full_name = identifier if full_name is None else full_name
    comma = any(re.fullmatch(r"\d+,\d+", row[maximum]) for row in table.rows if maximum is not None
                and maximum < len(row))
    matching = Matching()
    if feedback is None:
        matching.notes.append(f"{worksheet} has no 'Feedback comments' column (enable Feedback comments in the "
                              f"assignment's settings): grades only")
    by_id = {result.student_id: result for result in results if result.student_id}
    matched = set()
    for row in table.rows:
        number = re.search(r"(\d+)\s*$", row[identifier]) if identifier < len(row) else None
        result = by_id.get(number[1]) if number else None
        if result is None:
            if any(cell.strip() for cell in row):
                matching.without_result.append(row[full_name] if full_name < len(row) else row[identifier])
            continue
        row.extend([""] * (len(table.header) - len(row)))
        out_of = (_number(row[maximum]) if maximum is not None else None) or result.max_score
        value = f"{_scaled(result, out_of):.2f}"
        row[grade] = value.replace(".", ",") if comma else value
        if feedback is not None:
            row[feedback] = summary(result, lang)
        matched.add(result.student_id)
    table.write(out)
    matching.written = len(matched)
    matching.without_row = [r.submission for r in results if r.student_id not in matched]
    return matching


def summary(result: Result, lang: str = "es") -> str:
    """One line for an LMS's feedback box: the score, the points of each question, the penalty, what awaits review."""
    points = i18n.text("points", lang).lower()
    text = f"{result.score:g}/{result.max_score:g} {points}: " + ", ".join(
        f"{check.id} {check.score:g}/{check.max_score:g}" for check in result.checks) + "."
    if result.late_penalty:
        text += (f" {i18n.text('late_penalty', lang)}: -{result.late_penalty:g} "
                 f"({i18n.text('raw_score', lang)}: {result.raw_score:g}).")
    waiting = pending(result)
    if waiting:
        text += f" {i18n.awaiting(waiting, lang).capitalize()}."
    return text


def moodle_feedback(results: list[Result], folder: Path, out: Path) -> Matching:
    """Write ``out``, a zip of each student's ``report.html`` in the folder Moodle's download gave them."""
    matching = Matching()
    out.parent.mkdir(parents=True, exist_ok=True)
    descriptor, partial = tempfile.mkstemp(dir=out.parent, prefix=f".{out.name}.", suffix=".tmp")
    try:
        with os.fdopen(descriptor, "wb") as handle, zipfile.ZipFile(handle, "w", zipfile.ZIP_DEFLATED) as archive:
            for result in results:
                report = folder / result.submission / "report.html"
                if not result.student_id.isdigit() or not report.is_file():  # Moodle's participant ids are numbers
                    matching.without_row.append(result.submission)
                    continue
                name = re.sub(r"[_/\\]+", " ", result.name).strip() or "Participant"
                archive.write(report, f"{name}_{result.student_id}_assignsubmission_file_/report.html")
                matching.written += 1
        os.replace(partial, out)
    finally:
        Path(partial).unlink(missing_ok=True)
    return matching
