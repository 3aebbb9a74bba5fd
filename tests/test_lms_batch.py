"""A class as the LMS hands it over, graded with the real command: a Canvas zip, a Moodle folder, late work.

The names are the LMSs' own (see tests/test_intake.py for their sources): accents, spaces, _LATE, a file
uploaded twice, a student who handed in a script. A change of the late rules or of extensions.csv scores
again without running any notebook.
"""
import csv
import json
import os
import subprocess
import sys
import time
import zipfile
from datetime import datetime

import nbformat
import pytest

from .builders import FAST, check, question, rubric_toml, seven_bits
from .expect import assert_errors_only

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
def rubric_text(penalty) -> str:
    return rubric_toml("tiny-lms", question("Q1", seven_bits(6)), question("Q2", check("code_runs", 4)), limits=FAST,
                       late={"due": "2026-03-01T23:59:00+01:00", "grace_minutes": 10, "penalty": penalty})
PER_DAY = {"per_day": 0.1, "cap": 0.5}


def notebook(answer: str) -> str:
    return nbformat.writes(nbformat.v4.new_notebook(cells=[
        md("**Q1** ¿El mayor número con 7 bits?"), md(answer), md("**Q2**"), code("print(2 ** 7 - 1)")]))


def local(text: str) -> float:
    return datetime.fromisoformat(text).timestamp()


@pytest.fixture(scope="module")
def lms_class(tmp_path_factory):
    root = tmp_path_factory.mktemp("lms")
    (root / "rubric.toml").write_text(rubric_text(PER_DAY))
    (root / "reference.ipynb").write_text(notebook("127"))
    download = root / "downloads" / "Práctica 1 submissions.zip"
    download.parent.mkdir()
    march_5 = time.localtime(local("2026-03-05T09:00:00+01:00"))[:6]  # when the instructor downloaded it
    with zipfile.ZipFile(download, "w") as archive:
        for name, text in (("smithbob_340934_208490284_BobsWork.ipynb", notebook("128")),
                           ("smithbob_340934_208490299_BobsWork-1.ipynb", notebook("127")),
                           ("núñezjosé_LATE_340935_208490300_Práctica 1.ipynb", notebook("127")),
                           ("garcíaana_340936_208490301_practica.py", "print(127)\n")):
            archive.writestr(zipfile.ZipInfo(name, march_5), text)
    moodle = root / "moodle"
    for folder, name, text, handed_in in (
            ("Bob Smith_12345_assignsubmission_file_", "Práctica1.ipynb", notebook("127"), "2026-03-01T12:00:00+01:00"),
            ("José Núñez_12346_assignsubmission_file_", "P1.ipynb", notebook("127"), "2026-03-03T12:00:00+01:00")):
        path = moodle / folder / name
        path.parent.mkdir(parents=True)
        path.write_text(text)
        os.utime(path, (local(handed_in), local(handed_in)))
    env = {**os.environ, "XDG_CACHE_HOME": str(root / "cache")}

    def grade(submissions, out, *options):
        done = subprocess.run([sys.executable, "-m", "grader", "grade", str(submissions), "--assignment",
                               str(root / "rubric.toml"), "--out", str(root / out), "--seed", "1", "--workers", "1",
                               *options], capture_output=True, text=True, env=env, timeout=600)
        assert done.returncode == 0, done.stderr
        return done

    def state(out):
        """The gradebook's rows, when each notebook last ran, and each result.json, as this step left them."""
        rows = {row["submission"]: row for row in csv.DictReader((root / out / "gradebook.csv").open(encoding="utf-8"))}
        executed = {sid: (root / out / sid / "execution.json").stat().st_mtime_ns
                    for sid in rows if (root / out / sid / "execution.json").exists()}
        results = {sid: json.loads((root / out / sid / "result.json").read_text(encoding="utf-8")) for sid in rows}
        for result in results.values():
            assert_errors_only(result)
        return rows, executed, results

    steps = {"canvas": (grade(download, "out-canvas"), *state("out-canvas")),
             "moodle": (grade(moodle, "out-moodle"), *state("out-moodle"))}
    (moodle / "extensions.csv").write_text("student,extra_hours,reason\nJosé_Núñez_12346,48,médico\n")
    steps["moodle extended"] = (grade(moodle, "out-moodle"), *state("out-moodle"))   # only the extension is new
    (root / "rubric.toml").write_text(rubric_text("zero"))
    steps["canvas zero"] = (grade(download, "out-canvas"), *state("out-canvas"))      # only the rules are new
    return root, steps


