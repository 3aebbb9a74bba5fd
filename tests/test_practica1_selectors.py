"""What Práctica 1's rubric asks of a model, each key proved on tiny saved models judged with the real rubric.

``only_in_section`` (E6), the ``loss`` of a selector, ``hidden_activation_not`` (E3), ``hidden = {...}``
(E1's structure), ``expected_rounded`` (E1's probe), ``reference_min`` (E4) and ``exclude`` (E2). The
models have fixed weights, so what they compute is known: no training.
"""
from dataclasses import asdict

import numpy as np
import pytest

from grader import rubric as rubrics

from .builders import dense_network, judge, placed
from .expect import assert_errors_only

PRACTICA1 = rubrics.load("practica1")
SECTIONS = {"mnist": (0, 2), "E1": (2, 4), "E2": (4, 6), "E3": (6, 8), "E4": (8, 10), "E5": (10, 12), "E6": (12, 14)}
REFERENCE = {"mnist#0": 0.95, "E1#0": 1.0, "E4#0": 0.02, "E6#0": 0.02}   # as a batch passes them
AT_ONE = {"relu": 1.0, "tanh": float(np.tanh(1.0)), "sigmoid": float(1 / (1 + np.exp(-1.0)))}


def cell_of(question: str) -> int:
    return SECTIONS[question][0] + 1


def sum_classifier(path, units=64, activation="relu", loss="binary_crossentropy", sign=1.0):
    """A hidden layer, a sigmoid out: x1 + x2 > 1 by fixed weights (``sign`` -1: the opposite answer)."""
    hidden = np.zeros((2, units))
    hidden[:, 0] = 1.0                         # the first unit sees x1 + x2; the others are silent
    out = np.zeros((units, 1))
    out[0, 0] = 20 * sign
    return dense_network(path, [(units, activation), (1, "sigmoid")], loss,
                         weights=[hidden, np.zeros(units), out, [-20 * sign * AT_ONE[activation]]])


def sum_regressor(path, weights=(1.0, 1.0)):
    """A linear layer: ``weights`` · (x1, x2); (1, 1) adds exactly."""
    return dense_network(path, [(1, None)], "mse", weights=[[[weights[0]], [weights[1]]], [0.0]])


def graded(*models, reference=REFERENCE, errors=()):
    """The checks by question; only the parts in ``errors`` may be "error" (see expect.assert_errors_only)."""
    checks, problems = judge(PRACTICA1, list(models), SECTIONS, reference)
    assert problems == []
    assert_errors_only({"checks": [asdict(check) for check in checks.values()]}, errors)
    return checks


def part(checks, question, index):
    return checks[question].details[index]


def test_only_in_section_judges_only_a_model_of_the_questions_own_cells(tmp_path):
    """E6 asks for a model trained on noisy targets: E4's regressor, made before it, is not E6's work."""
    e4 = placed(sum_regressor(tmp_path / "e4.keras"), 1, cell_of("E4"))
    checks = graded(e4)
    assert part(checks, "E4", 0)["status"] == "pass"
    e6 = part(checks, "E6", 0)
    assert (e6["status"], e6["score"]) == ("fail", 0) and e6["feedback"].startswith("No model was found")
    own = placed(sum_regressor(tmp_path / "e6.keras"), 2, cell_of("E6"))
    e6 = part(graded(e4, own), "E6", 0)
    assert e6["status"] == "pass" and e6["model"]["name"] == "e6"


@pytest.mark.parametrize("loss, question, other", [("binary_crossentropy", "E1", "E4"), ("mse", "E4", "E1")])
def test_the_loss_tells_a_classifier_from_a_regressor(tmp_path, loss, question, other):
    """The same network, one sigmoid output: compiled for classification it is E1's, for regression E4's."""
    model = placed(sum_classifier(tmp_path / "network.keras", loss=loss), 1, cell_of("E1"))
    checks = graded(model)
    assert part(checks, question, 0)["model"]["name"] == "network"
    assert (part(checks, other, 0)["status"], part(checks, other, 0)["score"]) == ("fail", 0)
    assert part(checks, other, 0)["feedback"].startswith("No model was found")


