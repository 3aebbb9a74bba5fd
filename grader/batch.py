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
from concurrent.futures import Executor, Future, ProcessPoolExecutor, as_completed
from dataclasses import replace
from pathlib import Path

from . import rubric as rubrics
from .grade import Job, grade
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


def read_manual_scores(path: Path, rubric) -> dict[str, dict]:
    """submission -> question -> {"points", "comment"}, from the instructor's CSV."""
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
            raise BatchError(f"{path}: needs the columns submission, question, points (and optionally comment)")
        question = questions.get((row["question"] or "").strip())
        if question is None:
            raise BatchError(f"{path}, line {line}: unknown question {row['question']!r} "
                             f"(known: {', '.join(questions)})")
        try:
            points = float(row["points"])
        except (TypeError, ValueError):
            raise BatchError(f"{path}, line {line}: points {row['points']!r} is not a number") from None
        manual_max = sum(c.points for c in question.checks if c.kind == "free_text")
        if not 0 <= points <= manual_max:
            raise BatchError(f"{path}, line {line}: {points:g} points is outside 0..{manual_max:g} "
                             f"(the human-review points of {question.id})")
        scores.setdefault(safe_id(row["submission"].strip()), {})[question.id] = {
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


def reference_values(rubric, template: Job, progress=None) -> Result:
    """Grade the reference solution on the run's fresh data; its measurements anchor relative bands."""
    if not rubric.reference.is_file():
        raise BatchError(f"{rubric.path}: the reference notebook {rubric.reference} does not exist")
    cache = Path(template.cache_dir)
    job = replace(template, submission="reference", notebook=str(rubric.reference), manual={}, reference=None,
                  out_dir=str(cache / "reference" / rubric.name), limits={})
    return grade(job, progress)


def run_job(job: Job, queue=None) -> Result:
    """Worker entry point: grade one job; a grader failure becomes a result, never a crash."""
    from .execute.warmup import warm_up
    warm_up()

    def progress(event):
        if queue is not None:
            queue.put({**event, "submission": job.submission})

    try:
        return grade(job, progress)
    except Exception as error:
        return failed_result(job, f"The grader failed on this submission: {type(error).__name__}: {error}")


def failed_result(job: Job, reason: str) -> Result:
    """A zero result that says why, for a submission the infrastructure could not grade."""
    from .grade import write_outputs
    rubric = rubrics.load(job.assignment)
    from .result import Check
    checks = [Check(q.id, str(q.id), 0, q.max_score, "error", reason) for q in rubric.questions]
    result = Result(job.submission, rubric.name, 0, rubric.max_score, job.seed, checks,
                    notebook=job.notebook, problems=[reason])
    try:
        write_outputs(result, Path(job.out_dir), job.lang)
    except OSError:
        pass
    return result


def grade_all(jobs: list[Job], executor: Executor, queue=None, on_done=None, retries: int = 1) -> list[Result]:
    """Run ``jobs`` on ``executor``; a job whose worker died is retried, then reported as failed."""
    results: list[Result] = []
    attempts = {job.submission: 0 for job in jobs}
    pending: dict[Future, Job] = {executor.submit(run_job, job, queue): job for job in jobs}
    while pending:
        for future in as_completed(list(pending)):
            job = pending.pop(future)
            try:
                result = future.result()
            except Exception as error:  # the worker itself died (killed, out of memory, lost node)
                attempts[job.submission] += 1
                if attempts[job.submission] <= retries:
                    pending[executor.submit(run_job, job, queue)] = job
                    break
                result = failed_result(job, f"The grading infrastructure failed twice on this submission "
                                            f"({type(error).__name__}: {error}); this is not the student's fault.")
            results.append(result)
            if on_done:
                on_done(result)
    return results


def local_executor(workers: int) -> Executor:
    import multiprocessing
    return ProcessPoolExecutor(max_workers=workers, mp_context=multiprocessing.get_context("spawn"))


def default_workers() -> int:
    return max(1, len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1)
