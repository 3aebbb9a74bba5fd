"""No repeated work: what a second `grader grade` re-uses, re-evaluates or runs again.

One class graded five times in a row with the real command; each run's
files are snapshotted, and each test reads one step of that story:
the same command again, a change of points, --new-seed, a new reference.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.grade import Job, grade

from .expect import assert_errors_only

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
RUBRIC = """
[assignment]
name = "tiny-regrade"
reference = "reference.ipynb"
[limits]
cell_timeout = 60
notebook_timeout = 120
[[questions]]
id = "Q1"
  [[questions.checks]]
  kind = "numeric_answer"
  points = 1
  expected = 127
  tolerance = 0.5
  [[questions.checks]]
  kind = "code_runs"
  points = 1
"""


def notebook(path: Path, answer: str, extra: str = "") -> None:
    nb = nbformat.v4.new_notebook()
    nb.cells = [md("**Q1**: the largest number with 7 bits?"), md(answer), code(f"x = 2 ** 7 - 1\nprint(x){extra}")]
    nbformat.write(nb, path)


def snapshot(root: Path, out: Path, run) -> dict:
    cache = root / "cache" / "grader" / "reference" / "tiny-regrade"
    state = {"stderr": run.stderr, "returncode": run.returncode, "reference": {
        "execution": (cache / "execution.json").stat().st_mtime_ns,
        "result": json.loads((cache / "result.json").read_text())}}
    for sid in ("ana", "bea"):
        state[sid] = {"execution": (out / sid / "execution.json").stat().st_mtime_ns,
                      "result": json.loads((out / sid / "result.json").read_text())}
    return state


@pytest.fixture(scope="module")
def story(tmp_path_factory):
    root = tmp_path_factory.mktemp("regrade")
    rubric = root / "rubric.toml"
    rubric.write_text(RUBRIC)
    notebook(root / "reference.ipynb", "127")
    submissions = root / "submissions"
    submissions.mkdir()
    notebook(submissions / "ana.ipynb", "127")
    notebook(submissions / "bea.ipynb", "128")
    out = root / "out"
    extra = {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}
    env = {"XDG_CACHE_HOME": str(root / "cache"), "PATH": "/usr/bin:/bin", **extra}

    def run(*options, importtime=False):
        command = [sys.executable, *(["-X", "importtime"] if importtime else []), "-m", "grader", "grade",
                   str(submissions), "--assignment", str(rubric), "--out", str(out), "--lang", "en", *options]
        return snapshot(root, out, subprocess.run(command, capture_output=True, text=True, env=env, timeout=300))

    steps = {"first": run()}
    steps["again"] = run(importtime=True)
    rubric.write_text(RUBRIC.replace("points = 1\n  expected", "points = 3\n  expected")
                      .replace("tolerance = 0.5", "tolerance = 1.5"))
    steps["points"] = run()
    steps["new_seed"] = run("--new-seed")
    notebook(root / "reference.ipynb", "127", extra="\nprint('a new reference')")
    steps["new_reference"] = run()
    return steps


def test_every_run_succeeds(story):
    for name, step in story.items():
        assert step["returncode"] == 0, f"{name}: {step['stderr']}"
        for sid in ("ana", "bea", "reference"):
            assert_errors_only(step[sid]["result"])


def test_the_same_command_again_reuses_everything(story):
    first, again = story["first"], story["again"]
    for sid in ("ana", "bea"):
        assert again[sid]["execution"] == first[sid]["execution"]   # no notebook ran
        assert again[sid]["result"] == first[sid]["result"]
    assert again["reference"]["execution"] == first["reference"]["execution"]  # the cached reference too
    stderr = again["stderr"]
    assert stderr.count("unchanged, result re-used") == 2
    assert "reference.ipynb" in stderr and "unchanged, re-used" in stderr
    assert "worker(s)" not in stderr          # no worker was even started
    assert "tensorflow" not in stderr and "import time: " in stderr and "grader.cli" in stderr  # -X importtime


def test_a_change_of_points_re_evaluates_without_running_notebooks(story):
    again, points = story["again"], story["points"]
    for sid in ("ana", "bea"):
        assert points[sid]["execution"] == again[sid]["execution"]
        assert "notebook already run (saved execution re-used), evaluating" in points["stderr"]
    assert points["reference"]["execution"] == again["reference"]["execution"]
    assert points["ana"]["result"]["max_score"] == 4 and points["ana"]["result"]["score"] == 4
    assert points["bea"]["result"]["score"] == 4          # 128 is now within the tolerance
    assert again["bea"]["result"]["score"] == 1
    assert points["ana"]["result"]["seed"] == again["ana"]["result"]["seed"]


def test_new_seed_draws_new_data_without_running_notebooks(story):
    points, new = story["points"], story["new_seed"]
    assert new["ana"]["result"]["seed"] != points["ana"]["result"]["seed"]
    assert new["ana"]["result"]["seed"] == new["bea"]["result"]["seed"] == new["reference"]["result"]["seed"]
    for sid in ("ana", "bea"):
        assert new[sid]["execution"] == points[sid]["execution"]
    assert new["reference"]["execution"] == points["reference"]["execution"]


def test_a_new_reference_runs_again_but_students_do_not(story):
    before, after = story["new_seed"], story["new_reference"]
    assert after["reference"]["execution"] != before["reference"]["execution"]
    for sid in ("ana", "bea"):
        assert after[sid]["execution"] == before[sid]["execution"]


def test_the_reference_values_are_part_of_the_evaluation_key(tmp_path):
    """Relative bands depend on what the reference measured: new values re-evaluate, without running."""
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    notebook(tmp_path / "ana.ipynb", "127")
    job = Job(submission="ana", notebook=str(tmp_path / "ana.ipynb"), assignment=str(tmp_path / "rubric.toml"),
              out_dir=str(tmp_path / "out"), seed=1, lang="en", reference={"Q9#0": 0.9},
              cache_dir=str(tmp_path / "cache"))
    events = []
    grade(job, events.append)
    assert any(e["event"] == "cell" for e in events)
    events.clear()
    grade(job, events.append)
    assert [e["event"] for e in events] == ["reused"]
    events.clear()
    job.reference = {"Q9#0": 0.5}
    grade(job, events.append)
    kinds = [e["event"] for e in events]
    assert "reused_execution" in kinds and "cell" not in kinds


def test_reports_render_without_tensorflow(story, tmp_path):
    """Rendering results (report, gradebook, class summary) must not import TensorFlow or Keras."""
    script = f"""
import sys, json
from pathlib import Path
from grader.result import Result
from grader.report import write_report, write_gradebook, write_index
results = []
for path in sorted(Path({str(tmp_path)!r}).glob("*.json")):
    results.append(Result.from_dict(json.loads(path.read_text())))
for r in results:
    write_report(r, Path({str(tmp_path)!r}) / (r.submission + ".html"), "en")
write_gradebook(results, Path({str(tmp_path)!r}) / "gradebook.csv", ["Q1"])
write_index(results, "tiny", Path({str(tmp_path)!r}) / "index.html", "en")
heavy = sorted(m for m in sys.modules if m.split(".")[0] in ("tensorflow", "keras", "tf_keras"))
print(json.dumps(heavy))
"""
    for sid in ("ana", "bea"):
        (tmp_path / f"{sid}.json").write_text(json.dumps(story["points"][sid]["result"]))
    env = {**os.environ, "PYTHONPATH": os.environ.get("PYTHONPATH", "")}
    run = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, env=env, timeout=120)
    assert run.returncode == 0, run.stderr
    assert json.loads(run.stdout.strip().splitlines()[-1]) == []
    assert (tmp_path / "ana.html").is_file() and (tmp_path / "index.html").is_file()
