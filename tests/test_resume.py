"""An interrupted batch keeps what it finished and grades only the rest when run again.

The grader is started as a user starts it (its own process group, as in a
terminal) and hit mid-batch by a fault: kill -9 of the driver, Ctrl-C (SIGINT
to the whole group), kill -9 of a worker (twice for one submission: the
retry is lost too), or a full disk (a small tmpfs as the output folder, which
needs root). Every result left must be whole; the same command run again must
re-use what was finished (not running those notebooks again) and redo exactly
what was lost or damaged.
"""
import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import nbformat
import psutil
import pytest

from .builders import FAST, check, question, rubric_toml, seven_bits
from .expect import HOOKS, assert_errors_only, grader_pids, python_path, sandbox_leftovers
from .faults import VICTIM_CELL, WorkerKiller

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

RUBRIC = rubric_toml("resume", question("Q1", seven_bits(), check("code_runs")), limits=FAST)
NAMES = [f"s{i}" for i in range(6)]


def notebook(path, answer, cell="import time\ntime.sleep(1.5)"):
    cells = [nbformat.v4.new_markdown_cell("**Q1** ¿El mayor número con 7 bits?"),
             nbformat.v4.new_markdown_cell(answer),
             nbformat.v4.new_code_cell(cell)]
    nbformat.write(nbformat.v4.new_notebook(cells=cells), path)


@pytest.fixture
def setup(tmp_path):
    # the graders' temp folder, where what a killed one left is seen; short, as multiprocessing puts its
    # sockets there (108 bytes at most), which a folder of tmp_path under pytest-xdist is not
    temp = tempfile.mkdtemp(prefix="grader-resume-")
    # every grader process of the test logs its pid there (tests/hooks): the graders whose cgroups it answers for
    yield *given(tmp_path), {**os.environ, "XDG_CACHE_HOME": str(tmp_path / "cache"), "TMPDIR": temp,
                             "GRADER_AUDIT_LOG": str(tmp_path / "graders.log"), **python_path(HOOKS, os.environ)}
    shutil.rmtree(temp, ignore_errors=True)


def given(tmp_path):
    """The output folder, the submissions and the rubric of a batch of six."""
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    notebook(tmp_path / "reference.ipynb", "127", "pass")
    submissions = tmp_path / "submissions"
    submissions.mkdir()
    for name in NAMES:
        notebook(submissions / f"{name}.ipynb", "127")
    return tmp_path / "out", submissions, tmp_path / "rubric.toml"


def command(submissions, rubric, out, workers):
    return [sys.executable, "-m", "grader", "grade", str(submissions), "--assignment", str(rubric),
            "--out", str(out), "--workers", str(workers), "--lang", "en", "--seed", "1"]


def finished(out) -> list[str]:
    return sorted(p.parent.name for p in out.glob("s*/result.json"))


def interrupt_mid_batch(argv, env, out, how: str, after: int) -> int:
    """Start the grader in its own session, wait for ``after`` results, then kill -9 it or press Ctrl-C."""
    process = subprocess.Popen(as_from_a_terminal(argv), env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                               text=True, start_new_session=True)
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
        reap_session(process.pid)


def as_from_a_terminal(argv: list[str]) -> list[str]:
    """``argv`` with Ctrl-C as a shell's foreground job gets it: SIGINT neither ignored nor blocked.

    Both pass through exec, and the process running the tests may have either from a test before this one
    (one test run of four under pytest-xdist, the grader never saw the Ctrl-C and finished the batch).
    """
    restore = ("import os, signal, sys; signal.pthread_sigmask(signal.SIG_UNBLOCK, {signal.SIGINT}); "
               "signal.signal(signal.SIGINT, signal.SIG_DFL); os.execv(sys.argv[1], sys.argv[1:])")
    return [sys.executable, "-c", restore, *argv]


def reap_session(sid: int) -> None:
    """After a kill -9 the workers die with the driver (pool.die_with_parent) and their kernels with them: wait
    a minute at most for the grader's session to empty, then kill what a broken run would leave."""
    deadline = time.monotonic() + 60
    while _session(sid) and time.monotonic() < deadline:
        time.sleep(0.1)
    for pid in _session(sid):
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


