from pathlib import Path

import nbformat
import pytest

from grader import rubric as rubrics
from grader.harvest.answers import find_sections, normalised

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
LABELS = {q: [q, f"Pregunta {q[1:]}"] for q in ("Q1", "Q2", "Q3", "Q4")}
EXERCISES = {f"E{n}": rubrics._default_labels(f"E{n}") for n in (1, 2, 3)}
REAL = Path("/work/shared/real")


def spans(sections):
    return {qid: (s.start, s.end) for qid, s in sections.items()}


def test_labels_in_their_usual_spellings():
    cells = [md("# Práctica"), md("**Q1**: ¿Cuál es el mayor número con 7 bits?"), md("Respuesta: 127"),
             md("Q2. Completa el modelo"), code("model = 1"), md("## Pregunta 3\nPredice la salida."),
             code("# Q4: entrenamiento\nx = 1"), code("y = 2")]
    sections = find_sections(cells, LABELS)
    assert [(s.question, s.start, s.end) for s in sections.values()] == [
        ("Q1", 1, 3), ("Q2", 3, 5), ("Q3", 5, 6), ("Q4", 6, 8)]
    assert sections["Q1"].answer == "Respuesta: 127"  # the prompt up to "?" is not the answer
    assert sections["Q4"].code_cells == [6, 7]
    assert all(not s.note for s in sections.values())  # one label each: nothing to choose


@pytest.mark.parametrize("label", ["Ejercicio 2", "Exercise 2", "E2:", "**E2**", "### E2", "## 2. Tamaño de la red",
                                   "**2.** Tamaño de la red", "### **2)** Tamaño"])
def test_every_spelling_of_an_exercise_label(label):
    cells = [md("**E1** Clasificador"), code("a = 1"), md(label), code("b = 2"), md("**E3** Activaciones")]
    assert spans(find_sections(cells, EXERCISES))["E2"] == (2, 4)


@pytest.mark.parametrize("label", ["Pregunta 2.", "Q2)", "Question 2:", "- **Q2** -"])
def test_every_spelling_of_a_question_label(label):
    questions = {q: rubrics._default_labels(q) for q in ("Q1", "Q2")}
    assert spans(find_sections([md("**Q1**"), md(label), code("x = 1")], questions))["Q2"] == (1, 3)


def test_a_bare_number_counts_only_in_a_heading_or_in_bold():
    cells = [md("Pasos:\n\n1. Cargar los datos\n2. Entrenar"), code("## 1. Cargar\nx = 1"), md("Texto 2. con número")]
    assert find_sections(cells, EXERCISES) == {}


def test_a_bare_number_gives_way_to_a_named_label():
    cells = [md("## 1. Introducción"), code("import numpy"), md("**E1**: el clasificador"), code("model = 1")]
    assert spans(find_sections(cells, EXERCISES))["E1"] == (2, 4)


def test_statements_listed_together_and_work_labelled_by_code_comments():
    listing = md("## Ejercicios\n\n**E1**: Crear un clasificador.\n\n**E2**: Cambiar el tamaño.\n\n"
                 "**E3**: Activaciones.")
    cells = [md("# Práctica"), listing, code("# E1\nmodel = 1"), code("# E2\nmodel_32 = 2"), code("more = 3"),
             code("# E3\n# comparo tanh y sigmoid\nmodel_tanh = 4")]
    sections = find_sections(cells, EXERCISES)
    assert spans(sections) == {"E1": (2, 3), "E2": (3, 5), "E3": (5, 6)}  # the listing is in nobody's section
    assert sections["E2"].code_cells == [3, 4]
    assert sections["E3"].answer == "comparo tanh y sigmoid"  # the label itself is not the answer
    assert sections["E1"].note == {"es": "E1: celda 3; el enunciado de la celda 2 enumera varias preguntas",
                                   "en": "E1: cell 3; the statement in cell 2 lists several questions"}
    assert sections["E2"].note["en"] == "E2: cells 4-5; the statement in cell 2 lists several questions"


