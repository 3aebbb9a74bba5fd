"""grader.student.Checker: checking from inside the notebook's own kernel, with a pack."""
import json
import os
import shutil
import tempfile
from pathlib import Path

import nbformat
import pytest
from IPython.core.inputtransformer2 import TransformerManager
from nbclient import NotebookClient

from grader import student
from grader.pack import PackError

from .expect import assert_errors_only
from .tiny_assignment import code, packed, write

transform = TransformerManager().transform_cell
CHECK = """
import json, os, time
from grader.student import Checker

def dump(name, report):
    with open(name, "w") as handle:
        json.dump({"checks": [{"id": c.id, "score": c.score, "status": c.status, "details": c.details}
                              for c in report.checks], "notes": report.notes, "notebook": report.notebook,
                   "html": report._repr_html_(), "text": str(report), "points": report.points}, handle, default=str)

checker = Checker(PACK, seed=5, lang="en")
dump("all.json", checker.check_all())
later = Checker(PACK, notebook="changed.ipynb", seed=5, lang="en")
"""
AFTERWARDS = [
    "raise ValueError('not finished')   # a cell of Q4 that fails, run after the checkers were made",
    "model.set_weights([w * 0 for w in model.get_weights()])   # Q4's model, changed after Q5",
    "dump('changed.json', later.check('Q4'))",
    "os.environ.pop('JPY_SESSION_NAME')\ndump('blind.json', Checker(PACK, seed=5, lang='en').check_all())",
]


def run_in_kernel(folder: Path, notebook: Path, pack: Path) -> None:
    """Run ``notebook`` in a real Jupyter kernel as a student would, then the checker cells after it.

    The kernel is told the notebook's file as Jupyter tells it (``JPY_SESSION_NAME``); ``changed.ipynb``
    is the notebook as saved later: a failing cell in Q4 and, at its end, the cell that changes Q4's model.
    """
    saved = nbformat.read(notebook, as_version=4)
    more = [code(source.replace("PACK", repr(str(pack)))) for source in [CHECK] + AFTERWARDS]
    changed = saved.cells[:7] + more[1:2] + saved.cells[7:] + more[2:3]
    nbformat.write(nbformat.v4.new_notebook(cells=changed), folder / "changed.ipynb")
    running = nbformat.v4.new_notebook(cells=saved.cells + more)
    NotebookClient(running, timeout=300, kernel_name="python3", allow_errors=True,
                   resources={"metadata": {"path": str(folder)}}
                   ).execute(env={**os.environ, "JPY_SESSION_NAME": str(notebook)})
    errors = [o["evalue"] for c in running.cells for o in c.get("outputs", []) if o.get("output_type") == "error"]
    assert errors == ["not finished"], errors


@pytest.fixture(scope="module")
def checked(tmp_path_factory):
    """Two students' notebooks checked in their own kernels, and the same notebooks graded by grader grade."""
    tiny = packed(tmp_path_factory)
    root = tmp_path_factory.mktemp("checked")
    students = {"ana": {}, "bea": {"answer": "8", "head": "relu", "epochs": 3}}
    (root / "submissions").mkdir()
    for name, options in students.items():
        (root / name).mkdir()
        notebook = write(root / name, f"{name}.ipynb", **options)
        shutil.copy(notebook, root / "submissions")
        run_in_kernel(root / name, notebook, tiny.pack)
    graded = tiny.grader("grade", root / "submissions", "--assignment", tiny.rubric, "--seed", 5, "--lang", "en",
                         "--workers", 1, "--out", root / "graded")
    assert graded.returncode == 0, graded.stderr
    return root


def kernel(root: Path, name: str, what: str = "all") -> dict:
    return json.loads((root / name / f"{what}.json").read_text())


def grade(root: Path, name: str) -> dict:
    return json.loads((root / "graded" / name / "result.json").read_text())


@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.parametrize("name", ["ana", "bea"])
def test_points_in_the_notebook_equal_grader_grade(checked, name):
    inside, graded = kernel(checked, name), grade(checked, name)
    assert inside["notebook"] == str(checked / name / f"{name}.ipynb")           # found by JPY_SESSION_NAME
    assert_errors_only(inside)
    assert_errors_only(graded)
    pairs = [(q, mine, theirs) for q, g in zip(inside["checks"], graded["checks"])
             for mine, theirs in zip(q["details"], g["details"]) if theirs["visibility"] == "public"]
    assert len(pairs) == 5
    for question, mine, theirs in pairs:
        assert (question["id"], mine["score"], mine["status"]) == (question["id"], theirs["score"], theirs["status"])
        assert mine["metrics"] == theirs["metrics"]            # the same models: training is deterministic
        assert mine.get("model", {}).get("name") == theirs.get("model", {}).get("name")
    hidden = inside["checks"][2]["details"][2]
    assert (hidden["status"], hidden["score"], hidden["feedback"]) == ("hidden", 0, "Graded after hand-in.")


@pytest.mark.slow
@pytest.mark.kernel
def test_the_checks_see_partial_credit_and_places(checked):
    bea = {c["id"]: c for c in kernel(checked, "bea")["checks"]}
    assert bea["Q1"]["score"] == 0 and bea["Q2"]["score"] == 1.0                  # 8 is wrong; a relu head
    ana = {c["id"]: c for c in kernel(checked, "ana")["checks"]}
    # Q5's cell is the same in both notebooks, after the same seed and the same draws of data: the epochs Q4
    # trains for draw nothing Q5 uses (measured: the same model, the same partial credit, 0.358)
    assert bea["Q5"]["status"] == ana["Q5"]["status"] == "partial" and 0 < bea["Q5"]["score"] < 2
    assert bea["Q5"]["details"][0]["metrics"] == ana["Q5"]["details"][0]["metrics"]
    # Q4's adder and Q5's fit the same signature: each question gets the model of its own cells
    assert ana["Q4"]["details"][0]["model"]["name"] == "model"
    assert ana["Q5"]["details"][0]["model"]["name"] == "model_5"


