import pytest

from grader import rubric as rubrics

VALID = """
[assignment]
name = "tiny"
[models.m]
input = ["any", 2]
[[questions]]
id = "Q1"
  [[questions.checks]]
  kind = "numeric_answer"
  points = 1
  expected = 127
"""


def write(tmp_path, text):
    path = tmp_path / "tiny.toml"
    path.write_text(text)
    return path


def test_the_shipped_rubrics_load():
    for name in rubrics.available():
        loaded = rubrics.load(name)
        assert loaded.questions and loaded.max_score > 0


def test_several_shapes_and_loss_families(tmp_path):
    text = VALID.replace('input = ["any", 2]', 'input = ["any", 2]\noutput = [["any", 1], ["any", 2]]\n'
                         'loss = ["classification", "hinge"]')
    assert rubrics.load(write(tmp_path, text)).models["m"]["output"] == [["any", 1], ["any", 2]]


def test_valid_rubric_and_default_reference(tmp_path):
    loaded = rubrics.load(write(tmp_path, VALID))
    assert loaded.name == "tiny" and loaded.max_score == 1
    assert loaded.reference == (tmp_path.parent / "reference" / "tiny.ipynb").resolve()
    assert loaded.limits["memory"] == 4 * 1024**3


@pytest.mark.parametrize("change, key, problem", [
    (("expected = 127", ""), "questions.Q1.checks[0].expected", "required"),
    (('kind = "numeric_answer"', 'kind = "telepathy"'), "questions.Q1.checks[0].kind", "not one of"),
    (("points = 1", "points = -1"), "questions.Q1.checks[0].points", ">= 0"),
    (("expected = 127", "expected = 127\n  colour = 3"), "questions.Q1.checks[0].colour", "unknown key"),
    (('input = ["any", 2]', 'input = "wide"'), "models.m.input", "list of sizes"),
    (('input = ["any", 2]', 'input = [["any", 2], "wide"]'), "models.m.input", "list of sizes"),
    (('input = ["any", 2]', 'output = []'), "models.m.output", "list of sizes"),
    (('input = ["any", 2]', 'loss = "mse"'), "models.m.loss", "list of loss names or families"),
    (('name = "tiny"', 'name = "tiny"\nkeras = "2"'), "assignment.keras", "not one of"),
    (('name = "tiny"', 'name = "tiny"\n[limits]\nmemory = "lots"'), "limits.memory", "not a size"),
])
def test_errors_name_the_file_the_key_and_the_problem(tmp_path, change, key, problem):
    path = write(tmp_path, VALID.replace(*change))
    with pytest.raises(rubrics.RubricError) as caught:
        rubrics.load(path)
    message = str(caught.value)
    assert str(path) in message and key in message and problem in message
    assert "\n" not in message


def test_unknown_model_and_data_kind(tmp_path):
    text = VALID + '\n  [[questions.checks]]\n  kind = "model_metric"\n  model = "nope"\n  data = "binary_addition"\n  metric = "exact_accuracy"\n'
    with pytest.raises(rubrics.RubricError, match=r"questions.Q1.checks\[1\].model: no \[models.nope\]"):
        rubrics.load(write(tmp_path, text))
    text = text.replace('model = "nope"', 'model = "m"').replace("binary_addition", "tea_leaves")
    with pytest.raises(rubrics.RubricError, match="unknown data kind 'tea_leaves'"):
        rubrics.load(write(tmp_path, text))


def test_not_toml_and_unknown_assignment(tmp_path):
    with pytest.raises(rubrics.RubricError, match="not valid TOML"):
        rubrics.load(write(tmp_path, "[assignment\nname="))
    with pytest.raises(rubrics.RubricError, match="unknown assignment 'nonexistent'"):
        rubrics.load("nonexistent")


def test_sizes():
    assert rubrics.parse_size("4G", "x") == 4 * 1024**3
    assert rubrics.parse_size("512M", "x") == 512 * 1024**2
    assert rubrics.parse_size("1.5GiB", "x") == int(1.5 * 1024**3)


def test_the_handout_is_read_relative_to_the_rubric_and_keys_the_digest(tmp_path):
    handout = tmp_path / "handouts" / "tiny.ipynb"
    handout.parent.mkdir()
    handout.write_text('{"cells": [{"cell_type": "code", "source": "x = ...\\n\\n", "metadata": {}, "outputs": [],'
                       ' "execution_count": null}], "metadata": {}, "nbformat": 4, "nbformat_minor": 4}')
    path = write(tmp_path, VALID.replace('name = "tiny"', 'name = "tiny"\nhandout = "handouts/tiny.ipynb"'))
    loaded = rubrics.load(path)
    assert loaded.handout == {("code", "x = ...")}
    handout.write_text(handout.read_text().replace("x = ...", "y = ..."))
    assert rubrics.load(path).digest != loaded.digest  # a new handout re-scores the class


@pytest.mark.parametrize("content, problem", [(None, "cannot read"), ("not a notebook", "is not a Jupyter notebook")])
def test_a_missing_or_broken_handout_is_one_line(tmp_path, content, problem):
    if content is not None:
        (tmp_path / "handout.ipynb").write_text(content)
    path = write(tmp_path, VALID.replace('name = "tiny"', 'name = "tiny"\nhandout = "handout.ipynb"'))
    with pytest.raises(rubrics.RubricError) as caught:
        rubrics.load(path)
    message = str(caught.value)
    assert str(path) in message and "assignment.handout" in message and problem in message and "\n" not in message


def test_the_shipped_rubrics_name_their_handouts():
    for name in rubrics.available():
        assert rubrics.load(name).handout, name



def test_default_labels_add_the_words_and_the_bare_number():
    assert rubrics._default_labels("E2") == ["E2", "Ejercicio 2", "Exercise 2", "Pregunta 2", "Question 2",
                                             "Problema 2", "Problem 2", "2"]
    assert rubrics._default_labels("Q3")[:3] == ["Q3", "Pregunta 3", "Question 3"]
    assert rubrics._default_labels("mnist") == ["mnist"] and rubrics._default_labels("T1") == ["T1"]


def test_default_labels_keep_to_their_own_words_when_another_question_has_the_number():
    ids = ["Q1", "E1", "E2"]
    assert rubrics._default_labels("E1", ids) == ["E1", "Ejercicio 1", "Exercise 1"]
    assert rubrics._default_labels("Q1", ids) == ["Q1", "Pregunta 1", "Question 1"]
    assert "Pregunta 2" in rubrics._default_labels("E2", ids) and "2" in rubrics._default_labels("E2", ids)
    assert "Q2" not in rubrics._default_labels("E2", ids)  # another letter is another assignment's label