def test_statements_listed_together_and_work_under_headings():
    listing = md("**E1**: Clasificador.\n**E2**: Tamaño.")
    cells = [listing, md("### E1\nMi red de 64 neuronas."), code("model = 1"), md("### E2"), code("model_8 = 2"),
             md("Con 8 neuronas la precisión baja.")]
    sections = find_sections(cells, EXERCISES)
    assert spans(sections) == {"E1": (1, 3), "E2": (3, 6)}
    assert sections["E2"].answer == "Con 8 neuronas la precisión baja."


def test_a_label_repeated_by_the_student_opens_where_the_work_is():
    cells = [md("**E1**: Crear un clasificador binario."), md("### E1\nMi respuesta: uso 64 neuronas."),
             code("model = 1"), md("**E2**: Cambiar el tamaño.")]
    sections = find_sections(cells, EXERCISES)
    assert spans(sections)["E1"] == (1, 3)
    assert sections["E1"].answer == "Mi respuesta: uso 64 neuronas."  # the statement is not the answer
    assert sections["E1"].note == {}  # the statement followed at once by its own label again: no doubt


def test_a_label_repeated_inside_the_work_does_not_end_it():
    cells = [md("**E1**\n\n### Ejercicio 1: el clasificador\n\nUso 64 neuronas."), code("model = 1"),
             md("### E1 (continuación)"), code("model.fit()"), md("**E2** Tamaño")]
    sections = find_sections(cells, EXERCISES)
    assert spans(sections)["E1"] == (0, 4) and sections["E1"].code_cells == [1, 3]
    assert sections["E1"].answer.startswith("el clasificador") and sections["E1"].note == {}


def test_all_statements_first_then_each_part_under_its_heading():
    cells = [md("**E1** Clasificador."), md("**E2** Tamaño."), md("**E3** Activaciones."),
             md("## Ejercicio 1"), code("model = 1"), md("## Ejercicio 2"), code("model_8 = 2"),
             md("## Ejercicio 3"), code("model_tanh = 3")]
    sections = find_sections(cells, EXERCISES)
    assert spans(sections) == {"E1": (3, 5), "E2": (5, 7), "E3": (7, 9)}
    assert sections["E2"].note["en"] == "E2: cells 6-7; the label in cell 2 has no work after it"


def test_a_label_found_only_in_a_listing_splits_that_cell():
    cells = [md("**Q1** ¿Mayor número con 7 bits? 127\n\n**Q2** Completa el modelo:"), code("model = 1")]
    sections = find_sections(cells, LABELS)
    assert spans(sections) == {"Q1": (0, 1), "Q2": (0, 2)}
    assert sections["Q1"].answer == "127" and sections["Q2"].code_cells == [1]
    assert sections["Q1"].note["en"] == ("Q1: cell 1; the label is only in cell 1, which lists several questions: "
                                         "the text up to the next label is taken")


def test_a_label_repeated_with_no_work_falls_back_to_the_first():
    cells = [md("**Q1** ¿Mayor número con 7 bits?"), md("**Q2** El modelo"), code("model = 1"),
             md("**Q1** (ver arriba)"), md("**Q3** Predice")]
    sections = find_sections(cells, LABELS)
    assert spans(sections)["Q1"] == (0, 1)
    assert sections["Q1"].note["es"] == ("Q1: celda 1; la etiqueta aparece en las celdas 1, 4 sin trabajo detrás: "
                                         "se toma la primera")


def test_answer_in_the_same_cell_and_label_not_matched_inside_words():
    cells = [md("**Q1** ¿Mayor número? 127 es el mayor.\n\nQ2: el modelo"), md("Ver Q10 y EQ1 más abajo")]
    sections = find_sections(cells, LABELS)
    assert sections["Q1"].answer == "127 es el mayor."
    assert "Q3" not in sections and "el modelo" in sections["Q2"].answer


