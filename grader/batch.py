"""Grade a folder of submissions, in parallel, keeping every result.

The driver finds the notebooks, fixes the seed of the run, measures the
reference solution once, then hands one picklable job per submission to an
executor: a local process pool, or a Dask cluster's executor. Each worker
writes its submission's files as soon as it finishes; the gradebook and the
class summary are rewritten after every submission, so an interrupted batch
loses nothing and a second run only grades what is missing.
"""
from __future__ import annotations

import csv
import json
import os
import re
import secrets
import threading
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, ProcessPoolExecutor, wait
from dataclasses import replace
from pathlib import Path

from . import rubric as rubrics
from .grade import Job, grade
from .late import stamp
from .result import Result, load_result, write_json_atomic

MANUAL_SCORES = "manual_scores.csv"


class BatchError(Exception):
    """Bad input to the grader itself; the message names the file and the problem."""


def find_submissions(folder: Path) -> dict[str, Path]:
    """Submission id -> notebook: ``folder/<id>.ipynb`` or ``folder/<id>/<any>.ipynb``."""
    if not folder.exists():
        raise BatchError(f"{folder}: no such folder")
    if folder.is_file():
        return {safe_id(folder.stem): folder}
    found: dict[str, Path] = {}
    for path in sorted(folder.rglob("*.ipynb")):
        relative = path.relative_to(folder)
        if any(part.startswith(".") for part in relative.parts):
            continue  # .ipynb_checkpoints and hidden folders
        submission = safe_id(relative.parts[0] if len(relative.parts) > 1 else path.stem)
        if submission in found:  # a student folder with several notebooks: each gets its own id
            submission = safe_id(f"{relative.parts[0]}-{path.stem}")
        found[submission] = path
    return found


def safe_id(name: str) -> str:
    return re.sub(r"[^\w.\-]+", "_", name).strip("._") or "submission"


REVIEWED_PARTS = {"text": "free-text", "model": "model-check"}


def reviewable_points(question) -> dict[str, float]:
    """The most points a reviewer can give in ``question``: its human-review checks' and its model checks'."""
    from .evaluate.checks import declared
    return {"text": sum(c.points for c in question.checks if declared(c.kind).human_review),
            "model": sum(c.points for c in question.checks if declared(c.kind).needs_model)}


def reviewed_part(given: str | None, question) -> str:
    """The part a manual_scores.csv row reviews: as given, else ``text`` when the question has free text (or no
    model check), else ``model``."""
    reviewable = reviewable_points(question)
    return (given or "").strip().lower() or ("text" if reviewable["text"] or not reviewable["model"] else "model")


