"""Peers: the same small notebook graded by nbgrader autograde, Otter-Grader (otter run) and grader.

Usage: .venv/bin/python bench/peers.py PEER_VENV [--students 4] [--repeats 2]

PEER_VENV is a separate virtualenv with nbgrader and otter-grader (they pin
versions that conflict with ours; never install them into .venv):

    python3 -m venv /tmp/peers-venv && /tmp/peers-venv/bin/pip install nbgrader otter-grader

The notebook: a question, its answer written in markdown, and one code cell
``answer = 2 ** 7 - 1``. The checks, as near as each tool allows:
nbgrader and Otter run ``assert answer == 127`` after the student's code;
grader judges the written answer (numeric_answer) and that the code ran
(code_runs). Each tool grades ``--students`` copies as one batch: nbgrader
autograde (one command, serial by design), otter run once per submission
(its batch command needs Docker), grader grade with 1 and 2 workers. The
one-off set-up of each tool (nbgrader generate_assignment, otter assign,
grader's reference solution) is done before timing. No network is needed.
"""
from __future__ import annotations

import argparse
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat

sys.path.insert(0, str(Path(__file__).parent))
from common import Timed, grade, grade_per_submission, median, results, table, trivial_rubric, wait_until_quiet, workdir

md, code, raw = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell, nbformat.v4.new_raw_cell
KERNELSPEC = {"name": "python3", "display_name": "Python 3", "language": "python"}
STUDENT_CODE = "answer = 2 ** 7 - 1\nprint(answer)"
QUESTION = "**Q1**: the largest number with 7 bits?"


def versions(venv: Path) -> dict:
    script = ("import importlib.metadata as m, json; "
              "print(json.dumps({p: m.version(p) for p in ('nbgrader', 'otter-grader', 'nbclient', 'ipykernel')}))")
    run = subprocess.run([str(venv / "bin" / "python"), "-c", script], capture_output=True, text=True)
    if run.returncode != 0:
        raise SystemExit(f"{venv}: cannot read the peers' versions:\n{run.stderr[-1500:]}")
    import json
    return json.loads(run.stdout)


def run(command: list, cwd: Path, what: str) -> Timed:
    """Run a peer's command with its venv first on PATH (nbgrader calls `alembic` by name)."""
    venv_bin = Path(command[0]).parent
    env = {k: v for k, v in os.environ.items() if k != "PYTHONPATH"}
    env["PATH"] = f"{venv_bin}:{env.get('PATH', '/usr/bin:/bin')}"
    timed = Timed([str(c) for c in command], cwd=cwd, env=env)
    if timed.run.returncode != 0:
        raise SystemExit(f"{what} failed ({timed.run.returncode}):\n{timed.run.stdout[-1500:]}\n"
                         f"{timed.run.stderr[-2500:]}")
    return timed


def setup_nbgrader(root: Path, venv: Path, students: int) -> Path:
    course = root / "nbgrader"
    (course / "source" / "ps1").mkdir(parents=True)
    (course / "nbgrader_config.py").write_text('c = get_config()\nc.CourseDirectory.course_id = "bench"\n')
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNELSPEC})
    answer = code("### BEGIN SOLUTION\n" + STUDENT_CODE + "\n### END SOLUTION")
    answer.metadata["nbgrader"] = {"grade": False, "solution": True, "locked": False, "task": False,
                                   "grade_id": "answer", "schema_version": 3}
    test = code("assert answer == 127")
    test.metadata["nbgrader"] = {"grade": True, "solution": False, "locked": True, "task": False,
                                 "grade_id": "test_answer", "points": 1, "schema_version": 3}
    nb.cells = [md(QUESTION), answer, test]
    nbformat.write(nb, course / "source" / "ps1" / "ps1.ipynb")
    run([venv / "bin" / "nbgrader", "generate_assignment", "ps1", "--force"], course, "nbgrader generate_assignment")
    released = nbformat.read(course / "release" / "ps1" / "ps1.ipynb", as_version=4)
    for cell in released.cells:
        if cell.metadata.get("nbgrader", {}).get("solution"):
            cell.source = STUDENT_CODE
    for i in range(students):
        folder = course / "submitted" / f"student{i + 1:02d}" / "ps1"
        folder.mkdir(parents=True)
        nbformat.write(released, folder / "ps1.ipynb")
    return course


def grade_nbgrader(course: Path, venv: Path) -> tuple[Timed, list[float]]:
    shutil.rmtree(course / "autograded", ignore_errors=True)
    timed = run([venv / "bin" / "nbgrader", "autograde", "ps1", "--force"], course, "nbgrader autograde")
    run([venv / "bin" / "nbgrader", "export"], course, "nbgrader export")
    import csv
    scores = [float(row["score"]) for row in csv.DictReader((course / "grades.csv").open())]
    return timed, scores


