"""The ``grader`` command: grade, check, validate, pack, gradescope, export, review, assignments, environment."""
from __future__ import annotations

import argparse
import errno
import getpass
import os
import secrets
import sys
import tempfile
import threading
from pathlib import Path

from . import rubric as rubrics
from .batch import (MANUAL_SCORES, BatchError, default_workers, die_with_parent, grade_all, local_executor,
                    read_manual_scores, reference_job, reference_values, run_job, run_seed, safe_id)
from .grade import Job
from .i18n import localized
from .pack import SEEDS
from .result import Result


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "grader"


def _size(text: str) -> int:
    try:
        return rubrics.parse_size(text, "--memory-limit")
    except rubrics.RubricError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _layout(text: str) -> str:
    from .intake import check_layout
    try:
        return check_layout(text)
    except ValueError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


class _Parser(argparse.ArgumentParser):
    """Bad options get one line naming the problem (and where to look), not the whole usage."""

    def error(self, message):
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    parser = _Parser(prog="grader", description="Grade deep-learning notebook assignments.")
    commands = parser.add_subparsers(dest="command", required=True)

    def grading_options(command, required=True, assignment_help="assignment name (see `grader assignments`) or "
                                                                 "rubric path"):
        command.add_argument("--assignment", "-a", required=required, help=assignment_help)
        command.add_argument("--lang", choices=("es", "en"), default="es", help="language of the feedback (default: es)")
        command.add_argument("--cell-timeout", type=_positive, metavar="SECONDS", help="override the rubric's time limit per cell")
        command.add_argument("--notebook-timeout", type=_positive, metavar="SECONDS", help="override the rubric's time limit per notebook")
        command.add_argument("--memory-limit", type=_size, metavar="SIZE", help="override the rubric's memory limit, e.g. 4G")
        command.add_argument("--sandbox", choices=("auto", "bubblewrap", "unshare", "none"), default="auto",
                             help="isolation of student code (default: the strongest available)")
        command.add_argument("--seed", type=int, help="seed of the fresh data (default: kept from the last run in --out, else new)")
        command.add_argument("--new-seed", action="store_true", help="draw new fresh data even if --out has a seed")
        command.add_argument("--manual-scores", type=Path, metavar="CSV",
                             help=f"instructor's scores for human-review questions (default: SUBMISSIONS/{MANUAL_SCORES})")

    grade = commands.add_parser("grade", help="grade every notebook in a folder")
    grade.add_argument("submissions", type=Path, help="folder of .ipynb files, or of one folder per student, "
                                                      "or the zip an LMS downloads")
    grade.add_argument("--layout", type=_layout, default="auto", metavar="LAYOUT",
                       help="how file names tell the student: auto (default), flat, folders, canvas, moodle, "
                            "or regex:PATTERN with nbgrader's named groups")
    grade.add_argument("--out", "-o", type=Path, required=True, help="output folder")
    grade.add_argument("--workers", "-j", type=int, default=default_workers(), help="notebooks graded at once (default: cores)")
    grade.add_argument("--threads", type=int, metavar="N",
                       help="TensorFlow threads per notebook (default: cores // workers; on a cluster, each "
                            "machine's cores // its task slots)")
    grade.add_argument("--cluster", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    grading_options(grade)

    check = commands.add_parser("check", help="self-check one notebook before handing it in")
    check.add_argument("notebook", type=Path)
    check.add_argument("--out", "-o", type=Path, default=Path("grader-check"), help="output folder (default: ./grader-check)")
    check.add_argument("--pack", type=Path, metavar="PACK", help="the assignment's student pack (NAME.pack, from "
                                                                  "the course): checks without the reference solution")
    grading_options(check, False, "assignment name or rubric path (instructors; students give --pack)")

    pack = commands.add_parser("pack", help="write the student pack of an assignment: rubric and the reference's "
                                            "measured values, never its notebook or models")
    pack.add_argument("--assignment", "-a", help="only this assignment (default: all)")
    pack.add_argument("--out", "-o", type=Path, required=True, help="folder to write NAME.pack into")
    gradescope = commands.add_parser("gradescope", help="write a Gradescope autograder zip: grades a submission "
                                                        "with the full rubric and the reference's measured values")
    gradescope.add_argument("--assignment", "-a", required=True, help="assignment name or rubric path")
    gradescope.add_argument("--out", "-o", type=Path, required=True, help="the zip to write, e.g. autograder.zip")
    gradescope.add_argument("--lang", choices=("es", "en"), default="es", help="language of the feedback")
    for command in (pack, gradescope):
        command.add_argument("--seeds", type=int, default=SEEDS, metavar="N",
                             help=f"seeds of fresh data the reference's models are measured on (default: {SEEDS})")
        command.add_argument("--seed", type=int, help="the first of those seeds (default: new ones)")

    validate = commands.add_parser("validate", help="check that every reference solution earns full marks")
    validate.add_argument("--assignment", "-a", help="only this assignment, by name or rubric path (default: all)")
    validate.add_argument("--lang", choices=("es", "en"), default="en")
    validate.add_argument("--junit-xml", type=Path, metavar="PATH",
                          help="also write the result as JUnit XML, for CI (one testsuite per assignment)")

    export = commands.add_parser("export", help="grades and feedback back into the LMS, from grader grade's --out")
    targets = export.add_subparsers(dest="target", required=True, parser_class=_Parser)
    canvas = targets.add_parser("canvas", help="a CSV that Canvas's gradebook imports")
    canvas.add_argument("--roster", type=Path, required=True, metavar="CSV",
                        help="Canvas's gradebook export (Grades > Export); students are matched on its ID")
    canvas.add_argument("--column", required=True, help='the assignment\'s column, as Canvas names it: '
                                                       '"Práctica 1 (123456)"')
    moodle = targets.add_parser("moodle", help="Moodle's grading worksheet with Grade and Feedback comments filled in")
    moodle.add_argument("--worksheet", type=Path, required=True, metavar="CSV",
                        help="the worksheet Moodle downloads (View all submissions > Download grading worksheet)")
    moodle.add_argument("--lang", choices=("es", "en"), default="es", help="language of the feedback comments")
    feedback = targets.add_parser("moodle-feedback", help="each report.html in a zip for Moodle's "
                                                          "\"Upload multiple feedback files in a zip\"")
    for target, default in ((canvas, "canvas-import.csv"), (moodle, "moodle-worksheet.csv"),
                            (feedback, "moodle-feedback.zip")):
        target.add_argument("results", type=Path, help="the --out folder of grader grade")
        target.add_argument("--out", "-o", type=Path, help=f"file to write (default: RESULTS/{default})")
        target.set_defaults(default_out=default)

    review = commands.add_parser("review", help="a local web page to score free-text answers and held models, "
                                                "one question at a time across the class")
    review.add_argument("results", type=Path, metavar="OUT", help="the --out folder of grader grade")
    review.add_argument("--manual-scores", type=Path, metavar="CSV",
                        help="the CSV to write (default: the one grader grade read for OUT)")
    review.add_argument("--host", default="127.0.0.1", help="address to listen on (default: 127.0.0.1, this "
                                                             "machine only)")
    review.add_argument("--port", type=int, default=0, help="port (default: any free one; the address is printed)")
    review.add_argument("--reviewer", default=getpass.getuser(), help="name in the reviewer column (default: "
                                                                      "your user name; the page can change it)")
    review.add_argument("--lang", choices=("es", "en"), help="language of the page (default: grader grade's)")

    commands.add_parser("assignments", help="list the assignments, their questions and points")
    environment = commands.add_parser("environment", help="install the course packages that the rubrics name "
                                                          "(scripts/setup.sh runs it)")
    environment.add_argument("packages", nargs="*", help="packages to install (default: those of every rubric)")
    return parser


def _native_stderr_to_log() -> None:
    """Send what C++ libraries write to file descriptor 2 into a log file, keep Python's stderr here.

    TensorFlow prints start-up messages from C++ that no setting silences;
    they would bury the progress and the errors a user needs to see.
    """
    log = _cache_dir() / "native-stderr.log"
    try:
        log.parent.mkdir(parents=True, exist_ok=True)
        descriptor = os.open(log, os.O_WRONLY | os.O_CREAT | os.O_APPEND, 0o644)
    except OSError:
        return
    sys.stderr.flush()
    terminal = os.dup(2)
    os.dup2(descriptor, 2)
    os.close(descriptor)
    sys.stderr = os.fdopen(terminal, "w", buffering=1, encoding="utf-8", errors="backslashreplace")


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    if args.command not in ("assignments", "environment", "export", "review"):
        _native_stderr_to_log()
    try:
        return {"grade": cmd_grade, "check": cmd_check, "validate": cmd_validate, "export": cmd_export,
                "pack": cmd_pack, "gradescope": cmd_gradescope, "review": cmd_review, "assignments": cmd_assignments,
                "environment": cmd_environment}[args.command](args)
    except (rubrics.RubricError, BatchError) as error:
        print(f"grader: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grader: interrupted; finished submissions are saved, run the same command again to go on.",
              file=sys.stderr)
        return 130
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        print(f"grader: error: {error.strerror}; finished submissions are saved, free some space and run the same "
              f"command again to go on.", file=sys.stderr)
        return 1


def _writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise BatchError(f"{folder}: output folder is not writable ({error.strerror})") from None


def _template(args, rubric, seed: int, workers: int) -> Job:
    from .execute.warmup import cores
    # TensorFlow/BLAS threads per notebook: the cores shared by the notebooks that run at once;
    # 0 on a cluster, where each worker decides from its own machine's cores
    threads = 0 if getattr(args, "cluster", None) else max(1, cores() // max(1, workers))
    if getattr(args, "threads", None):
        threads = max(1, args.threads)
    return Job(submission="", notebook="", assignment=str(rubric.path), out_dir="", seed=seed, lang=args.lang,
               limits={"cell_timeout": args.cell_timeout, "notebook_timeout": args.notebook_timeout,
                       "memory": args.memory_limit},
               sandbox=args.sandbox, threads=threads, cache_dir=str(_cache_dir()))


def _prepare(args, submissions_folder: Path, workers: int, executor=None, queue=None, progress=None):
    """Rubric, manual scores and the job template with the reference's measured values.

    Without ``executor`` the reference is graded in this process; with one,
    on a worker (see :func:`grader.batch.reference_values`).
    """
    rubric, manual, template = _settings(args, submissions_folder, workers)
    return rubric, manual, _with_reference(rubric, template, executor, queue, progress)


def _settings(args, submissions_folder: Path, workers: int):
    """Everything checked before any notebook runs or any worker starts: fails fast on bad input."""
    rubric = rubrics.load(args.assignment)
    _writable(args.out)
    manual_file = args.manual_scores or submissions_folder / MANUAL_SCORES
    if args.manual_scores and not args.manual_scores.is_file():
        raise BatchError(f"{args.manual_scores}: no such file")
    manual = read_manual_scores(manual_file, rubric)
    seed = run_seed(args.out, rubric.name, args.new_seed, args.seed)
    template = _template(args, rubric, seed, workers)
    from .execute.sandbox import detect
    try:
        sandbox = detect(args.sandbox)
    except RuntimeError as error:  # the requested level cannot work here
        raise BatchError(str(error)) from None
    if rubric.pack is not None:
        from .pack import unsandboxed
        if sandbox.level == "none":
            print(f"grader: {sandbox.warning if rubric.pack.includes_hidden else unsandboxed(args.lang)}",
                  file=sys.stderr)
        return rubric, manual, template
    if sandbox.warning:
        print(f"grader: WARNING: {sandbox.warning}", file=sys.stderr)
    if not rubric.reference.is_file():
        raise BatchError(f"{rubric.path}: the reference notebook {rubric.reference} does not exist")
    return rubric, manual, template


def _with_reference(rubric, template: Job, executor=None, queue=None, progress=None) -> Job:
    from dataclasses import replace
    if rubric.pack is not None:  # a student's pack: the reference's values measured when it was made
        return replace(template, reference=rubric.pack.reference)
    print(f"Reference solution: {rubric.reference.name} (seed {template.seed})", file=sys.stderr)
    from .progress import Progress
    reference = reference_values(rubric, template, None if executor else (progress or Progress(1)).event,
                                 executor, queue)
    _warn_reference(reference)
    return replace(template, reference=reference.measured)


def _warn_reference(reference: Result) -> None:
    if reference.problems or any(c.status == "error" for c in reference.checks):
        print(f"grader: WARNING: the reference solution has problems: {'; '.join(reference.problems) or 'see validate'}",
              file=sys.stderr)


def _intake(args):
    """The submissions (a folder, or the LMS's zip extracted under --out), one per student, and the folder that
    holds the instructor's CSV files (the submissions folder, or the zip's)."""
    from . import intake
    taken = intake.find(intake.open_submissions(args.submissions, args.out), args.layout)
    if not taken.submissions:
        raise BatchError(f"{args.submissions}: no .ipynb notebooks found")
    if taken.layout != "auto":
        print(f"Submissions: {len(taken.submissions)} student(s), named as {taken.layout.split(':')[0]} names them",
              file=sys.stderr)
    if taken.unmatched:
        shown = ", ".join(taken.unmatched[:10]) + (f" and {len(taken.unmatched) - 10} more"
                                                   if len(taken.unmatched) > 10 else "")
        print(f"grader: {len(taken.unmatched)} file(s) not named as {taken.layout} names a student's, "
              f"not graded: {shown}", file=sys.stderr)
    return taken.submissions, args.submissions if args.submissions.is_dir() else args.submissions.parent


def cmd_grade(args) -> int:
    found, here = _intake(args)
    if args.workers < 1:
        raise BatchError(f"--workers {args.workers}: must be at least 1")
    workers = max(1, min(args.workers, len(found)))
    rubric, manual, template = _settings(args, here, workers)
    from .intake import EXTENSIONS, read_extensions
    extra, unknown = read_extensions(here / EXTENSIONS, found)
    if unknown:
        print(f"grader: {here / EXTENSIONS} names student(s) with no submission: {', '.join(unknown)}", file=sys.stderr)

    def job_for(template: Job, sid: str) -> Job:
        from dataclasses import replace
        return replace(template, submission=sid, notebook=str(found[sid].path), out_dir=str(args.out / sid),
                       manual=manual.get(sid, {}), intake=found[sid].intake(extra.get(sid, 0.0)))
    from .progress import Progress
    from .report import write_class_files
    progress = Progress(len(found))
    results: dict[str, Result] = {}
    question_ids, title = [q.id for q in rubric.questions], localized(rubric.title, args.lang)

    def on_done(result: Result, write: bool = True):
        results[result.submission] = result
        status = f"{result.score:g}/{result.max_score:g}" + (f"  ({result.problems[0][:80]})" if result.problems else "")
        progress.finished(result.submission, status)
        if write:
            write_class_files(list(results.values()), args.out, question_ids, title, args.lang)

    def still_to_grade(template: Job) -> list[Job]:
        """The jobs whose saved result is out of date; the others count as done at once (no worker needed).

        Every job of the run is recorded for ``grader review``, which re-scores with them."""
        from .grade import current_result
        from .review import write_record
        jobs = [job_for(template, sid) for sid in found]
        write_record(args.out, jobs, args.manual_scores or here / MANUAL_SCORES, title, args.lang)
        todo, reused = [], 0
        for job in jobs:
            sid = job.submission
            result = current_result(job)
            if result is None:
                todo.append(job)
                continue
            reused += 1
            progress.event({"event": "reused", "submission": sid})
            on_done(result, write=False)
        if reused:
            write_class_files(list(results.values()), args.out, question_ids, title, args.lang)
        return todo

    for sid in found:  # results from an earlier run count until they are redone
        from .result import load_result
        previous = load_result(args.out / sid / "result.json")
        if previous is not None:
            results[sid] = previous
    from dataclasses import replace

    from .grade import current_result
    reference = current_result(reference_job(rubric, template))  # unchanged: no worker needed for it
    todo = None
    if reference is not None:
        print(f"Reference solution: {rubric.reference.name} (seed {template.seed}): unchanged, re-used",
              file=sys.stderr)
        _warn_reference(reference)
        template = replace(template, reference=reference.measured)
        todo = still_to_grade(template)
        if not args.cluster and 0 < len(todo) < workers:  # no idle workers for what is left
            workers = len(todo)
            if not args.threads:
                from .execute.warmup import cores
                todo = [replace(job, threads=max(1, cores() // workers)) for job in todo]
    if not args.cluster and workers > 1 and todo != []:
        from .grade import needs_execution
        ref_job = reference_job(rubric, template)
        candidates = todo if todo is not None else [job_for(template, sid) for sid in found]
        if (reference is not None or not needs_execution(ref_job)) and not any(map(needs_execution, candidates)):
            workers = 1  # only evaluations left: one TensorFlow import here beats one per worker process
    if todo != []:  # workers start only when there is something to run or evaluate
        pool = _executor(args, workers)
        with pool as (executor, queue):
            if isinstance(queue, _DirectQueue):
                _pump(queue, progress)
            elif args.cluster:
                pool.client.subscribe_topic(queue.topic, lambda record: _deliver(progress, record[1]))
            elif queue is not None:
                threading.Thread(target=_pump, args=(queue, progress, pool.stopped), daemon=True).start()
            if args.cluster:
                _check_cluster(pool.client, args, template)
            if reference is None:
                template = _with_reference(rubric, template, executor, queue, progress)
                progress.forget("reference")
                todo = still_to_grade(template)
            progress.note(f"Grading {len(todo)} submission(s) of {rubric.name} with "
                          + (f"the Dask cluster at {args.cluster}" if args.cluster else f"{workers} worker(s)")
                          + f" → {args.out}")
            grade_all(todo, executor, queue, on_done, retries=pool.retries, window=pool.window)
    print(f"Done: {len(found)} submission(s), {len(found) - len(todo or [])} unchanged and re-used. "
          f"Gradebook: {args.out / 'gradebook.csv'}  Summary: {args.out / 'index.html'}", file=sys.stderr)
    return 0


class _executor:
    """A local process pool (with a progress queue) or a Dask cluster's executor.

    Also says how :func:`grader.batch.grade_all` should use it: ``window``,
    the jobs handed over at once, and ``retries`` after a lost worker.
    """

    def __init__(self, args, workers: int):
        self.args, self.workers = args, workers
        self.window, self.retries = workers, 1
        self.stopped = threading.Event()

    def __enter__(self):
        if self.args.cluster:
            import uuid

            from distributed import Client

            from .batch import ClusterProgress
            self.client = Client(self.args.cluster)
            self.executor = self.client.get_executor(pure=False)  # a retry is a new task, not the lost one
            self.window = None                                    # the scheduler balances the cluster
            self.retries = _grader_retries(self.client)
            return self.executor, ClusterProgress(f"grader-progress-{uuid.uuid4().hex}")
        if self.workers == 1:
            self.executor = _InProcess()
            return self.executor, _DirectQueue()
        import multiprocessing
        from multiprocessing.managers import SyncManager
        self.manager = SyncManager(ctx=multiprocessing.get_context("spawn"))
        self.manager.start(die_with_parent)  # after a kill -9 of the grader it must not linger
        self.executor = local_executor(self.workers)
        return self.executor, self.manager.Queue()

    def __exit__(self, *exc):
        self.stopped.set()
        if hasattr(self, "client"):  # a Dask executor: shutdown(wait) only
            self.executor.shutdown(wait=exc[0] is None)
            self.client.close()
            return False
        self.executor.shutdown(wait=exc[0] is None, cancel_futures=True)
        if hasattr(self, "manager"):
            self.manager.shutdown()
        return False


def _grader_retries(client) -> int:
    """Retries after a lost worker, so that a lost notebook is re-run once in all.

    Dask itself re-runs a task whose worker died, up to the scheduler's
    ``allowed-failures`` (3 by default), before it reports KilledWorker; the
    grader adds its one retry only when the scheduler made none.
    """
    try:
        allowed = client.run_on_scheduler(_allowed_failures)
    except Exception:
        allowed = 3
    if allowed:
        print(f"grader: the Dask scheduler re-runs a task lost with its worker up to {allowed} time(s) "
              f"(distributed.scheduler.allowed-failures); then the submission is reported as an "
              f"infrastructure failure.", file=sys.stderr)
    return 0 if allowed else 1


def _allowed_failures(dask_scheduler=None) -> int:
    return int(getattr(dask_scheduler, "allowed_failures", 3))


def _check_cluster(client, args, template: Job) -> None:
    """Workers must import the same grader and see the same files: fail early, naming the worker."""
    paths = [str(args.submissions.resolve()), str(args.out.resolve()), str(Path(template.assignment).resolve())]
    try:
        client.wait_for_workers(1, timeout=60)
        answers = client.run(_worker_can_grade, paths)
    except Exception as error:
        raise BatchError(f"{args.cluster}: the Dask cluster did not answer: {type(error).__name__}: {error}") from None
    for worker, problem in answers.items():
        if problem:
            raise BatchError(f"{args.cluster}: worker {worker}: {problem}. Every worker needs the same "
                             f"virtualenv and repository path as the driver, and the submissions, rubric and "
                             f"--out folder on a shared filesystem at the same paths (see README).")


def _worker_can_grade(paths: list[str]) -> str:
    import importlib.util
    import os
    if importlib.util.find_spec("grader") is None or importlib.util.find_spec("nbclient") is None:
        return "cannot import grader (or nbclient)"
    missing = [path for path in paths if not os.path.exists(path)]
    return f"cannot see {', '.join(missing)}" if missing else ""


class _DirectQueue:
    """Progress events delivered at once, for in-process grading."""
    progress = None

    def put(self, event):
        if self.progress:
            self.progress.event(event)


class _InProcess:
    """The Executor interface, running each job right here (one worker: no pool to start)."""

    def submit(self, fn, *args):
        from concurrent.futures import Future
        future = Future()
        try:
            future.set_result(fn(*args))
        except BaseException as error:
            future.set_exception(error)
        return future

    def shutdown(self, wait=True, cancel_futures=False):
        pass


def _deliver(progress, event) -> None:
    if isinstance(event, dict):
        progress.event(event)


def _pump(queue, progress, stopped=None):
    """Deliver the workers' progress events until the batch ends."""
    if isinstance(queue, _DirectQueue):
        queue.progress = progress
        return
    while not (stopped and stopped.is_set()):
        try:
            event = queue.get(timeout=1)
        except (EOFError, OSError, ConnectionError):
            return
        except Exception:  # queue.Empty: look again
            continue
        _deliver(progress, event)


def cmd_check(args) -> int:
    if not args.notebook.is_file():
        raise BatchError(f"{args.notebook}: " + ("a folder, not a notebook" if args.notebook.is_dir() else "no such file"))
    from .grade import read_notebook
    notebook, problems = read_notebook(args.notebook)
    if notebook is None:  # a student checking the wrong file: say so, do not grade it as zero
        raise BatchError(localized(problems[-1], "en").rstrip("."))
    if args.pack:
        from .pack import rubric_for_check
        args.assignment = rubric_for_check(args.pack, args.assignment)
    elif not args.assignment:
        raise BatchError("give --pack PACK (the assignment's student pack) or --assignment NAME")
    rubric, manual, template = _prepare(args, args.notebook.parent, 1)
    from dataclasses import replace
    sid = safe_id(args.notebook.stem)
    job = replace(template, submission=sid, notebook=str(args.notebook), out_dir=str(args.out / sid),
                  manual=manual.get(sid, {}))
    from .progress import Progress
    progress = Progress(1)
    result = run_job(job, _Forward(progress))
    from .report import format_table
    print(format_table(result, args.lang))
    print(f"\nReport: {args.out / sid / 'report.html'}")
    return 0


class _Forward:
    def __init__(self, progress):
        self.progress = progress

    def put(self, event):
        self.progress.event(event)


def cmd_validate(args) -> int:
    """Grade each reference solution against itself on new fresh data; every automatic point must be earned."""
    from .report.junit import falls_short, write_junit
    failed, results = False, []
    for name in [args.assignment] if args.assignment else rubrics.available():
        rubric = rubrics.load(name)
        template = _reference_template(rubric, secrets.randbelow(2**31), args.lang)
        from .progress import Progress
        result = reference_values(rubric, template, Progress(1).event)
        results.append(result)
        short = [c for c in result.checks if falls_short(c)]
        for check in result.checks:
            automatic = [d for d in check.details if d["status"] != "manual"]
            got, out_of = sum(d["score"] for d in automatic), sum(d["max_score"] for d in automatic)
            mark = "FAIL" if check in short else "ok  "
            print(f"{rubric.name} {check.id:6} {mark} {got:g}/{out_of:g} automatic points"
                  + (" + human review" if check.status == "manual" else "")
                  + ("" if mark.strip() == "ok" else f" — {check.feedback[:200]}"))
        for problem in result.problems:
            print(f"{rubric.name}: problem: {problem}")
        bad = bool(short or result.problems)
        failed |= bad
        print(f"{rubric.name}: {'FAIL' if bad else 'ok'} (seed {result.seed}, "
              f"{result.timings.get('total', 0):.0f} s); report: {Path(template.cache_dir) / 'reference' / rubric.name / 'report.html'}")
    if args.junit_xml:
        write_junit(results, args.junit_xml)
    return 1 if failed else 0


def _reference_template(rubric, seed: int, lang: str) -> Job:
    """The job template the reference solution is graded with, outside a batch (validate, pack, gradescope)."""
    return Job(submission="", notebook="", assignment=str(rubric.path), out_dir="", seed=seed, lang=lang,
               threads=os.cpu_count() or 1, cache_dir=str(_cache_dir()))


def _seeds(args) -> list[int]:
    """``--seeds`` consecutive seeds from ``--seed`` (default: a new one)."""
    if args.seeds < 1:
        raise BatchError(f"--seeds {args.seeds}: must be at least 1")
    first = secrets.randbelow(2**31) if args.seed is None else args.seed
    return [first + i for i in range(args.seeds)]


def cmd_pack(args) -> int:
    """Write each assignment's student pack; the reference runs only when the cache does not hold it."""
    from .pack import build
    from .progress import Progress
    seeds = _seeds(args)
    for name in [args.assignment] if args.assignment else rubrics.available():
        rubric = rubrics.load(name)
        path = build(rubric, args.out, _reference_template(rubric, seeds[0], "en"), seeds, Progress(1).event)
        print(f"{rubric.name}: wrote {path}")
    return 0


def cmd_gradescope(args) -> int:
    """Write the Gradescope autograder zip of one assignment."""
    from .gradescope import build
    from .progress import Progress
    seeds = _seeds(args)
    rubric = rubrics.load(args.assignment)
    try:
        build(rubric, args.out, _reference_template(rubric, seeds[0], args.lang), seeds, args.lang, Progress(1).event)
    except RuntimeError as error:  # no source tree, or the wheel did not build
        raise BatchError(str(error)) from None
    print(f"{rubric.name}: wrote {args.out} (upload it as the assignment's autograder, Ubuntu base image)")
    return 0


def cmd_export(args) -> int:
    """Write what the LMS reads back; list on stderr every result and every LMS row left unmatched."""
    from .report import lms
    results = lms.load_results(args.results)
    out = args.out or args.results / args.default_out
    if args.target == "canvas":
        matching, against = lms.canvas(results, args.roster, args.column, out), args.roster
    elif args.target == "moodle":
        matching, against = lms.moodle(results, args.worksheet, out, args.lang), args.worksheet
    else:
        matching, against = lms.moodle_feedback(results, args.results, out), None
    for note in matching.notes:
        print(f"grader: {note}", file=sys.stderr)
    if matching.without_row:
        where = f"no row in {against}" if against else "no student id from Moodle's names (or no report)"
        print(f"grader: {len(matching.without_row)} result(s) left out, {where}: {', '.join(matching.without_row)}",
              file=sys.stderr)
    if matching.without_result:
        print(f"grader: {len(matching.without_result)} student(s) in {against} with no result, left as they were: "
              f"{', '.join(matching.without_result)}", file=sys.stderr)
    print(f"Wrote {out}: {matching.written} student(s)", file=sys.stderr)
    return 0


def cmd_review(args) -> int:
    from .review import serve
    return serve(args.results, args.host, args.port, args.manual_scores, args.reviewer, args.lang)


def cmd_environment(args) -> int:
    from . import environment
    return environment.main(args.packages)


def cmd_assignments(args) -> int:
    for name in rubrics.available():
        try:
            rubric = rubrics.load(name)
        except rubrics.RubricError as error:
            print(f"{name}: BROKEN: {error}")
            continue
        print(f"{rubric.name}: {localized(rubric.title, 'en')} — {rubric.max_score:g} points; "
              f"reference {rubric.reference.name}")
        for question in rubric.questions:
            kinds = ", ".join(f"{c.kind} {c.points:g}" for c in question.checks)
            print(f"  {question.id:6} {question.max_score:4g} pts  {localized(question.title, 'en')}  [{kinds}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
