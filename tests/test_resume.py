"""An interrupted batch keeps what it finished and grades only the rest when run again.

The grader is started as a user starts it (its own process group, as in a
terminal), interrupted mid-batch by kill -9 or by Ctrl-C (SIGINT to the whole
group), then the outputs are damaged as a crash can leave them; the same
command run again must re-use what was finished (not running those notebooks
again) and redo exactly what was lost or damaged.
"""
import json
import os
import signal
import subprocess
import sys
import time

import nbformat
import psutil
import pytest

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

RUBRIC = """
[assignment]
name = "resume"
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
  [[questions.checks]]
  kind = "code_runs"
  points = 1
"""
NAMES = [f"s{i}" for i in range(6)]


def notebook(path, answer, seconds=1.5):
    cells = [nbformat.v4.new_markdown_cell("**Q1** ¿El mayor número con 7 bits?"),
             nbformat.v4.new_markdown_cell(answer),
             nbformat.v4.new_code_cell(f"import time\ntime.sleep({seconds})")]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


@pytest.fixture
def setup(tmp_path):
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    notebook(tmp_path / "reference.ipynb", "127", 0)
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for name in NAMES:
        notebook(submissions / f"{name}.ipynb", "127")
    out = tmp_path / "out"
    env = {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache")}
    return out, submissions, tmp_path / "rubric.toml", env


def command(submissions, rubric, out, workers):
    return [sys.executable, "-m", "grader", "grade", str(submissions), "--assignment", str(rubric),
            "--out", str(out), "--workers", str(workers), "--lang", "en"]


def finished(out) -> list[str]:
    return sorted(p.parent.name for p in out.glob("s*/result.json"))


def interrupt_mid_batch(argv, env, out, how: str, after: int) -> int:
    """Start the grader in its own session, wait for ``after`` results, then kill -9 it or press Ctrl-C."""
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while len(finished(out)) < after and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert process.poll() is None, "the batch ended before it could be interrupted"
        if how == "kill-9":
            process.kill()  # the grader's process only, like the OOM killer or a power cut of the driver
        else:
            os.killpg(process.pid, signal.SIGINT)  # Ctrl-C: the terminal signals the whole foreground group
        _, stderr = process.communicate(timeout=60)
        if how == "ctrl-c":
            assert "interrupted; finished submissions are saved" in stderr, stderr
            assert "Traceback" not in stderr, stderr
        return process.returncode
    finally:
        # a pool worker left by kill -9 finishes (and writes) the notebook it holds, then exits: wait for it
        deadline = time.monotonic() + 60
        while _session(process.pid) and time.monotonic() < deadline:
            time.sleep(0.1)
        for pid in _session(process.pid):
            os.kill(pid, signal.SIGKILL)


def _session(sid: int) -> list[int]:
    """Processes still alive in the session the grader started."""
    alive = []
    for process in psutil.process_iter(["status"]):
        try:
            if os.getsid(process.pid) == sid and process.info["status"] != psutil.STATUS_ZOMBIE:
                alive.append(process.pid)
        except (OSError, psutil.Error):
            continue
    return alive


def damage(out, done: list[str]) -> dict:
    """Leave the outputs as a crash can: a torn result, a lost result with a torn executed notebook, a temp file."""
    torn, lost = done[1], done[2]
    (out / torn / "result.json").write_text('{"submission": "' + torn + '", "sco')
    (out / lost / "result.json").unlink()
    executed = out / lost / f"{lost}.ipynb"
    executed.write_bytes(executed.read_bytes()[:50])
    (out / done[0] / ".result.json.x1y2z3.tmp").write_text('{"half": ')
    return {"kept": done[0], "torn": torn, "lost": lost}


@pytest.mark.parametrize("how,workers", [("kill-9", 1), ("kill-9", 2), ("ctrl-c", 1), ("ctrl-c", 2)])
def test_interrupted_batch_resumes(setup, how, workers):
    out, submissions, rubric, env = setup
    argv = command(submissions, rubric, out, workers)
    code = interrupt_mid_batch(argv, env, out, how, after=3)
    assert code == (-signal.SIGKILL if how == "kill-9" else 130)
    done = finished(out)
    assert 3 <= len(done) < len(NAMES), done
    for name in done:  # whatever is there is whole: written atomically
        json.loads((out / name / "result.json").read_text())
    kinds = damage(out, done)
    kept_stamp = (out / kinds["kept"] / "result.json").stat().st_mtime_ns
    untouched = [name for name in done if name not in (kinds["torn"], kinds["lost"])]
    stamps = {name: (out / name / f"{name}.ipynb").stat().st_mtime_ns for name in done}

    second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
    assert second.returncode == 0, second.stderr
    assert "Traceback" not in second.stderr
    lines = second.stderr.splitlines()

    def line_of(name):
        return next(line for line in lines if f"] {name}: " in line)
    for name in untouched:  # re-used: neither executed nor evaluated again
        assert "unchanged, result re-used" in line_of(name), line_of(name)
        assert (out / name / f"{name}.ipynb").stat().st_mtime_ns == stamps[name]
    assert (out / kinds["kept"] / "result.json").stat().st_mtime_ns == kept_stamp
    # the torn result is redone from the saved execution (its notebook is whole); the lost one is run again
    assert "unchanged, result re-used" not in line_of(kinds["torn"])
    redone = f"{kinds['torn']}: notebook already run (saved execution re-used), evaluating"
    assert any(redone in line for line in lines), lines
    assert (out / kinds["torn"] / f"{kinds['torn']}.ipynb").stat().st_mtime_ns == stamps[kinds["torn"]]
    assert (out / kinds["lost"] / f"{kinds['lost']}.ipynb").stat().st_mtime_ns != stamps[kinds["lost"]]
    for name in set(NAMES) - set(done):
        assert "unchanged, result re-used" not in line_of(name)
    for name in NAMES:
        result = json.loads((out / name / "result.json").read_text())
        assert result["score"] == 2 and result["fingerprint"], name
        nbformat.read(out / name / f"{name}.ipynb", as_version=4)
    assert len((out / "gradebook.csv").read_text().splitlines()) == len(NAMES) + 1
    assert f"Done: {len(NAMES)} submission(s), {len(untouched)} unchanged and re-used" in second.stderr