def test_answer_in_code_comments():
    cells = [md("**Q1**: ¿Cuál es el mayor número?"), code("# Respuesta: 2^7 - 1\nprint(2**7-1)")]
    assert find_sections(cells, LABELS)["Q1"].answer == "Respuesta: 2^7 - 1"


def test_cells_copied_from_the_handout_are_not_the_students_work():
    handout = [md("**Q1**: explica el modelo."), code("def helper():\n    return 1\n"), code("")]
    handed_in = [md("**Q1**: explica el modelo.\r\n"), code("def helper():   \r\n\r\n    return 1"),
                 code("print(helper())"), md("Mi explicación.")]
    given = frozenset((cell.cell_type, normalised(cell.source)) for cell in handout)
    section = find_sections(handed_in, LABELS, given)["Q1"]
    assert section.code_cells == [1, 2] and section.given_cells == [1]
    assert section.answer == "Mi explicación."
    assert find_sections(handed_in, LABELS)["Q1"].answer.startswith("explica el modelo.")  # without a handout


@pytest.mark.skipif(not REAL.is_dir(), reason="the real notebooks live in /work/shared/real")
def test_the_real_lab_gets_each_exercise_from_its_own_cells():
    rubric = rubrics.load("practica1")
    cells = nbformat.read(REAL / "practica1_lab_as_written.ipynb", as_version=4).cells
    sections = find_sections(cells, {q.id: q.labels for q in rubric.questions}, rubric.handout)
    assert spans(sections) == {"E1": (24, 25), "E2": (25, 26), "E3": (26, 27), "E4": (27, 28), "E5": (28, 30),
                               "E6": (30, 31)}
    assert sections["E1"].note["en"] == "E1: cell 25; the statement in cell 24 lists several questions"


@pytest.mark.skipif(not REAL.is_dir(), reason="the real notebooks live in /work/shared/real")
@pytest.mark.parametrize("name", ["binary-addition_student_quick", "binary-addition_student_as_written"])
def test_the_real_binary_addition_keeps_its_sections(name):
    rubric = rubrics.load("binary-addition")
    cells = nbformat.read(REAL / f"{name}.ipynb", as_version=4).cells
    sections = find_sections(cells, {q.id: q.labels for q in rubric.questions}, rubric.handout)
    assert spans(sections) == {"Q1": (12, 14), "Q2": (14, 16), "Q3": (16, 26), "Q4": (26, 29), "Q5": (29, 35),
                               "Q6": (35, 41)}
    assert sections["Q1"].answer == "$2^8 = 256$"
    own = {qid: [i for i in s.code_cells if i not in s.given_cells] for qid, s in sections.items()}
    assert 17 in own["Q3"] and own["Q4"] == [28]  # the prediction and the worked example are the student's own
    assert all(not s.note for s in sections.values())


@pytest.mark.parametrize("name", ["binary-addition", "practica1"])
def test_the_shipped_handouts_hold_no_answer_and_no_code_of_a_students_own(name):
    rubric = rubrics.load(name)
    cells = nbformat.read(rubrics.PROJECT_ROOT / "handouts" / f"{name}.ipynb", as_version=4).cells
    sections = find_sections(cells, {q.id: q.labels for q in rubric.questions}, rubric.handout)
    assert set(sections) == {q.id for q in rubric.questions} - {"mnist"}
    for section in sections.values():
        assert section.answer == "" and section.code_cells == section.given_cells


