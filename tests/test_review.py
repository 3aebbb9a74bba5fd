"""Points held for the instructor, and what crosses back from the sandbox that runs a model's own code.

A part that judged a model with code of its own counts nothing until a
manual_scores.csv row confirms it (part ``model``); free-text answers keep
their own rows (part ``text``, the default). The files the kernel and the
predictor wrote are read as plain data, and only plain data.
"""
import json
import os

import numpy as np
import pytest

from grader import rubric as rubrics
from grader.batch import BatchError, read_manual_scores
from grader.evaluate import DataCache, combine
from grader.evaluate.context import Context, Part
from grader.evaluate.models import read_notes
from grader.execute.predictor import PredictionError, _new_file, _read_outputs
from grader.harvest import Harvest

from .builders import check, question, rubric_toml

RUBRIC = rubric_toml(
    "review",
    question("Q4", check("model_metric", 3, model="adder", data="binary_addition", metric="exact_accuracy"),
             check("free_text")),
    question("Q6", check("model_structure", 2, model="adder")),
    models={"adder": {"input": ["any", "any", 2]}})


@pytest.fixture
def rubric(tmp_path):
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    return rubrics.load(tmp_path / "rubric.toml")


def scores(tmp_path, rubric, rows: str) -> dict:
    (tmp_path / "manual_scores.csv").write_text(rows)
    return read_manual_scores(tmp_path / "manual_scores.csv", rubric)


def test_a_row_names_the_part_it_reviews_or_takes_the_question_s_own(tmp_path, rubric):
    read = scores(tmp_path, rubric, "submission,question,part,points,comment\nana,Q4,,1,Clear.\n"
                                    "ana,Q4,model,,Its cell is fine.\nana,Q6,,1.5,\nbea,Q4,model,2,\n")
    assert read == {"ana": {"Q4": {"text": {"points": 1.0, "comment": "Clear."},
                                   "model": {"points": None, "comment": "Its cell is fine."}},
                            "Q6": {"model": {"points": 1.5, "comment": ""}}},  # no free text in Q6: its model part
                    "bea": {"Q4": {"model": {"points": 2.0, "comment": ""}}}}
    old = scores(tmp_path, rubric, "submission,question,points,comment\nana,Q4,1,Ok\n")  # before the part column
    assert old == {"ana": {"Q4": {"text": {"points": 1.0, "comment": "Ok"}}}}


@pytest.mark.parametrize("row, message", [
    ("ana,Q4,code,1", "line 2: part 'code' is not text or model"),
    ("ana,Q4,text,", "line 2: points '' is not a number"),         # free text has nothing measured to confirm
    ("ana,Q4,text,2", "2 points is outside 0..1 (the free-text points of Q4)"),
    ("ana,Q4,model,3.5", "3.5 points is outside 0..3 (the model-check points of Q4)"),
])
def test_a_bad_row_is_named(tmp_path, rubric, row, message):
    with pytest.raises(BatchError, match=message.replace("(", r"\(").replace(")", r"\)").replace(".", r"\.")):
        scores(tmp_path, rubric, "submission,question,part,points\n" + row + "\n")


def held_parts(rubric, manual):
    """Q4 graded as after a model with code of its own measured 2.4 of 3 points, and a free-text answer."""
    ctx = Context(Harvest([], [], {}, []), rubric, DataCache(1), "en")
    measured = Part("exact_accuracy on fresh data", 2.4, 3, "partial", "“adder”: exact_accuracy = 0.9.")
    ctx.own_code_judged, ctx.own_code_ran = {"adder": (2, ["CarryCell"])}, True
    ctx.hold_for_review(measured)
    text = Part("Explanation", 0, 1, "manual", "Awaiting review by the instructor.", answer="Aprende el acarreo.")
    return combine(rubric.questions[0], [measured, text], ctx, manual)


def test_a_held_part_counts_nothing_until_confirmed(rubric):
    check = held_parts(rubric, None)
    model, text = check.details
    assert check.score == 0 and check.status == "manual"
    assert (model["score"], model["status"], model["would_earn"]) == (0, "manual", 2.4)
    assert model["feedback"] == (
        "“adder”: exact_accuracy = 0.9. Held for review: a model with code of its own (“adder” (cell 3): class "
        "CarryCell, defined in the notebook). Its predictions on the fresh data were made by the model's own code, "
        "run apart in a sandbox that got only the inputs (never the answers). It would earn 2.4 of 3 points, "
        "which count once the instructor confirms them.")
    assert text["would_earn"] is None