def all_graded(out, second, env):
    """After the run that completes the batch: every submission whole, full marks, no part failed, and no
    scratch folder, kernel or cgroup left, not even by the graders the fault killed (the next one cleans up)."""
    assert second.returncode == 0, second.stderr
    assert sandbox_leftovers(Path(env["TMPDIR"]), grader_pids(env["GRADER_AUDIT_LOG"])) == []
    assert "Traceback" not in second.stderr
    for name in NAMES:
        result = json.loads((out / name / "result.json").read_text())
        assert result["score"] == 2 and result["fingerprint"], name
        assert_errors_only(result)
        nbformat.read(out / name / f"{name}.ipynb", as_version=4)
        assert f"<title>{name}" in (out / name / "report.html").read_text(), name
    rows = list(csv.DictReader((out / "gradebook.csv").open()))
    assert [(row["submission"], row["score"], row["max_score"], row["Q1"]) for row in rows] == \
        [(name, "2", "2", "2") for name in NAMES], rows


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
    all_graded(out, second, env)
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
    assert f"Done: {len(NAMES)} submission(s), {len(untouched)} unchanged and re-used" in second.stderr


def run_releasing(argv, env, kills: int):
    """Run the grader while a WorkerKiller kills the victim's worker ``kills`` times, then releases it."""
    process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    with WorkerKiller(kills, workers_of=process.pid) as killer:
        _, stderr = process.communicate(timeout=300)
    return subprocess.CompletedProcess(argv, process.returncode, "", stderr), killer.killed


def test_a_worker_killed_twice_loses_nothing_finished(setup):
    """The worker grading s2 is killed mid-notebook, and again on the retry: the batch still finishes."""
    out, submissions, rubric, env = setup
    notebook(submissions / "s2.ipynb", "127", VICTIM_CELL)
    argv = command(submissions, rubric, out, 2)
    first, killed = run_releasing(argv, env, kills=2)
    assert first.returncode == 0 and len(killed) == 2, first.stderr
    results = {name: json.loads((out / name / "result.json").read_text()) for name in NAMES}
    # a broken pool loses every job it was running: s2, and whatever ran beside it both times
    lost = sorted(name for name, result in results.items() if result["problems"])
    assert "s2" in lost and len(lost) <= 2, lost
    for name, result in results.items():
        if name in lost:
            assert result["score"] == 0 and "infrastructure failed 2 times" in result["problems"][0], result
            assert_errors_only(result, {"Q1": "infrastructure failed 2 times"})
        else:
            assert result["score"] == 2, result
    stamps = {name: (out / name / "result.json").stat().st_mtime_ns for name in NAMES if name not in lost}

    second, killed = run_releasing(argv, env, kills=0)
    all_graded(out, second, env)
    assert killed == []
    assert f"Done: {len(NAMES)} submission(s), {len(NAMES) - len(lost)} unchanged and re-used" in second.stderr
    assert stamps == {name: (out / name / "result.json").stat().st_mtime_ns for name in stamps}


