"""Bad input to the grader gets one line naming the problem and a non-zero exit, never a traceback."""
import os
import subprocess
import sys

import pytest

from grader.rubric import RUBRICS_DIR


def run(*arguments, cwd=None):
    return subprocess.run([sys.executable, "-m", "grader", *arguments], capture_output=True, text=True,
                          timeout=120, cwd=cwd)


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


@pytest.mark.skipif(os.geteuid() == 0, reason="root can write anywhere")
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
    completed = run("grade", str(tmp_path), "-a", "binary-addition", "--out", str(tmp_path / "o"), "--memory-limit", "lots")
    assert completed.returncode == 2 and "Traceback" not in completed.stderr and "--memory-limit" in completed.stderr


def test_shipped_rubrics_are_found():
    assert (RUBRICS_DIR / "binary-addition.toml").is_file()
