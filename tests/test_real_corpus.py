"""Grade the real-world corpus of tests/real/ and hold every verdict to an instructor's.

tests/real/<assignment>/ holds real hand-ins, public notebooks written by other people and
variants of every section layout; tests/real/expected.toml holds, for each, the points a careful
instructor gives per question (a range) and which questions it explains in words. The corpus is
graded once per session by conftest's ``graded_corpus`` (one ``grader grade`` batch per assignment, as
scripts/agreement.py does); a miss prints the grader's feedback.
"""
import json
import sys
import tomllib
from pathlib import Path

import pytest

from .expect import assert_errors_only, failing_cells_only

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO / "scripts"))
import agreement  # noqa: E402

CORPUS = agreement.expected()
# The two documents of ../shared/real/, copied here (tests/real/SOURCES.md says how): their verdicts there give
# reasons as well as points, and the grader must reach each verdict for its reason.
REAL_HAND_IN = ("binary-addition", "real_student_quick")
REAL_LAB = ("practica1", "real_lab_as_written")


def automatic_points(assignment: str) -> dict[str, float]:
    """Question id -> the points the grader can give without a person (free text waits for review)."""
    rubric = tomllib.loads((REPO / "rubrics" / f"{assignment}.toml").read_text(encoding="utf-8"))
    return {question["id"]: sum(check["points"] for check in question["checks"] if check["kind"] != "free_text")
            for question in rubric["questions"]}


def test_every_notebook_has_a_verdict_for_every_question():
    on_disk = {(path.parent.name, path.stem) for path in (REPO / "tests" / "real").glob("*/*.ipynb")}
    assert on_disk == {(verdict["assignment"], name) for name, verdict in CORPUS.items()}
    assert len(CORPUS) >= 20
    for name, verdict in CORPUS.items():
        points, written = automatic_points(verdict["assignment"]), agreement.written_parts(verdict["assignment"])
        assert verdict["why"].strip(), name
        described = {key for key in verdict if key not in ("assignment", "why", "explained", "known_miss")}
        assert described == set(points), name
        for question, (low, high) in ((q, verdict[q]) for q in points):
            assert 0 <= low <= high <= points[question], (name, question)
        assert set(verdict["explained"]) <= set(written), name


def test_every_public_notebook_names_its_source_and_licence():
    sources = (REPO / "tests" / "real" / "SOURCES.md").read_text(encoding="utf-8")
    for name in CORPUS:
        if name.startswith("pub_"):
            section = sources.split(f"`{name}.ipynb`", 1)[1].split("\n## ", 1)[0]
            for field in ("repository:", "path:", "commit:", "licence:", "copyright:", "trimmed:"):
                assert field in section, (name, field)


@pytest.mark.slow
@pytest.mark.kernel
@pytest.mark.parametrize("name", sorted(CORPUS))
def test_each_notebook_gets_the_instructors_verdict(graded_corpus, name, request):
    """A notebook the grader is known to get wrong says why (``known_miss``); it must keep failing until fixed."""
    assignment = CORPUS[name]["assignment"]
    if CORPUS[name].get("known_miss"):
        request.applymarker(pytest.mark.xfail(reason=CORPUS[name]["known_miss"], strict=True))
    misses = [v.line() for v in agreement.verdicts(graded_corpus / assignment, assignment, {name: CORPUS[name]})
              if v.problem]
    assert not misses, "\n".join(misses)
    result = graded_corpus / assignment / name / "result.json"
    assert_errors_only(result, failing_cells_only(automatic_points(assignment)))  # never the grader failing


def graded(corpus: Path, assignment: str, name: str) -> tuple[dict, dict]:
    result = json.loads((corpus / assignment / name / "result.json").read_text(encoding="utf-8"))
    assert_errors_only(result)
    return result, {check["id"]: check for check in result["checks"]}


def measured(part: dict, metric: str) -> bool:
    """The part judged a model on fresh data: it holds the metric and did not fail to evaluate."""
    return part["status"] in ("pass", "partial", "fail") and metric in part["metrics"]


