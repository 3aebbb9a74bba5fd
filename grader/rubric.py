"""Rubrics: one TOML file per assignment in ``rubrics/``.

A rubric says which questions there are, how each is checked and for how
many points, which models exist (by signature), the limits for running
a notebook, and the course packages its notebooks import (``[environment]``).
Loading validates everything up front, so a broken rubric gives one
:class:`RubricError` naming the file, the key and the problem, before any
notebook runs.
"""
from __future__ import annotations

import hashlib
import json
import re
import tomllib
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from .execute.limits import Limits
from .late import parse as late_rules

PROJECT_ROOT = Path(__file__).resolve().parent.parent
RUBRICS_DIR = PROJECT_ROOT / "rubrics"

VISIBILITIES = ("public", "hidden")     # hidden: graded after hand-in, shown to students by title and points only
SELECTOR_KEYS = {"input", "output", "layers_any", "layers_all", "layers_none", "hidden_activation_not",
                 "output_activation", "loss", "names"}
KERAS_FLAVOURS = ("auto", "keras3", "legacy")
_PACKAGE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*(\[[\w,.-]*\])?\s*((===?|[<>!~]=|[<>])\s*[\w.*+!-]+\s*,?\s*)*$")
_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGT]?)i?B?\s*$", re.IGNORECASE)


def alternatives(shape) -> list:
    """A selector's shape, or its list of shapes: ``["any", 1]`` or ``[["any", 1], ["any", 2]]``."""
    return shape if isinstance(shape, list) and shape and isinstance(shape[0], list) else [shape]


class RubricError(ValueError):
    """A rubric that cannot be used; the message names file, key and problem."""


@dataclass
class CheckSpec:
    kind: str
    points: float
    options: dict
    label: object = ""              # str or {"es": .., "en": ..}
    section: str = ""               # question whose cells hold the work (default: own question)
    visibility: str = "public"      # one of VISIBILITIES


@dataclass
class Question:
    id: str
    title: object
    checks: list[CheckSpec]
    labels: list[str]

    @property
    def max_score(self) -> float:
        return sum(check.points for check in self.checks)


@dataclass
class Rubric:
    name: str
    title: object
    path: Path
    reference: Path
    keras: str
    datasets: list[str]
    limits: dict
    models: dict[str, dict]
    questions: list[Question]
    handout: frozenset = frozenset()  # (cell type, normalised source) of the handout's cells: not the student's work
    digest: str = ""
    execution_digest: str = ""      # digest of what changes how notebooks run (not how they are scored)
    packages: list[str] = field(default_factory=list)   # course packages, e.g. ["d2l"]
    late: object = None             # grader.late.LateRules from [late], or None: no late penalty
    pack: object = None             # grader.pack.Pack when the rubric comes from a student pack

    @property
    def max_score(self) -> float:
        return sum(q.max_score for q in self.questions)

    def question(self, qid: str) -> Question:
        return next(q for q in self.questions if q.id == qid)


def parse_size(value, where: str) -> int:
    """``"4G"`` -> bytes."""
    if isinstance(value, int) and value > 0:
        return value
    match = _SIZE.match(str(value))
    if not match:
        raise RubricError(f"{where}: {value!r} is not a size like 512M or 4G")
    number, unit = float(match[1]), match[2].upper()
    return int(number * 1024 ** " KMGT".index(unit or " "))


def available() -> list[str]:
    return sorted(p.stem for p in RUBRICS_DIR.glob("*.toml"))


def load(name_or_path: str | Path) -> Rubric:
    """Load a rubric by assignment name (from ``rubrics/``) or by path; a ``.pack`` file is a student pack's."""
    path = Path(name_or_path)
    if path.suffix == ".pack":
        from .pack import read_pack
        return read_pack(path).rubric
    if path.suffix != ".toml":
        path = RUBRICS_DIR / f"{name_or_path}.toml"
        if not path.exists():
            known = ", ".join(available()) or "none"
            raise RubricError(f"unknown assignment {str(name_or_path)!r}: no file {path} (known: {known})")
    try:
        raw = path.read_bytes()
        data = tomllib.loads(raw.decode("utf-8"))
    except OSError as error:
        raise RubricError(f"{path}: cannot read: {error.strerror}") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as error:
        raise RubricError(f"{path}: not valid TOML: {error}") from None
    return build(path, data, raw)