def test_the_result_and_the_report_say_which_cells_were_taken(tmp_path):
    from grader.evaluate import DataCache, evaluate
    from grader.harvest import Harvest
    from grader.report import render_report
    from grader.result import CellRun, Result

    question = '[[questions]]\nid = "{}"\n  [[questions.checks]]\n  kind = "code_runs"\n  points = 1\n'
    (tmp_path / "lab.toml").write_text('[assignment]\nname = "lab"\n' + "".join(map(question.format, EXERCISES)))
    rubric = rubrics.load(tmp_path / "lab.toml")
    cells = [md("**E1**: Clasificador.\n\n**E2**: Tamaño.\n\n**E3**: Activaciones."), code("# E1\nmodel = 1"),
             code("# E2\nmodel_8 = 2"), md("**E3**"), code("model_tanh = 3")]
    harvest = Harvest(cells, [CellRun(i, "ok") for i in (1, 2, 4)], find_sections(cells, EXERCISES), [])
    checks = evaluate(harvest, rubric, DataCache(1), "en")[0]
    assert [c.section for c in checks] == ["E1: cell 2; the statement in cell 1 lists several questions",
                                           "E2: cell 3; the statement in cell 1 lists several questions",
                                           "E3: cells 4-5; the statement in cell 1 lists several questions"]
    assert [c.score for c in checks] == [1, 1, 1]
    html = render_report(Result("ana", "lab", 3, 3, 1, checks), "en")
    assert "E2: cell 3; the statement in cell 1 lists several questions" in html


def test_a_repeated_label_with_the_answer_in_its_own_cell():
    """The handout's "**Q1** ¿...?", then the student's "### Q1" with the answer under it, then the next question."""
    cells = [md("**Q1** ¿Cuál es el número más grande con 7 bits?"), md("### Q1\n\nEl mayor es 127 ($2^7 - 1$)."),
             md("**Q2** Completa el modelo."), code("model = 1")]
    sections = find_sections(cells, LABELS)
    assert spans(sections)["Q1"] == (1, 2) and sections["Q1"].answer == "El mayor es 127 ($2^7 - 1$)."


def test_the_students_own_repeated_label_is_not_part_of_the_answer():
    cells = [md("**Q5** ¿Por qué no aprende?"), code("model_30 = 1"), md("### Q5\nSe desvanece el gradiente.")]
    assert find_sections(cells, LABELS | {"Q5": ["Q5"]})["Q5"].answer == "Se desvanece el gradiente."


def test_a_question_only_named_in_a_list_of_statements_is_not_in_the_notebook():
    listing = md("**Q1** El mayor número.\n\n**Q2** El modelo.\n\n**Q3** Entrena y explica los resultados.")
    cells = [listing, code("# Q1\n# Respuesta: 127"), code("# Q2\nmodel = 1")]
    sections = find_sections(cells, LABELS)
    assert set(sections) == {"Q1", "Q2"}  # Q3's statement is not its answer


def test_a_statement_copied_from_the_handout_is_not_the_answer():
    handout = [md("**E2**: Cambiar el tamaño de la red (número de neuronas o capas) y analizar el impacto.")]
    given = frozenset((cell.cell_type, normalised(cell.source)) for cell in handout)
    copied = [md("### 2. Cambiar el tamaño de la red (número de neuronas o capas) y analizar el impacto."),
              code("model_8 = 1")]
    assert find_sections(copied, EXERCISES, given)["E2"].answer == ""
    own = [md("### E2: con 8 neuronas la red aprende más despacio."), code("model_8 = 1")]
    assert find_sections(own, EXERCISES, given)["E2"].answer == "con 8 neuronas la red aprende más despacio."


def test_bold_labels_closed_after_their_colon():
    questions = {q: rubrics._default_labels(q) for q in ("Q1", "Q2")}
    cells = [md("**Exercise 1:** The largest is 127."), md("**Q2** El modelo")]
    assert find_sections(cells, questions)["Q1"].answer == "The largest is 127."


def test_an_analysis_printed_by_the_code_is_an_answer():
    """Práctica 1's analyses come as markdown or as print statements; formatted results are not analyses."""
    cells = [md("### E2"),
             code("model_8 = 1\nprint(f'Precisión: {acc}')\nprint('Con 8 neuronas la red aprende más despacio y '\n"
                  "      'llega a la misma precisión.')\nprint('hecho')")]
    assert find_sections(cells, EXERCISES)["E2"].answer == \
        "Con 8 neuronas la red aprende más despacio y llega a la misma precisión."
