"""One notebook, a new seed: the reference's measurement overlaps the student's kernel instead of preceding it.

``grader check --assignment`` and a one-worker ``grader grade`` with a fresh output folder draw a new seed, so
the reference's saved models must be measured again (TensorFlow imported, models loaded) before the student's
grade can be computed. When the reference's notebook is already executed in the cache, the student's notebook
runs meanwhile; a reference whose notebook must run first still runs alone. Kernels and TensorFlow are replaced
here by stand-ins that record the order of events, so these tests take no time; the real overlap is timed by
bench/overhead.py.
"""
import threading
from dataclasses import replace

import nbformat
import pytest

import grader.batch
import grader.grade
from grader.cli import main
from grader.execute.runner import Execution
from grader.grade import Job, execute_ahead, grade
from grader.result import Check, Result

from .builders import question, rubric_toml, seven_bits

RUBRIC = rubric_toml("overlap", question("Q1", seven_bits()))
MEASURED = {"Q1#0": {"metric": "exact_accuracy", "value": 0.9}}


@pytest.fixture
def assignment(tmp_path, monkeypatch):
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_markdown_cell("**Q1** The largest number with 7 bits?"),
                      nbformat.v4.new_markdown_cell("127")]
    nbformat.write(notebook, tmp_path / "reference.ipynb")
    (tmp_path / "submissions").mkdir()
    nbformat.write(notebook, tmp_path / "submissions" / "ana.ipynb")
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path / "cache"))
    return tmp_path


class Recorder:
    """Stand-ins for the student's execution and for grading, which record what happened in which order.

    The reference's measurement waits (up to ``patience`` s) for the student's execution to start: with the
    overlap it does, without it the wait runs out.
    """

    def __init__(self, monkeypatch, reference_executed: bool, patience: float = 5.0):
        self.events, self.references = [], []
        self.student_started = threading.Event()
        self.patience = patience
        monkeypatch.setattr(grader.batch, "needs_execution",
                            lambda job: not (reference_executed and job.submission == "reference"))
        monkeypatch.setattr(grader.batch, "execute_ahead", self.execute)
        monkeypatch.setattr(grader.batch, "grade", self.grade)

    def execute(self, job, progress):
        self.events.append(f"{job.submission} executes")
        self.student_started.set()

    def grade(self, job, progress=None):
        if job.submission == "reference":
            overlapped = self.student_started.wait(self.patience)
            self.events.append("reference measured" + (" during the student's execution" if overlapped else ""))
            return Result("reference", "overlap", 1, 1, job.seed, [Check("Q1", "Q1", 1, 1, "passed", "")],
                          measured=MEASURED)
        self.events.append(f"{job.submission} graded")
        self.references.append(job.reference)
        return Result(job.submission, "overlap", 1, 1, job.seed, [Check("Q1", "Q1", 1, 1, "passed", "")])


COMMANDS = {
    "check": lambda root: ["check", str(root / "submissions" / "ana.ipynb"), "--assignment", str(root / "rubric.toml"),
                           "--out", str(root / "out")],
    "grade": lambda root: ["grade", str(root / "submissions"), "--assignment", str(root / "rubric.toml"),
                           "--out", str(root / "out"), "--workers", "1"],
}


@pytest.mark.parametrize("command", COMMANDS)
def test_the_students_notebook_runs_while_the_reference_is_measured(assignment, monkeypatch, command):
    recorder = Recorder(monkeypatch, reference_executed=True)
    assert main([*COMMANDS[command](assignment), "--lang", "en"]) == 0
    assert recorder.events == ["ana executes", "reference measured during the student's execution", "ana graded"]
    assert recorder.references == [MEASURED]  # the student's grade waited for the reference's values


@pytest.mark.parametrize("command", COMMANDS)
def test_a_reference_whose_notebook_must_run_runs_alone_first(assignment, monkeypatch, command):
    recorder = Recorder(monkeypatch, reference_executed=False, patience=0.5)
    assert main([*COMMANDS[command](assignment), "--lang", "en"]) == 0
    assert recorder.events == ["reference measured", "ana graded"]
    assert recorder.references == [MEASURED]


def test_a_notebook_run_ahead_is_graded_once_and_its_time_counted(assignment, monkeypatch):
    runs, events = [], []

    def execute(job, rubric, notebook, sandbox, limits, out, key, progress):
        runs.append(job.submission)
        return Execution([], notebook, out / "models", {}, [], seconds=5.0)
    monkeypatch.setattr(grader.grade, "_execute", execute)
    job = Job(submission="ana", notebook=str(assignment / "submissions" / "ana.ipynb"),
              assignment=str(assignment / "rubric.toml"), out_dir=str(assignment / "out" / "ana"), seed=1, lang="en",
              cache_dir=str(assignment / "cache"))
    execute_ahead(job, events.append)
    result = grade(replace(job, reference={}), events.append)
    assert runs == ["ana"]
    assert {"event": "reused_execution"} not in events  # it was not run by an earlier grading
    assert (result.score, result.timings["execute"]) == (1, 5.0)
    assert result.timings["total"] >= 5.0
