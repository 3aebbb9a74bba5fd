"""Intake: the submissions as Canvas and Moodle hand them over, one per student, zips included.

The file names are the LMSs' own:
- Canvas, lib/content_zipper.rb (instructure/canvas-lms): ``<sortable name, lower case, word characters only>
  [_LATE]_<user id | anon_<id>>_<attachment id>_<file name>``; a file uploaded again under its name is stored
  as ``<name>-1.<ext>``. A flat zip.
- Moodle, mod/assign/classes/downloader.php (moodle/moodle): ``<Full Name>_<participant id>_assignsubmission_
  file`` folders (``..._file_`` before 4.1), or that prefix on each file when "download in folders" is off.
"""
import os
import stat
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat
import pytest

from grader import intake
from grader.batch import BatchError

NOTEBOOK = nbformat.writes(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell("x = 1")]))


def write(path: Path, text: str = NOTEBOOK, mtime: float | None = None) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    if mtime is not None:
        os.utime(path, (mtime, mtime))
    return path


CANVAS_FILES = {  # name -> content: a class as Canvas's "Download Submissions" writes it
    "smithbob_340934_208490284_BobsWork.ipynb": NOTEBOOK,
    "smithbob_340934_208490299_BobsWork-1.ipynb": NOTEBOOK,             # uploaded again: attempt 2
    "núñezjosé_LATE_340935_208490300_Práctica 1.ipynb": NOTEBOOK,       # late, accents, a space
    "garcíaana_340936_208490301_practica.py": "print('hola')\n",        # a script, no notebook
    "lópezluis_340937_208490302_entrega.txt": NOTEBOOK,                 # a notebook renamed .txt
    "ruizeva_340938_208490303_borrador.ipynb": NOTEBOOK,                # two different notebooks
    "ruizeva_340938_208490310_final.ipynb": NOTEBOOK,
    "LATE_anon_ab1cd_208490304_anónimo.ipynb": NOTEBOOK,                # anonymous grading, late
    "manual_scores.csv": "submission,question,points\n",                # the instructor's own files
}


def canvas_download(folder: Path) -> Path:
    for name, text in CANVAS_FILES.items():
        write(folder / name, text)
    write(folder / "notas del profesor.txt", "not a submission")
    return folder


def moodle_download(folder: Path, folder_suffix: str = "") -> Path:
    def student(name, number, files):
        for file_name, text in files.items():
            write(folder / f"{name}_{number}_assignsubmission_file{folder_suffix}" / file_name, text)

    student("Bob Smith", 12345, {"Práctica1.ipynb": NOTEBOOK})
    student("José Núñez", 12346, {"P1.ipynb": NOTEBOOK, "P1 (copia).ipynb": NOTEBOOK})
    student("Ana García", 12347, {"Práctica 1.pdf": "%PDF-1.4 not a notebook"})
    write(folder / f"Ana García_12347_assignsubmission_onlinetext{folder_suffix}" / "onlinetext.html", "<p>hola</p>")
    return folder


def english(submission) -> list[str]:
    return [note["en"] for note in submission.notes]


def test_canvas_names_give_one_submission_per_student(tmp_path):
    taken = intake.find(canvas_download(tmp_path), "auto")
    assert taken.layout == "canvas"
    assert taken.unmatched == ["notas del profesor.txt"]
    subs = taken.submissions
    assert sorted(subs) == ["anon_ab1cd", "garcíaana_340936", "lópezluis_340937", "núñezjosé_340935",
                            "ruizeva_340938", "smithbob_340934"]
    bob = subs["smithbob_340934"]
    assert (bob.student_id, bob.name, bob.late, bob.attempt) == ("340934", "smithbob", False, 2)
    assert bob.path.name == "smithbob_340934_208490299_BobsWork-1.ipynb"
    assert english(bob) == ["2 files handed in: BobsWork-1.ipynb is graded (the latest, attempt 2). "
                            "Not graded: BobsWork.ipynb (attempt 1)."]
    jose = subs["núñezjosé_340935"]
    assert (jose.student_id, jose.late, jose.path.name) == ("340935", True,
                                                            "núñezjosé_LATE_340935_208490300_Práctica 1.ipynb")
    assert jose.notes == []
    anonymous = subs["anon_ab1cd"]
    assert (anonymous.student_id, anonymous.name, anonymous.late) == ("anon_ab1cd", "", True)


def test_a_student_without_a_notebook_is_never_left_out(tmp_path):
    subs = intake.find(canvas_download(tmp_path), "canvas").submissions
    script = subs["garcíaana_340936"]
    assert script.path.name.endswith("practica.py")          # graded: a zero that says why
    assert english(script) == ["No notebook (.ipynb) was handed in, only practica.py: there is nothing to grade."]
    assert "No se entregó ningún cuaderno" in script.notes[0]["es"]
    renamed = subs["lópezluis_340937"]
    assert renamed.path.suffix == ".txt"
    assert english(renamed) == ["entrega.txt is a Jupyter notebook with another extension: it is graded as one."]


