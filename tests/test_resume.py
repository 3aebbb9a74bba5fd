"""An interrupted batch keeps what it finished and grades only the rest when run again."""
import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import pytest

pytestmark = pytest.mark.slow

RUBRIC = """
[assignment]
name = "resume"
reference = "reference.ipynb"
[[questions]]
id = "Q1"
  [[questions.checks]]
  kind = "numeric_answer"
  points = 1
  expected = 127
  [[questions.checks]]
  kind = "code_runs"
  points = 1
"""


def notebook(path, answer):
    cells = [nbformat.v4.new_markdown_cell("**Q1** ¿El mayor?"), nbformat.v4.new_markdown_cell(answer),
             nbformat.v4.new_code_cell("import time\ntime.sleep(2)")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


@pytest.fixture
def setup(tmp_path):
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    notebook(tmp_path / "reference.ipynb", "127")
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    names = [f"s{i}" for i in range(5)]
    for name in names:
        notebook(submissions / f"{name}.ipynb", "127")
    command = [sys.executable, "-m", "grader", "grade", str(submissions), "--assignment", str(tmp_path / "rubric.toml"),
               "--out", str(tmp_path / "out"), "--workers", "1", "--lang", "en"]
    env = {"XDG_CACHE_HOME": str(tmp_path / "cache"), "PATH": "/usr/bin:/bin"}
    return tmp_path / "out", names, command, env


def interrupt_after_first_result(command, env, out, signal_number):
    process = subprocess.Popen(command, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    deadline = time.monotonic() + 120
    while not list(out.glob("*/result.json")) and time.monotonic() < deadline:
        time.sleep(0.2)
    process.send_signal(signal_number)
    process.communicate(timeout=60)
    return process.returncode


@pytest.mark.parametrize("how", [signal.SIGKILL, signal.SIGINT], ids=["kill-9", "ctrl-c"])
def test_interrupted_batch_resumes(setup, how):
    out, names, command, env = setup
    code = interrupt_after_first_result(command, env, out, how)
    assert code != 0
    finished = sorted(p.parent.name for p in out.glob("*/result.json"))
    assert 1 <= len(finished) < len(names), "interrupted mid-batch"
    kept = finished[0]
    kept_stamp = (out / kept / "result.json").stat().st_mtime_ns
    if len(finished) > 1:  # a result broken by the crash is detected and redone
        (out / finished[1] / "result.json").write_text('{"submission": "s1", "sco')
    second = subprocess.run(command, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert any(kept + ":" in line and "unchanged, result re-used" in line for line in second.stderr.splitlines())
    assert (out / kept / "result.json").stat().st_mtime_ns == kept_stamp
    for name in names:
        result = json.loads((out / name / "result.json").read_text())
        assert result["score"] == 2, name
    assert len((out / "gradebook.csv").read_text().splitlines()) == len(names) + 1
