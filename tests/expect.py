"""What tests assert about a grading, shared by the test files.

- :func:`assert_errors_only`: a part with status "error" means the grader
  failed (any exception in a check becomes one, see grader/evaluate), so a
  test names the parts that may be "error" and every other one fails it,
  with the exception shown.
- :func:`sandbox_leftovers` and :func:`host_state`: what a batch left on the
  host, read on the host, not from what the kernel printed.
"""
from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Collection
from pathlib import Path

import psutil

from grader import i18n
from grader.execute.leftovers import maker

CGROUP_ROOT = Path("/sys/fs/cgroup")
HOOKS = Path(__file__).resolve().parent / "hooks"  # a sitecustomize for the grader's own processes


def _as_dict(result) -> dict:
    if isinstance(result, (str, Path)):
        return json.loads(Path(result).read_text(encoding="utf-8"))
    return result.to_dict() if hasattr(result, "to_dict") else result


def error_parts(result) -> dict[str, str]:
    """Every part with status "error", as ``"Q4#0"`` (question, check in rubric order) -> its feedback."""
    found = {}
    for check in _as_dict(result)["checks"]:
        details = check.get("details") or []
        for index, part in enumerate(details):
            if part.get("status") == "error":
                found[f"{check['id']}#{index}"] = part.get("feedback", "")
        if not details and check.get("status") == "error":  # a result made without evaluating (failed_result)
            found[f"{check['id']}#0"] = check.get("feedback", "")
    return found


def assert_errors_only(result, allowed=()) -> None:
    """Only the parts in ``allowed`` ("Q4#0"; "Q4" for every part of Q4) may have status "error".

    ``allowed`` may map each part to a text its feedback must hold: "error" is
    also what ``code_runs`` says of cells that failed, and ``{"Q4#1": "cell 4:
    DiskLimit"}`` tells that from the grader failing on the part.
    """
    unexpected = {}
    for key, feedback in error_parts(result).items():
        rule = key if key in allowed else key.split("#")[0]
        if rule not in allowed or (isinstance(allowed, dict) and allowed[rule] not in feedback):
            unexpected[key] = feedback
    name = _as_dict(result).get("submission", "")
    assert not unexpected, f"{name}: parts with status error that are not allowed:\n" + "\n".join(
        f"  {key}: {feedback}" for key, feedback in unexpected.items())


def failing_cells_only(questions, lang: str = "en") -> dict[str, str]:
    """``allowed`` for :func:`assert_errors_only`: in each of ``questions``, a part may be "error" only to report
    the notebook's own failing cells (``code_runs``), never for the grader failing on it."""
    return {question: i18n.text("code_runs.cells_with_problems", lang) for question in questions}


def python_path(folder: Path, env: dict) -> dict[str, str]:
    """``PYTHONPATH`` with ``folder`` first: its ``sitecustomize`` then loads in every grader process started
    with it (kernels and the predictor get an environment of their own)."""
    return {"PYTHONPATH": os.pathsep.join(filter(None, [str(folder), env.get("PYTHONPATH")]))}


def host_state(path: Path) -> tuple | None:
    """What a host path holds now (None: nothing), to show a batch did not create or change it."""
    path = Path(path)
    if not os.path.lexists(path):
        return None
    if path.is_file() and not path.is_symlink():
        return ("file", hashlib.sha256(path.read_bytes()).hexdigest())
    return ("other", path.lstat().st_mode, path.lstat().st_mtime_ns)


def grader_cgroups() -> set[Path]:
    """Every grader cgroup on this machine (also other graders'): ``grader-*`` in every hierarchy."""
    return set(CGROUP_ROOT.glob("*/grader-*")) | set(CGROUP_ROOT.glob("grader-*"))


def _mentions(process: psutil.Process, folder: str) -> bool:
    try:
        texts = [process.cwd(), *process.cmdline(), *process.environ().values()]
    except (psutil.Error, OSError):
        return False
    return any(folder in text for text in texts)


def grader_pids(audit_log: Path) -> set[int]:
    """The grader processes (driver, workers) that logged their start in ``audit_log`` (see tests/hooks)."""
    try:
        lines = Path(audit_log).read_text(encoding="utf-8").splitlines()
    except FileNotFoundError:
        return set()
    return {int(line.split()[1]) for line in lines if line.startswith("audited ")}


def sandbox_leftovers(temp_dir: Path, graders: Collection[int], cgroups_before: set[Path] = frozenset(),
                      grace: float = 10) -> list[str]:
    """What graders that used ``temp_dir`` as their temp folder left behind, once they are done.

    Scratch folders (``grader-*``: a kernel's job, a predictor's, ...) in it, processes that run there (their
    working folder, command line or environment names it: a kernel and what it started), and the cgroups made
    since ``cgroups_before`` by one of ``graders`` (pids: this process when it runs kernels itself, a grader
    command's from its audit log). Cgroups of other graders do not count: the tests beside this one under
    pytest-xdist make graders of their own, and kill some on purpose. Killed processes take a moment to go:
    what is still there after ``grace`` seconds is left behind.
    """
    deadline = time.monotonic() + grace
    while True:
        left = [f"scratch folder {path}" for path in Path(temp_dir).glob("grader-*")]
        left += _processes_in(str(temp_dir))
        left += [f"cgroup {path}" for path in sorted(grader_cgroups() - set(cgroups_before)) if _made_by(path, graders)]
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.2)


def _made_by(cgroup: Path, graders: Collection[int]) -> bool:
    made = maker(cgroup.name)
    return made is not None and made[0] in graders


def _processes_in(folder: str) -> list[str]:
    found = []
    for process in psutil.process_iter():
        if process.pid != os.getpid() and _mentions(process, folder):
            try:
                found.append(f"process {process.pid} ({process.status()}): {' '.join(process.cmdline())[:200]}")
            except psutil.Error:
                continue
    return found
