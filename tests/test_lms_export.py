"""Grades and feedback back into Canvas and Moodle, from the results of a graded class."""
import csv
import io
import subprocess
import sys
import zipfile

import pytest

from grader.grade import write_outputs
from grader.report import lms
from grader.result import Check, Result

# A Canvas gradebook export (Grades > Export), as Canvas's GradebookImporter reads it back
# (app/models/gradebook_importer.rb in instructure/canvas-lms): "Student" and "ID" first, the student columns up to
# "Section", assignments as "<title> (<id>)", a "Points Possible" row indented by four spaces, read-only totals,
# and the "Student, Test" row of Student View, as in the exports quoted by public Canvas tools' tests.
ROSTER = """\
Student,ID,SIS User ID,SIS Login ID,Section,Práctica 0 (123450),Práctica 1 (123456),Current Score,Final Score
    Points Possible,,,,,10.00,10.00,(read only),(read only)
"Smith, Bob",340934,A0001,bsmith,Aprendizaje Profundo 2026,8.00,,80.00,40.00
"Núñez, José",340935,A0002,jnunez,Aprendizaje Profundo 2026,9.50,,95.00,47.50
"García, Ana",340936,A0003,agarcia,Aprendizaje Profundo 2026,,,,
"Pérez, Eva",340939,A0009,eperez,Aprendizaje Profundo 2026,7.00,,70.00,35.00
"Student, Test",340999,,,Aprendizaje Profundo 2026,,,,
"""
# Moodle's offline grading worksheet (View all submissions > Download grading worksheet): the columns of
# assignfeedback_offline (mod/assign/feedback/offline in moodle/moodle), read back by its importgradeslib.php by
# "Identifier" ("Participant <id>"), "Grade", "Last modified (grade)" and the "Feedback comments" column; the same
# header list that tools reading real worksheets expect; a UTF-8 byte order mark first.
WORKSHEET = ("\ufeffIdentifier,\"Full name\",\"Email address\",Status,Grade,\"Maximum Grade\",\"Grade can be changed\","
             "\"Last modified (submission)\",\"Last modified (grade)\",\"Feedback comments\"\n"
             "\"Participant 12345\",\"Bob Smith\",bob@uni.es,\"Submitted for grading\",,10.00,Yes,"
             "\"Monday, 2 March 2026, 10:15 AM\",-,\n"
             "\"Participant 12346\",\"José Núñez\",jose@uni.es,\"Submitted for grading - Graded\",5.00,10.00,Yes,"
             "\"Tuesday, 3 March 2026, 9:00 AM\",\"Tuesday, 3 March 2026, 9:30 AM\",\"Hablamos en clase\"\n"
             "\"Participant 12348\",\"Luis López\",luis@uni.es,\"No submission\",,10.00,Yes,-,-,\n")
# The same worksheet from a Moodle in Spanish (lang/es/assign.php): its columns and "Participante", decimal commas.
HOJA = ("Identificador,\"Nombre completo\",\"Dirección de correo\",Estado,Calificación,\"Calificación máxima\","
        "\"La calificación puede ser cambiada\",\"Última modificación (entrega)\","
        "\"Última modificación (calificación)\","
        "\"Comentarios de retroalimentación\"\n"
        "\"Participante 12345\",\"Bob Smith\",bob@uni.es,Enviado,,\"10,00\",Sí,-,-,\n")


def result(submission, student_id, name, scores, late_penalty=0.0, pending=0.0) -> Result:
    checks = [Check(f"Q{i}", f"Q{i}", got, out_of, "pass" if got == out_of else "partial")
              for i, (got, out_of) in enumerate(scores, start=1)]
    if pending:
        checks.append(Check("Q9", "Explain", 0.0, pending, "manual",
                            details=[{"label": "x", "score": 0, "max_score": pending, "status": "manual"}]))
    raw = sum(got for got, _ in scores)
    return Result(submission, "practica1", round(raw - late_penalty, 3), sum(o for _, o in scores) + pending, 1,
                  checks, student_id=student_id, name=name, raw_score=raw, late_penalty=late_penalty,
                  late=bool(late_penalty))


