"""The ``grader`` command: grade, check, validate, assignments."""
from __future__ import annotations

import argparse
import os
import sys
import tempfile
import threading
from pathlib import Path

from . import rubric as rubrics
from .batch import (MANUAL_SCORES, BatchError, default_workers, find_submissions, grade_all, local_executor,
                    read_manual_scores, reference_values, run_job, run_seed, safe_id)
from .grade import Job
from .result import Result


def _cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(base) / "grader"


def _size(text: str) -> int:
    try:
        return rubrics.parse_size(text, "--memory-limit")
    except rubrics.RubricError as error:
        raise argparse.ArgumentTypeError(str(error)) from None


def _positive(text: str) -> float:
    value = float(text)
    if value <= 0:
        raise argparse.ArgumentTypeError(f"{text} is not a positive number")
    return value


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="grader", description="Grade deep-learning notebook assignments.")
    commands = parser.add_subparsers(dest="command", required=True)

    def grading_options(command):
        command.add_argument("--assignment", "-a", required=True, help="assignment name (see `grader assignments`) or rubric path")
        command.add_argument("--lang", choices=("es", "en"), default="es", help="language of the feedback (default: es)")
        command.add_argument("--cell-timeout", type=_positive, metavar="SECONDS", help="override the rubric's time limit per cell")
        command.add_argument("--notebook-timeout", type=_positive, metavar="SECONDS", help="override the rubric's time limit per notebook")
        command.add_argument("--memory-limit", type=_size, metavar="SIZE", help="override the rubric's memory limit, e.g. 4G")
        command.add_argument("--sandbox", choices=("auto", "bubblewrap", "none"), default="auto",
                             help="isolation of student code (default: the strongest available)")
        command.add_argument("--seed", type=int, help="seed of the fresh data (default: kept from the last run in --out, else new)")
        command.add_argument("--new-seed", action="store_true", help="draw new fresh data even if --out has a seed")
        command.add_argument("--manual-scores", type=Path, metavar="CSV",
                             help=f"instructor's scores for human-review questions (default: SUBMISSIONS/{MANUAL_SCORES})")

    grade = commands.add_parser("grade", help="grade every notebook in a folder")
    grade.add_argument("submissions", type=Path, help="folder of .ipynb files, or of one folder per student")
    grade.add_argument("--out", "-o", type=Path, required=True, help="output folder")
    grade.add_argument("--workers", "-j", type=int, default=default_workers(), help="notebooks graded at once (default: cores)")
    grade.add_argument("--cluster", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    grading_options(grade)

    check = commands.add_parser("check", help="self-check one notebook before handing it in")
    check.add_argument("notebook", type=Path)
    check.add_argument("--out", "-o", type=Path, default=Path("grader-check"), help="output folder (default: ./grader-check)")
    grading_options(check)

    validate = commands.add_parser("validate", help="check that every reference solution earns full marks")
    validate.add_argument("--assignment", "-a", help="only this assignment (default: all)")
    validate.add_argument("--lang", choices=("es", "en"), default="en")
    validate.add_argument("--out", "-o", type=Path, help="also write the reference reports here")

    commands.add_parser("assignments", help="list the assignments, their questions and points")
    return parser


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's start-up chatter hides the progress
    args = build_parser().parse_args(argv)
    try:
        return {"grade": cmd_grade, "check": cmd_check, "validate": cmd_validate,
                "assignments": cmd_assignments}[args.command](args)
    except (rubrics.RubricError, BatchError) as error:
        print(f"grader: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("grader: interrupted; finished submissions are saved, run the same command again to go on.",
              file=sys.stderr)
        return 130


def _writable(folder: Path) -> None:
    try:
        folder.mkdir(parents=True, exist_ok=True)
        with tempfile.NamedTemporaryFile(dir=folder):
            pass
    except OSError as error:
        raise BatchError(f"{folder}: output folder is not writable ({error.strerror})") from None


def _template(args, rubric, seed: int, workers: int) -> Job:
    return Job(submission="", notebook="", assignment=str(rubric.path), out_dir="", seed=seed, lang=args.lang,
               limits={"cell_timeout": args.cell_timeout, "notebook_timeout": args.notebook_timeout,
                       "memory": args.memory_limit},
               sandbox=args.sandbox, threads=max(1, (os.cpu_count() or 1) // max(1, workers)),
               cache_dir=str(_cache_dir()))


def _prepare(args, submissions_folder: Path, workers: int):
    rubric = rubrics.load(args.assignment)
    _writable(args.out)
    manual_file = args.manual_scores or submissions_folder / MANUAL_SCORES
    if args.manual_scores and not args.manual_scores.is_file():
        raise BatchError(f"{args.manual_scores}: no such file")
    manual = read_manual_scores(manual_file, rubric)
    seed = run_seed(args.out, rubric.name, args.new_seed, args.seed)
    template = _template(args, rubric, seed, workers)
    from .execute.sandbox import detect
    sandbox = detect(args.sandbox)
    if sandbox.warning:
        print(f"grader: WARNING: {sandbox.warning}", file=sys.stderr)
    print(f"Reference solution: {rubric.reference.name} (seed {seed})", file=sys.stderr)
    from .progress import Progress
    reference = reference_values(rubric, template, Progress(1).event)
    if reference.problems or any(c.status == "error" for c in reference.checks):
        print(f"grader: WARNING: the reference solution has problems: {'; '.join(reference.problems) or 'see validate'}",
              file=sys.stderr)
    from dataclasses import replace
    return rubric, manual, replace(template, reference=reference.measured)


def cmd_grade(args) -> int:
    if not args.submissions.is_dir():
        raise BatchError(f"{args.submissions}: no such folder")
    found = find_submissions(args.submissions)
    if not found:
        raise BatchError(f"{args.submissions}: no .ipynb notebooks found")
    workers = max(1, min(args.workers, len(found)))
    rubric, manual, template = _prepare(args, args.submissions, workers)
    from dataclasses import replace
    jobs = [replace(template, submission=sid, notebook=str(path), out_dir=str(args.out / sid), manual=manual.get(sid, {}))
            for sid, path in found.items()]
    print(f"Grading {len(jobs)} submission(s) of {rubric.name} with {workers} worker(s)"
          + (f" on {args.cluster}" if args.cluster else "") + f" → {args.out}", file=sys.stderr)
    from .progress import Progress
    from .report import write_gradebook, write_index
    progress = Progress(len(jobs))
    results: dict[str, Result] = {}
    question_ids = [q.id for q in rubric.questions]

    def on_done(result: Result):
        results[result.submission] = result
        status = f"{result.score:g}/{result.max_score:g}" + (f"  ({result.problems[0][:80]})" if result.problems else "")
        progress.finished(result.submission, status)
        write_gradebook(list(results.values()), args.out / "gradebook.csv", question_ids)
        write_index(list(results.values()), _title(rubric, args.lang), args.out / "index.html", args.lang)

    for sid in found:  # results from an earlier run count until they are redone
        from .result import load_result
        previous = load_result(args.out / sid / "result.json")
        if previous is not None:
            results[sid] = previous
    with _executor(args, workers) as (executor, queue):
        if queue is not None:
            threading.Thread(target=_pump, args=(queue, progress), daemon=True).start()
        grade_all(jobs, executor, queue, on_done)
    print(f"Done: {len(jobs)} graded. Gradebook: {args.out / 'gradebook.csv'}  Summary: {args.out / 'index.html'}",
          file=sys.stderr)
    return 0


class _executor:
    """A local process pool (with a progress queue) or a Dask cluster's executor."""

    def __init__(self, args, workers: int):
        self.args, self.workers = args, workers

    def __enter__(self):
        if self.args.cluster:
            from distributed import Client
            self.client = Client(self.args.cluster)
            self.executor = self.client.get_executor()
            return self.executor, None
        if self.workers == 1:
            self.executor = _InProcess()
            return self.executor, _DirectQueue()
        import multiprocessing
        self.manager = multiprocessing.get_context("spawn").Manager()
        self.executor = local_executor(self.workers)
        return self.executor, self.manager.Queue()

    def __exit__(self, *exc):
        self.executor.shutdown(wait=exc[0] is None, cancel_futures=True)
        if hasattr(self, "manager"):
            self.manager.shutdown()
        if hasattr(self, "client"):
            self.client.close()
        return False


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


def _pump(queue, progress):
    if isinstance(queue, _DirectQueue):
        queue.progress = progress
        return
    while True:
        try:
            event = queue.get()
        except (EOFError, OSError):
            return
        progress.event(event)


def _title(rubric, lang: str) -> str:
    title = rubric.title
    return title.get(lang) or next(iter(title.values())) if isinstance(title, dict) else str(title)


def cmd_check(args) -> int:
    if not args.notebook.is_file():
        raise BatchError(f"{args.notebook}: no such file")
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
    names = [args.assignment] if args.assignment else rubrics.available()
    failed = False
    for name in names:
        rubric = rubrics.load(name)
        out = args.out or Path(tempfile.mkdtemp(prefix="grader-validate-"))
        template = Job(submission="reference", notebook=str(rubric.reference), assignment=str(rubric.path),
                       out_dir=str(out / rubric.name), seed=run_seed(out, rubric.name, True, None), lang=args.lang,
                       threads=os.cpu_count() or 1, cache_dir=str(_cache_dir()))
        if not rubric.reference.is_file():
            print(f"{rubric.name}: FAIL: reference notebook {rubric.reference} is missing")
            failed = True
            continue
        from .progress import Progress
        result = run_job(template, _Forward(Progress(1)))
        short = [c for c in result.checks if c.status not in ("pass", "manual")]
        for check in result.checks:
            auto = [d for d in check.details if d["status"] != "manual"]
            got = sum(d["score"] for d in auto)
            out_of = sum(d["max_score"] for d in auto)
            mark = "ok  " if check.status in ("pass", "manual") else "FAIL"
            print(f"{rubric.name} {check.id}: {mark} {got:g}/{out_of:g} automatic points"
                  + (" (+ human review)" if check.status == "manual" else "")
                  + (f" — {check.feedback[:150]}" if check.status not in ("pass", "manual") else ""))
        for problem in result.problems:
            print(f"{rubric.name}: problem: {problem}")
        if short or result.problems:
            failed = True
        print(f"{rubric.name}: {'FAIL' if short or result.problems else 'ok'} (seed {result.seed}, "
              f"{result.timings.get('total', 0):.0f} s) report: {Path(template.out_dir) / 'report.html'}")
    return 1 if failed else 0


def cmd_assignments(args) -> int:
    for name in rubrics.available():
        try:
            rubric = rubrics.load(name)
        except rubrics.RubricError as error:
            print(f"{name}: BROKEN: {error}")
            continue
        print(f"{rubric.name}: {_title(rubric, 'en')} — {rubric.max_score:g} points; reference {rubric.reference.name}")
        for question in rubric.questions:
            kinds = ", ".join(f"{c.kind} {c.points:g}" for c in question.checks)
            print(f"  {question.id:6} {question.max_score:4g} pts  {_title(question, 'en')}  [{kinds}]")
    return 0


if __name__ == "__main__":
    sys.exit(main())