def test_older_canvas_names_in_lower_case(tmp_path):
    # Canvas before 2019 lower-cased the whole prefix, LATE included (content_zipper.rb, sanitize_file_name)
    write(tmp_path / "smithbob_late_340934_208490284_bobswork.ipynb")
    write(tmp_path / "núñezjosé_340935_208490300_p1.ipynb")
    subs = intake.find(tmp_path).submissions
    assert (subs["smithbob_340934"].late, subs["núñezjosé_340935"].late) == (True, False)


def test_two_notebooks_grade_the_latest_upload_and_say_so(tmp_path):
    eva = intake.find(canvas_download(tmp_path), "canvas").submissions["ruizeva_340938"]
    assert eva.path.name.endswith("final.ipynb")   # the larger attachment id: uploaded later
    assert english(eva) == ["2 files handed in: final.ipynb is graded (the latest). Not graded: borrador.ipynb."]


@pytest.mark.parametrize("suffix", ["", "_"], ids=["moodle-4.1", "moodle-3.x"])
def test_moodle_folders(tmp_path, suffix):
    taken = intake.find(moodle_download(tmp_path, suffix), "auto")
    assert taken.layout == "moodle" and taken.unmatched == []
    subs = taken.submissions
    assert sorted(subs) == ["Ana_García_12347", "Bob_Smith_12345", "José_Núñez_12346"]
    bob = subs["Bob_Smith_12345"]
    assert (bob.student_id, bob.name, bob.late, bob.attempt, bob.notes) == ("12345", "Bob Smith", None, 1, [])
    assert bob.path.name == "Práctica1.ipynb"
    ana = subs["Ana_García_12347"]
    assert english(ana) == ["No notebook (.ipynb) was handed in, only Práctica 1.pdf, onlinetext.html: "
                            "there is nothing to grade."]


def test_moodle_without_folders(tmp_path):
    write(tmp_path / "Bob Smith_12345_assignsubmission_file_Práctica_1.ipynb")
    write(tmp_path / "José Núñez_12346_assignsubmission_file_P1.ipynb")
    taken = intake.find(tmp_path, "auto")
    assert taken.layout == "moodle"
    assert {sid: s.path.name for sid, s in taken.submissions.items()} == {
        "Bob_Smith_12345": "Bob Smith_12345_assignsubmission_file_Práctica_1.ipynb",
        "José_Núñez_12346": "José Núñez_12346_assignsubmission_file_P1.ipynb"}


def test_auto_keeps_todays_rules_for_a_plain_folder(tmp_path):
    write(tmp_path / "ana.ipynb")
    write(tmp_path / "bea" / "practica.ipynb")
    write(tmp_path / "bea" / ".ipynb_checkpoints" / "practica-checkpoint.ipynb")
    taken = intake.find(tmp_path, "auto")
    assert taken.layout == "auto"
    assert {sid: s.path.name for sid, s in taken.submissions.items()} == {"ana": "ana.ipynb", "bea": "practica.ipynb"}
    assert all(s.intake()["student_id"] == "" and s.intake()["late"] is None for s in taken.submissions.values())


def test_folders_layout_makes_each_folder_one_student(tmp_path):
    write(tmp_path / "ana" / "v1.ipynb", mtime=1_000_000)
    write(tmp_path / "ana" / "v2.ipynb", mtime=2_000_000)
    write(tmp_path / "bea" / "practica.pdf", "%PDF")
    write(tmp_path / "loose.ipynb")
    taken = intake.find(tmp_path, "folders")
    assert taken.unmatched == ["loose.ipynb"]
    assert taken.submissions["ana"].path.name == "v2.ipynb"  # the newer file
    assert "Not graded: v1.ipynb" in english(taken.submissions["ana"])[0]
    assert english(taken.submissions["bea"])[0].startswith("No notebook (.ipynb) was handed in, only practica.pdf")
    flat = intake.find(tmp_path, "flat")
    assert list(flat.submissions) == ["loose"] and "ana/v1.ipynb" in flat.unmatched