@pytest.fixture
def graded(tmp_path):
    """A graded class: Canvas students, Moodle students, one without an LMS id."""
    out = tmp_path / "out"
    for each in (result("smithbob_340934", "340934", "smithbob", [(1, 1), (2, 3)], pending=4),  # 3 of 8
                 result("núñezjosé_340935", "340935", "núñezjosé", [(1, 1), (3, 3)], late_penalty=0.8),
                 result("garcíaana_340936", "340936", "garcíaana", [(0, 1), (0, 3)], pending=4),
                 result("anon_ab1cd", "anon_ab1cd", "", [(1, 1), (3, 3)], pending=4),
                 result("Bob_Smith_12345", "12345", "Bob Smith", [(1, 1), (3, 3)], pending=4),
                 result("José_Núñez_12346", "12346", "José Núñez", [(0, 1), (1, 3)], pending=4),
                 result("plain", "", "", [(1, 1), (1, 3)], pending=4)):
        write_outputs(each, out / each.submission, "es")
    return out


def rows(path):
    return list(csv.reader(io.StringIO(path.read_text(encoding="utf-8-sig"), newline="")))


def test_canvas_import_only_for_students_of_the_roster_scaled_to_points_possible(graded, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    matching = lms.canvas(lms.load_results(graded), roster, "Práctica 1 (123456)", tmp_path / "canvas.csv")
    assert rows(tmp_path / "canvas.csv") == [
        ["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Práctica 1 (123456)"],
        ["    Points Possible", "", "", "", "", "10.00"],
        ["Smith, Bob", "340934", "A0001", "bsmith", "Aprendizaje Profundo 2026", "3.75"],    # 3 of 8 points
        ["Núñez, José", "340935", "A0002", "jnunez", "Aprendizaje Profundo 2026", "8.00"],   # 3.2 of 4, late
        ["García, Ana", "340936", "A0003", "agarcia", "Aprendizaje Profundo 2026", "0.00"]]
    assert matching.written == 3
    assert matching.without_result == ["Pérez, Eva (ID 340939)"]     # not "Student, Test"
    assert sorted(matching.without_row) == ["Bob_Smith_12345", "José_Núñez_12346", "anon_ab1cd", "plain"]
    assert matching.notes == ["scores are scaled to the column's Points Possible, 10"]


def test_a_new_canvas_column_gets_the_rubrics_points(graded, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER.replace(",Práctica 1 (123456)", "").replace("10.00,10.00,", "10.00,")
                      .replace("8.00,,", "8.00,").replace("9.50,,", "9.50,").replace("7.00,,", "7.00,"),
                      encoding="utf-8")
    lms.canvas(lms.load_results(graded), roster, "Práctica 2", tmp_path / "canvas.csv")
    table = rows(tmp_path / "canvas.csv")
    assert table[0][-1] == "Práctica 2" and table[1][-1] == "8.00" and table[2][-1] == "3.00"


def test_moodle_worksheet_gets_grade_and_feedback_and_nothing_else_changes(graded, tmp_path):
    worksheet = tmp_path / "Grades-Práctica 1.csv"
    worksheet.write_text(WORKSHEET, encoding="utf-8")
    matching = lms.moodle(lms.load_results(graded), worksheet, tmp_path / "filled.csv", "en")
    before, after = rows(worksheet), rows(tmp_path / "filled.csv")
    assert (tmp_path / "filled.csv").read_bytes().startswith(b"\xef\xbb\xbf")      # the BOM kept
    assert after[0] == before[0] and after[3] == before[3]                          # header, unmatched row
    grade, feedback = 4, 9
    for old, new in zip(before[1:3], after[1:3]):
        assert [c for i, c in enumerate(new) if i not in (grade, feedback)] == \
               [c for i, c in enumerate(old) if i not in (grade, feedback)]
    assert after[1][grade] == "5.00"                                  # 4 of 8 points, scaled to 10
    assert after[1][feedback] == "4/8 points: Q1 1/1, Q2 3/3, Q9 0/4. 4 points awaiting human review."
    assert after[2][grade] == "1.25"
    assert matching.written == 2 and matching.without_result == ["Luis López"]
    assert "smithbob_340934" in matching.without_row and "plain" in matching.without_row


def test_a_spanish_moodle_worksheet(graded, tmp_path):
    worksheet = tmp_path / "hoja.csv"
    worksheet.write_text(HOJA, encoding="utf-8")
    lms.moodle(lms.load_results(graded), worksheet, tmp_path / "rellena.csv", "es")
    row = rows(tmp_path / "rellena.csv")[1]
    assert row[4] == "5,00"                   # the decimal comma of "10,00"
    assert row[9].startswith("4/8 puntos: Q1 1/1, Q2 3/3")


def test_moodle_feedback_zip_in_moodles_own_folders(graded, tmp_path):
    out = tmp_path / "feedback.zip"
    matching = lms.moodle_feedback(lms.load_results(graded), graded, out)
    names = sorted(zipfile.ZipFile(out).namelist())
    assert "Bob Smith_12345_assignsubmission_file_/report.html" in names
    assert "José Núñez_12346_assignsubmission_file_/report.html" in names
    for name in names:  # the rule of Moodle's importer (importziplib.php): name_id_plugintype_plugin_file
        parts = name.split("_", 4)
        assert len(parts) == 5 and parts[1].isdigit() and parts[2:4] == ["assignsubmission", "file"], name
    assert matching.without_row == ["anon_ab1cd", "plain"]   # no participant id: Moodle could not place them
    report = zipfile.ZipFile(out).read("Bob Smith_12345_assignsubmission_file_/report.html").decode()
    assert report == (graded / "Bob_Smith_12345" / "report.html").read_text(encoding="utf-8")


def export(*arguments):
    return subprocess.run([sys.executable, "-m", "grader", "export", *map(str, arguments)], capture_output=True,
                          text=True, timeout=120)


def test_the_command_lists_what_it_could_not_match(graded, tmp_path):
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    done = export("canvas", graded, "--roster", roster, "--column", "Práctica 1 (123456)")
    assert done.returncode == 0, done.stderr
    assert (graded / "canvas-import.csv").is_file()
    assert "4 result(s) left out, no row in" in done.stderr and "plain" in done.stderr
    assert "1 student(s) in" in done.stderr and "Pérez, Eva (ID 340939)" in done.stderr
    assert f"Wrote {graded / 'canvas-import.csv'}: 3 student(s)" in done.stderr
    zipped = export("moodle-feedback", graded, "--out", tmp_path / "feedback.zip")
    assert zipped.returncode == 0 and (tmp_path / "feedback.zip").is_file()
    assert "2 result(s) left out, no student id" in zipped.stderr


@pytest.mark.parametrize("arguments, words", [
    (["canvas", "{out}", "--roster", "{missing}", "--column", "P1"], ["missing.csv", "cannot be read"]),
    (["moodle", "{out}", "--worksheet", "{roster}"], ["no column 'Identifier' or 'Identificador'"]),
    (["canvas", "{empty}", "--roster", "{roster}", "--column", "P1"], ["no results (*/result.json)"]),
])
def test_bad_input_is_one_line(graded, tmp_path, arguments, words):
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER, encoding="utf-8")
    (tmp_path / "empty").mkdir()
    places = {"out": graded, "missing": tmp_path / "missing.csv", "roster": roster, "empty": tmp_path / "empty"}
    done = export(*[argument.format(**places) for argument in arguments])
    lines = done.stderr.strip().splitlines()
    assert done.returncode == 2 and len(lines) == 1 and "Traceback" not in done.stderr, done.stderr
    assert all(word in lines[0] for word in words), lines[0]
