"""Grade one submission: execute, harvest, evaluate, report.

Everything a worker needs comes in a picklable :class:`Job`, so the same
function runs in this process, in a local process pool or on a Dask
worker. Each stage is re-used when what it depends on has not changed:
the notebook is not run again when the notebook, the rubric's execution
settings and the environment are the same; it is not re-evaluated when the
rubric, the seed and the instructor's scores are also the same; a report
drawn by older report code is drawn again from the result alone (which code
each stage depends on: :mod:`grader.digests`). The notebook's machinery
(nbformat, the runner, the evaluation) is imported only by what needs it, so
that commands which read results stay quick.
"""
from __future__ import annotations

import hashlib
import json
import re
import shutil
import tempfile
import threading
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING

from . import digests, i18n
from . import rubric as rubrics
from .execute.execution import Execution, saved_key
from .execute.limits import Limits
from .execute.sandbox import Sandbox, detect
from .late import stamp
from .result import Result, load_result, write_json_atomic

if TYPE_CHECKING:
    import nbformat

# Keras 2 code that only tf-keras runs: a recurrent layer given input_dim= (Keras 3 takes it for a flat
# input and the model stays broken). Other Keras 2 names (np_utils, layers.core, predict_classes, lr=,
# decay=, fit_generator) are mapped inside the kernel by execute/kernel/keras_compat.py.
LEGACY_IDIOMS = re.compile(r"\b(SimpleRNN|LSTM|GRU|RNN|CuDNNLSTM|CuDNNGRU)\s*\((?:[^()]|\([^()]*\))*?\binput_dim\s*=")


@dataclass
class Job:
    """One notebook to grade, and everything needed to do it anywhere."""
    submission: str
    notebook: str                   # path of the submitted file
    assignment: str                 # rubric name or path
    out_dir: str                    # this submission's output folder
    seed: int
    lang: str = "es"
    limits: dict = field(default_factory=dict)      # overrides of the rubric's limits
    sandbox: str = "auto"
    manual: dict = field(default_factory=dict)      # question id -> "text" | "model" -> {"points", "comment"}
    reference: dict | None = None   # measured values of the reference; None when grading it
    threads: int = 1
    cache_dir: str = ""
    intake: dict | None = None      # who handed it in and when (grader.intake); None: no late penalty (check)


def read_notebook(path: Path) -> tuple[nbformat.NotebookNode | None, list[str]]:
    """The notebook at ``path`` as nbformat 4, or None with the reason."""
    import nbformat
    try:
        raw = path.read_bytes()
    except OSError as error:
        return None, [i18n.each_language("grade.unreadable", file=path.name, error=error.strerror)]
    problems = []
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as error:
        text = raw.decode("utf-8", errors="replace")
        problems.append(i18n.each_language("grade.not_utf8", file=path.name, byte=error.start))
    try:
        notebook = nbformat.reads(text, as_version=4)
    except Exception as error:  # nbformat raises several kinds for non-notebooks
        return None, problems + [i18n.each_language("grade.not_a_notebook", file=path.name,
                                                    error=f"{type(error).__name__}: {str(error)[:200]}")]
    if not isinstance(notebook.get("cells"), list):
        return None, problems + [i18n.each_language("grade.not_a_notebook", file=path.name,
                                                    error=i18n.each_language("grade.no_cells"))]
    for cell in notebook.cells:
        if isinstance(cell.get("source"), list):
            cell.source = "".join(cell.source)
        cell.setdefault("source", "")
    return notebook, problems


def keras_flavour(rubric, notebook) -> bool:
    """True when the notebook must run with legacy Keras (tf-keras)."""
    if rubric.keras != "auto":
        return rubric.keras == "legacy"
    return any(LEGACY_IDIOMS.search(cell.source) for cell in notebook.cells if cell.cell_type == "code")


def uses_models(rubric) -> bool:
    """True when some check judges a model, so the evaluation will need Keras."""
    from .evaluate.checks import declared
    return any(declared(check.kind).needs_model for question in rubric.questions for check in question.checks)


def limits_for(rubric, job: Job) -> Limits:
    values = {**rubric.limits, **{k: v for k, v in job.limits.items() if v is not None}}
    return Limits(**values, threads=job.threads)


def data_files(rubric, cache_dir: Path) -> dict:
    """The file of each data set the notebooks may load offline -> the modules whose ``load_data`` reads it."""
    from .evaluate.data import get_kind
    return {str(get_kind(name).kernel_file(cache_dir)): get_kind(name).LOAD_DATA for name in rubric.datasets}


def _keys(job: Job, rubric, sandbox: Sandbox, notebook_path: Path, readable: bool, limits: Limits) -> dict[str, str]:
    """What the execution, the evaluation and the report depend on, as short digests (see :mod:`grader.digests`)."""
    raw = notebook_path.read_bytes() if readable else b""
    # threads are left out: the worker count of a run must not make every notebook run again
    limits_key = {k: v for k, v in asdict(limits).items() if k != "threads"}
    execution_key = hashlib.sha256(raw + json.dumps([rubric.execution_digest, limits_key, sandbox.level,
                                                     digests.execution()]).encode()).hexdigest()[:16]
    evaluation_key = hashlib.sha256(json.dumps([rubric.digest, job.seed, job.lang, job.manual, job.reference,
                                                job.intake, digests.scoring(), digests.measurement()],
                                               sort_keys=True, default=str).encode()).hexdigest()[:16]
    return {"execution": execution_key, "evaluation": evaluation_key, "report": digests.report()}


