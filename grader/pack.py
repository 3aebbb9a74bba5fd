"""Student packs: what students may hold to check their work, without the solution.

A pack is one JSON file, ``NAME.pack``, made by ``grader pack``. It holds the
rubric (each hidden check by its id, title and points only), the course's
handout (whose cells are not a student's work), the data kinds' parameters,
and the reference solution's measured values: every model check's metrics,
measured on several seeds of fresh data from the reference's saved models
(as ``--new-seed`` does, without running its notebook again), as mean and
spread. Relative bands use the mean. It never holds the reference notebook,
its code, its models or their weights.

It also names the grader that made it (version and a digest of the judging
code) and a SHA-256 of its content, so that a pack made by another grader,
damaged, edited by hand, or older than the rubric it came from is refused
with one line that says which and what to do, never graded silently. The
hash is a checksum, not a signature: a student who forges a pack only fools
their own self-check; the grade always comes from the instructor's run.

:func:`build` makes one; :func:`read_pack` reads one (``grader.rubric.load``
reads a ``.pack`` path through it, so a pack grades like any rubric).
"""
from __future__ import annotations

import hashlib
import json
import shutil
import statistics
import tempfile
import tomllib
from dataclasses import dataclass, replace
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from . import __version__, i18n
from . import rubric as rubrics

FORMAT = "grader-pack"
FORMAT_VERSION = 1
SEEDS = 5               # seeds of fresh data the reference is measured on
SUFFIX = ".pack"
# what the pack's reference values depend on: how the grader judges (not how it runs notebooks or reports)
JUDGING_CODE = ("evaluate", "harvest", "rubric.py")


class PackError(rubrics.RubricError):
    """A pack that cannot be used; the message says which problem and what to do, in one line."""


@dataclass
class Pack:
    path: Path
    assignment: str
    grader: str                     # the grader that made it: version + judging-code digest
    rubric: rubrics.Rubric          # hidden checks have kind "hidden"
    reference: dict                 # check key ("Q4#0") -> {"metric", "mean", "spread", "min", "max", "values",
                                    # "metrics": {name: {"mean", "spread"}}}
    seeds: list[int]
    hidden: list[dict]              # {"id", "question", "title", "points"}
    data: dict                      # check key -> {"kind", "params", "samples", "metric", "source"}
    rubric_digest: str              # of the instructor's rubric it was made from
    reference_digest: str           # of the reference notebook
    includes_hidden: bool = False   # the instructor's own (Gradescope's autograder): hidden checks in full


@lru_cache(maxsize=1)
def grader_version() -> str:
    """``0.1.0+<digest of the judging code>``: packs and graders must agree on how a verdict is reached."""
    package = Path(__file__).parent
    paths = sorted(path for name in JUDGING_CODE for path in
                   ((package / name).rglob("*.py") if (package / name).is_dir() else [package / name]))
    digest = hashlib.sha256()
    for path in paths:
        digest.update(path.relative_to(package).as_posix().encode() + b"\0" + path.read_bytes())
    return f"{__version__}+{digest.hexdigest()[:12]}"


def _canonical(data: dict) -> bytes:
    return json.dumps(data, sort_keys=True, separators=(",", ":"), ensure_ascii=False).encode()


def _sha256(data: dict) -> str:
    return hashlib.sha256(_canonical({k: v for k, v in data.items() if k != "sha256"})).hexdigest()


# ---------------------------------------------------------------- making a pack

def check_id(question, index: int) -> str:
    """The id of a question's check, as results key its measured values: ``Q4#0``."""
    return f"{question.id}#{index}"


def _rubric_data(rubric: rubrics.Rubric) -> dict:
    return tomllib.loads(rubric.path.read_text(encoding="utf-8"))


def student_rubric(rubric: rubrics.Rubric, include_hidden: bool = False) -> tuple[dict, list[dict]]:
    """The rubric's data as students may see it, and its hidden checks (id, question, title, points).

    Hidden checks become ``{"kind": "hidden", "points", "label"}`` at their place (so check ids stay the
    same); selectors only hidden checks use are left out. ``[late]`` is left out (a pack applies no
    penalty) and so are the reference's and the handout's paths (the handout travels in the pack).
    With ``include_hidden`` (the instructor's own autograder) every check stays as it is.
    """
    data = _rubric_data(rubric)
    data.pop("late", None)
    data["assignment"] = {k: v for k, v in data["assignment"].items() if k not in ("reference", "handout")}
    hidden, used = [], set()
    for question, raw in zip(rubric.questions, data["questions"]):
        for index, (spec, check) in enumerate(zip(question.checks, raw["checks"])):
            if spec.visibility == "hidden":
                title = check.get("label") or question.title
                hidden.append({"id": check_id(question, index), "question": question.id, "title": title,
                               "points": spec.points})
                if not include_hidden:
                    raw["checks"][index] = {"kind": "hidden", "points": spec.points, "label": title,
                                            "visibility": "hidden"}
                    continue
            used.add(check.get("model"))
    data["models"] = {name: selector for name, selector in data.get("models", {}).items() if name in used}
    return data, hidden


