"""What each saved thing depends on: the code that produces it, and the libraries under it.

A submission's folder holds four things, each re-made only when what makes it changed:

========================  ==================================================================
``execution.json``,       the kernel, sandbox and limits code (:data:`EXECUTION_CODE`), the
``models/``               libraries and course packages (with the notebook and the rubric's
                          execution settings: see :mod:`grader.grade`)
``measurements.json``     the evaluation and data code (:data:`MEASUREMENT_CODE`), the libraries
``result.json``           the measurements, and the code that scores and explains them: every
                          module but the execution, the report and the command line
``report.html``           the report's code and templates (:data:`REPORT_CODE`), rendered from
                          ``result.json`` alone
========================  ==================================================================

So a new stylesheet renders the reports again without loading a model, and a change of the
batch's worker slots (``execute/warmup.py``) runs no notebook again.
"""
from __future__ import annotations

import hashlib
import json
from functools import lru_cache
from importlib import metadata
from pathlib import Path

from .environment import COURSE_PACKAGES

PACKAGE = Path(__file__).parent
# paths relative to the package; a folder stands for every file below it
EXECUTION_CODE = ("execute/kernel", "execute/runner.py", "execute/sandbox.py", "execute/limits.py",
                  "execute/cells.py", "execute/packages.py")
MEASUREMENT_CODE = ("evaluate", "execute/predictor.py", "execute/kernel")  # the predictor runs kernel code
REPORT_CODE = ("report", "__init__.py")  # the report names the grader's version
# what neither scores nor explains a result: it runs notebooks, draws reports or drives a batch (the catalog of
# words, i18n.py, is not among them: the feedback's words are in the result)
NOT_SCORING = ("execute", "report", "review", "cli.py", "pool.py", "progress.py", "batch.py", "__main__.py",
               "environment.py", "gradescope.py")
LIBRARIES = ("tensorflow", "keras", "tf_keras", "numpy", "h5py", "ipykernel")
SUFFIXES = (".py", ".j2", ".html", ".css")


def files(paths) -> list[Path]:
    """The source files of ``paths`` (relative to the package), sorted."""
    found = set()
    for name in paths:
        path = PACKAGE / name
        found.update(path.rglob("*") if path.is_dir() else [path])
    return sorted(p for p in found if p.is_file() and p.suffix in SUFFIXES and "__pycache__" not in p.parts)


def scoring_files() -> list[Path]:
    left_out = set(files(NOT_SCORING))
    return [p for p in files(["."]) if p not in left_out]


def _digest(paths, extra=()) -> str:
    content = hashlib.sha256(json.dumps(list(extra)).encode())
    for path in paths:
        content.update(path.read_bytes())
    return content.hexdigest()[:16]


def _version(package: str) -> str:
    """The installed version of ``package``; "" when it is not installed (a student's own environment may lack
    tf-keras)."""
    try:
        return metadata.version(package)
    except metadata.PackageNotFoundError:
        return ""


@lru_cache(maxsize=1)
def libraries() -> list[str]:
    """The versions of the libraries the kernel and the model loader import, and the course packages."""
    return [_version(p) for p in LIBRARIES] + sorted(path.name for path in COURSE_PACKAGES.glob("*.dist-info"))


@lru_cache(maxsize=1)
def execution() -> str:
    return _digest(files(EXECUTION_CODE), libraries())


@lru_cache(maxsize=1)
def measurement() -> str:
    return _digest(files(MEASUREMENT_CODE), libraries())


@lru_cache(maxsize=1)
def scoring() -> str:
    return _digest(scoring_files())


@lru_cache(maxsize=1)
def report() -> str:
    return _digest(files(REPORT_CODE))