def test_a_canvas_zip_graded_one_row_per_student(lms_class):
    root, steps = lms_class
    done, rows, _, results = steps["canvas"]
    assert "Submissions: 3 student(s), named as canvas names them" in done.stderr
    assert sorted(rows) == ["garcíaana_340936", "núñezjosé_340935", "smithbob_340934"]
    bob, jose, ana = rows["smithbob_340934"], rows["núñezjosé_340935"], rows["garcíaana_340936"]
    assert (bob["student_id"], bob["name"], bob["late"], bob["attempt"], bob["score"]) == \
           ("340934", "smithbob", "false", "2", "10")     # the second upload, on time whatever the zip's dates
    assert (jose["late"], jose["raw_score"], jose["late_penalty"], jose["score"]) == ("true", "10", "1", "9")
    assert (ana["score"], ana["Q1"], ana["Q2"]) == ("0", "0", "0")
    report = (root / "out-canvas" / "garcíaana_340936" / "report.html").read_text(encoding="utf-8")
    assert "No se entregó ningún cuaderno (.ipynb), solo practica.py" in report
    bob_report = (root / "out-canvas" / "smithbob_340934" / "report.html").read_text(encoding="utf-8")
    assert "No se corrigen: BobsWork.ipynb (intento 1)" in bob_report
    result = results["núñezjosé_340935"]
    assert (result["student_id"], result["late"], result["raw_score"], result["late_penalty"]) == \
           ("340935", True, 10.0, 1.0)
    assert list((root / "out-canvas" / ".grader" / "submissions").iterdir())  # extracted under --out, nowhere else
    assert not any(p.suffix == ".ipynb" for p in (root / "downloads").iterdir())


def test_moodle_times_come_from_the_files(lms_class):
    root, steps = lms_class
    _, rows, _, results = steps["moodle"]
    bob, jose = rows["Bob_Smith_12345"], rows["José_Núñez_12346"]
    assert (bob["student_id"], bob["name"], bob["late"], bob["score"]) == ("12345", "Bob Smith", "false", "10")
    assert (jose["late"], jose["late_penalty"], jose["score"]) == ("true", "2", "8")   # 2 started days
    result = results["José_Núñez_12346"]
    assert result["submitted"].startswith("2026-03-03T")
    assert "La hora es la de modificación del archivo" in result["problems"][0]


def test_new_late_rules_and_extensions_score_again_without_running_notebooks(lms_class):
    _, steps = lms_class
    ran_before, (_, after, ran_after, _) = steps["canvas"][2], steps["canvas zero"]
    assert ran_after == ran_before and len(ran_after) == 2          # no notebook ran again
    assert after["núñezjosé_340935"]["score"] == "0" and after["núñezjosé_340935"]["raw_score"] == "10"
    assert after["smithbob_340934"]["score"] == "10"
    ran_before, (_, after, ran_after, _) = steps["moodle"][2], steps["moodle extended"]
    assert ran_after == ran_before and len(ran_after) == 2
    assert (after["José_Núñez_12346"]["late"], after["José_Núñez_12346"]["score"]) == ("false", "10")


def test_the_canvas_roster_finds_the_students_of_the_download(lms_class, tmp_path):
    root, _ = lms_class
    roster = tmp_path / "roster.csv"
    roster.write_text('Student,ID,SIS User ID,SIS Login ID,Section,Práctica 1 (123456)\n'
                      '    Points Possible,,,,,10.00\n'
                      '"Smith, Bob",340934,A1,bsmith,S1,\n"Núñez, José",340935,A2,jnunez,S1,\n'
                      '"García, Ana",340936,A3,agarcia,S1,\n', encoding="utf-8")
    done = subprocess.run([sys.executable, "-m", "grader", "export", "canvas", str(root / "out-canvas"),
                           "--roster", str(roster), "--column", "Práctica 1 (123456)",
                           "--out", str(tmp_path / "c.csv")],
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0 and "left out" not in done.stderr and "with no result" not in done.stderr, done.stderr
    table = list(csv.reader((tmp_path / "c.csv").open(encoding="utf-8")))
    assert [row[-1] for row in table[2:]] == ["10.00", "0.00", "0.00"]   # the zero rules of the last run
