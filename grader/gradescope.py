"""Gradescope: an autograder zip that grades a notebook inside Gradescope's own image.

Gradescope's Autograder Specifications
(https://gradescope-autograders.readthedocs.io/en/latest/specs/): the zip holds ``setup.sh``, run once as
root while Gradescope builds the image (Ubuntu), and ``run_autograder``, run for every submission with the
zip's content in ``/autograder/source`` and the student's files in ``/autograder/submission``; it must leave
``/autograder/results/results.json`` (``score``, ``execution_time``, ``output``, ``stdout_visibility``, and
``tests``, each with ``name``, ``number``, ``score``, ``max_score``, ``status``, ``output``,
``output_format``, ``visibility``).

:func:`build` writes the zip: those two scripts, the grader as a wheel, the student pack
(``student/NAME.pack``, as students have it) and, since the autograder is the instructor's, the full pack
with the hidden checks (``instructor/NAME.pack``): the rubric and the reference's measured values, never
the reference notebook or its models. :func:`run` is what ``run_autograder`` calls: it grades the
submitted notebook with the full pack, as ``grader check --pack`` does, and writes ``results.json``
(:func:`grader.report.gradebook.write_gradescope`); whatever goes wrong, it writes an "Autograder failed"
test rather than nothing, and so does ``run_autograder`` itself when Python cannot even start.
"""
from __future__ import annotations

import argparse
import json
import secrets
import shutil
import subprocess
import sys
import tempfile
import time
import zipfile
from pathlib import Path

from .pack import measure_reference, read_pack, write

ROOT = Path("/autograder")
SETTINGS = "autograder.json"
FAILED = {"es": "La corrección automática falló antes de poder corregir; no es culpa del estudiante: el profesor lo "
                "revisará.",
          "en": "The autograder failed before it could grade; this is not the student's fault: the instructor will "
                "look into it."}

SETUP = """#!/usr/bin/env bash
# Gradescope runs this once, as root, while it builds the autograder's image (Ubuntu).
set -euo pipefail
apt-get install -y -qq --no-install-recommends python3 python3-venv python3-pip bubblewrap
python3 -m venv /autograder/venv
/autograder/venv/bin/python -m pip install --quiet --upgrade pip
/autograder/venv/bin/python -m pip install --quiet "/autograder/source/{wheel}[instructor]"
{packages}
"""

RUN = """#!/usr/bin/env bash
# Gradescope runs this for every submission, from /autograder. Whatever happens, a results.json is left.
root=${{GRADER_AUTOGRADER_ROOT:-/autograder}}
mkdir -p "$root/results"
"$root/venv/bin/python" -m grader.gradescope --root "$root"
if [ ! -s "$root/results/results.json" ]; then
  cat > "$root/results/results.json" <<'EOF'
{failed}
EOF
fi
"""


def failure(message: str, lang: str) -> dict:
    """The results of an autograder that could not grade: one failed test that says so, score 0."""
    return {"score": 0, "output": FAILED[lang], "output_format": "md", "stdout_visibility": "hidden",
            "tests": [{"name": "Autograder failed", "number": "", "score": 0, "max_score": 0, "status": "failed",
                       "output": f"{FAILED[lang]}\n\n`{message[:2000]}`", "output_format": "md",
                       "visibility": "visible"}]}


def build(rubric, out: Path, template, seeds: list[int], lang: str = "es", progress=None) -> Path:
    """Write the autograder zip of ``rubric`` at ``out`` (see the module); the reference is measured as for
    ``grader pack``."""
    from .rubric import PROJECT_ROOT
    if not (PROJECT_ROOT / "pyproject.toml").is_file():
        raise RuntimeError(f"grader gradescope builds the grader's wheel from its source tree; {PROJECT_ROOT} has "
                           f"no pyproject.toml (run it from a checkout of the grader)")
    results = measure_reference(rubric, template, seeds, progress)
    with tempfile.TemporaryDirectory(prefix="grader-gradescope-") as scratch:
        folder = Path(scratch)
        write(rubric, folder / "student", results)
        write(rubric, folder / "instructor", results, include_hidden=True)
        wheel = _wheel(PROJECT_ROOT, folder / "dist")
        packages = "\n".join(f"/autograder/venv/bin/python -m grader environment {package!r}"
                             for package in rubric.packages)
        files = {"setup.sh": SETUP.format(wheel=wheel.name, packages=packages),
                 "run_autograder": RUN.format(failed=json.dumps(failure("run_autograder: Python did not start",
                                                                        lang))),
                 SETTINGS: json.dumps({"assignment": rubric.name, "lang": lang})}
        out.parent.mkdir(parents=True, exist_ok=True)
        with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
            for name, text in files.items():
                entry = zipfile.ZipInfo(name, date_time=time.localtime()[:6])
                entry.external_attr = (0o755 if name != SETTINGS else 0o644) << 16  # scripts stay executable
                archive.writestr(entry, text)
            archive.write(wheel, wheel.name)
            for pack in sorted(folder.glob("*/*.pack")):
                archive.write(pack, pack.relative_to(folder).as_posix())
    return out


