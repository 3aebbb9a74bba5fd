"""Bad input to the grader gets one line naming the problem and a non-zero exit, never a traceback."""
import os
import subprocess
import sys
import tempfile

import pytest

from grader.rubric import RUBRICS_DIR


def run(*arguments, cwd=None, env=None):
    return subprocess.run([sys.executable, "-m", "grader", *arguments], capture_output=True, text=True,
                          timeout=120, cwd=cwd, env=env)


def one_line_error(completed, *words):
    assert completed.returncode != 0
    lines = completed.stderr.strip().splitlines()
    assert "Traceback" not in completed.stderr
    assert len(lines) == 1, completed.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_missing_folder(tmp_path):
    one_line_error(run("grade", str(tmp_path / "nope"), "-a", "binary-addition", "--out", str(tmp_path / "o")),
                   "nope", "no such folder")


def test_unknown_assignment(tmp_path):
    (tmp_path / "a.ipynb").write_text("{}")
    one_line_error(run("grade", str(tmp_path), "-a", "astrology", "--out", str(tmp_path / "o")),
                   "unknown assignment 'astrology'")


def test_broken_rubric(tmp_path):
    rubric = tmp_path / "broken.toml"
    rubric.write_text('[assignment]\nname = "x"\n[[questions]]\nid = "Q1"\n  [[questions.checks]]\n  kind = "magic"\n')
    (tmp_path / "a.ipynb").write_text("{}")
    one_line_error(run("grade", str(tmp_path), "-a", str(rubric), "--out", str(tmp_path / "o")),
                   str(rubric), "questions.Q1.checks[0].kind")


def test_folder_without_notebooks(tmp_path):
    (tmp_path / "notes.txt").write_text("hi")
    one_line_error(run("grade", str(tmp_path), "-a", "binary-addition", "--out", str(tmp_path / "o")),
                   "no .ipynb notebooks")


@pytest.mark.nonroot  # root can write anywhere
def test_output_not_writable(tmp_path):
    (tmp_path / "a.ipynb").write_text("{}")
    locked = tmp_path / "locked"
    locked.mkdir(mode=0o500)
    one_line_error(run("grade", str(tmp_path), "-a", "binary-addition", "--out", str(locked / "o")), "not writable")


def test_output_is_a_file(tmp_path):
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "taken").write_text("a file")
    one_line_error(run("grade", str(tmp_path), "-a", "binary-addition", "--out", str(tmp_path / "taken")),
                   "taken", "not writable")


def test_check_missing_notebook(tmp_path):
    one_line_error(run("check", str(tmp_path / "mine.ipynb"), "-a", "binary-addition"), "mine.ipynb", "no such file")


def test_bad_manual_scores(tmp_path):
    (tmp_path / "a.ipynb").write_text("{}")
    (tmp_path / "manual_scores.csv").write_text("submission,question,points\na,Q9,1\n")
    one_line_error(run("grade", str(tmp_path), "-a", "binary-addition", "--out", str(tmp_path / "o")),
                   "manual_scores.csv", "line 2", "unknown question 'Q9'")


def test_bad_memory_limit(tmp_path):
    one_line_error(run("grade", str(tmp_path), "-a", "binary-addition", "--out", str(tmp_path / "o"),
                       "--memory-limit", "lots"), "--memory-limit", "'lots' is not a size")


def test_bad_timeout(tmp_path):
    one_line_error(run("grade", str(tmp_path), "-a", "binary-addition", "--out", str(tmp_path / "o"),
                       "--cell-timeout", "-3"), "--cell-timeout", "not a positive number")


def test_missing_option(tmp_path):
    one_line_error(run("grade", str(tmp_path), "--out", str(tmp_path / "o")), "--assignment")


def test_grade_given_a_file(tmp_path):
    (tmp_path / "one.ipynb").write_text("{}")
    one_line_error(run("grade", str(tmp_path / "one.ipynb"), "-a", "binary-addition", "--out", str(tmp_path / "o")),
                   "one.ipynb", "not a folder", "grader check")


def test_check_a_file_that_is_not_a_notebook(tmp_path):
    (tmp_path / "notes.txt").write_text("my notes")
    one_line_error(run("check", str(tmp_path / "notes.txt"), "-a", "binary-addition", "--out", str(tmp_path / "o")),
                   "notes.txt", "not a Jupyter notebook")


def test_check_a_broken_notebook(tmp_path):
    (tmp_path / "mine.ipynb").write_text('{"cells": [')
    one_line_error(run("check", str(tmp_path / "mine.ipynb"), "-a", "binary-addition", "--out", str(tmp_path / "o")),
                   "mine.ipynb", "not a Jupyter notebook")