def _limits(given: dict, path: Path, fail) -> dict:
    """The ``[limits]`` table with every key; a key left out is :class:`~grader.execute.limits.Limits`' default."""
    defaults, limits = Limits(), {}
    for key in ("cell_timeout", "notebook_timeout"):
        value = given.get(key, getattr(defaults, key))
        if not isinstance(value, (int, float)) or value <= 0:
            fail(f"limits.{key}", f"{value!r} is not a positive number of seconds")
        limits[key] = float(value)
    for key in ("memory", "output", "disk"):
        limits[key] = parse_size(given.get(key, getattr(defaults, key)), f"{path}: limits.{key}")
    processes = given.get("processes", defaults.processes)
    if not isinstance(processes, int) or processes < 16:
        fail("limits.processes", f"{processes!r} is not a whole number of at least 16")
    limits["processes"] = processes
    unknown = set(given) - set(limits)
    if unknown:
        fail(f"limits.{sorted(unknown)[0]}", "unknown key")
    return limits


def build(path: Path, data: dict, raw: bytes, pack: bool = False) -> Rubric:
    """The rubric ``data`` holds (read from ``path``, whose bytes are ``raw``); a student ``pack``'s rubric may
    also have the kinds only packs have (``hidden``)."""
    def fail(key: str, problem: str):
        raise RubricError(f"{path}: {key}: {problem}")

    assignment = data.get("assignment")
    if not isinstance(assignment, dict):
        fail("assignment", "missing table [assignment]")
    name = assignment.get("name") or fail("assignment.name", "missing")
    keras = assignment.get("keras", "auto")
    if keras not in KERAS_FLAVOURS:
        fail("assignment.keras", f"{keras!r} is not one of {', '.join(KERAS_FLAVOURS)}")
    # relative to the rubric file: rubrics/x.toml -> ../reference/x.ipynb
    reference = (path.parent / assignment.get("reference", f"../reference/{name}.ipynb")).resolve()
    handout, handout_raw = frozenset(), b""
    if "handout" in assignment:
        handout_raw, handout = _read_handout(path, assignment["handout"], fail)
    datasets = _datasets(assignment.get("datasets", []), fail)

    limits = _limits(data.get("limits", {}), path, fail)
    packages = _packages(data.get("environment", {}), fail)
    late = late_rules(data.get("late"), fail)

    models = data.get("models", {})
    _models(models, fail)

    questions_raw = data.get("questions")
    if not isinstance(questions_raw, list) or not questions_raw:
        fail("questions", "missing: add at least one [[questions]] table")
    questions, seen = [], set()
    for i, q in enumerate(questions_raw):
        qid = q.get("id") or fail(f"questions[{i}].id", "missing")
        if qid in seen:
            fail(f"questions[{i}].id", f"duplicate id {qid!r}")
        seen.add(qid)
        checks = []
        for j, c in enumerate(q.get("checks") or fail(f"questions.{qid}.checks", "missing: add [[questions.checks]]")):
            checks.append(_check(c, f"questions.{qid}.checks[{j}]", qid, models, pack, fail))
        labels = q.get("labels") or _default_labels(qid, [other.get("id") for other in questions_raw])
        questions.append(Question(qid, q.get("title", qid), checks, labels))
    _cross_references(questions, seen, fail)

    execution = json.dumps([keras, datasets, limits, packages], sort_keys=True).encode()
    return Rubric(name, assignment.get("title", name), path, reference, keras, datasets, limits, models, questions,
                  handout, digest=hashlib.sha256(raw + handout_raw).hexdigest()[:16],
                  execution_digest=hashlib.sha256(execution).hexdigest()[:16], packages=packages, late=late)