def _current_keys(job: Job) -> dict[str, str]:
    """The digests of ``job`` as its inputs are now; cheap (no kernel, no TensorFlow)."""
    rubric = rubrics.load(job.assignment)
    notebook_path = Path(job.notebook)
    readable = read_notebook(notebook_path)[0] is not None
    return _keys(job, rubric, detect(job.sandbox), notebook_path, readable, limits_for(rubric, job))


def current_result(job: Job) -> Result | None:
    """The saved result of ``job`` when nothing it depends on has changed, else None.

    The driver asks it first, so that a batch with nothing to do starts no
    worker at all.
    """
    previous = load_result(Path(job.out_dir) / "result.json")
    if previous is None or not previous.fingerprint:
        return None
    try:
        keys = _current_keys(job)
    except Exception:  # let the worker find out, and report it
        return None
    return _reused(previous, keys, Path(job.out_dir), job.lang)


def _reused(previous: Result, keys: dict[str, str], out: Path, lang: str) -> Result | None:
    """``previous`` when its execution and evaluation are current, else None; a report drawn by other report code
    is drawn again from it (no notebook runs, no model is loaded)."""
    if any(previous.fingerprint.get(stage) != keys[stage] for stage in ("execution", "evaluation")):
        return None
    if previous.fingerprint.get("report") != keys["report"]:
        previous.fingerprint = keys
        write_outputs(previous, out, lang)
    return previous


def measurements_version() -> str:
    """The version of measurements.json: saved measurements count only for the code and libraries that made them."""
    return digests.measurement()


def measured_by_this_version(job: Job) -> bool:
    """True when the submission's saved measurements can answer a new evaluation (no model is loaded again)."""
    try:
        saved = json.loads((Path(job.out_dir) / "measurements.json").read_text(encoding="utf-8"))
        return saved.get("version") == measurements_version()
    except (OSError, ValueError, AttributeError):
        return False


def needs_execution(job: Job) -> bool:
    """False when the notebook's saved execution can be re-used (only an evaluation is left to do)."""
    try:
        return saved_key(Path(job.out_dir)) != _current_keys(job)["execution"]
    except Exception:
        return True


@dataclass
class _Inputs:
    """What a job's notebook, rubric and settings come to, and the digests of its stages."""
    out: Path
    rubric: rubrics.Rubric
    sandbox: Sandbox
    notebook: nbformat.NotebookNode | None
    read_problems: list[str]
    limits: Limits
    keys: dict[str, str]            # execution, evaluation, report