def test_check_a_folder(tmp_path):
    (tmp_path / "mine.ipynb").mkdir()
    one_line_error(run("check", str(tmp_path / "mine.ipynb"), "-a", "binary-addition"), "mine.ipynb", "a folder")


def test_check_unknown_assignment(tmp_path):
    (tmp_path / "mine.ipynb").write_text('{"nbformat": 4, "nbformat_minor": 5, "metadata": {}, "cells": []}')
    one_line_error(run("check", str(tmp_path / "mine.ipynb"), "-a", "astrology"), "unknown assignment 'astrology'")


@pytest.mark.nonroot  # root reads any file
def test_check_unreadable_notebook(tmp_path):
    notebook = tmp_path / "mine.ipynb"
    notebook.write_text("{}")
    notebook.chmod(0)
    one_line_error(run("check", str(notebook), "-a", "binary-addition"), "mine.ipynb", "cannot be read")


def test_rubric_that_is_not_toml(tmp_path):
    (tmp_path / "rubric.toml").write_text("[assignment\nname =")
    (tmp_path / "a.ipynb").write_text("{}")
    one_line_error(run("grade", str(tmp_path), "-a", str(tmp_path / "rubric.toml"), "--out", str(tmp_path / "o")),
                   "rubric.toml", "not valid TOML")


def test_rubric_file_missing(tmp_path):
    (tmp_path / "a.ipynb").write_text("{}")
    one_line_error(run("grade", str(tmp_path), "-a", str(tmp_path / "nope.toml"), "--out", str(tmp_path / "o")),
                   "nope.toml")


def test_rubric_without_its_reference(tmp_path):
    (tmp_path / "rubric.toml").write_text('[assignment]\nname = "x"\nreference = "gone.ipynb"\n[[questions]]\n'
                                          'id = "Q1"\n  [[questions.checks]]\n  kind = "code_runs"\n  points = 1\n')
    (tmp_path / "a.ipynb").write_text("{}")
    one_line_error(run("grade", str(tmp_path), "-a", str(tmp_path / "rubric.toml"), "--out", str(tmp_path / "o")),
                   "gone.ipynb", "does not exist")


def test_output_folder_that_cannot_exist(tmp_path):
    """Not writable even for root: a folder inside /proc."""
    (tmp_path / "a.ipynb").write_text("{}")
    one_line_error(run("grade", str(tmp_path), "-a", "binary-addition", "--out", "/proc/grader-out"),
                   "/proc/grader-out", "not writable")


def test_sandbox_that_is_not_installed(tmp_path):
    """--sandbox bubblewrap on a machine without bwrap (here: a PATH without it)."""
    (tmp_path / "a.ipynb").write_text("{}")
    env = {**os.environ, "PATH": os.path.dirname(sys.executable)}
    one_line_error(run("grade", str(tmp_path), "-a", "binary-addition", "--out", str(tmp_path / "o"),
                       "--sandbox", "bubblewrap", env=env), "--sandbox bubblewrap", "not installed")


def test_shipped_rubrics_are_found():
    assert (RUBRICS_DIR / "binary-addition.toml").is_file()


def test_a_temporary_folder_too_long_for_the_kernels_sockets(tmp_path):
    """Every kernel would fail to start (its sockets live in the temporary folder), every notebook get zero."""
    (tmp_path / "a.ipynb").write_text("{}")
    deep = tmp_path / ("t" * 70)
    deep.mkdir()
    env = {**os.environ, "TMPDIR": str(deep)}
    graded = run("grade", str(tmp_path), "-a", "binary-addition", "--out", str(tmp_path / "o"), env=env)
    one_line_error(graded, str(deep), "too long", "TMPDIR")
    assert graded.returncode == 2
    assert not (tmp_path / "o").exists()                                   # nothing started, nothing graded
    checked = run("check", str(tmp_path / "a.ipynb"), "-a", "binary-addition", "--out", str(tmp_path / "c"), env=env)
    one_line_error(checked, str(deep), "TMPDIR")
    assert checked.returncode == 2


def test_a_cluster_worker_with_a_temporary_folder_too_long_says_so(tmp_path, monkeypatch):
    """On a cluster the kernels start on the workers, in their own temporary folder: each worker checks it."""
    from grader.pool import _worker_can_grade
    assert _worker_can_grade([str(tmp_path)]) == ""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / ("t" * 70)))
    assert _worker_can_grade([str(tmp_path)]).startswith(f"the temporary folder {tmp_path / ('t' * 70)} is too long")