def test_a_part_worth_no_points_is_told_not_held(rubric):
    ctx = Context(Harvest([], [], {}, []), rubric, DataCache(1), "es")
    shown = Part("exact_accuracy", 0, 0, "pass", "«m»: exact_accuracy = 0.5.")
    ctx.own_code_judged, ctx.own_code_ran = {"m": (0, ["Lambda"])}, False
    ctx.hold_for_review(shown)
    assert (shown.status, shown.would_earn) == ("pass", None)
    assert shown.feedback == "«m»: exact_accuracy = 0.5. Modelo con código propio («m» (celda 1): una capa " \
                             "Lambda)."


def test_the_instructor_confirms_one_part_without_the_other(rubric):
    confirmed = held_parts(rubric, {"model": {"points": None, "comment": "A real RNN cell."}})
    model, text = confirmed.details
    assert confirmed.score == 2.4 and (model["score"], model["status"]) == (2.4, "partial")
    assert model["feedback"].endswith("Reviewed by the instructor: A real RNN cell.") and text["status"] == "manual"
    given = held_parts(rubric, {"model": {"points": 0, "comment": ""}, "text": {"points": 1, "comment": "Bien."}})
    assert [(d["score"], d["status"]) for d in given.details] == [(0, "fail"), (1, "pass")]
    assert given.details[1]["feedback"] == "Reviewed by the instructor: Bien." and given.score == 1
    capped = held_parts(rubric, {"model": {"points": 5, "comment": ""}})
    assert capped.details[0]["score"] == 3 and capped.status == "manual"  # the free text still waits


def test_the_kernel_notes_are_read_as_checked_plain_data(tmp_path):
    path = tmp_path / "model-1-v1.code.json"
    path.write_text(json.dumps({"classes": {"Adder": "class Adder: ..." * 5000, "x" * 500: 7},
                                "lambdas": ["not", "a", "dict"], "output_shape": [None, "8", 1],
                                "layers": {"class_name": "Dense"}, "error": None}))
    notes = read_notes(path)
    assert len(notes["classes"]["Adder"]) == 20000 and notes["classes"]["x" * 100] == "7"
    assert notes["lambdas"] == {} and notes["output_shape"] is None and notes["layers"] == [] and notes["error"] == ""
    path.write_text(json.dumps({"output_shape": [None, 8, 1], "layers": [{"class_name": "Dense"}] * 300}))
    assert read_notes(path)["output_shape"] == [None, 8, 1] and len(read_notes(path)["layers"]) == 200
    path.write_text("[" * 100000)
    assert read_notes(path)["error"] == "the kernel's notes on its code are unreadable"
    assert read_notes(None)["classes"] == {}


def test_only_a_plain_file_of_numbers_comes_back_from_the_sandbox(tmp_path):
    good = tmp_path / "y-1.npy"
    np.save(good, np.ones((5, 8, 1), dtype=np.float64))
    outputs = _read_outputs(good, 5)
    assert outputs.dtype == np.float32 and outputs.shape == (5, 8, 1)
    with pytest.raises(PredictionError, match="one row per input"):
        _read_outputs(good, 4)
    objects = tmp_path / "y-2.npy"
    np.save(objects, np.array([{"a": 1}, None], dtype=object), allow_pickle=True)
    with pytest.raises(PredictionError, match="unreadable"):
        _read_outputs(objects, 2)  # would need unpickling
    secret = tmp_path / "secret.npy"
    np.save(secret, np.zeros((5, 1)))
    (tmp_path / "y-3.npy").symlink_to(secret)
    with pytest.raises(PredictionError, match="no outputs"):
        _read_outputs(tmp_path / "y-3.npy", 5)
    os.mkfifo(tmp_path / "y-4.npy")
    with pytest.raises(PredictionError, match="not a plain file"):
        _read_outputs(tmp_path / "y-4.npy", 5)  # and no wait for a writer


def test_an_input_file_planted_as_a_link_is_replaced_not_followed(tmp_path):
    target = tmp_path / "host-file"
    target.write_text("the grader's own file")
    (tmp_path / "x-2.npy").symlink_to(target)
    with _new_file(tmp_path / "x-2.npy") as handle:
        handle.write(b"inputs")
    assert target.read_text() == "the grader's own file" and (tmp_path / "x-2.npy").read_bytes() == b"inputs"
