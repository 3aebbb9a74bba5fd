"""Batches in parallel: a local process pool, a real Dask LocalCluster, and lost workers.

The notebooks are tiny (no TensorFlow): a cell that records when it started
and ended. Concurrency is shown by barriers, never by timing: two notebooks
that must run at once each wait until the other has arrived (they share a
folder, so those batches run with --sandbox none: the notebooks are the
test's own), and a notebook whose worker the test kills waits until the test
has killed it as often as it means to (tests/faults.py). Speed itself is
measured by bench/scaling.py.
"""
import json
import os
import subprocess
import sys
from pathlib import Path

import nbformat
import pytest

from grader.batch import grade_all
from grader.grade import Job
from grader.pool import RestartingPool

from .builders import FAST, check, question, rubric_toml, seven_bits
from .expect import assert_errors_only
from .faults import VICTIM_CELL, WorkerKiller

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
RUBRIC = rubric_toml("tiny-parallel", question("Q1", seven_bits(), check("code_runs")), limits=FAST)
WAIT = 50  # seconds a notebook waits at a barrier before it gives up (the cell timeout is 60)


def notebook(path: Path, answer: str, work: str = "") -> Path:
    """Q1's answer, then a cell that does ``work`` and prints when it started and ended (SPAN)."""
    nb = nbformat.v4.new_notebook()
    nb.cells = [md("**Q1**: the largest number with 7 bits?"), md(answer),
                code(f"import os, time\nt0 = time.time()\n{work}\nprint('SPAN', t0, time.time())")]
    nbformat.write(nb, path)
    return path


def meeting(folder: Path, name: str) -> str:
    """Work for a barrier of two: arrive in ``folder``, wait for the other notebook, say who was there."""
    return (f"open({str(folder / name)!r}, 'w').close()\n"
            f"while len(os.listdir({str(folder)!r})) < 2 and time.time() < t0 + {WAIT}:\n    time.sleep(0.05)\n"
            f"print('MET', sorted(os.listdir({str(folder)!r})))")


def assignment(root: Path) -> Path:
    (root / "rubric.toml").write_text(RUBRIC)
    notebook(root / "reference.ipynb", "127")
    return root / "rubric.toml"


def printed(out: Path, sid: str, name: str = "") -> str:
    executed = nbformat.read(out / sid / f"{name or sid}.ipynb", as_version=4)
    return "".join(o.get("text", "") for o in executed.cells[-1].outputs)


def span(out: Path, sid: str, name: str = "") -> tuple[float, float]:
    """When the notebook's cell started and ended (epoch seconds), from the executed notebook."""
    line = next(line for line in printed(out, sid, name).splitlines() if line.startswith("SPAN "))
    _, start, end = line.split()
    return float(start), float(end)


def summary(out: Path) -> dict:
    results = {}
    for path in sorted(out.glob("*/result.json")):
        data = json.loads(path.read_text())
        results[data["submission"]] = (data["score"], data["max_score"], [c["status"] for c in data["checks"]],
                                       [run["status"] for run in data["execution"]], data["problems"])
    return results


def env(root: Path) -> dict:
    extra = {"PYTHONPATH": os.environ["PYTHONPATH"]} if os.environ.get("PYTHONPATH") else {}
    return {"XDG_CACHE_HOME": str(root / "cache"), "PATH": "/usr/bin:/bin", **extra}


def grade_command(submissions: Path, rubric: Path, out: Path, *options: str) -> list[str]:
    return [sys.executable, "-m", "grader", "grade", str(submissions), "--assignment", str(rubric),
            "--out", str(out), "--lang", "en", "--sandbox", "none", "--seed", "1", *options]


@pytest.fixture(scope="module")
def dask_cluster():
    """A real Dask cluster of two worker processes, which reports a lost task at once (no silent re-runs)."""
    import dask
    from distributed import Client, LocalCluster
    with dask.config.set({"distributed.scheduler.allowed-failures": 0}):
        local = LocalCluster(n_workers=2, threads_per_worker=1, processes=True, dashboard_address=":0")
    client = Client(local)
    yield local, client
    client.close()
    local.close()


@pytest.fixture
def cluster(dask_cluster):
    """The cluster with both workers up. A worker a test before killed comes back (its nanny restarts it) only
    seconds later on a loaded machine; a batch given one worker queues the healthy submission behind the
    victim, and a kill loses both (seen in a fresh-clone run: "healthy" lost twice, score 0)."""
    dask_cluster[1].wait_for_workers(2, timeout=180)
    return dask_cluster


@pytest.fixture(scope="module")
def batch(tmp_path_factory):
    """Four submissions: three right answers, one wrong; the first two (graded first) meet at a barrier."""
    root = tmp_path_factory.mktemp("parallel")
    rubric = assignment(root)
    submissions, barrier = root / "submissions", root / "barrier"
    submissions.mkdir()
    barrier.mkdir()
    for name, answer in (("ana", "127"), ("bea", "128"), ("carl", "$2^7-1 = 127$"), ("dora", "127")):
        notebook(submissions / f"{name}.ipynb", answer, meeting(barrier, name) if name in ("ana", "bea") else "")
    return root, rubric, submissions