def test_hidden_activation_not_keeps_relu_networks_out_of_e3(tmp_path):
    """E1 was done with tanh: a relu network in E3 varies the activation, but E3 asks for other than relu."""
    models = [placed(sum_classifier(tmp_path / "e1_tanh.keras", activation="tanh"), 1, cell_of("E1")),
              placed(sum_classifier(tmp_path / "e3_relu.keras", activation="relu"), 2, cell_of("E3")),
              placed(sum_classifier(tmp_path / "e3_sigmoid.keras", activation="sigmoid"), 3, cell_of("E3"))]
    e3 = part(graded(*models), "E3", 0)
    assert [row["name"] for row in e3["model"]["compared"]] == ["e1_tanh", "e3_sigmoid"]
    assert e3["metrics"]["models"] == 1


@pytest.mark.parametrize("units, activation, score, said", [
    (64, "relu", 1, ""),
    (32, "relu", 0.5, "The hidden layer is 32 relu; 64 relu was asked for."),
    (64, "tanh", 0.5, "The hidden layer is 64 tanh; 64 relu was asked for.")])
def test_the_hidden_layer_asked_for(tmp_path, units, activation, score, said):
    model = placed(sum_classifier(tmp_path / "e1.keras", units, activation), 1, cell_of("E1"))
    structure = part(graded(model), "E1", 1)
    assert structure["score"] == score and said in structure["feedback"]


def test_expected_rounded_holds_the_predictions_to_the_classes_asked_for(tmp_path):
    right = placed(sum_classifier(tmp_path / "right.keras"), 1, cell_of("E1"))
    probe = part(graded(right), "E1", 2)
    assert probe["status"] == "pass" and probe["metrics"]["predicted"] == [1, 0]
    wrong = placed(sum_classifier(tmp_path / "wrong.keras", sign=-1.0), 1, cell_of("E1"))
    probe = part(graded(wrong), "E1", 2)
    assert probe["score"] == 0 and "It predicts [0, 1]; [1, 0] was expected." in probe["feedback"]


def test_reference_min_stops_a_reference_that_falls_short_and_no_student(tmp_path):
    """E4's band is relative: judged against itself any reference would pass, so it must reach an MAE of 0.06."""
    exact = placed(sum_regressor(tmp_path / "exact.keras"), 1, cell_of("E4"))
    assert part(graded(exact, reference=None), "E4", 0)["status"] == "pass"
    first_only = placed(sum_regressor(tmp_path / "x1.keras", (1.0, 0.0)), 1, cell_of("E4"))
    as_reference = part(graded(first_only, reference=None, errors={"E4#0": "must reach 0.06"}), "E4", 0)
    assert as_reference["status"] == "error"
    assert as_reference["feedback"].endswith("The reference solution must reach 0.06.")
    as_student = part(graded(first_only), "E4", 0)
    assert as_student["status"] == "fail" and "must reach" not in as_student["feedback"]


def test_exclude_keeps_e1s_model_out_of_e2_when_trained_again_there(tmp_path):
    """E2 excludes E1's model: trained further in E2's cells, it is neither a variation nor one that "does not
    count"; the smaller network is E2's variation."""
    e1 = sum_classifier(tmp_path / "e1.keras")
    models = [placed(e1, 1, cell_of("E1")), placed(e1, 1, cell_of("E2"), version=2),
              placed(sum_classifier(tmp_path / "small.keras", units=32), 2, cell_of("E2"))]
    e2 = part(graded(*models), "E2", 0)
    assert [row["name"] for row in e2["model"]["compared"]] == ["e1", "small"]
    assert e2["status"] == "pass" and "do not count" not in e2["feedback"], e2["feedback"]
