"""The picker finds a model by what it is and where it was made, not by its name."""
import pytest

from grader.evaluate.models import ModelInfo, normalise_loss
from grader.evaluate.picker import pick, pick_all, qualifies
from grader.harvest.answers import Section
from grader.harvest.models import ModelVersion

RNN = [{"class": "SimpleRNN", "units": 4, "activation": "tanh"},
       {"class": "Dense", "units": 1, "activation": "sigmoid"}]
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


# --- the signature says what a model must do, not how it was written --------

DIGITS = {"input": ["any", 784], "output": ["any", 10]}
SUM_CLASSIFIER = {"input": ["any", 2], "output": [["any", 1], ["any", 2]], "loss": ["classification"]}
SUM_REGRESSOR = {"input": ["any", 2], "output": ["any", 1], "loss": ["regression"]}
DENSE = [{"class": "Dense", "units": 8, "activation": "relu"}, {"class": "Dense", "units": 10, "activation": "linear"}]


def test_an_input_qualifies_by_its_values_per_sample():
    def fits(shape):
        return qualifies(ModelInfo(shape, (None, 10), DENSE), DIGITS)
    assert fits((None, 784)) and fits((None, 28, 28)) and fits((None, 28, 28, 1)) and fits((None, 1, 784))
    assert not fits((None, 27, 29)) and not fits((None, None, 28)) and not fits((None, 28, 28, 3)) and not fits(None)


def test_a_size_left_open_still_matches_only_itself():
    assert qualifies(ModelInfo((None, 8, 2), (None, 8, 1), RNN), ADDER)   # "any" takes a fixed length
    assert not qualifies(ModelInfo((None, 16), (None, 8, 1), RNN), ADDER)  # but not another rank


def test_a_rubric_may_list_several_outputs():
    one, two, three = (ModelInfo((None, 2), (None, n), DENSE, "binarycrossentropy") for n in (1, 2, 3))
    assert qualifies(one, SUM_CLASSIFIER) and qualifies(two, SUM_CLASSIFIER) and not qualifies(three, SUM_CLASSIFIER)


@pytest.mark.parametrize("loss, classifier, regressor", [
    ("binarycrossentropy", True, False), ("categoricalcrossentropy", True, False),
    ("sparsecategoricalcrossentropy", True, False), ("meansquarederror", False, True),
    ("meanabsoluteerror", False, True), ("huber", False, True), ("", False, False)])
def test_losses_by_family(loss, classifier, regressor):
    info = ModelInfo((None, 2), (None, 1), DENSE, loss)
    assert qualifies(info, SUM_CLASSIFIER) == classifier and qualifies(info, SUM_REGRESSOR) == regressor


def test_losses_by_name_in_any_spelling():
    info = ModelInfo((None, 2), (None, 1), DENSE, normalise_loss("mean_squared_error"))
    for spelling in ("mse", "MSE", "mean_squared_error", "MeanSquaredError", "keras.losses.mean_squared_error"):
        assert qualifies(info, {"loss": [spelling]}), spelling
    assert not qualifies(info, {"loss": ["mae"]})


def test_activation_layers_count_as_the_activation_of_the_layer_before():
    layers = [{"class": "Dense", "units": 64, "activation": "linear"}, {"class": "ReLU", "activation": "relu"},
              {"class": "Dense", "units": 1, "activation": "linear"}, {"class": "Activation", "activation": "sigmoid"}]
    info = ModelInfo((None, 2), (None, 1), layers)
    assert info.hidden_activations == ["relu"] and info.output_activation == "sigmoid"
    assert not qualifies(info, {"hidden_activation_not": "relu"})
