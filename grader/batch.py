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
import re
import secrets
import threading
from concurrent.futures import FIRST_COMPLETED, BrokenExecutor, Executor, Future, wait
from dataclasses import dataclass, field, replace
from pathlib import Path

from . import rubric as rubrics
from .execute.warmup import cores, pin_threads
from .grade import STOPPING, Job, current_result, execute_ahead, grade, needs_execution, write_outputs
from .i18n import each_language, localized
from .late import stamp
from .pool import Pool
from .report import write_class_files
from .result import Check, Result, load_result, write_json_atomic

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
    the worker that measured it keeps TensorFlow warm for the submissions. Its
    notebook runs alone, before any student's notebook: no student code may
    slow it into a timeout, since its result is kept and anchors every band.
    When only its saved models are left to measure, a student's notebook may
    run meanwhile (:func:`start_execution`).
    """
    if not rubric.reference.is_file():
        raise BatchError(f"{rubric.path}: the reference notebook {rubric.reference} does not exist")
    job = reference_job(rubric, template)
    if executor is None:
        return in_helper_thread(grade, job, naming(progress, job.submission))
    try:
        return executor.submit(grade_reference, job, queue).result()
    except BrokenExecutor:  # a lost worker: once more, on a fresh one
        return executor.submit(grade_reference, job, queue).result()


def naming(progress, submission: str):
    """``progress`` with every event naming ``submission`` (None stays None)."""
    return (lambda event: progress({**event, "submission": submission})) if progress else None


def reference_job(rubric, template: Job) -> Job:
    """The job that grades the reference solution, kept in ``<cache>/reference/<name>``."""
    return replace(template, submission="reference", notebook=str(rubric.reference), manual={}, reference=None,
                   out_dir=str(Path(template.cache_dir) / "reference" / rubric.name), limits={})


def _pinned(job: Job) -> Job:
    """Pin this worker's TensorFlow threads before anything imports it (0: decide from its own cores)."""
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
        return failed_result(job, "failure.grader", error_type=type(error).__name__, error=error)


def start_execution(job: Job, queue=None) -> threading.Thread:
    """Run ``job``'s notebook in a helper thread, for :func:`run_job` to take as its execution.

    The driver measures the reference meanwhile. A failure here is left to ``run_job``, which then runs
    the notebook itself and reports what went wrong.
    """
    def target():
        try:
            execute_ahead(_pinned(job), _reporter(job, queue))
        except Exception:
            pass
    thread = threading.Thread(target=target, name="grader-ahead", daemon=True)
    thread.start()
    return thread


def overlap_reference(rubric, job: Job, queue) -> threading.Thread | None:
    """Start ``job``'s notebook now when the reference only needs measuring on this run's seed; join the
    thread before grading ``job``, which takes that execution as its own.

    The reference's measurement (TensorFlow imported, its saved models measured) then overlaps the student's
    kernel instead of preceding it. A reference whose notebook must run first runs alone (see
    :func:`reference_values`); a pack's has nothing to measure.
    """
    if rubric.pack is not None or needs_execution(reference_job(rubric, job)) or not needs_execution(job):
        return None
    return start_execution(job, queue)


