"""The picker finds a model by what it is and where it was made, not by its name."""
import pytest

from grader import rubric as rubrics
from grader.evaluate.models import ModelInfo, normalise_loss
from grader.evaluate.picker import pick, pick_all, qualifies
from grader.harvest.answers import Section
from grader.harvest.models import ModelVersion

from .builders import check, dense_network, judge, placed, question, rubric_toml

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


def test_hidden_activation_not_asks_only_for_some_hidden_layer_with_another_activation():
    """As README says: one hidden layer other than the avoided activation qualifies the model, even beside
    layers that use it; only a model whose hidden layers all use it is left out."""
    def hidden(*activations):
        layers = [{"class": "Dense", "units": 8, "activation": a} for a in activations]
        return ModelInfo((None, 2), (None, 1), [*layers, {"class": "Dense", "units": 1, "activation": "sigmoid"}])
    assert hidden("relu", "tanh").hidden_activations == ["relu", "tanh"]
    assert qualifies(hidden("relu", "tanh"), {"hidden_activation_not": "relu"})
    assert qualifies(hidden("tanh", "relu"), {"hidden_activation_not": "relu"})
    assert not qualifies(hidden("relu", "relu"), {"hidden_activation_not": "relu"})


# --- exclude: another question's model is never picked again ------------------

def test_exclude_keeps_another_questions_model_out_of_a_single_model_check(tmp_path):
    """Q2 excludes Q1's model: retrained in Q2's cells it is the last fitting model there, yet Q2 judges the
    model of its own; with no model of its own, Q2 finds none rather than Q1's."""
    classifier = {"input": ["any", 2], "output": ["any", 1], "loss": ["classification"]}
    path = tmp_path / "rubric.toml"
    path.write_text(rubric_toml("exclude", question("Q1", check("model_structure", model="classifier")),
                                question("Q2", check("model_structure", model="classifier", exclude=["Q1"])),
                                models={"classifier": classifier}))
    rules = rubrics.load(path)
    network = [(4, "relu"), (1, "sigmoid")]
    first = dense_network(tmp_path / "first.keras", network, "binary_crossentropy")
    own = placed(dense_network(tmp_path / "own.keras", network, "binary_crossentropy"), 2, 2)
    again = placed(first, 1, 3, version=2)
    sections = {"Q1": (0, 2), "Q2": (2, 4)}
    checks, problems = judge(rules, [placed(first, 1, 1), own, again], sections, reference={})
    assert problems == []
    assert (checks["Q1"].model["name"], checks["Q1"].model["version"]) == ("first", 1)
    assert (checks["Q2"].status, checks["Q2"].model["name"], checks["Q2"].model["cell"]) == ("pass", "own", 2)
    checks, _ = judge(rules, [placed(first, 1, 1), again], sections, reference={})
    assert checks["Q2"].status == "fail" and checks["Q2"].feedback.startswith("No model was found")
