"""Intake and export for a class of 300: each must stay under a second.

In ``$BENCH_DIR/grader-bench-lms`` it writes a Canvas download of 300
students (as a folder and as the zip; one in ten late, one in ten with a
second upload, one in thirty with a script instead of a notebook), a Moodle
download of 300 (one folder each), and 300 empty results (every question
zero, with their reports) as ``grader grade`` leaves them. Then it times
the intake (finding the students in each download, extracting the zip the
first time and finding it unchanged the next) and the three exports, as
function calls (best of ``--repeats``) and as whole ``grader export``
commands (the interpreter's start and imports included).
"""
from __future__ import annotations

import argparse
import csv
import os
import shutil
import statistics
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
from bench.common import GRADER, ROOT, table, workdir
from grader import intake
from grader.grade import write_outputs
from grader.report import lms
from grader.result import Check, Result
from grader.rubric import load


def notebook(kilobytes: int, seed: int) -> str:
    """A notebook of about ``kilobytes`` KB: some code and a long markdown cell of text that compresses like prose."""
    words = ["red", "neuronal", "capa", "entrenamiento", "pérdida", "época", "modelo", "datos", "precisión"]
    text = " ".join(words[(seed * 7 + i * i) % len(words)] for i in range(kilobytes * 120))
    return nbformat.writes(nbformat.v4.new_notebook(cells=[
        nbformat.v4.new_markdown_cell(text), nbformat.v4.new_code_cell("model.fit(x, y, epochs=10)")]))


def canvas_names(students: int) -> list[tuple[str, int]]:
    """(file name, student number) of a Canvas download, as lib/content_zipper.rb names them."""
    names = []
    for n in range(students):
        person, late = f"apellido{n}nombre", "_LATE" if n % 10 == 3 else ""
        if n % 30 == 7:
            names.append((f"{person}{late}_{400000 + n}_{9000000 + n}_practica.py", n))
            continue
        names.append((f"{person}{late}_{400000 + n}_{9000000 + n}_Práctica 1.ipynb", n))
        if n % 10 == 5:
            names.append((f"{person}{late}_{400000 + n}_{9500000 + n}_Práctica 1-1.ipynb", n))
    return names