def test_regex_layout_with_nbgrader_groups(tmp_path):
    # nbgrader's FileNameCollectorPlugin example: ps1_bitdiddle_attempt_2016-01-30-15-00-00_problem1.ipynb
    write(tmp_path / "ps1_bitdiddle_attempt_2016-01-30-15-00-00_problem1.ipynb")
    write(tmp_path / "ps1_bitdiddle_attempt_2016-01-31-09-30-00_problem1.ipynb")
    write(tmp_path / "ps1_hacker_attempt_2016-01-30-10-00-00_problem1.ipynb")
    layout = intake.check_layout(r"regex:.*_(?P<student_id>\w+?)_attempt_(?P<timestamp>[0-9\-]+)_(?P<file_id>\w+)")
    subs = intake.find(tmp_path, layout).submissions
    assert sorted(subs) == ["bitdiddle", "hacker"]
    assert subs["bitdiddle"].submitted == "2016-01-31T09:30:00"
    assert "2016-01-31" in subs["bitdiddle"].path.name
    named = intake.check_layout(r"regex:(?P<last_name>[^_]+)_(?P<first_name>[^_]+)_(?P<student_id>\d+)"
                                r"(?P<late>_tarde)?_v(?P<attempt>\d+)_(?P<file_id>.+)")
    write(tmp_path / "other" / "Gómez_Ana_77_tarde_v2_p.ipynb")
    write(tmp_path / "other" / "Gómez_Ana_77_v1_p.ipynb")
    ana = intake.find(tmp_path / "other", named).submissions["Ana_Gómez_77"]
    assert (ana.name, ana.late, ana.attempt) == ("Ana Gómez", True, 2)


@pytest.mark.parametrize("text, problem", [
    ("canvass", "is not one of auto, flat, folders, canvas, moodle or regex:PATTERN"),
    ("regex:(?P<student_id>", "not a regular expression"),
    ("regex:(?P<student_id>.+)_(?P<name>.+)", "missing file_id"),
])
def test_bad_layouts_name_the_problem(text, problem):
    with pytest.raises(ValueError, match=problem.replace("(", r"\(").replace(")", r"\)")):
        intake.check_layout(text)


def test_times_in_file_names():
    assert intake.parse_time("2016-01-30-15-00-00").isoformat() == "2016-01-30T15:00:00"
    assert intake.parse_time("2017-01-30 15:30:10 UCT").isoformat() == "2017-01-30T15:30:10+00:00"
    assert intake.parse_time("2026-03-02T10:00:00+01:00").isoformat() == "2026-03-02T10:00:00+01:00"
    assert intake.parse_time("yesterday") is None


# ---------------------------------------------------------------- the LMS's zip, as downloaded

def entry(name: str, when=(2026, 3, 2, 10, 15, 0)) -> zipfile.ZipInfo:
    info = zipfile.ZipInfo(name, when)
    info.compress_type = zipfile.ZIP_DEFLATED
    return info


def make_zip(path: Path, entries: dict, when=(2026, 3, 2, 10, 15, 0)) -> Path:
    with zipfile.ZipFile(path, "w") as archive:
        for name, text in entries.items():
            archive.writestr(entry(name, when), text)
    return path


def test_a_canvas_zip_is_extracted_under_out_once(tmp_path):
    download = make_zip(tmp_path / "práctica1 submissions.zip", CANVAS_FILES)
    out = tmp_path / "out"
    folder = intake.open_submissions(download, out)
    assert folder.resolve().is_relative_to(out.resolve())
    subs = intake.find(folder, "auto").submissions
    assert len(subs) == 6 and subs["núñezjosé_340935"].late is True
    stamp = time.mktime((2026, 3, 2, 10, 15, 0, 0, 0, -1))  # the entry's time, as local time
    assert subs["smithbob_340934"].path.stat().st_mtime == stamp
    marker = (folder / ".grader-zip").stat().st_mtime_ns
    assert intake.open_submissions(download, out) == folder
    assert (folder / ".grader-zip").stat().st_mtime_ns == marker  # unchanged zip: not extracted again


def test_zip_names_written_without_the_utf8_flag_are_read_as_utf8(tmp_path):
    path = make_zip(tmp_path / "old.zip", {"José Núñez_12346_assignsubmission_file_/Práctica.ipynb": NOTEBOOK})
    data = bytearray(path.read_bytes())  # as old zip tools write it: UTF-8 bytes, without the UTF-8 flag
    for signature, offset in ((b"PK\x03\x04", 6), (b"PK\x01\x02", 8)):
        at = data.index(signature) + offset
        data[at + 1] &= ~0x08
    path.write_bytes(bytes(data))
    assert not zipfile.ZipFile(path).infolist()[0].flag_bits & 0x800
    folder = intake.open_submissions(path, tmp_path / "out")
    assert list(intake.find(folder).submissions) == ["José_Núñez_12346"]


def symlink_entry(name: str, target: str) -> tuple[zipfile.ZipInfo, str]:
    info = zipfile.ZipInfo(name)
    info.create_system = 3
    info.external_attr = (stat.S_IFLNK | 0o777) << 16
    return info, target