def measure_reference(rubric: rubrics.Rubric, template, seeds: list[int], progress=None) -> list:
    """The reference's results on each seed: its notebook runs once (unless the cache holds it), then its saved
    models are measured again on each other seed, in a copy of its folder (the cache keeps its own seed)."""
    from .batch import in_helper_thread, naming, reference_job, reference_values
    from .grade import grade
    results = [reference_values(rubric, replace(template, seed=seeds[0]), progress)]
    with tempfile.TemporaryDirectory(prefix="grader-pack-") as scratch:
        job = reference_job(rubric, template)
        copy = Path(scratch) / "reference"
        shutil.copytree(job.out_dir, copy)
        for seed in seeds[1:]:
            results.append(in_helper_thread(grade, replace(job, seed=seed, out_dir=str(copy)),
                                            naming(progress, f"reference, seed {seed}")))
    return results


def _statistics(rubric: rubrics.Rubric, question, index: int, results: list) -> dict | None:
    """Mean and spread over the seeds of a model_metric check's metric, and of every other metric it measured;
    None when the reference measured nothing, which only a band relative to the reference cannot do without."""
    key, spec = check_id(question, index), question.checks[index]
    missing = [result.seed for result in results if result.measured.get(key) is None]
    if missing and (spec.options.get("band") or {}).get("relative"):
        raise PackError(f"{rubric.path}: the reference solution gave no value for {key} on seed {missing[0]}: "
                        f"run grader validate --assignment {rubric.name} and fix the reference first")
    if missing:
        return None
    values = [float(result.measured[key]) for result in results]
    parts = [next(c for c in result.checks if c.id == question.id).details[index] for result in results]
    names = [name for name, value in parts[0].get("metrics", {}).items()
             if isinstance(value, (int, float)) and name not in ("n_samples", "standard_error")]  # of the sample
    metrics = {name: _spread([float(part["metrics"][name]) for part in parts]) for name in names}
    return {"metric": spec.options["metric"], **_spread(values), "min": min(values), "max": max(values),
            "values": values, "metrics": metrics}


def _spread(values: list[float]) -> dict:
    return {"mean": statistics.fmean(values), "spread": statistics.pstdev(values)}