@pytest.mark.slow
@pytest.mark.kernel
def test_what_the_checker_cannot_see_it_says(checked):
    everything = kernel(checked, "ana")
    assert everything["notes"] == []
    assert "It cannot see a cell that fails when the notebook runs from scratch" in everything["text"]
    assert "<table>" in everything["html"] and "Graded after hand-in." in everything["html"]
    changed = kernel(checked, "ana", "changed")
    assert changed["notes"] == ["Q4: “model” changed after the question (cell 11); it is measured as it is now."]
    metric, runs, _ = changed["checks"][0]["details"]
    assert metric["score"] == 0                                                     # its weights are now zeros
    assert runs["status"] == "error" and "cell 8: ValueError" in runs["feedback"]   # seen by the checker's hook
    blind = kernel(checked, "ana", "blind")
    assert blind["notes"][0].startswith("The notebook's file was not found: models are chosen by their signature "
                                        "and names only")
    assert blind["points"]["Q1"] == 0                                               # the answer is markdown


# ---------------------------------------------------------------- placement, without a kernel

def test_a_cell_binds_or_changes_names():
    found = student.touches("model = make()\nmodel.fit(x)\nmodels[0].fit(y)\nfor m in ms:\n    m.compile()\n"
                            "history = other.predict(z)\nlayers.a = 1", transform)
    assert found.binds == {"model", "m", "history"}
    assert found.changes == {"model", "models", "m", "layers"}
    assert student.touches("%%bash\necho", transform).binds == set()
    assert student.touches("def (", transform) == student.Touches()


def test_a_model_is_placed_by_the_cells_that_last_made_it():
    sources = ["model = make()", "model.fit(x)", "other = make()", "model.evaluate(x)", "model = make(2)"]
    touched = [student.touches(s, transform) for s in sources]
    cells = [nbformat.v4.new_code_cell(s) for s in sources]
    # ran in order, the last binding (cell 5) made the object the kernel holds
    assert student.place(["model"], cells, {0: [1], 1: [2], 4: [3]}, touched) == ([4], "history")
    # cell 5 ran first, then cell 1 made the model again and cell 2 trained it
    assert student.place(["model"], cells, {4: [1], 0: [2], 1: [3]}, touched) == ([0, 1], "history")
    # cell 2 trained the model that cell 5 made: out of order (the notes say so)
    assert student.place(["model"], cells, {1: [5], 4: [4], 0: [2]}, touched) == ([4, 1], "history")
    assert student.place(["model"], cells, {}, touched) == ([0, 1, 4], "code")          # no history
    assert student.place(["nowhere"], cells, {}, touched) == ([], "names")
    assert student.place(["other[0]"], cells, {2: [7]}, touched) == ([2], "history")


def test_the_history_is_matched_to_cells_as_ipython_ran_them():
    cells_ = [nbformat.v4.new_code_cell("!pip install d2l\nimport os"), nbformat.v4.new_markdown_cell("x"),
              nbformat.v4.new_code_cell("x = 1  ")]
    history = ["", "x = 1", transform("!pip install d2l\nimport os"), "x = 2", "x = 1\n"]
    assert student.executions(cells_, history, transform) == {2: [1, 4], 0: [2]}


def test_the_notebook_is_found_as_jupyter_and_vs_code_tell_it(tmp_path, monkeypatch):
    notebook = write(tmp_path, "mine.ipynb")
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("JPY_SESSION_NAME", raising=False)
    assert student.find_notebook(None, {}) is None
    assert student.find_notebook(None, {"__vsc_ipynb_file__": str(notebook)}) == notebook
    monkeypatch.setenv("JPY_SESSION_NAME", str(notebook))
    assert student.find_notebook(None, {}) == notebook
    monkeypatch.setenv("JPY_SESSION_NAME", "/elsewhere/mine.ipynb")     # moved: found by its name here
    assert student.find_notebook(None, {}) == tmp_path / "mine.ipynb"
    assert student.find_notebook("mine.ipynb", {}) == Path("mine.ipynb")
    with pytest.raises(FileNotFoundError, match="other.ipynb: no such notebook"):
        student.find_notebook("other.ipynb", {})


def test_a_broken_pack_is_refused_before_anything(tmp_path):
    (tmp_path / "x.pack").write_text("{")
    with pytest.raises(PackError, match="damaged pack"):
        student.Checker(tmp_path / "x.pack")


def test_questions_are_named_by_the_pack(tmp_path_factory):
    checker = student.Checker(packed(tmp_path_factory).pack)
    with pytest.raises(KeyError, match="'Q9' is not a question of tiny-adder .its questions: Q1, Q2, Q4, Q5."):
        checker.check("Q9")


def test_a_checker_removes_the_folders_of_checkers_whose_kernel_was_killed(tmp_path_factory, tmp_path, monkeypatch):
    from grader.execute.leftovers import owner
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    (tmp_path / "grader-checker-999999-1-x1y2" / "models").mkdir(parents=True)   # its process is gone
    checker = student.Checker(packed(tmp_path_factory).pack)
    [folder] = tmp_path.iterdir()
    assert folder.name.startswith(f"grader-checker-{owner()}-") and checker.pack.assignment == "tiny-adder"