def _datasets(datasets, fail) -> list:
    """``assignment.datasets``: data sets a notebook may load offline, each a data kind that declares a file."""
    from .evaluate import data as data_kinds
    if not isinstance(datasets, list) or not all(isinstance(d, str) for d in datasets):
        fail("assignment.datasets", "must be a list of data set names, e.g. [\"mnist\"]")
    offline = data_kinds.offline_kinds()
    for dataset in datasets:
        if dataset not in offline:
            fail("assignment.datasets", f"{dataset!r} is not a data set a notebook may load "
                                        f"(known: {', '.join(offline) or 'none'})")
    return datasets


def _models(models: dict, fail) -> None:
    """The ``[models.*]`` selectors: known keys, shapes as lists of sizes, losses as lists of names."""
    for model_name, selector in models.items():
        if not isinstance(selector, dict):
            fail(f"models.{model_name}", "must be a table")
        unknown = set(selector) - SELECTOR_KEYS
        if unknown:
            fail(f"models.{model_name}.{sorted(unknown)[0]}",
                 f"unknown key (known: {', '.join(sorted(SELECTOR_KEYS))})")
        for key in ("input", "output"):
            shape = selector.get(key)
            sizes_only = all(isinstance(sizes, list) and sizes and all(isinstance(d, int) or d == "any" for d in sizes)
                             for sizes in alternatives(shape))
            if shape is not None and not sizes_only:
                fail(f"models.{model_name}.{key}", 'must be a list of sizes, "any" for any size, e.g. ["any", 784], '
                     'or a list of such lists')
        loss = selector.get("loss")
        if loss is not None and not (isinstance(loss, list) and all(isinstance(name, str) for name in loss)):
            fail(f"models.{model_name}.loss",
                 'must be a list of loss names or families, e.g. ["mse"] or ["regression"]')


def _check(c: dict, where: str, qid: str, models: dict, pack: bool, fail) -> CheckSpec:
    """One ``[[questions.checks]]`` table, validated against its kind's declaration."""
    from .evaluate.checks import KINDS
    kind = c.get("kind")
    allowed = [name for name, module in KINDS.items() if pack or not module.KIND.pack_only]
    if kind not in allowed:
        fail(f"{where}.kind", f"{kind!r} is not one of {', '.join(allowed)}")
    for key, problem in KINDS[kind].KIND.problems(c):
        fail(f"{where}.{key}", problem)
    points = c.get("points", 0)
    if points < 0:
        fail(f"{where}.points", f"{points!r} is not a number >= 0")
    if "model" in c and c["model"] not in models:
        fail(f"{where}.model", f"no [models.{c['model']}] in this rubric")
    if "data" in c:
        _check_data(c, where, fail)
    band = c.get("band")
    if band is not None and not (isinstance(band, dict) and {"zero", "full"} <= set(band)
                                 and all(isinstance(band[k], (int, float)) for k in ("zero", "full"))
                                 and band["zero"] != band["full"]):
        fail(f"{where}.band", "must be {zero = number, full = number} with zero != full")
    if band is not None and set(band) - {"zero", "full", "relative", "reference_min"}:
        fail(f"{where}.band.{sorted(set(band) - {'zero', 'full', 'relative', 'reference_min'})[0]}",
             "unknown key (known: zero, full, relative, reference_min)")
    visibility = c.get("visibility", "public")
    if visibility not in VISIBILITIES:
        fail(f"{where}.visibility", f"{visibility!r} is not one of {', '.join(VISIBILITIES)}")
    options = {k: v for k, v in c.items() if k not in ("kind", "points", "label", "section", "visibility")}
    return CheckSpec(kind, float(points), options, c.get("label", ""), c.get("section", qid), visibility)


def _cross_references(questions: list, seen: set, fail) -> None:
    """Every question a check names (its section, baseline, exclude) exists; ``differ`` is a known aspect."""
    for question in questions:
        for check in question.checks:
            if check.section not in seen:
                fail(f"questions.{question.id}.checks.section", f"no question {check.section!r}")
            for key in ("baseline", *(["exclude"] if isinstance(check.options.get("exclude"), list) else [])):
                named = check.options.get(key)
                for other in ([named] if isinstance(named, str) else named or []):
                    if other not in seen:
                        fail(f"questions.{question.id}.checks.{key}", f"no question {other!r}")
            if check.options.get("differ", "size") not in ("size", "activation", "data"):
                fail(f"questions.{question.id}.checks.differ",
                     f"{check.options['differ']!r} is not one of size, activation, data")