@pytest.mark.parametrize("victim", ["driver", "worker"])
def test_a_kill_while_a_result_is_written_loses_nothing_finished(setup, tmp_path, victim):
    """kill -9 between a result's temporary file and its move into place (tests/hooks stops the writer there,
    once two results are out): the results already there stay as they were, the one being written is never
    half a result.json (its whole temporary file stays beside, hidden), and it is graded again: by the run's own
    retry when a worker died, by the next run when the driver did."""
    out, submissions, rubric, env = setup
    pause = tmp_path / "pause"
    pause.mkdir()
    paused = {**env, "GRADER_TEST_PAUSE_DIR": str(pause)}  # tests/hooks is on its PYTHONPATH already
    argv = command(submissions, rubric, out, 2)
    process = subprocess.Popen(argv, env=paused, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
    try:
        deadline = time.monotonic() + 180
        while not (pause / "paused").is_file() or not (pause / "paused").read_text().endswith("\n"):
            assert time.monotonic() < deadline and process.poll() is None, \
                "no result.json was caught mid-write: does grader/atomic.py still name its temporary files as " \
                "tests/hooks expects?"
            time.sleep(0.05)
        writer, target = (pause / "paused").read_text().rstrip("\n").split(" ", 1)
        writing = Path(target).parent.name
        assert int(writer) != process.pid                    # a worker writes the results
        before = saved(out, finished(out))
        assert len(before) >= 2 and writing not in before
        os.kill(process.pid if victim == "driver" else int(writer), signal.SIGKILL)
        _, stderr = process.communicate(timeout=300)
    finally:
        reap_session(process.pid)
    assert saved(out, before) == before
    if victim == "driver":
        done = finished(out)   # those before, and any the other worker finished just before the kill
        assert process.returncode == -signal.SIGKILL and writing not in done
        completing = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
        assert f"Done: {len(NAMES)} submission(s), {len(done)} unchanged and re-used" in completing.stderr
    else:  # the driver graded it again on a new worker and finished the batch
        completing = subprocess.CompletedProcess(argv, process.returncode, "", stderr)
    all_graded(out, completing, env)
    assert saved(out, before) == before


def saved(out, names) -> dict[str, bytes]:
    return {name: (out / name / "result.json").read_bytes() for name in names}


@pytest.mark.root
def test_a_full_disk_mid_batch_loses_nothing_finished(setup):
    """The output folder fills up after two results: what was written stays whole, the next run completes."""
    out, submissions, rubric, env = setup
    out.mkdir()
    subprocess.run(["mount", "-t", "tmpfs", "-o", "size=16m", "grader-test-out", str(out)], check=True)
    try:
        argv = command(submissions, rubric, out, 2)
        process = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        deadline = time.monotonic() + 180
        while len(finished(out)) < 2 and time.monotonic() < deadline and process.poll() is None:
            time.sleep(0.05)
        assert process.poll() is None, "the batch ended before the disk could fill up"
        fill_up(out / "ballast")
        _, stderr = process.communicate(timeout=300)
        assert process.returncode == 1 and "Traceback" not in stderr, stderr
        assert stderr.splitlines()[-1] == ("grader: error: No space left on device; finished submissions are saved, "
                                           "free some space and run the same command again to go on."), stderr
        done = finished(out)
        assert 2 <= len(done) < len(NAMES), done
        for name in done:  # whole, with its report, and not a result of the full disk
            result = json.loads((out / name / "result.json").read_text())
            assert result["score"] == 2 and not result["problems"], result
            assert f"<title>{name}" in (out / name / "report.html").read_text()
        stamps = {name: (out / name / "result.json").stat().st_mtime_ns for name in done}

        (out / "ballast").unlink()
        second = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=300)
        all_graded(out, second, env)
        assert stamps == {name: (out / name / "result.json").stat().st_mtime_ns for name in done}
    finally:
        subprocess.run(["umount", "--lazy", str(out)], check=False)


def fill_up(path):
    """Write to ``path`` until its file system is full."""
    block = b"\0" * 1024 * 1024
    with open(path, "wb", buffering=0) as handle:
        try:
            while True:
                handle.write(block)
        except OSError as error:
            assert error.errno == 28, error  # ENOSPC


@pytest.fixture
def stopping():
    """grade.STOPPING, as Ctrl-C leaves it in a process, cleared again after the test."""
    from grader.grade import STOPPING
    yield STOPPING
    STOPPING.clear()


def test_ctrl_c_marks_the_process_as_stopping_and_the_grade_still_running_saves_nothing(stopping):
    """Ctrl-C reaches the main thread while a helper thread grades; the helper runs on while the process exits
    (whose exit handlers then shut its kernel down), and what it finds next must not be saved."""
    import _thread
    import threading

    from grader.batch import in_helper_thread
    from grader.grade import Stopped, _unless_stopping
    started, go, ended = threading.Event(), threading.Event(), []

    def grading():
        started.set()
        go.wait(10)
        try:
            _unless_stopping()
            ended.append("saved")
        except Stopped:
            ended.append("dropped")

    previous = signal.signal(signal.SIGINT, signal.default_int_handler)  # as in a terminal, whatever pytest had
    try:
        threading.Thread(target=lambda: started.wait(10) and _thread.interrupt_main()).start()
        with pytest.raises(KeyboardInterrupt):
            in_helper_thread(grading)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert stopping.is_set()
    go.set()
    deadline = time.monotonic() + 10
    while not ended and time.monotonic() < deadline:
        time.sleep(0.01)
    assert ended == ["dropped"]