@pytest.mark.slow
@pytest.mark.kernel
def test_the_real_hand_in_is_graded_for_the_instructors_reasons(graded_corpus):
    """../shared/real/README.md on binary-addition_student_as_written (and its quick copy)."""
    result, checks = graded(graded_corpus, *REAL_HAND_IN)
    # Every cell runs but the one that installs d2l, whose absence costs nothing.
    assert {cell["status"] for cell in result["execution"]} <= {"ok", "skipped"}
    assert all("pip install" in cell["note"] for cell in result["execution"] if cell["status"] == "skipped")
    assert (checks["Q1"]["score"], checks["Q1"]["status"]) == (0, "fail") and "127" in checks["Q1"]["feedback"]
    # Q2: the relu head is the mistake, and the feedback names the right output.
    assert (checks["Q2"]["score"], checks["Q2"]["status"], checks["Q2"]["model"]["name"]) == (1, "partial", "model")
    assert checks["Q2"]["model"]["layers"] == "SimpleRNN(4, tanh) → Dense(2, relu) → Dense(1, relu)"
    assert "sigmoid" in checks["Q2"]["feedback"]
    assert (checks["Q3"]["score"], checks["Q3"]["status"]) == (2, "pass") and "(1, 3, 1)" in checks["Q3"]["feedback"]
    # Q4: the 7-bit model is measured on fresh data and the worked-example cells ran.
    assert checks["Q4"]["model"].get("name") == "model" and measured(checks["Q4"]["details"][0], "exact_accuracy")
    assert (checks["Q4"]["details"][1]["score"], checks["Q4"]["details"][1]["status"]) == (1, "pass")
    # Q5 and Q6: the 30-bit models are measured, and each explanation waits for a person.
    for question, model in (("Q5", "model_30"), ("Q6", "model_30_cell")):
        assert checks[question]["model"].get("name") == model, question
        assert measured(checks[question]["details"][0], "exact_accuracy"), question
        assert checks[question]["details"][1]["status"] == "manual", question


@pytest.mark.slow
@pytest.mark.kernel
def test_the_real_lab_is_graded_for_the_instructors_reasons(graded_corpus):
    """../shared/real/README.md on practica1_lab_as_written."""
    result, checks = graded(graded_corpus, *REAL_LAB)
    assert {cell["status"] for cell in result["execution"]} == {"ok"}
    # mnist: the network of the handout, measured (its points, trained unseeded: expected.toml's range)
    assert checks["mnist"]["model"]["layers"] == "Dense(512, relu) → Dense(10, softmax)"
    assert measured(checks["mnist"]["details"][0], "accuracy")
    # E1: the classifier of the # E1 cell, full marks on accuracy, structure and the probes.
    assert checks["E1"]["model"]["layers"] == "Dense(64, relu) → Dense(1, sigmoid)"
    assert [part["status"] for part in checks["E1"]["details"]] == ["pass"] * 3
    # E2, E3, E5: the models of their cells, compared side by side; the comparison waits for a person.
    for question, names in (("E2", ["model", "model_32"]), ("E3", ["model", "model_tanh", "model_sigmoid"]),
                            ("E5", ["model", "model_small", "model_large"])):
        assert [model["name"] for model in checks[question]["model"]["compared"]] == names, question
        assert [part["status"] for part in checks[question]["details"]] == ["pass", "manual"], question
    # E4: the variable ``model``, reassigned to the regressor of the # E4 cell: not E1's classifier.
    assert (checks["E4"]["score"], checks["E4"]["status"], checks["E4"]["model"]["name"]) == (4, "pass", "model")
    assert checks["E4"]["model"]["layers"] == "Dense(64, relu) → Dense(1, linear)"
    assert checks["E4"]["model"]["file"] != checks["E1"]["model"]["file"]
    assert checks["E5"]["model"]["compared"][0]["cell"] == checks["E4"]["model"]["cell"]
    assert checks["E6"]["model"].get("name") == "model_noise" and measured(checks["E6"]["details"][0], "mae")
    assert checks["E6"]["details"][1]["status"] == "manual"


@pytest.mark.slow
@pytest.mark.kernel
def test_the_quickstart_s_digit_classifier_is_its_softmax_wrapper(graded_corpus):
    """TensorFlow's beginner quickstart: 28x28 images, logits trained with ``from_logits=True``, then
    ``Sequential([model, Softmax()])``: the wrapper is measured, as the probabilities it gives."""
    result, checks = graded(graded_corpus, "practica1", "pub_tf_quickstart_beginner")
    assert result["problems"] == []
    mnist = checks["mnist"]
    assert (mnist["model"]["name"], mnist["model"]["input_shape"]) == ("probability_model", "(any, 28, 28)")
    assert mnist["model"]["layers"] == "Flatten → Dense(128, relu) → Dropout → Dense(10, linear) → Softmax"
    assert mnist["metrics"]["accuracy"] > 0.85 and mnist["score"] > 1, mnist["feedback"]
