"""Course packages: what a course's notebooks import beside the grader's own stack.

A rubric may name them (``[environment] packages = ["d2l"]``). ``grader
environment`` (run by ``scripts/setup.sh``) installs each with ``pip install
--no-deps --target`` into ``.venv/course-packages``, never into the virtual
environment itself: ``pip install d2l`` with its dependencies downgrades NumPy
and breaks TensorFlow. A package the environment already has is left alone,
so nothing in that folder can stand in front of a pinned package. The folder
is on the student kernel's PYTHONPATH only; the grader's own process never
imports from it. Each package is first installed into a staging folder and
imported in a fresh process; only one that imports joins the folder. One
that does not is left out, and in the kernel a placeholder takes its place.
"""
from __future__ import annotations

import argparse
import importlib.util
import os
import shutil
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path

from . import rubric as rubrics
from .execute.packages import module_of

COURSE_PACKAGES = Path(sys.prefix) / "course-packages"


@dataclass
class Outcome:
    package: str
    module: str
    status: str        # installed | present | failed | does_not_import
    detail: str = ""


def rubric_packages() -> list[str]:
    """Every course package named by a rubric in ``rubrics/``."""
    return sorted({package for name in rubrics.available() for package in rubrics.load(name).packages})


def install(packages: list[str], target: Path = COURSE_PACKAGES, pip_options: tuple[str, ...] = ()) -> list[Outcome]:
    """Install ``packages`` into ``target``, each only if it then imports."""
    target.mkdir(parents=True, exist_ok=True)
    return [_install_one(package, target, pip_options) for package in packages]


def _install_one(package: str, target: Path, pip_options) -> Outcome:
    module = module_of(package)
    if _in_environment(module):
        return Outcome(package, module, "present", "already in the grading environment: not installed again")
    with tempfile.TemporaryDirectory(prefix=".staging-", dir=target) as staging:
        done = subprocess.run([sys.executable, "-m", "pip", "install", "--quiet", "--no-deps", "--no-input",
                               "--disable-pip-version-check", "--target", staging, *pip_options, package],
                              capture_output=True, text=True)
        if done.returncode != 0:
            return Outcome(package, module, "failed", _last_line(done.stderr))
        env = {**os.environ, "PYTHONPATH": os.pathsep.join([staging, str(target)])}
        imported = subprocess.run([sys.executable, "-c", f"import {module}"], capture_output=True, text=True,
                                  env=env, cwd=staging)
        if imported.returncode != 0:
            return Outcome(package, module, "does_not_import", _last_line(imported.stderr))
        for entry in Path(staging).iterdir():
            _replace(entry, target / entry.name)
    return Outcome(package, module, "installed")


def _in_environment(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except ImportError:  # its parent package is missing
        return False


def _replace(source: Path, destination: Path) -> None:
    if destination.is_dir() and not destination.is_symlink():
        shutil.rmtree(destination)
    elif destination.exists() or destination.is_symlink():
        destination.unlink()
    shutil.move(str(source), destination)


def _last_line(text: str) -> str:
    lines = [line.strip() for line in text.strip().splitlines() if line.strip()]
    return lines[-1][:300] if lines else ""


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="grader environment",
                                     description="Install the course packages that the rubrics name.")
    parser.add_argument("packages", nargs="*", help="packages to install (default: those of every rubric)")
    args = parser.parse_args(argv)
    packages = args.packages or rubric_packages()
    for outcome in install(packages):
        fallback = "; notebooks get a placeholder for it" if outcome.status in ("failed", "does_not_import") else ""
        detail = f" ({outcome.detail})" if outcome.detail else ""
        print(f"environment: {outcome.package}: {outcome.status.replace('_', ' ')}{detail}{fallback}")
    if not packages:
        print("environment: no course packages")
    return 0


if __name__ == "__main__":
    sys.exit(main())