def _check_data(check: dict, where: str, fail) -> None:
    """The check's data kind exists and knows its ``metric`` and ``params``."""
    from .evaluate import data as data_kinds
    if check["data"] not in data_kinds.KINDS:
        fail(f"{where}.data", f"unknown data kind {check['data']!r} (known: {', '.join(data_kinds.KINDS)})")
    kind = data_kinds.get_kind(check["data"])
    if "metric" in check and check["metric"] not in kind.METRICS:
        fail(f"{where}.metric", f"{check['metric']!r} is not a metric of {check['data']!r} "
                                f"(known: {', '.join(kind.METRICS)})")
    unknown = set(check.get("params", {})) - set(data_kinds.params(kind))
    if unknown:
        fail(f"{where}.params.{sorted(unknown)[0]}",
             f"not a parameter of {check['data']!r} (known: {', '.join(data_kinds.params(kind)) or 'none'})")


def _packages(environment, fail) -> list[str]:
    """``[environment] packages``: pip requirements by name, optionally with a version (``d2l==1.0.3``)."""
    if not isinstance(environment, dict):
        fail("environment", "must be a table [environment]")
    unknown = set(environment) - {"packages"}
    if unknown:
        fail(f"environment.{sorted(unknown)[0]}", "unknown key (known: packages)")
    packages = environment.get("packages", [])
    if not isinstance(packages, list):
        fail("environment.packages", 'must be a list of package names, e.g. ["d2l"]')
    for package in packages:
        if not isinstance(package, str) or not _PACKAGE.match(package):
            fail("environment.packages", f"{package!r} is not a package name with an optional version, "
                                         'e.g. "d2l" or "d2l==1.0.3"')
    return packages


def _read_handout(path: Path, relative, fail) -> tuple[bytes, frozenset]:
    """The handout notebook's bytes and its cells as (cell type, normalised source)."""
    if not isinstance(relative, str) or not relative:
        fail("assignment.handout", "must be the path of a notebook, relative to the rubric")
    handout = (path.parent / relative).resolve()
    try:
        raw = handout.read_bytes()
        return raw, handout_cells(raw)
    except OSError as error:
        fail("assignment.handout", f"cannot read {handout}: {error.strerror}")
    except Exception as error:  # nbformat raises several kinds for non-notebooks
        fail("assignment.handout", f"{handout} is not a Jupyter notebook ({type(error).__name__})")


@lru_cache(maxsize=8)
def handout_cells(raw: bytes) -> frozenset:
    """Parsed once per content: a batch loads the rubric for every submission."""
    import nbformat

    from .harvest.answers import normalised
    notebook = nbformat.reads(raw.decode("utf-8"), as_version=4)
    return frozenset((cell.cell_type, normalised(cell.source)) for cell in notebook.cells)


LABEL_WORDS = {"Q": ("Pregunta", "Question"), "E": ("Ejercicio", "Exercise"), "P": ("Problema", "Problem")}


def _default_labels(qid: str, ids=()) -> list[str]:
    """``E2`` is also found as ``Ejercicio 2``, ``Exercise 2``, ``Pregunta 2``, ``Question 2``, ... and a bare ``2``.

    Students name a question as their course does, not always as the handout does: all the usual words count,
    unless another question of the rubric (``ids``) has the same number, when only the question's own words
    do, and no bare number. Another letter (``Q2`` for ``E2``) never does: it is another assignment's label.
    """
    match = re.fullmatch(r"([A-Za-z])(\d+)", qid)
    if not match or match[1].upper() not in LABEL_WORDS:
        return [qid]
    prefix, number = match[1].upper(), match[2]
    shared = any(other != qid and re.fullmatch(rf"[A-Za-z]+{number}", str(other)) for other in ids)
    prefixes = [prefix] if shared else [prefix, *(p for p in LABEL_WORDS if p != prefix)]
    return [qid] + [f"{word} {number}" for p in prefixes for word in LABEL_WORDS[p]] + ([] if shared else [number])
