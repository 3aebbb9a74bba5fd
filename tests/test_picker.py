"""The picker finds a model by what it is and where it was made, not by its name."""
from grader.evaluate.models import ModelInfo
from grader.evaluate.picker import pick, pick_all
from grader.harvest.answers import Section
from grader.harvest.models import ModelVersion

RNN = [{"class": "SimpleRNN", "units": 4, "activation": "tanh"}, {"class": "Dense", "units": 1, "activation": "sigmoid"}]
LSTM = [{"class": "LSTM", "units": 8, "activation": "tanh"}, {"class": "Dense", "units": 1, "activation": "sigmoid"}]
ADDER = {"input": ["any", "any", 2], "output": ["any", "any", 1], "layers_any": ["SimpleRNN", "LSTM", "GRU"]}
MEMORY = {**ADDER, "layers_any": ["LSTM", "GRU"]}


def version(model, number, cell, names, layers=RNN, inputs=(None, None, 2)):
    info = ModelInfo(inputs, (None, None, 1), layers)
    return ModelVersion(model, number, None, cell, names), info


def test_signature_decides_not_the_name():
    versions = [version(1, 1, 3, ["model"], inputs=(None, 784)), version(2, 1, 5, ["whatever"])]
    chosen = pick(versions, ADDER, None)
    assert chosen.version.model == 2


def test_a_reassigned_variable_keeps_every_model():
    # `model` is the 7-bit RNN (Q4, cells 10-12), then reassigned to an LSTM in Q6 (cells 20-22)
    versions = [version(1, 1, 5, ["model"]), version(1, 2, 11, ["model"]),
                version(2, 1, 21, ["model"], layers=LSTM)]
    q4, q6 = Section("Q4", 10, 13), Section("Q6", 20, 23)
    assert (pick(versions, ADDER, q4).version.model, pick(versions, ADDER, q4).version.version) == (1, 2)
    assert pick(versions, MEMORY, q6).version.model == 2
    assert pick(versions, ADDER, q4).where == "section"


def test_place_in_the_notebook_separates_same_signature_models():
    # Q4 trains `model` on 7 bits; Q5 trains `model_30` on 30 bits: same architecture
    versions = [version(1, 1, 11, ["model"]), version(2, 1, 16, ["model_30"])]
    assert pick(versions, ADDER, Section("Q4", 10, 13)).version.model == 1
    assert pick(versions, ADDER, Section("Q5", 15, 18)).version.model == 2


def test_falls_back_to_the_last_model_before_the_question():
    versions = [version(1, 1, 4, ["rnn"]), version(2, 1, 30, ["later"])]
    chosen = pick(versions, ADDER, Section("Q3", 8, 9))
    assert chosen.version.model == 1 and chosen.where == "before"


def test_no_fitting_model_is_none():
    assert pick([version(1, 1, 4, ["m"], layers=RNN)], MEMORY, None) is None


def test_pick_all_lists_each_model_once():
    versions = [version(1, 1, 4, ["a"]), version(1, 2, 6, ["a"]), version(2, 1, 7, ["b"])]
    picks = pick_all(versions, ADDER, Section("E2", 3, 9))
    assert [(p.version.model, p.version.version) for p in picks] == [(1, 2), (2, 1)]


def test_a_model_made_after_the_question_does_not_count():
    # the Q2 cell failed; a model built later for Q5 must not earn Q2's points
    versions = [version(1, 1, 16, ["model_30"])]
    assert pick(versions, ADDER, Section("Q2", 4, 6)) is None
    assert pick(versions, ADDER, None).version.model == 1  # no label found: anything goes