def read_manual_scores(path: Path, rubric) -> dict[str, dict]:
    """submission -> question -> part -> {"points", "comment"}, from the instructor's CSV.

    ``part`` (an optional column) is ``text``, the question's human-review
    parts (free-text answers), or ``model``, its parts held for a model with code of its own;
    left empty it is ``text`` when the question has free text, else ``model``.
    ``points`` of a ``model`` row may be left empty: the points the model
    measured are confirmed.
    """
    if not path.is_file():
        return {}
    scores: dict[str, dict] = {}
    questions = {q.id: q for q in rubric.questions}
    try:
        with path.open(encoding="utf-8", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise BatchError(f"{path}: cannot be read: {error}") from None
    for line, row in enumerate(rows, start=2):
        if not {"submission", "question", "points"} <= set(row):
            raise BatchError(f"{path}: needs the columns submission, question, points "
                             f"(and optionally part, comment, reviewer)")
        question = questions.get((row["question"] or "").strip())
        if question is None:
            raise BatchError(f"{path}, line {line}: unknown question {row['question']!r} "
                             f"(known: {', '.join(questions)})")
        reviewable = reviewable_points(question)
        part = reviewed_part(row.get("part"), question)
        if part not in REVIEWED_PARTS:
            raise BatchError(f"{path}, line {line}: part {row['part']!r} is not text or model")
        text = (row["points"] or "").strip()
        try:
            points = None if part == "model" and not text else float(text)
        except ValueError:
            raise BatchError(f"{path}, line {line}: points {row['points']!r} is not a number") from None
        if points is not None and not 0 <= points <= reviewable[part]:
            raise BatchError(f"{path}, line {line}: {points:g} points is outside 0..{reviewable[part]:g} "
                             f"(the {REVIEWED_PARTS[part]} points of {question.id})")
        scores.setdefault(safe_id(row["submission"].strip()), {}).setdefault(question.id, {})[part] = {
            "points": points, "comment": (row.get("comment") or "").strip()}
    return scores


def run_seed(out: Path, assignment: str, new_seed: bool, seed: int | None) -> int:
    """The run's seed: given, kept from the last run in ``out``, or drawn afresh."""
    state = out / ".grader" / "seed.json"
    if seed is None and not new_seed:
        try:
            saved = json.loads(state.read_text())
            if saved.get("assignment") == assignment:
                return int(saved["seed"])
        except (OSError, ValueError, KeyError):
            pass
    seed = secrets.randbelow(2**31) if seed is None else seed
    write_json_atomic(state, {"seed": seed, "assignment": assignment})
    return seed


def reference_values(rubric, template: Job, progress=None, executor: Executor | None = None, queue=None) -> Result:
    """Grade the reference solution on the run's fresh data; its measurements anchor relative bands.

    It is graded once per seed and kept in the cache (``<cache>/reference/<name>``):
    a second run with the same seed re-uses it without running anything. Given
    an ``executor``, it runs there, so the driver never imports TensorFlow and
    the worker that measured it keeps TensorFlow warm for the submissions. It
    runs alone, before any student's notebook: no student code may slow it
    into a timeout, since its result is kept and anchors every band.
    """
    if not rubric.reference.is_file():
        raise BatchError(f"{rubric.path}: the reference notebook {rubric.reference} does not exist")
    job = reference_job(rubric, template)
    if executor is None:
        named = (lambda event: progress({**event, "submission": job.submission})) if progress else None
        return in_helper_thread(grade, job, named)
    try:
        return executor.submit(grade_reference, job, queue).result()
    except BrokenExecutor:  # a lost worker: once more, on a fresh one
        return executor.submit(grade_reference, job, queue).result()


def reference_job(rubric, template: Job) -> Job:
    """The job that grades the reference solution, kept in ``<cache>/reference/<name>``."""
    return replace(template, submission="reference", notebook=str(rubric.reference), manual={}, reference=None,
                   out_dir=str(Path(template.cache_dir) / "reference" / rubric.name), limits={})


def _pinned(job: Job) -> Job:
    """Pin this worker's TensorFlow threads before anything imports it (0: decide from its own cores)."""
    from .execute.warmup import pin_threads
    return replace(job, threads=pin_threads(job.threads))


def grade_reference(job: Job, queue=None) -> Result:
    """Worker entry point for the reference: like :func:`run_job`, but a failure is raised, not hidden."""
    job = _pinned(job)
    return in_helper_thread(grade, job, _reporter(job, queue))


def run_job(job: Job, queue=None) -> Result:
    """Worker entry point: grade one job; a grader failure becomes a result, never a crash."""
    job = _pinned(job)
    try:
        return in_helper_thread(grade, job, _reporter(job, queue))
    except Exception as error:
        return failed_result(job, f"The grader failed on this submission: {type(error).__name__}: {error}")


def in_helper_thread(fn, *args):
    """``fn(*args)`` in a helper thread when called from the main thread; its result or its exception.

    nbclient, run in a process's main thread, takes SIGINT and SIGTERM over
    while a notebook runs: it stops the kernel and carries on. Ctrl-C, or a
    pool terminating its workers, would then become the student's "kernel
    died", saved as a result and re-used by the next run. From a helper
    thread nbclient leaves signals alone: they reach the main thread, which
    stops (KeyboardInterrupt, or the default end of SIGTERM), and the
    sandboxed kernel dies with its parent.
    """
    if threading.current_thread() is not threading.main_thread():
        return fn(*args)  # a Dask worker's task thread, or a helper already
    box: dict = {}

    def target():
        try:
            box["value"] = fn(*args)
        except BaseException as error:  # handed to the caller's thread
            box["error"] = error

    helper = threading.Thread(target=target, name="grader-job", daemon=True)
    helper.start()
    while helper.is_alive():
        helper.join(0.2)  # a short wait, so that a signal is acted on at once
    if "error" in box:
        raise box["error"]
    return box["value"]


class ClusterProgress:
    """The progress channel of a Dask run: events go to the scheduler's event log under ``topic``.

    Picklable and queue-like (``put``); the driver subscribes to the topic.
    Nothing polls, so an idle batch costs the scheduler nothing.
    """

    def __init__(self, topic: str):
        self.topic = topic

    def put(self, event: dict) -> None:
        from distributed import get_worker
        get_worker().log_event(self.topic, event)


def _reporter(job: Job, queue):
    def progress(event):
        if queue is not None:
            try:
                queue.put({**event, "submission": job.submission})
            except Exception:  # progress is a courtesy: it never fails a grade
                pass
    return progress


def failed_result(job: Job, reason: str) -> Result:
    """A zero result that says why, for a submission the infrastructure could not grade."""
    from .grade import write_outputs
    rubric = rubrics.load(job.assignment)
    from .result import Check
    checks = [Check(q.id, str(q.id), 0, q.max_score, "error", reason) for q in rubric.questions]
    result = Result(job.submission, rubric.name, 0, rubric.max_score, job.seed, checks,
                    notebook=job.notebook, problems=[reason])
    stamp(result, None, job.intake, Path(job.notebook), job.lang)  # who it was, so that exports find the row
    try:
        write_outputs(result, Path(job.out_dir), job.lang)
    except OSError:
        pass
    return result


def grade_all(jobs: list[Job], executor: Executor, queue=None, on_done=None, retries: int = 1,
              window: int | None = None) -> list[Result]:
    """Run ``jobs`` on ``executor``; a job whose worker died is retried, then reported as failed.

    ``window`` caps the jobs handed to the executor at once (a local pool:
    its worker count, so that a pool broken by a dying worker loses only the
    jobs that were running); None hands them all over (a Dask cluster
    schedules them itself). A job that fails ``retries + 1`` times gets
    :func:`failed_result`, which blames the infrastructure, not the student,
    and the batch goes on.
    """
    results: list[Result] = []
    todo = list(jobs)
    attempts = {job.submission: 0 for job in jobs}
    pending: dict[Future, Job] = {}
    while todo or pending:
        while todo and (window is None or len(pending) < window):
            job = todo.pop(0)
            try:
                pending[executor.submit(run_job, job, queue)] = job
            except Exception as error:  # the executor itself is gone (a shut-down pool, a lost scheduler)
                failed = Future()
                failed.set_exception(error)
                pending[failed] = job
        done, _ = wait(list(pending), return_when=FIRST_COMPLETED)
        for future in done:
            job = pending.pop(future)
            try:
                result = future.result()
            except Exception as error:  # the worker itself died (killed, out of memory, lost node)
                attempts[job.submission] += 1
                if attempts[job.submission] <= retries:
                    todo.insert(0, job)
                    continue
                times = "once" if attempts[job.submission] == 1 else f"{attempts[job.submission]} times"
                result = failed_result(job, f"The grading infrastructure failed {times} on this submission "
                                            f"({type(error).__name__}: {str(error)[:300]}); this is not the "
                                            f"student's fault: grade it again.")
            results.append(result)
            if on_done:
                on_done(result)
    return results


class RestartingPool(Executor):
    """A spawn process pool that replaces itself when a dead worker has broken it."""

    def __init__(self, workers: int):
        self.workers = workers
        self._pool = self._new()

    def _new(self) -> ProcessPoolExecutor:
        import multiprocessing
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=die_with_parent)

    def submit(self, fn, /, *args, **kwargs) -> Future:
        try:
            return self._pool.submit(fn, *args, **kwargs)
        except BrokenExecutor:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new()
            return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def die_with_parent() -> None:
    """Have Linux kill this process when the grader dies (kill -9 included), so no worker lingers.

    What a killed worker was grading is simply graded again by the next run.
    """
    try:
        import ctypes
        import signal
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG; a no-op where there is no prctl
    except (OSError, AttributeError, TypeError):  # TypeError: Windows cannot open the program itself (None)
        pass


def local_executor(workers: int) -> Executor:
    return RestartingPool(workers)


def default_workers() -> int:
    from .execute.warmup import cores
    return max(1, cores())