def setup_otter(root: Path, venv: Path, students: int) -> tuple[Path, Path, list[Path]]:
    folder = root / "otter"
    folder.mkdir()
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNELSPEC})
    nb.cells = [raw("# ASSIGNMENT CONFIG\ninit_cell: true\ncheck_all_cell: false\nexport_cell: false\n"
                    "run_tests: false\ngenerate: true"),
                raw("# BEGIN QUESTION\nname: q1\npoints: 1"), md(QUESTION),
                raw("# BEGIN SOLUTION"), code("answer = 2 ** 7 - 1 # SOLUTION\nprint(answer)"), raw("# END SOLUTION"),
                raw("# BEGIN TESTS"), code("assert answer == 127"), raw("# END TESTS"), raw("# END QUESTION")]
    nbformat.write(nb, folder / "lab.ipynb")
    run([venv / "bin" / "otter", "assign", "lab.ipynb", "dist"], folder, "otter assign")
    zip_file = next((folder / "dist" / "autograder").glob("*.zip"))
    student = nbformat.read(folder / "dist" / "student" / "lab.ipynb", as_version=4)
    for cell in student.cells:
        cell.source = cell.source.replace("answer = ...", "answer = 2 ** 7 - 1")
    submissions = []
    for i in range(students):
        path = folder / "submissions" / f"student{i + 1:02d}.ipynb"
        path.parent.mkdir(exist_ok=True)
        nbformat.write(student, path)
        submissions.append(path)
    return folder, zip_file, submissions


def grade_otter(folder: Path, zip_file: Path, submissions: list[Path], venv: Path) -> tuple[float, float, list[float]]:
    import json
    wall = cpu = 0.0
    scores = []
    for path in submissions:
        out = folder / "out" / path.stem
        shutil.rmtree(out, ignore_errors=True)
        out.mkdir(parents=True)
        timed = run([venv / "bin" / "otter", "run", "--no-logo", "-a", zip_file, "-o", out, path], folder, "otter run")
        wall, cpu = wall + timed.wall, cpu + timed.cpu
        tests = json.loads((out / "results.json").read_text())["tests"]
        scores.append(sum(t.get("score") or 0 for t in tests))
    return wall, cpu, scores


def setup_grader(root: Path, students: int) -> tuple[Path, Path]:
    folder = root / "grader"
    (folder / "submissions").mkdir(parents=True)
    (folder / "rubric.toml").write_text(trivial_rubric("bench-peers"))
    nb = nbformat.v4.new_notebook(metadata={"kernelspec": KERNELSPEC})
    nb.cells = [md(QUESTION), md("127"), code(STUDENT_CODE)]
    nbformat.write(nb, folder / "reference.ipynb")
    for i in range(students):
        nbformat.write(nb, folder / "submissions" / f"student{i + 1:02d}.ipynb")
    grade(folder / "submissions", folder / "rubric.toml", folder / "warm", folder / "cache", "--seed", "1")
    return folder, folder / "rubric.toml"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("venv", type=Path, help="virtualenv with nbgrader and otter-grader (e.g. /tmp/peers-venv)")
    parser.add_argument("--students", type=int, default=4)
    parser.add_argument("--repeats", type=int, default=2)
    args = parser.parse_args()
    venv = args.venv.resolve()
    missing = [tool for tool in ("nbgrader", "otter") if not (venv / "bin" / tool).exists()]
    if missing:
        raise SystemExit(f"peers: {venv} has no {' and no '.join(missing)}. Create it with:\n"
                         f"  python3 -m venv {venv} && {venv}/bin/pip install nbgrader otter-grader\n"
                         f"(a separate venv: they pin versions that conflict with grader's)")
    found = versions(venv)
    print("peers: " + ", ".join(f"{k} {v}" for k, v in found.items()), flush=True)
    root = workdir("peers")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    course = setup_nbgrader(root, venv, args.students)
    otter_folder, zip_file, otter_subs = setup_otter(root, venv, args.students)
    ours, rubric = setup_grader(root, args.students)

    figures = {name: {"wall": [], "cpu": [], "scores": None} for name in
               ("nbgrader autograde", "otter run", "grader grade --workers 1", "grader grade --workers 2")}
    for i in range(args.repeats):
        quiet = wait_until_quiet()
        timed, scores = grade_nbgrader(course, venv)
        figures["nbgrader autograde"].update(scores=scores)
        figures["nbgrader autograde"]["wall"].append(timed.wall)
        figures["nbgrader autograde"]["cpu"].append(timed.cpu)
        wall, cpu, scores = grade_otter(otter_folder, zip_file, otter_subs, venv)
        figures["otter run"].update(scores=scores)
        figures["otter run"]["wall"].append(wall)
        figures["otter run"]["cpu"].append(cpu)
        for workers in (1, 2):
            out = ours / f"out-{workers}-{i}"
            timed = grade_per_submission(ours / "submissions", rubric, out, ours / "cache",
                                         "--seed", "1", "--workers", str(workers))
            name = f"grader grade --workers {workers}"
            figures[name].update(scores=[r["score"] for r in results(out).values()])
            figures[name]["wall"].append(timed.wall)
            figures[name]["cpu"].append(timed.cpu)
        print(f"  run {i + 1} (machine {quiet:.0f} % busy before): "
              + ", ".join(f"{name} {f['wall'][-1]:.1f} s" for name, f in figures.items()), flush=True)

    base = median(figures["grader grade --workers 2"]["wall"])
    base_cpu = median(figures["grader grade --workers 1"]["cpu"])
    rows = []
    for name, f in figures.items():
        wall, cpu = median(f["wall"]), median(f["cpu"])
        rows.append((name, f"{wall:.1f}", f"{wall / args.students:.2f}", f"{cpu:.1f}",
                     f"{wall / base:.2f}", f"{cpu / base_cpu:.2f}", " ".join(f"{s:g}" for s in f["scores"])))
    print()
    print(table(rows, (f"{args.students} copies graded by", "wall s", "s per notebook", "CPU s",
                       "wall vs grader -j2", "CPU vs grader -j1", "scores")))


if __name__ == "__main__":
    main()
