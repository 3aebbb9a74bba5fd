"""code_runs judges only the student's own cells: not the handout's copies, not empty cells."""
import nbformat
import pytest

from grader import rubric as rubrics
from grader.evaluate.checks import code_runs
from grader.evaluate.context import Context, DataCache
from grader.harvest import Harvest
from grader.harvest.answers import find_sections
from grader.result import CellRun
from tests.builders import check, question, rubric_toml

md, code = nbformat.v4.new_markdown_cell, nbformat.v4.new_code_cell
HANDOUT = [md("**Q1** Escribe un ejemplo de suma."), code("def suma(a, b):\n    return a + b"), code("")]
RUBRIC = rubric_toml("tiny", question("Q1", check("code_runs")), reference=None, handout="handout.ipynb")


@pytest.fixture
def rubric(tmp_path):
    nbformat.write(nbformat.v4.new_notebook(cells=HANDOUT), tmp_path / "handout.ipynb")
    (tmp_path / "tiny.toml").write_text(RUBRIC)
    return rubrics.load(tmp_path / "tiny.toml")


def judge(rubric, cells, statuses):
    runs = [CellRun(i, statuses.get(i, "ok")) for i, cell in enumerate(cells) if cell.cell_type == "code"]
    sections = find_sections(cells, {q.id: q.labels for q in rubric.questions}, rubric.handout)
    ctx = Context(Harvest(cells, runs, sections, []), rubric, DataCache(1), "en")
    question = rubric.questions[0]
    return code_runs.run(question.checks[0], question, ctx)


def test_the_students_own_cell_earns_the_point(rubric):
    part = judge(rubric, HANDOUT[:2] + [code("print(suma(2, 3))")], {})
    assert (part.score, part.status) == (1, "pass")
    assert part.feedback == "1 cell(s) of your own ran without error."


def test_the_unanswered_handout_earns_nothing(rubric):
    part = judge(rubric, [md(c.source) if c.cell_type == "markdown" else code(c.source + "\n\n") for c in HANDOUT], {})
    assert (part.score, part.status) == (0, "fail")
    assert part.feedback == "Only the handout's cells ran: nothing of your own."


def test_a_failing_own_cell_is_named_and_a_failing_handout_cell_is_not_the_students(rubric):
    cells = HANDOUT[:2] + [code("print(suma(2))")]
    part = judge(rubric, cells, {2: "error"})
    assert (part.score, part.status) == (0, "error") and "cell 3" in part.feedback
    assert judge(rubric, cells, {1: "error"}).status == "pass"


def test_a_comment_only_cell_is_no_code(rubric):
    part = judge(rubric, [md("**Q1** Escribe un ejemplo."), code("# aquí va tu código\n\npass")], {})
    assert (part.score, part.feedback) == (0, "The question has no code.")
