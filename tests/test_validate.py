"""`grader validate`, which course CI runs: a reference that earns every point passes, one that does not fails.

The real command on two tiny rubrics given by path, graded side by side. The model check's band is
lenient on purpose: only ``reference_min`` stops a reference that trains
badly from silently lowering everyone's bar. Then the real command on every assignment of rubrics/, as
course CI runs it, on the reference runs of conftest's ``graded_corpus``.
"""
import os
import subprocess
import sys
from xml.etree import ElementTree

import nbformat
import pytest

from grader import rubric as rubrics

from .builders import REGRESSOR, check, question, rubric_toml, seven_bits

pytestmark = [pytest.mark.slow, pytest.mark.kernel]

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell


def rubric(name: str) -> str:
    return rubric_toml(
        name, question("Q1", seven_bits()),
        question("E4", check("model_metric", 2, model="regressor", data="sum_regression", samples=500, metric="mae",
                             band={"zero": 1.0, "full": 0.6, "reference_min": 0.01}), check("free_text")),
        models={"regressor": REGRESSOR}, limits={"cell_timeout": 120, "notebook_timeout": 300})


def assignment(folder, name: str, weights: str):
    """A tiny assignment whose reference regressor computes ``weights`` · (x1, x2), set by hand (no training)."""
    folder.mkdir()
    (folder / "rubric.toml").write_text(rubric(name))
    nb = nbformat.v4.new_notebook(cells=[
        md("**Q1** ¿El mayor número con 7 bits?"), md("127"), md("**E4** Un modelo que suma."),
        code("import numpy as np\nimport keras\nmodel = keras.Sequential([keras.Input((2,)), keras.layers.Dense(1)])\n"
             f"model.layers[0].set_weights([np.array({weights}, 'float32'), np.zeros(1, 'float32')])"),
        md("Una capa lineal con pesos 1 y 1 suma exactamente.")])
    nbformat.write(nb, folder / "reference.ipynb")
    return folder / "rubric.toml"


@pytest.fixture(scope="module")
def validated(tmp_path_factory):
    """One ``grader validate`` of two assignments side by side: one reference sums, one only copies x1
    (mae 0.5: inside the band, far from ``reference_min``)."""
    root = tmp_path_factory.mktemp("validate")
    rubrics = [assignment(root / "sums", "tiny-sums", "[[1], [1]]"),
               assignment(root / "copies", "tiny-copies", "[[1], [0]]")]
    return subprocess.run([sys.executable, "-m", "grader", "validate", "--workers", "2",
                           *(arg for path in rubrics for arg in ("--assignment", str(path)))],
                          capture_output=True, text=True, timeout=600)


def lines_of(run, name: str) -> dict[str, str]:
    return {line.split()[1]: line for line in run.stdout.splitlines() if line.startswith(f"{name} ")}


def test_one_failing_reference_fails_the_run(validated):
    assert validated.returncode == 1, validated.stdout + validated.stderr
    assert "Traceback" not in validated.stderr, validated.stderr


def test_a_reference_that_earns_every_point_passes(validated):
    lines = lines_of(validated, "tiny-sums")
    assert "ok   1/1 automatic points" in lines["Q1"]
    assert "ok   2/2 automatic points + human review" in lines["E4"]
    assert any(line.startswith("tiny-sums: ok (seed ") for line in validated.stdout.splitlines())


def test_a_reference_below_its_minimum_fails_and_names_the_check(validated):
    lines = lines_of(validated, "tiny-copies")
    assert "ok   1/1 automatic points" in lines["Q1"]
    assert "FAIL 0/2 automatic points" in lines["E4"] and "must reach 0.01" in lines["E4"], lines["E4"]
    assert any(line.startswith("tiny-copies: FAIL (seed ") for line in validated.stdout.splitlines())


def test_every_reference_of_the_course_earns_full_marks(graded_corpus, tmp_path):
    """``grader validate --junit-xml`` on every assignment of rubrics/, in the cache where the corpus batches have
    just run each reference from scratch: the runs are re-used, not repeated, and measured on a new seed."""
    references = graded_corpus / "cache" / "grader" / "reference"
    runs = {path: path.read_bytes() for path in references.glob("*/execution.json")}
    assert {path.parent.name for path in runs} == set(rubrics.available())
    junit = tmp_path / "junit.xml"
    done = subprocess.run([sys.executable, "-m", "grader", "validate", "--junit-xml", str(junit)], capture_output=True,
                          text=True, timeout=600, env={**os.environ, "XDG_CACHE_HOME": str(graded_corpus / "cache")})
    assert done.returncode == 0, done.stdout + done.stderr[-3000:]
    assert {path: path.read_bytes() for path in runs} == runs  # no reference ran again
    suites = {suite.get("name"): suite for suite in ElementTree.parse(junit).getroot()}
    assert set(suites) == set(rubrics.available())
    for name, suite in suites.items():
        assert (suite.get("failures"), suite.get("errors")) == ("0", "0"), name
        assert [case.get("name") for case in suite.iter("testcase")] == [q.id for q in rubrics.load(name).questions]
        assert f"{name}: ok (seed " in done.stdout