@pytest.mark.parametrize("when", ["executing", "evaluating"])
def test_a_grade_that_finds_the_grader_stopping_saves_nothing(tmp_path, stopping, monkeypatch, when):
    """A kernel that dies while the grader stops (``os._exit`` here, nbclient's exit handler after Ctrl-C)
    leaves no execution and no result to re-use; the same death without a stop is the student's, and saved."""
    from grader import grade as grading
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    notebook(tmp_path / "s0.ipynb", "127", "import os\nos._exit(1)")

    def job(name):
        return grading.Job(submission=name, notebook=str(tmp_path / "s0.ipynb"),
                           assignment=str(tmp_path / "rubric.toml"),
                           out_dir=str(tmp_path / name), seed=1, lang="en", cache_dir=str(tmp_path / "cache"))
    assert grading.grade(job("before")).checks[0].details[1]["status"] == "error"   # the student's own exit
    assert (tmp_path / "before" / "result.json").is_file()

    if when == "executing":
        stopping.set()
    else:
        evaluate = grading._evaluate
        monkeypatch.setattr(grading, "_evaluate", lambda *args: (stopping.set(), evaluate(*args))[1])
    with pytest.raises(grading.Stopped):
        grading.grade(job("stopped"))
    assert not (tmp_path / "stopped" / "result.json").exists()
    assert (tmp_path / "stopped" / "execution.json").exists() == (when == "evaluating")


EXIT_MID_NOTEBOOK = """
import atexit, gc, sys, threading, time
from pathlib import Path
import nbformat
from grader.execute.runner import Limits, _CappedClient, execute_notebook
from grader.execute.sandbox import detect

def after_nbclients_hook():  # registered first, so it runs last (atexit is last in, first out)
    deadline = time.monotonic() + 10
    while kernel.poll() is None and time.monotonic() < deadline:
        time.sleep(0.05)
    print("kernel", "alive" if kernel.poll() is None else "gone", "context", "closed" if context.closed else "open",
          flush=True)

atexit.register(after_nbclients_hook)
folder = Path(sys.argv[1])
cell = "import pathlib, time\\npathlib.Path('started').write_text('')\\nwhile True:\\n    time.sleep(0.1)"
threading.Thread(target=execute_notebook, daemon=True,
                 args=(nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(cell)]), folder / "job",
                       detect("auto"), Limits(cell_timeout=120, notebook_timeout=200))).start()
while not list(folder.glob("job/**/started")):
    time.sleep(0.05)
manager = next(o for o in gc.get_objects() if isinstance(o, _CappedClient)).km
kernel, context = manager.provisioner.process, manager.context
sys.exit(0)  # as after Ctrl-C: the main thread leaves while a helper thread runs the notebook
"""


def test_a_process_that_leaves_mid_notebook_kills_the_kernel_and_nothing_else():
    """nbclient's exit hook, still registered when the process exits mid-notebook, kills the kernel and leaves
    the zmq context to the helper thread that uses it: closing it under that thread's channels hung the
    process in zmq's term (a worker after Ctrl-C, and the batch waiting for that worker)."""
    with tempfile.TemporaryDirectory(prefix="grader-exit-") as folder:  # short: the kernel's sockets are in it
        run = subprocess.run([sys.executable, "-c", EXIT_MID_NOTEBOOK, folder], capture_output=True, text=True,
                             timeout=120)
    assert run.returncode == 0, run.stderr[-3000:]
    assert run.stdout == "kernel gone context open\n", run.stderr[-3000:]
