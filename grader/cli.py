"""The ``grader`` command: grade, check, validate, pack, gradescope, export, review, assignments, environment.

It parses the arguments, calls one function per command and prints. Each command imports what it uses when it
runs, so that one which runs no notebook starts without the execution stack (tests/test_imports.py).
"""
from __future__ import annotations

import argparse
import errno
import getpass
import os
import secrets
import sys
import tempfile
import threading
from dataclasses import replace
from pathlib import Path

from . import rubric as rubrics
from .batch import (
    MANUAL_SCORES,
    Batch,
    BatchError,
    ClassRun,
    default_workers,
    overlap_reference,
    read_manual_scores,
    reference_values,
    run_job,
    run_seed,
    safe_id,
    with_reference,
)
from .execute.sandbox import CHOICES
from .grade import STOPPING, Job
from .i18n import localized
from .pack import SEEDS


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


def build_parser() -> argparse.ArgumentParser:  # long but flat: one declaration per option, as --help lists them
    parser = _Parser(prog="grader", description="Grade deep-learning notebook assignments.")
    commands = parser.add_subparsers(dest="command", required=True)

    def grading_options(command, required=True, assignment_help="assignment name (see `grader assignments`) or "
                                                                 "rubric path"):
        command.add_argument("--assignment", "-a", required=required, help=assignment_help)
        command.add_argument("--lang", choices=("es", "en"), default="es",
                             help="language of the feedback (default: es)")
        command.add_argument("--cell-timeout", type=_positive, metavar="SECONDS",
                             help="override the rubric's time limit per cell")
        command.add_argument("--notebook-timeout", type=_positive, metavar="SECONDS",
                             help="override the rubric's time limit per notebook")
        command.add_argument("--memory-limit", type=_size, metavar="SIZE",
                             help="override the rubric's memory limit, e.g. 4G")
        command.add_argument("--sandbox", choices=CHOICES, default="auto",
                             help="isolation of student code (default: the strongest available)")
        command.add_argument("--seed", type=int,
                             help="seed of the fresh data (default: kept from the last run in --out, else new)")
        command.add_argument("--new-seed", action="store_true", help="draw new fresh data even if --out has a seed")
        command.add_argument("--manual-scores", type=Path, metavar="CSV",
                             help=f"instructor's scores for human-review questions "
                                  f"(default: SUBMISSIONS/{MANUAL_SCORES})")

    grade = commands.add_parser("grade", help="grade every notebook in a folder")
    grade.add_argument("submissions", type=Path, help="folder of .ipynb files, or of one folder per student, "
                                                      "or the zip an LMS downloads")
    grade.add_argument("--layout", type=_layout, default="auto", metavar="LAYOUT",
                       help="how file names tell the student: auto (default), flat, folders, canvas, moodle, "
                            "or regex:PATTERN with nbgrader's named groups")
    grade.add_argument("--out", "-o", type=Path, required=True, help="output folder")
    grade.add_argument("--workers", "-j", type=int, default=default_workers(),
                       help="notebooks graded at once (default: cores)")
    grade.add_argument("--threads", type=int, metavar="N",
                       help="TensorFlow threads per notebook (default: cores // workers; on a cluster, each "
                            "machine's cores // its task slots)")
    grade.add_argument("--cluster", metavar="ADDRESS", help="Dask scheduler address, e.g. tcp://10.0.0.5:8786")
    grading_options(grade)

    check = commands.add_parser("check", help="self-check one notebook before handing it in")
    check.add_argument("notebook", type=Path)
    check.add_argument("--out", "-o", type=Path, default=Path("grader-check"),
                       help="output folder (default: ./grader-check)")
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
    validate.add_argument("--assignment", "-a", action="append",
                          help="only this assignment, by name or rubric path; repeat for several (default: all)")
    validate.add_argument("--workers", "-w", type=int, default=0,
                          help="references graded at once (default: one per assignment, up to this machine's cores)")
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