def write_class(root: Path, students: int, kilobytes: int) -> dict:
    shutil.rmtree(root, ignore_errors=True)
    canvas, moodle, out = root / "canvas", root / "moodle", root / "out"
    canvas.mkdir(parents=True)
    download = root / "submissions.zip"
    with zipfile.ZipFile(download, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, n in canvas_names(students):
            text = "print('hola')\n" if name.endswith(".py") else notebook(kilobytes, n)
            (canvas / name).write_text(text, encoding="utf-8")
            archive.writestr(name, text)
    for n in range(students):
        folder = moodle / f"Nombre{n} Apellido{n}_{12000 + n}_assignsubmission_file"
        folder.mkdir(parents=True)
        (folder / "Práctica1.ipynb").write_text(notebook(kilobytes, n), encoding="utf-8")
    rubric = load("binary-addition")
    for n in range(students):
        checks = [Check(q.id, q.title, 0.0, q.max_score, "fail", "No answer.") for q in rubric.questions]
        result = Result(f"Nombre{n}_Apellido{n}_{12000 + n}", rubric.name, 0.0, rubric.max_score, 1, checks,
                        student_id=str(12000 + n), name=f"Nombre{n} Apellido{n}", raw_score=0.0)
        write_outputs(result, out / result.submission, "es")
    roster = root / "roster.csv"
    with roster.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Student", "ID", "SIS User ID", "SIS Login ID", "Section", "Práctica 1 (123456)"])
        writer.writerow(["    Points Possible", "", "", "", "", "10.00"])
        writer.writerows([f"Apellido{n}, Nombre{n}", 12000 + n, f"A{n}", f"u{n}", "S1", ""] for n in range(students))
    worksheet = root / "worksheet.csv"
    with worksheet.open("w", encoding="utf-8-sig", newline="") as handle:
        writer = csv.writer(handle)
        writer.writerow(["Identifier", "Full name", "Email address", "Status", "Grade", "Maximum Grade",
                         "Grade can be changed", "Last modified (submission)", "Last modified (grade)",
                         "Feedback comments"])
        writer.writerows([f"Participant {12000 + n}", f"Nombre{n} Apellido{n}", f"u{n}@uni.es",
                          "Submitted for grading", "", "10.00", "Yes", "Monday, 2 March 2026, 10:15 AM", "-", ""]
                         for n in range(students))
    return {"canvas": canvas, "moodle": moodle, "zip": download, "out": out, "roster": roster,
            "worksheet": worksheet}


def best(repeats: int, work) -> tuple[float, object]:
    times, value = [], None
    for _ in range(repeats):
        started = time.perf_counter()
        value = work()
        times.append(time.perf_counter() - started)
    return min(times), value


def command_seconds(argv: list) -> float:
    started = time.perf_counter()
    done = subprocess.run(list(map(str, argv)), capture_output=True, text=True, cwd=ROOT)
    if done.returncode != 0:
        raise SystemExit(f"{argv[:4]} failed:\n{done.stderr[-2000:]}")
    return time.perf_counter() - started


def command(*arguments) -> float:
    return command_seconds([*GRADER, *arguments])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--students", type=int, default=300)
    parser.add_argument("--kilobytes", type=int, default=100, help="size of each notebook (default 100 KB)")
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    root = workdir("lms")
    files = write_class(root / "class", args.students, args.kilobytes)
    out, extracted = files["out"], root / "extracted"
    results = lms.load_results(out)
    rows = []

    def timed(what, work, check):
        seconds, value = best(args.repeats, work)
        rows.append((what, f"{seconds:.3f}", check(value)))

    timed("intake: Canvas folder", lambda: intake.find(files["canvas"]), lambda t: f"{len(t.submissions)} students")
    timed("intake: Moodle folders", lambda: intake.find(files["moodle"]), lambda t: f"{len(t.submissions)} students")
    shutil.rmtree(extracted, ignore_errors=True)
    seconds, folder = best(1, lambda: intake.open_submissions(files["zip"], extracted))
    size = sum(p.stat().st_size for p in folder.iterdir()) / 1024**2
    rows.append(("intake: extract the Canvas zip, first time", f"{seconds:.3f}", f"{size:.0f} MB written"))
    timed("intake: the same zip again (re-used)", lambda: intake.open_submissions(files["zip"], extracted),
          lambda f: "not extracted again")
    timed("load 300 results", lambda: lms.load_results(out), lambda r: f"{len(r)} results")
    timed("export canvas", lambda: lms.canvas(results, files["roster"], "Práctica 1 (123456)", root / "c.csv"),
          lambda m: f"{m.written} rows")
    timed("export moodle", lambda: lms.moodle(results, files["worksheet"], root / "m.csv"),
          lambda m: f"{m.written} rows")
    timed("export moodle-feedback", lambda: lms.moodle_feedback(results, out, root / "f.zip"),
          lambda m: f"{m.written} reports")
    imports = [command_seconds([sys.executable, "-c", "import grader.cli"]) for _ in range(3)]
    rows.append(("python -c 'import grader.cli' (every command pays it)", f"{statistics.median(imports):.3f}",
                 "median of 3"))
    for target, options in (("canvas", ["--roster", files["roster"], "--column", "Práctica 1 (123456)"]),
                            ("moodle", ["--worksheet", files["worksheet"]]), ("moodle-feedback", [])):
        runs = [command("export", target, out, *options, "--out", root / f"command-{target}") for _ in range(3)]
        rows.append((f"grader export {target} (whole command)", f"{statistics.median(runs):.3f}", "median of 3"))
    print(f"{args.students} students, notebooks of about {args.kilobytes} KB; {os.cpu_count()} cores")
    print(table(rows, ("step", "seconds", "")))


if __name__ == "__main__":
    main()