def _inputs(job: Job) -> _Inputs:
    out = Path(job.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    rubric = rubrics.load(job.assignment)
    sandbox = detect(job.sandbox)
    notebook, read_problems = read_notebook(Path(job.notebook))
    read_problems = [i18n.localized(problem, job.lang) for problem in read_problems]
    limits = limits_for(rubric, job)
    keys = _keys(job, rubric, sandbox, Path(job.notebook), notebook is not None, limits)
    return _Inputs(out, rubric, sandbox, notebook, read_problems, limits, keys)


STOPPING = threading.Event()
"""Set when this process is being stopped (Ctrl-C). Its exit handlers then kill the kernels still
running, so a grade under way would save a "kernel died" that is not the student's doing, and the next run
would re-use it: a grade that finds it set saves nothing (:class:`Stopped`)."""


class Stopped(Exception):
    """The grader is stopping: the submission under way is left for the next run to grade."""


def _unless_stopping() -> None:
    if STOPPING.is_set():
        raise Stopped("the grader is stopping: this submission is left for the next run")


def grade(job: Job, progress=None) -> Result:
    """Grade ``job``; writes result.json, report.html and the executed notebook."""
    started = time.monotonic()
    progress = progress or (lambda event: None)
    given = _inputs(job)
    previous = load_result(given.out / "result.json")
    reused = previous and _reused(previous, given.keys, given.out, job.lang)
    if reused:
        progress({"event": "reused"})
        return reused

    ahead = _AHEAD.pop((given.out, given.keys["execution"]), None)  # run for this grade, so its time counts
    execution = ahead or _execution(job, given, progress)
    progress({"event": "evaluate"})
    evaluated = time.monotonic()
    result = _evaluate(job, given, execution)
    stamp(result, given.rubric.late, job.intake, Path(job.notebook), job.lang)
    result.timings = {"execute": round(execution.seconds, 2) if execution else 0.0,
                      "evaluate": round(time.monotonic() - evaluated, 2),
                      "total": round(time.monotonic() - started + (ahead.seconds if ahead else 0.0), 2)}
    result.fingerprint = given.keys
    _unless_stopping()
    write_outputs(result, given.out, job.lang)
    return result


_AHEAD: dict[tuple[Path, str], Execution] = {}  # (out folder, execution key) -> run by execute_ahead, for grade


def execute_ahead(job: Job, progress=None) -> None:
    """Run ``job``'s notebook now, without its reference's values, and save the execution for :func:`grade`.

    A driver calls it in a helper thread while it measures the reference, so that the reference's
    measurement (TensorFlow imported, its saved models measured on the run's seed) overlaps the
    student's kernel instead of preceding it; ``grade`` then takes this execution as its own.
    """
    given = _inputs(job)
    execution = _execution(job, given, progress or (lambda event: None))
    if execution is not None:
        _AHEAD[(given.out, given.keys["execution"])] = execution


def _execution(job: Job, given: _Inputs, progress) -> Execution | None:
    """The notebook's execution: the one saved with the same inputs, else a new one; None when unreadable."""
    if given.notebook is None:
        return None
    execution = Execution.load(given.out, given.keys["execution"])
    if execution is not None:
        progress({"event": "reused_execution"})
        return execution
    if uses_models(given.rubric):  # the evaluator's imports run while the notebook does
        from .execute.warmup import warm_up
        warm_up()
    return _execute(job, given.rubric, given.notebook, given.sandbox, given.limits, given.out,
                    given.keys["execution"], progress)


def _execute(job, rubric, notebook, sandbox, limits, out, execution_key, progress) -> Execution:
    from .execute.leftovers import scratch_prefix
    from .execute.runner import copy_untrusted, execute_notebook
    cache = Path(job.cache_dir or Path(tempfile.gettempdir()) / "grader-cache")
    # Ignore errors: after Ctrl-C the exit handler removes the folder while the kernel may still write in it.
    # What is left then, the next grader sweeps (leftovers).
    with tempfile.TemporaryDirectory(prefix=scratch_prefix("job"), ignore_cleanup_errors=True) as job_dir:
        execution = execute_notebook(notebook, Path(job_dir), sandbox, limits,
                                     legacy_keras=keras_flavour(rubric, notebook),
                                     data_files=data_files(rubric, cache), progress=progress,
                                     course_packages=rubric.packages)
        _unless_stopping()
        models = out / "models"
        shutil.rmtree(models, ignore_errors=True)
        if execution.models_dir.is_dir():
            copy_untrusted(execution.models_dir, models)
        execution.models_dir = models
    execution.save(out, job.submission, execution_key)
    return execution


def _evaluate(job: Job, given: _Inputs, execution: Execution | None) -> Result:
    from .evaluate import Memo, evaluate
    from .evaluate.data import get_kind
    from .execute.predictor import SandboxedPredictor
    from .harvest import Harvest, harvest
    from .harvest.diagnosis import explain_runs

    rubric = given.rubric
    labels = {q.id: q.labels for q in rubric.questions}
    if execution is None:
        harvested = Harvest([], [], {}, [], [])
    else:
        harvested = harvest(execution, labels, rubric.handout)
    memo = Memo(given.out / "measurements.json", version=measurements_version())
    checks, measured, refused = evaluate(harvested, rubric, _data_cache(job.seed), job.lang, job.reference,
                                         job.manual, memo, SandboxedPredictor(given.sandbox, given.limits))
    memo.save()
    sources = {}
    for kind in {c.options["data"] for q in rubric.questions for c in q.checks if "data" in c.options}:
        describe = getattr(get_kind(kind), "description", None)
        if describe is not None:
            sources[kind] = describe()
    return Result(
        submission=job.submission, assignment=rubric.name,
        score=round(sum(c.score for c in checks), 3), max_score=rubric.max_score, seed=job.seed,
        checks=checks, execution=explain_runs(execution.cells, execution.notebook.cells, job.lang) if execution else [],
        notebook=str(Path(job.notebook)),
        sandbox={"level": given.sandbox.level, "warning": _sandbox_warning(rubric, given.sandbox, job.lang)},
        problems=given.read_problems + [i18n.localized(problem, job.lang) for problem in harvested.problems] + refused,
        data_sources=sources,
        fingerprint={}, measured=measured, environment=harvested.environment)


def _sandbox_warning(rubric, sandbox: Sandbox, lang: str) -> str:
    """The sandbox's warning; a student checking with a pack on their own computer gets their own words."""
    if rubric.pack is not None and not rubric.pack.includes_hidden and sandbox.level == "none":
        from .pack import unsandboxed
        return unsandboxed(lang)
    return sandbox.warning_in(lang)


_DATA: dict[int, object] = {}


def _data_cache(seed: int):
    """One cache of fresh data per seed and worker process: generated once, shared by submissions."""
    from .evaluate import DataCache
    if seed not in _DATA:
        _DATA.clear()
        _DATA[seed] = DataCache(seed)
    return _DATA[seed]


def write_outputs(result: Result, out: Path, lang: str) -> None:
    """The report, then result.json (the source of truth, which a next run re-uses): never a result without its
    report, even when the disk fills up between the two."""
    from .report import write_report
    write_report(result, out / "report.html", lang)
    write_json_atomic(out / "result.json", result.to_dict())