RUNS_NOTEBOOKS = ("grade", "check", "validate", "pack", "gradescope")  # the commands that start kernels


def main(argv=None) -> int:
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    args = build_parser().parse_args(argv)
    if args.command not in ("assignments", "environment", "export", "review"):
        _native_stderr_to_log()
    try:
        if args.command in RUNS_NOTEBOOKS and not getattr(args, "cluster", None):  # a cluster's workers check theirs
            from .execute.runner import socket_path_problem
            if problem := socket_path_problem():
                raise BatchError(problem)
        return {"grade": cmd_grade, "check": cmd_check, "validate": cmd_validate, "export": cmd_export,
                "pack": cmd_pack, "gradescope": cmd_gradescope, "review": cmd_review, "assignments": cmd_assignments,
                "environment": cmd_environment}[args.command](args)
    except (rubrics.RubricError, BatchError) as error:
        print(f"grader: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        STOPPING.set()  # a notebook run ahead in this process saves nothing now (see grade.STOPPING)
        print("grader: interrupted; finished submissions are saved, run the same command again to go on.",
              file=sys.stderr)
        return 130
    except OSError as error:
        if error.errno not in (errno.ENOSPC, errno.EDQUOT):
            raise
        print(f"grader: error: {error.strerror}; finished submissions are saved, free some space and run the same "
              f"command again to go on.", file=sys.stderr)
        return 1


def run() -> None:
    """The ``grader`` command: :func:`main`, then a quick exit once TensorFlow is loaded.

    The interpreter's own teardown of TensorFlow (thousands of modules, its native destructors) takes
    seconds after the work is done. Exit handlers still run and the output is flushed; only that
    teardown is skipped, and only when no other non-daemon thread is left to wait for.
    """
    code = main()
    others = [t for t in threading.enumerate() if t is not threading.current_thread() and not t.daemon]
    if "tensorflow" in sys.modules and not others:
        import atexit
        atexit._run_exitfuncs()
        sys.stdout.flush()
        sys.stderr.flush()
        os._exit(code)
    sys.exit(code)


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


def _settings(args, submissions_folder: Path, workers: int):
    """Everything checked before any notebook runs or any worker starts: fails fast on bad input."""
    rubric = rubrics.load(args.assignment)
    _writable(args.out)
    if args.manual_scores and not args.manual_scores.is_file():
        raise BatchError(f"{args.manual_scores}: no such file")
    manual = read_manual_scores(args.manual_scores or submissions_folder / MANUAL_SCORES, rubric)
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
            words = sandbox.warning_in(args.lang) if rubric.pack.includes_hidden else unsandboxed(args.lang)
            print(f"grader: {words}", file=sys.stderr)
        return rubric, manual, template
    if sandbox.warning:
        print(f"grader: WARNING: {sandbox.warning_in(args.lang)}", file=sys.stderr)
    if not rubric.reference.is_file():
        raise BatchError(f"{rubric.path}: the reference notebook {rubric.reference} does not exist")
    return rubric, manual, template


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


def _batch(args) -> Batch:
    """The class to grade, from the command line: its submissions, rubric, scores and settings."""
    found, here = _intake(args)
    if args.workers < 1:
        raise BatchError(f"--workers {args.workers}: must be at least 1")
    rubric, manual, template = _settings(args, here, min(args.workers, len(found)))
    from .intake import EXTENSIONS, read_extensions
    extra, unknown = read_extensions(here / EXTENSIONS, found)
    if unknown:
        print(f"grader: {here / EXTENSIONS} names student(s) with no submission: {', '.join(unknown)}", file=sys.stderr)
    return Batch(rubric, template, found, args.submissions, args.out, args.manual_scores or here / MANUAL_SCORES,
                 manual, extra)


def cmd_grade(args) -> int:
    batch = _batch(args)
    from .progress import Progress
    done = ClassRun(batch, Progress(len(batch.submissions))).run(min(args.workers, len(batch.submissions)),
                                                                 bool(args.threads), args.cluster)
    print(f"Done: {len(batch.submissions)} submission(s), {len(batch.submissions) - len(done.todo)} unchanged and "
          f"re-used. Gradebook: {args.out / 'gradebook.csv'}  Summary: {args.out / 'index.html'}", file=sys.stderr)
    return 0


def cmd_check(args) -> int:
    if not args.notebook.is_file():
        raise BatchError(f"{args.notebook}: "
                         + ("a folder, not a notebook" if args.notebook.is_dir() else "no such file"))
    from .grade import read_notebook
    notebook, problems = read_notebook(args.notebook)
    if notebook is None:  # a student checking the wrong file: say so, do not grade it as zero
        raise BatchError(localized(problems[-1], "en").rstrip("."))
    if args.pack:
        from .pack import rubric_for_check
        args.assignment = rubric_for_check(args.pack, args.assignment)
    elif not args.assignment:
        raise BatchError("give --pack PACK (the assignment's student pack) or --assignment NAME")
    rubric, manual, template = _settings(args, args.notebook.parent, 1)
    from .pool import Forward
    from .progress import Progress
    progress = Progress(1)
    sid = safe_id(args.notebook.stem)
    job = replace(template, submission=sid, notebook=str(args.notebook), out_dir=str(args.out / sid),
                  manual=manual.get(sid, {}))
    ahead = overlap_reference(rubric, job, Forward(progress.event))  # runs while the reference is measured
    job = replace(job, reference=with_reference(rubric, template, progress)[0].reference)
    progress.forget("reference")
    if ahead:
        ahead.join()
    result = run_job(job, Forward(progress.event))
    from .report import format_table
    print(format_table(result, args.lang))
    print(f"\nReport: {args.out / sid / 'report.html'}")
    return 0


def cmd_validate(args) -> int:
    """Grade each reference solution against itself on new fresh data; every automatic point must be earned.

    The references are graded side by side (``--workers``), each on a worker of its own, as a batch grades.
    """
    from concurrent.futures import ThreadPoolExecutor

    from .execute.warmup import cores
    from .pool import Labelled, Pool
    from .progress import Progress
    from .report.junit import falls_short, write_junit
    loaded = [rubrics.load(name) for name in args.assignment or rubrics.available()]
    workers = args.workers if args.workers > 0 else min(len(loaded), cores())
    threads = max(1, cores() // workers)
    progress = Progress(len(loaded))
    with Pool(workers, progress.event) as pool, ThreadPoolExecutor(workers) as waiting:
        def measure(rubric):
            template = _reference_template(rubric, secrets.randbelow(2**31), args.lang, threads)
            channel = Labelled(pool.queue, _reference_label(rubric))
            return reference_values(rubric, template, None, pool.executor, channel)
        results = list(waiting.map(measure, loaded))
    for rubric in loaded:
        progress.forget(_reference_label(rubric))
    failed = False
    for rubric, result in zip(loaded, results):
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
              f"{result.timings.get('total', 0):.0f} s); "
              f"report: {Path(_cache_dir()) / 'reference' / rubric.name / 'report.html'}")
    if args.junit_xml:
        write_junit(results, args.junit_xml)
    return 1 if failed else 0


def _reference_label(rubric) -> str:
    """How validate's progress names the reference of ``rubric``."""
    return f"{rubric.name} reference"


def _reference_template(rubric, seed: int, lang: str, threads: int = 0) -> Job:
    """The job template the reference solution is graded with, outside a batch (validate, pack, gradescope);
    ``threads`` for TensorFlow (default: every core)."""
    return Job(submission="", notebook="", assignment=str(rubric.path), out_dir="", seed=seed, lang=lang,
               threads=threads or os.cpu_count() or 1, cache_dir=str(_cache_dir()))


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
