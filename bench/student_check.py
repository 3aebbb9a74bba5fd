"""Self-check in the notebook: how long checker.check("Q4") takes in the student's own kernel.

Usage: .venv/bin/python bench/student_check.py [--repeats 3]

Makes binary-addition's student pack (``grader pack``; the reference runs once, in the bench's own cache),
then runs the sample submission submissions/binary-addition/ana_strong.ipynb in a plain Jupyter kernel, as
a student's Jupyter would (``JPY_SESSION_NAME`` names the file), so that TensorFlow is imported and the
models trained. Then, in that kernel, it times ``Checker(pack)``, ``checker.check("Q4")`` (the first call
saves the kernel's models, loads them for the grader and measures; later calls re-use what did not change)
and ``checker.check_all()``. The target: ``check("Q4")`` under 5 s with TensorFlow already imported.
"""
from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
from pathlib import Path

import nbformat
from nbclient import NotebookClient

sys.path.insert(0, str(Path(__file__).parent))
from common import GRADER, ROOT, env, table, wait_until_quiet, workdir

TIMING = """
import json, time
started = time.perf_counter()
from grader.student import Checker
checker = Checker({pack!r}, seed=1, lang="en")
timings = {{"Checker(pack)": time.perf_counter() - started}}
for repeat in range({repeats}):
    started = time.perf_counter()
    report = checker.check("Q4")
    timings[f"check('Q4') #{{repeat + 1}}"] = time.perf_counter() - started
started = time.perf_counter()
everything = checker.check_all()
timings["check_all()"] = time.perf_counter() - started
with open("timings.json", "w") as handle:
    json.dump({{"seconds": timings, "Q4 points": report.points["Q4"], "models": len(checker._saved)}}, handle)
"""


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    root = workdir("student")
    shutil.rmtree(root, ignore_errors=True)
    root.mkdir(parents=True)
    made = subprocess.run([*GRADER, "pack", "--assignment", "binary-addition", "--out", str(root), "--seed", "1"],
                          capture_output=True, text=True, env=env(root / "cache"), cwd=ROOT)
    if made.returncode != 0:
        sys.exit(made.stderr[-2000:])
    notebook = root / "ana_strong.ipynb"
    shutil.copy(ROOT / "submissions" / "binary-addition" / "ana_strong.ipynb", notebook)
    running = nbformat.read(notebook, as_version=4)
    running.cells.append(nbformat.v4.new_code_cell(TIMING.format(pack=str(root / "binary-addition.pack"),
                                                                 repeats=args.repeats)))
    wait_until_quiet()
    NotebookClient(running, timeout=1800, kernel_name="python3", resources={"metadata": {"path": str(root)}}
                   ).execute(env={**os.environ, "JPY_SESSION_NAME": str(notebook)})
    measured = json.loads((root / "timings.json").read_text())
    print(table([(name, f"{seconds:.2f}") for name, seconds in measured["seconds"].items()],
                ("in the student's kernel, TensorFlow imported", "seconds")))
    print(f"  Q4: {measured['Q4 points']:g} points; {measured['models']} model(s) in the kernel")


if __name__ == "__main__":
    main()