def in_helper_thread(fn, *args):
    """``fn(*args)`` in a helper thread when called from the main thread; its result or its exception.

    nbclient, run in a process's main thread, takes SIGINT and SIGTERM over
    while a notebook runs: it stops the kernel and carries on. Ctrl-C, or a
    pool terminating its workers, would then become the student's "kernel
    died", saved as a result and re-used by the next run. From a helper
    thread nbclient leaves signals alone: they reach the main thread, which
    stops (KeyboardInterrupt, or the default end of SIGTERM), and the
    sandboxed kernel dies with its parent. The helper runs on while the
    process exits, and nbclient's exit handler kills its kernel first (see
    ``runner._CappedClient._cleanup_kernel``): ``STOPPING`` keeps it from
    saving that death as the student's.
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
    try:
        helper.start()
        while helper.is_alive():
            helper.join(0.2)  # a short wait, so that a signal is acted on at once
    except BaseException:
        STOPPING.set()  # the helper carries on while this process exits: it must save nothing now
        raise
    if "error" in box:
        raise box["error"]
    return box["value"]


def _reporter(job: Job, queue):
    def progress(event):
        if queue is not None:
            try:
                queue.put({**event, "submission": job.submission})
            except Exception:  # progress is a courtesy: it never fails a grade
                pass
    return progress


def failed_result(job: Job, key: str, **params) -> Result:
    """A zero result that says why (message ``key`` of the catalog), for a submission the infrastructure could
    not grade."""
    reason = localized(each_language(key, **params), job.lang)
    rubric = rubrics.load(job.assignment)
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
                count = attempts[job.submission]
                times = each_language("failure.once") if count == 1 else each_language("failure.times", count=count)
                result = failed_result(job, "failure.infrastructure", times=times,
                                       error_type=type(error).__name__, error=str(error)[:300])
            results.append(result)
            if on_done:
                on_done(result)
    return results


def default_workers() -> int:
    return max(1, cores())


@dataclass
class Batch:
    """One class to grade with one rubric; every submission's job is made from ``template``."""
    rubric: rubrics.Rubric
    template: Job                   # the settings every job shares (its ``reference``: None until measured)
    submissions: dict               # submission id -> grader.intake.Submission
    source: Path                    # the folder (or zip) the submissions came from
    out: Path
    manual_file: Path               # the instructor's scores, which grader review writes
    manual: dict = field(default_factory=dict)            # submission id -> question -> part -> scores
    extensions: dict[str, float] = field(default_factory=dict)   # submission id -> extra hours

    @property
    def title(self) -> str:
        return localized(self.rubric.title, self.template.lang)

    def jobs(self, template: Job) -> list[Job]:
        return [replace(template, submission=sid, notebook=str(submission.path), out_dir=str(self.out / sid),
                        manual=self.manual.get(sid, {}), intake=submission.intake(self.extensions.get(sid, 0.0)))
                for sid, submission in self.submissions.items()]


@dataclass
class Plan:
    """What a batch does: the results it re-uses, the jobs it runs, and on how many workers.

    While the reference's result is unknown (it runs first, on a worker), no student's result can be
    called current: every job is in ``todo`` until :func:`after_reference`.
    """
    template: Job                   # with the reference's measured values once known
    reference: Result | None        # the reference's result, when known
    reused: list[Result]            # results still current: done at once, no worker needed
    todo: list[Job]                 # jobs for the workers; none: no worker starts
    workers: int