@pytest.fixture(scope="module")
def local_run(batch):
    root, rubric, submissions = batch
    out = root / "out-local"
    run = subprocess.run(grade_command(submissions, rubric, out, "--workers", "2"),
                         capture_output=True, text=True, env=env(root), timeout=300)
    return out, run


def test_two_workers_run_two_notebooks_at_once(local_run):
    out, run = local_run
    assert run.returncode == 0, run.stderr
    for sid in ("ana", "bea"):  # each found the other at the barrier: they ran at the same time
        assert "MET ['ana', 'bea']" in printed(out, sid), printed(out, sid)
    for sid in ("ana", "bea", "carl", "dora"):
        assert_errors_only(out / sid / "result.json")
    spans = {sid: span(out, sid) for sid in ("ana", "bea", "carl", "dora")}
    # never more than two at once with --workers 2
    for start, _ in spans.values():
        running = [other for other, (s, e) in spans.items() if s <= start < e]
        assert len(running) <= 2, spans


def test_the_reference_runs_alone(batch, local_run):
    """No student's notebook runs beside the reference: none can slow it into a timeout (its result is kept)."""
    root = batch[0]
    out, run = local_run
    reference = span(root / "cache" / "grader" / "reference", "tiny-parallel", "reference")
    spans = {sid: span(out, sid) for sid in ("ana", "bea", "carl", "dora")}
    assert all(start >= reference[1] for start, _ in spans.values()), (reference, spans)


def test_the_cluster_gives_the_same_results_as_the_local_pool(batch, local_run, cluster):
    root, rubric, submissions = batch
    local, _ = cluster
    out = root / "out-cluster"
    run = subprocess.run(grade_command(submissions, rubric, out, "--cluster", local.scheduler_address),
                         capture_output=True, text=True, env=env(root), timeout=300)
    assert run.returncode == 0, run.stderr
    assert summary(out) == summary(local_run[0])
    assert {sid: values[0] for sid, values in summary(out).items()} == {"ana": 2, "bea": 1, "carl": 2, "dora": 2}
    assert "[4/4]" in run.stderr  # progress arrived from the cluster


def test_cluster_workers_pin_their_threads_to_their_share_of_the_cores(cluster):
    """Two one-task workers on this machine: each notebook, and each worker's evaluation, gets cores // 2."""
    from grader.execute.warmup import cores, pin_threads, threads_here
    _, client = cluster
    share = max(1, cores() // 2)
    workers = list(client.scheduler_info()["workers"])
    assert [client.submit(threads_here, workers=[w], pure=False).result() for w in workers] == [share, share]
    assert [client.submit(pin_threads, 0, workers=[w], pure=False).result() for w in workers] == [share, share]
    assert set(client.run(os.getenv, "TF_NUM_INTRAOP_THREADS").values()) == {str(share)}
    assert set(client.run(os.getenv, "TF_NUM_INTEROP_THREADS").values()) == {"1"}


def jobs_for(root: Path, rubric: Path, names: dict[str, Path], out: Path) -> list[Job]:
    return [Job(submission=sid, notebook=str(path), assignment=str(rubric), out_dir=str(out / sid), seed=7,
                lang="en", reference={}, threads=1, cache_dir=str(root / "cache")) for sid, path in names.items()]


@pytest.fixture
def victims(tmp_path):
    rubric = assignment(tmp_path)
    names = {"victim": notebook(tmp_path / "victim.ipynb", "127", VICTIM_CELL),
             "healthy": notebook(tmp_path / "healthy.ipynb", "127")}
    return tmp_path, rubric, names


def run_with_killer(executor, jobs, times, window=None):
    with WorkerKiller(times) as killer:
        results = {r.submission: r for r in grade_all(jobs, executor, retries=1, window=window)}
    return results, killer.killed


def test_a_worker_killed_mid_notebook_is_retried_once(victims, cluster):
    root, rubric, names = victims
    _, client = cluster
    jobs = jobs_for(root, rubric, names, root / "out")
    results, killed = run_with_killer(client.get_executor(pure=False), jobs, times=1)
    assert len(killed) == 1
    assert results["victim"].score == 2 and not results["victim"].problems  # the retry finished the notebook
    assert results["healthy"].score == 2


def test_killed_twice_is_an_infrastructure_failure_and_the_batch_finishes(victims, cluster):
    root, rubric, names = victims
    _, client = cluster
    jobs = jobs_for(root, rubric, names, root / "out")
    results, killed = run_with_killer(client.get_executor(pure=False), jobs, times=2)
    assert len(killed) == 2
    lost = results["victim"]
    assert lost.score == 0 and lost.problems
    assert "infrastructure" in lost.problems[0] and "not the student's fault" in lost.problems[0]
    assert all(c.status == "error" for c in lost.checks)
    assert json.loads((root / "out" / "victim" / "result.json").read_text())["problems"] == lost.problems
    assert results["healthy"].score == 2  # the rest of the batch is graded


def test_the_local_pool_survives_a_killed_worker(victims):
    root, rubric, names = victims
    jobs = jobs_for(root, rubric, names, root / "out")
    executor = RestartingPool(2)
    try:
        results, killed = run_with_killer(executor, jobs, times=1, window=2)
    finally:
        executor.shutdown(wait=False, cancel_futures=True)
    assert len(killed) == 1
    assert results["victim"].score == 2 and results["healthy"].score == 2