@pytest.mark.parametrize("entries, limits, problem", [
    ({"../escaped.ipynb": NOTEBOOK}, {}, "points outside the folder"),
    ({"/tmp/absolute.ipynb": NOTEBOOK}, {}, "points outside the folder"),
    ({"a/../../escaped.ipynb": NOTEBOOK}, {}, "points outside the folder"),
    ({"C:\\Users\\escaped.ipynb": NOTEBOOK}, {}, "points outside the folder"),
    ({"link.ipynb": symlink_entry("link.ipynb", "/etc/passwd")}, {}, "is a link or a special file"),
    ({"bomb.ipynb": "0" * 3_000_000}, {"max_bytes": 1_000_000}, "GiB once extracted"),
    ({f"n{i}.ipynb": NOTEBOOK for i in range(5)}, {"max_files": 4}, "5 files, more than the 4 allowed"),
], ids=["dot-dot", "absolute", "nested-dot-dot", "drive", "symlink", "bomb", "too-many"])
def test_a_hostile_zip_is_refused_whole(tmp_path, entries, limits, problem):
    path = tmp_path / "hostile.zip"
    with zipfile.ZipFile(path, "w") as archive:
        for name, content in entries.items():
            info, text = content if isinstance(content, tuple) else (entry(name), content)
            archive.writestr(info, text)
    target = tmp_path / "deep" / "target"
    with pytest.raises(BatchError) as raised:
        intake.extract(path, target, **limits)
    message = str(raised.value)
    assert message.startswith(f"{path}: ") and problem in message and "\n" not in message
    assert not (tmp_path / "deep" / "escaped.ipynb").exists() and not (tmp_path / "escaped.ipynb").exists()
    assert not any(p.is_symlink() for p in tmp_path.rglob("*"))


def test_a_corrupt_zip_is_one_line_naming_it(tmp_path):
    good = make_zip(tmp_path / "good.zip", {"smithbob_1_2_a.ipynb": NOTEBOOK * 50})
    broken = tmp_path / "broken.zip"
    data = bytearray(good.read_bytes())
    stored = zipfile.ZipFile(good).infolist()[0]
    start = stored.header_offset + 30 + len(stored.filename)   # the compressed data, not the directory
    data[start:start + stored.compress_size] = b"\xff" * stored.compress_size
    broken.write_bytes(bytes(data))
    with pytest.raises(BatchError, match=r"broken\.zip: not a valid zip file"):
        intake.open_submissions(broken, tmp_path / "out")
    assert not list((tmp_path / "out" / ".grader" / "submissions").iterdir())  # nothing half-extracted kept
    truncated = tmp_path / "truncated.zip"
    truncated.write_bytes(good.read_bytes()[:100])
    with pytest.raises(BatchError, match=r"truncated\.zip: not a valid zip file"):
        intake.open_submissions(truncated, tmp_path / "out")


def run(*arguments):
    return subprocess.run([sys.executable, "-m", "grader", *arguments], capture_output=True, text=True, timeout=120)


def test_command_line_errors_are_one_line(tmp_path):
    truncated = tmp_path / "entregas.zip"
    truncated.write_bytes(b"PK\x03\x04 not really")
    for completed, words in (
            (run("grade", str(truncated), "-a", "binary-addition", "--out", str(tmp_path / "o")),
             [str(truncated), "not a valid zip file"]),
            (run("grade", str(tmp_path), "-a", "binary-addition", "--out", str(tmp_path / "o"),
                 "--layout", "regex:(?P<student_id>\\d+)"), ["--layout", "missing file_id"])):
        lines = completed.stderr.strip().splitlines()
        assert completed.returncode != 0 and len(lines) == 1 and "Traceback" not in completed.stderr, completed.stderr
        assert all(word in lines[0] for word in words), lines[0]


# ---------------------------------------------------------------- extensions.csv

def test_extensions_by_submission_or_student_id(tmp_path):
    subs = intake.find(canvas_download(tmp_path / "in"), "canvas").submissions
    csv_file = write(tmp_path / "extensions.csv", "student,extra_hours,reason\nsmithbob_340934,24,enfermedad\n"
                                                  "340935,1.5,\nnadie,2,\n")
    extra, unknown = intake.read_extensions(csv_file, subs)
    assert extra == {"smithbob_340934": 24.0, "núñezjosé_340935": 1.5} and unknown == ["nadie"]
    assert subs["núñezjosé_340935"].intake(extra["núñezjosé_340935"])["extra_hours"] == 1.5
    assert intake.read_extensions(tmp_path / "none.csv", subs) == ({}, [])


@pytest.mark.parametrize("text, problem", [
    ("student,hours\nana,1\n", "needs the columns student and extra_hours"),
    ("student,extra_hours\nana,mucho\n", "line 2: extra_hours 'mucho' is not a number"),
    ("student,extra_hours\nana,-3\n", "line 2: extra_hours -3 is negative"),
])
def test_bad_extensions_name_file_and_line(tmp_path, text, problem):
    with pytest.raises(BatchError, match=problem):
        intake.read_extensions(write(tmp_path / "extensions.csv", text), {})
