"""The unanswered handout scores 0; a student who fills it in gets the points, with the real command."""
import json
import subprocess
import sys

import nbformat
import pytest

from .expect import assert_errors_only

pytestmark = [pytest.mark.kernel, pytest.mark.slow]

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
RUBRIC = """
[assignment]
name = "tiny-handout"
reference = "reference.ipynb"
handout = "handout.ipynb"
[limits]
cell_timeout = 60
notebook_timeout = 120
[[questions]]
id = "Q1"
  [[questions.checks]]
  kind = "numeric_answer"
  points = 1
  expected = 127
  context = [7]
[[questions]]
id = "Q2"
  [[questions.checks]]
  kind = "code_runs"
  points = 1
  [[questions.checks]]
  kind = "free_text"
  points = 1
"""
HELPER = "def to_bits(n):\n    return [int(b) for b in reversed(f'{n:b}')]"


def notebook(path, answer="", own_code="", explanation=""):
    nb = nbformat.v4.new_notebook(cells=[
        md("**Q1** ¿Cuál es el mayor número que se escribe con 7 bits?"), md(answer),
        md("**Q2** Usa la función dada con un número y explica qué devuelve."), code(HELPER), code(own_code),
        md(explanation)])
    nbformat.write(nb, path)


def test_the_handout_scores_zero_and_a_filled_copy_does_not(tmp_path):
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    notebook(tmp_path / "handout.ipynb")
    filled = {"answer": "$2^7 - 1 = 127$", "own_code": "print(to_bits(5))",
              "explanation": "Devuelve los bits de 5 empezando por el menos significativo: [1, 0, 1]."}
    notebook(tmp_path / "reference.ipynb", **filled)
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    notebook(submissions / "handout.ipynb")
    notebook(submissions / "ana.ipynb", **filled)
    out = tmp_path / "out"
    done = subprocess.run([sys.executable, "-m", "grader", "grade", str(submissions), "--assignment",
                           str(tmp_path / "rubric.toml"), "--out", str(out), "--lang", "en", "--workers", "1",
                           "--seed", "1"], capture_output=True, text=True, timeout=600,
                          env={"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"})
    assert done.returncode == 0, done.stderr
    handout = json.loads((out / "handout" / "result.json").read_text())
    assert_errors_only(handout)
    assert_errors_only(out / "ana" / "result.json")
    assert handout["score"] == 0 and [c["status"] for c in handout["checks"]] == ["fail", "fail"]
    q2 = handout["checks"][1]
    assert "Only the handout's cells ran: nothing of your own." in q2["feedback"] and q2["answer"] == ""
    assert "nothing of your own" in (out / "handout" / "report.html").read_text()
    ana = {c["id"]: c for c in json.loads((out / "ana" / "result.json").read_text())["checks"]}
    assert ana["Q1"]["score"] == 1 and ana["Q2"]["score"] == 1 and ana["Q2"]["status"] == "manual"