def _wheel(source: Path, out: Path) -> Path:
    """The grader's wheel, built from a copy of its source tree (the tree itself is left as it is), offline."""
    with tempfile.TemporaryDirectory(prefix="grader-wheel-") as scratch:
        tree = Path(scratch) / "grader"
        # the package and what its metadata needs; never the reference solutions (nor are they package data)
        shutil.copytree(source, tree, ignore=shutil.ignore_patterns(
            ".venv", ".git", "out", "build", "*.egg-info", "__pycache__", "tests", "submissions", "reference",
            "handouts", "rubrics", "bench", "docs"))
        done = subprocess.run([sys.executable, "-m", "build", "--wheel", "--no-isolation", "--outdir", str(out),
                               str(tree)], capture_output=True, text=True)
        if done.returncode != 0:
            raise RuntimeError(f"building the grader's wheel failed: {(done.stderr or done.stdout).strip()[-500:]}")
    return next(out.glob("*.whl"))


def submitted_notebook(folder: Path) -> tuple[Path | None, list[Path]]:
    """The notebook to grade (the newest, when there are several) and the others."""
    found = sorted((p for p in folder.rglob("*.ipynb") if ".ipynb_checkpoints" not in p.parts),
                   key=lambda p: (p.stat().st_mtime, p.name), reverse=True)
    return (found[0] if found else None), found[1:]


def run(root: Path = ROOT) -> int:
    """Grade ``root/submission``'s notebook with the full pack; write ``root/results/results.json``."""
    results = root / "results" / "results.json"
    results.parent.mkdir(parents=True, exist_ok=True)
    settings = {"lang": "es"}
    try:
        settings.update(json.loads((root / "source" / SETTINGS).read_text(encoding="utf-8")))
        _grade(root, results, settings["lang"])
    except Exception as error:  # never nothing: Gradescope shows this test to the student and the instructor
        from .atomic import write_text_atomic
        print(f"grader: the autograder failed: {type(error).__name__}: {error}", file=sys.stderr)
        write_text_atomic(results, json.dumps(failure(f"{type(error).__name__}: {error}", settings["lang"]),
                                              indent=2, ensure_ascii=False))
    return 0


def _grade(root: Path, results: Path, lang: str) -> None:
    from .batch import in_helper_thread, safe_id
    from .execute.warmup import pin_threads
    from .grade import Job, grade
    from .report.gradebook import write_gradescope
    pack = read_pack(root / "source" / "instructor")
    notebook, others = submitted_notebook(root / "submission")
    if notebook is None:
        raise FileNotFoundError("no .ipynb notebook was submitted")
    with tempfile.TemporaryDirectory(prefix="grader-gradescope-") as cache:
        job = Job(submission=safe_id(notebook.stem), notebook=str(notebook), assignment=str(pack.path),
                  out_dir=str(root / "results" / "grader"), seed=secrets.randbelow(2**31), lang=lang,
                  reference=pack.reference, threads=pin_threads(0), cache_dir=cache)
        result = in_helper_thread(grade, job, lambda event: print(json.dumps(event), flush=True))
    result.problems += [f"{other.name}: not graded; {notebook.name}, the newest notebook, was" for other in others]
    write_gradescope(result, results, lang)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m grader.gradescope", description="Grade a Gradescope "
                                     "submission (run_autograder calls this).")
    parser.add_argument("--root", type=Path, default=ROOT, help=f"the autograder's folder (default: {ROOT})")
    return run(parser.parse_args(argv).root)


if __name__ == "__main__":
    sys.exit(main())