def plan(batch: Batch, workers: int, threads_given: bool = False, cluster: bool = False) -> Plan:
    """What to re-use and what to run, on ``workers`` at the most (``threads_given``: keep the jobs' threads)."""
    reference_run = reference_job(batch.rubric, batch.template)
    reference = current_result(reference_run)  # unchanged: no worker needed for it
    made = Plan(batch.template, reference=None, reused=[], todo=batch.jobs(batch.template), workers=workers)
    if reference is not None:
        made = after_reference(batch, made, reference)
        if not cluster and 0 < len(made.todo) < workers:  # no idle workers for what is left
            made.workers = len(made.todo)
            if not threads_given:
                made.todo = [replace(job, threads=max(1, cores() // made.workers)) for job in made.todo]
    runs = made.todo + ([] if reference else [reference_run])
    if not cluster and made.workers > 1 and made.todo and not any(map(needs_execution, runs)):
        made.workers = 1  # only evaluations left: one TensorFlow import here beats one per worker process
    return made


def after_reference(batch: Batch, made: Plan, reference: Result) -> Plan:
    """``made`` once the reference's result is known: the students' current results are re-used."""
    template = replace(batch.template, reference=reference.measured)
    reused, todo = [], []
    for job in batch.jobs(template):
        result = current_result(job)
        if result is None:
            todo.append(job)
        else:
            reused.append(result)
    return replace(made, template=template, reference=reference, reused=reused, todo=todo)


def with_reference(rubric, template: Job, progress, pool=None) -> tuple[Job, Result | None]:
    """``template`` with the reference's measured values, and its result (None from a student's pack).

    Without ``pool`` the reference is graded in this process; with one, on a worker (see
    :func:`reference_values`).
    """
    if rubric.pack is not None:  # a student's pack: the reference's values measured when it was made
        return replace(template, reference=rubric.pack.reference), None
    progress.note(f"Reference solution: {rubric.reference.name} (seed {template.seed})")
    if pool is None:
        reference = reference_values(rubric, template, progress.event)
    else:
        reference = reference_values(rubric, template, None, pool.executor, pool.queue)
    warn_reference(reference, progress)
    return replace(template, reference=reference.measured), reference


def warn_reference(reference: Result, progress) -> None:
    if reference.problems or any(c.status == "error" for c in reference.checks):
        progress.note(f"grader: WARNING: the reference solution has problems: "
                      f"{'; '.join(reference.problems) or 'see validate'}")


class ClassRun:
    """Grades a batch by its plan, keeping the class's results, the gradebook and the summary up to date.

    An earlier run's results count until they are redone, so an interrupted batch loses nothing.
    """

    def __init__(self, batch: Batch, progress):
        self.batch, self.progress = batch, progress
        self.results = {sid: result for sid in batch.submissions
                        if (result := load_result(batch.out / sid / "result.json")) is not None}

    def run(self, workers: int, threads_given: bool = False, cluster: str | None = None) -> Plan:
        """Grade what is not current; the plan it followed."""
        made = plan(self.batch, workers, threads_given, bool(cluster))
        if made.reference is not None:
            self.progress.note(f"Reference solution: {self.batch.rubric.reference.name} (seed {made.template.seed}):"
                               f" unchanged, re-used")
            warn_reference(made.reference, self.progress)
            self._start(made)
        if not made.todo:  # workers start only when there is something to run or evaluate
            return made
        with Pool(made.workers, self.progress.event, cluster) as pool:
            problem = pool.check_cluster([self.batch.source, self.batch.out, Path(made.template.assignment)]) \
                if cluster else ""
            if problem:
                raise BatchError(f"{cluster}: {problem}")
            if made.reference is None:
                # one notebook at a time, in this process: the first one runs while the reference is measured
                ahead = None if made.workers > 1 or cluster else overlap_reference(
                    self.batch.rubric, self.batch.jobs(made.template)[0], pool.queue)
                made = after_reference(self.batch, made, with_reference(self.batch.rubric, made.template,
                                                                        self.progress, pool)[1])
                if ahead:
                    ahead.join()
                self.progress.forget("reference")
                self._start(made)
            self.progress.note(f"Grading {len(made.todo)} submission(s) of {self.batch.rubric.name} with "
                               + (f"the Dask cluster at {cluster}" if cluster else f"{made.workers} worker(s)")
                               + f" → {self.batch.out}")
            grade_all(made.todo, pool.executor, pool.queue, self.done, retries=pool.retries, window=pool.window)
        return made

    def _start(self, made: Plan) -> None:
        """Record every job for ``grader review`` (which re-scores with them); count the re-used results done."""
        from .review import write_record  # grader.review imports this module
        write_record(self.batch.out, self.batch.jobs(made.template), self.batch.manual_file, self.batch.title,
                     self.batch.template.lang)
        for result in made.reused:
            self.progress.event({"event": "reused", "submission": result.submission})
            self.done(result, write=False)
        if made.reused:
            self.write()

    def done(self, result: Result, write: bool = True) -> None:
        self.results[result.submission] = result
        self.progress.finished(result.submission, f"{result.score:g}/{result.max_score:g}",
                               result.problems[0] if result.problems else "")
        if write:
            self.write()

    def write(self) -> None:
        write_class_files(list(self.results.values()), self.batch.out, [q.id for q in self.batch.rubric.questions],
                          self.batch.title, self.batch.template.lang)
