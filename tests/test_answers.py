import nbformat

from grader.harvest.answers import find_sections

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
LABELS = {q: [q, f"Pregunta {q[1:]}"] for q in ("Q1", "Q2", "Q3", "Q4")}


def test_labels_in_their_usual_spellings():
    cells = [md("# Práctica"), md("**Q1**: ¿Cuál es el mayor número con 7 bits?"), md("Respuesta: 127"),
             md("Q2. Completa el modelo"), code("model = 1"), md("## Pregunta 3\nPredice la salida."),
             code("# Q4: entrenamiento\nx = 1"), code("y = 2")]
    sections = find_sections(cells, LABELS)
    assert [(s.question, s.start, s.end) for s in sections.values()] == [
        ("Q1", 1, 3), ("Q2", 3, 5), ("Q3", 5, 6), ("Q4", 6, 8)]
    assert sections["Q1"].answer == "Respuesta: 127"  # the prompt up to "?" is not the answer
    assert sections["Q4"].code_cells == [6, 7]


def test_answer_in_the_same_cell_and_label_not_matched_inside_words():
    cells = [md("**Q1** ¿Mayor número? 127 es el mayor.\n\nQ2: el modelo"), md("Ver Q10 y EQ1 más abajo")]
    sections = find_sections(cells, LABELS)
    assert sections["Q1"].answer == "127 es el mayor."
    assert "Q3" not in sections and "el modelo" in sections["Q2"].answer


def test_answer_in_code_comments():
    cells = [md("**Q1**: ¿Cuál es el mayor número?"), code("# Respuesta: 2^7 - 1\nprint(2**7-1)")]
    assert find_sections(cells, LABELS)["Q1"].answer == "Respuesta: 2^7 - 1"