def _file_digest(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()[:16]


def build(rubric: rubrics.Rubric, out_dir: Path, template, seeds: list[int], progress=None,
          include_hidden: bool = False) -> Path:
    """Write ``out_dir/NAME.pack`` for ``rubric``; returns its path.

    ``template`` is the :class:`grader.grade.Job` the reference is graded with (cache, threads); the
    reference runs once if the cache does not hold it, then its saved models are measured on each of
    ``seeds``. Raises :class:`PackError` when the reference gives no value for a check.
    """
    return write(rubric, out_dir, measure_reference(rubric, template, seeds, progress), include_hidden)


def write(rubric: rubrics.Rubric, out_dir: Path, results: list, include_hidden: bool = False) -> Path:
    """Write the pack of ``rubric`` from the reference's ``results`` (one per seed)."""
    from .evaluate import DataCache
    data, hidden = student_rubric(rubric, include_hidden)
    sources = DataCache(results[0].seed)
    reference, kinds = {}, {}
    for question in rubric.questions:
        for index, spec in enumerate(question.checks):
            if (spec.visibility == "hidden" and not include_hidden) or "data" not in spec.options:
                continue
            key = check_id(question, index)
            kinds[key] = {"kind": spec.options["data"], "params": spec.options.get("params", {}),
                          "samples": spec.options.get("samples"), "metric": spec.options.get("metric"),
                          "source": {k: v for k, v in sources.source(spec.options["data"]).items() if k != "path"}}
            measured = _statistics(rubric, question, index, results) if spec.kind == "model_metric" else None
            if measured is not None:
                reference[key] = measured
    handout = _rubric_data(rubric)["assignment"].get("handout")
    handout = rubric.path.parent / handout if handout else None
    content = {
        "format": FORMAT, "format_version": FORMAT_VERSION, "grader": grader_version(), "assignment": rubric.name,
        "made": datetime.now(timezone.utc).isoformat(timespec="seconds"), "includes_hidden": include_hidden,
        "rubric": data, "rubric_digest": rubric.digest, "reference_digest": _file_digest(rubric.reference),
        "handout": {"file": handout.name, "text": handout.read_text(encoding="utf-8")} if handout else None,
        "seeds": [result.seed for result in results], "reference": reference, "data": kinds, "hidden": hidden,
    }
    content["sha256"] = _sha256(content)
    out_dir.mkdir(parents=True, exist_ok=True)
    path = out_dir / f"{rubric.name}{SUFFIX}"
    from .atomic import write_text_atomic
    write_text_atomic(path, json.dumps(content, indent=1, ensure_ascii=False))
    return path


# ---------------------------------------------------------------- reading a pack

AGAIN = "download it again from your course, or ask your instructor for it"


def locate(path: Path) -> Path:
    """The pack file at ``path``, or the one ``.pack`` file in the folder ``path``."""
    path = Path(path)
    if path.is_dir():
        found = sorted(path.glob(f"*{SUFFIX}"))
        if len(found) != 1:
            raise PackError(f"{path}: a folder with {len(found)} {SUFFIX} files; give the pack file itself")
        return found[0]
    return path


def read_pack(path: Path) -> Pack:
    """The pack at ``path``; :class:`PackError` (one line: which problem, what to do) when it cannot be used."""
    path = locate(path)
    try:
        content = json.loads(path.read_text(encoding="utf-8"))
    except OSError as error:
        raise PackError(f"{path}: cannot read the pack ({error.strerror})") from None
    except (UnicodeDecodeError, ValueError):
        raise PackError(f"{path}: damaged pack (not readable as a pack): {AGAIN}") from None
    if not isinstance(content, dict) or content.get("format") != FORMAT:
        raise PackError(f"{path}: not a grader pack: ask your instructor for the assignment's {SUFFIX} file")
    if content.get("format_version") != FORMAT_VERSION:
        raise PackError(f"{path}: a pack of format {content.get('format_version')} made by grader "
                        f"{content.get('grader')}; this grader ({grader_version()}) reads format {FORMAT_VERSION}: "
                        f"install the grader your course gives with this pack")
    if content.get("sha256") != _sha256(content):
        raise PackError(f"{path}: changed after it was made (its SHA-256 does not match its content), so its "
                        f"verdicts could be wrong: {AGAIN}")
    if content.get("grader") != grader_version():
        raise PackError(f"{path}: made by grader {content.get('grader')}, and this is grader {grader_version()}, "
                        f"which may judge differently: install the grader your course gives with this pack, or ask "
                        f"for a pack made by this one")
    try:
        return _unpack(path, content)
    except (KeyError, TypeError, ValueError, AttributeError) as error:  # a RubricError is a ValueError too
        raise PackError(f"{path}: damaged pack ({type(error).__name__}: {str(error)[:200]}): {AGAIN}") from None


def _unpack(path: Path, content: dict) -> Pack:
    rubric = rubrics.build(path, content["rubric"], _canonical(content), pack=True)
    handout = content["handout"]
    if handout is not None:
        rubric = replace(rubric, handout=rubrics.handout_cells(handout["text"].encode("utf-8")))
    pack = Pack(path, content["assignment"], content["grader"], rubric, content["reference"], content["seeds"],
                content["hidden"], content["data"], content["rubric_digest"], content["reference_digest"],
                content["includes_hidden"])
    rubric.pack = pack
    return pack


def stale(pack: Pack, rubric: rubrics.Rubric) -> str:
    """Why ``pack`` no longer fits the instructor's ``rubric`` (another assignment, an older rubric or
    reference), or ""."""
    if pack.assignment != rubric.name:
        return f"{pack.path}: a pack for {pack.assignment}, not {rubric.name}: use the pack of {rubric.name}"
    if pack.rubric_digest != rubric.digest:
        return f"{pack.path}: stale: made from an older {rubric.path.name}: run grader pack --assignment {rubric.name}"
    if rubric.reference.is_file() and pack.reference_digest != _file_digest(rubric.reference):
        return (f"{pack.path}: stale: made from an older {rubric.reference.name}: "
                f"run grader pack --assignment {rubric.name}")
    return ""


def unsandboxed(lang: str) -> str:
    """What a student reads when their notebook ran without a sandbox (bubblewrap is Linux only)."""
    return i18n.text("pack.unsandboxed", lang)


def rubric_for_check(pack_path: Path, assignment: str | None = None) -> str:
    """The rubric path ``grader check --pack`` grades with: the pack's, once read; given the instructor's
    ``assignment`` too, a pack that does not fit it (:func:`stale`) is refused."""
    pack = read_pack(pack_path)
    if assignment:
        problem = stale(pack, rubrics.load(assignment))
        if problem:
            raise PackError(problem)
    return str(pack.path)
