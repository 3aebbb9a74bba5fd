"""grader gradescope: the autograder zip, and run_autograder on a fake /autograder tree."""
import json
import os
import shutil
import subprocess
import sys
import time
import zipfile
from pathlib import Path

import pytest

from .tiny_assignment import packed, write

pytestmark = [pytest.mark.slow, pytest.mark.kernel]
WHEEL = "grader-0.1.0-py3-none-any.whl"


@pytest.fixture(scope="module")
def autograder(tmp_path_factory):
    tiny = packed(tmp_path_factory)
    zip_path = tmp_path_factory.mktemp("gradescope") / "autograder.zip"
    done = tiny.grader("gradescope", "--assignment", tiny.rubric, "--out", zip_path, "--seed", 3, "--lang", "en")
    assert done.returncode == 0, done.stderr
    return tiny, zip_path


def tree(root: Path, zip_path: Path, python: str | None = sys.executable) -> Path:
    """A fake /autograder: the zip in source/, an empty submission/ and results/, and venv/bin/python (a
    wrapper around this environment's, as setup.sh's venv would be; ``None``: no Python at all)."""
    with zipfile.ZipFile(zip_path) as archive:
        archive.extractall(root / "source")
    (root / "submission").mkdir()
    if python:
        (root / "venv" / "bin").mkdir(parents=True)
        (root / "venv" / "bin" / "python").write_text(f'#!/bin/sh\nexec {python} "$@"\n')
        (root / "venv" / "bin" / "python").chmod(0o755)
    return root


def run_autograder(root: Path, tiny) -> dict:
    done = subprocess.run(["bash", str(root / "source" / "run_autograder")], capture_output=True, text=True,
                          env={**tiny.env(), "GRADER_AUTOGRADER_ROOT": str(root)}, timeout=600)
    assert done.returncode == 0, done.stderr
    return json.loads((root / "results" / "results.json").read_text(encoding="utf-8"))


def test_the_zip_holds_what_gradescope_needs_and_never_the_solution(autograder):
    tiny, zip_path = autograder
    with zipfile.ZipFile(zip_path) as archive:
        names = set(archive.namelist())
        assert names == {"setup.sh", "run_autograder", "autograder.json", WHEEL, "student/tiny-adder.pack",
                         "instructor/tiny-adder.pack"}
        assert {name: archive.getinfo(name).external_attr >> 16 for name in ("setup.sh", "run_autograder")} == \
            {"setup.sh": 0o755, "run_autograder": 0o755}
        setup = archive.read("setup.sh").decode()
        student, full = (json.loads(archive.read(f"{who}/tiny-adder.pack")) for who in ("student", "instructor"))
        wheel = Path(zip_path.parent / WHEEL)
        wheel.write_bytes(archive.read(WHEEL))
        everything = b"".join(archive.read(name) for name in names if name != WHEEL)
    assert f'pip install --quiet "/autograder/source/{WHEEL}[instructor]"' in setup
    with zipfile.ZipFile(wheel) as packaged:
        inside = packaged.namelist()
    assert "grader/pack.py" in inside and "grader/execute/kernel/grader_kernel.py" in inside
    assert not [n for n in inside if n.endswith((".ipynb", ".keras", ".h5", ".toml")) or "reference" in n]
    reference = (tiny.rubric.parent / "reference.ipynb").read_text()
    assert "model.fit(x, y, epochs=10" in reference and b"model.fit(x, y, epochs=10" not in everything
    assert student["rubric"]["questions"][2]["checks"][2]["kind"] == "hidden" and not student["includes_hidden"]
    assert full["rubric"]["questions"][2]["checks"][2]["kind"] == "model_metric" and full["includes_hidden"]
    assert student["reference"]["Q4#0"] == full["reference"]["Q4#0"]                # measured once for both


def test_run_autograder_grades_the_newest_notebook(autograder, tmp_path):
    tiny, zip_path = autograder
    root = tree(tmp_path, zip_path)
    older = write(root / "submission", "draft.ipynb", answer="8")
    os.utime(older, (time.time() - 3600,) * 2)
    write(root / "submission", "final.ipynb")
    results = run_autograder(root, tiny)
    tests = results["tests"]
    assert [t["number"] for t in tests] == ["Q1", "Q2", "Q4", "Q4", "Q4", "Q5"]
    assert results["score"] == pytest.approx(sum(t["score"] for t in tests)) and tests[0]["score"] == 1
    assert results["stdout_visibility"] == "hidden" and results["execution_time"] > 0
    assert "Sandbox: " in results["output"] and "draft.ipynb: not graded; final.ipynb" in results["output"]
    hidden = tests[4]
    assert hidden["name"] == "Q4 Training on 3-bit numbers · Gated cells on 5-bit numbers"
    assert (hidden["visibility"], hidden["status"], hidden["max_score"]) == ("after_published", "failed", 2)
    assert "a GRU layer" in hidden["output"]                                       # graded with the full rubric
    assert all(t["visibility"] == "visible" and t["output_format"] == "md" for t in tests[:4] + tests[5:])
    assert [t["status"] for t in tests[:4]] == ["passed"] * 4


@pytest.mark.parametrize("breakage", ["no notebook", "no pack", "no python"])
def test_a_failure_is_an_autograder_failed_test(autograder, tmp_path, breakage):
    tiny, zip_path = autograder
    root = tree(tmp_path, zip_path, python=None if breakage == "no python" else sys.executable)
    if breakage != "no notebook":
        write(root / "submission", "final.ipynb")
    if breakage == "no pack":
        shutil.rmtree(root / "source" / "instructor")
    results = run_autograder(root, tiny)
    assert results["score"] == 0 and [t["name"] for t in results["tests"]] == ["Autograder failed"]
    assert "this is not the student's fault" in results["output"]
    said = {"no notebook": "no .ipynb notebook was submitted", "no pack": "instructor: cannot read the pack",
            "no python": "run_autograder: Python did not start"}[breakage]
    assert said in results["tests"][0]["output"]
