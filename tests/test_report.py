"""Reports are derived from a Result: check what a student and an instructor read."""
import csv

import pytest

from grader.report import format_table, render_index, render_report, write_gradebook, write_gradescope
from grader.result import CellRun, Check, Result


def make_result(name="ana", score_q2=2.0, answer="127", problems=(), warning=""):
    checks = [
        Check("Q1", "Largest number", 1.0, 1.0, "pass", "Right: 2^7 - 1 = 127.", {"answer": 127.0},
              answer=answer),
        Check("Q2", "Model", score_q2, 2.0, "pass" if score_q2 == 2 else "partial",
              "The output uses relu.", {"exact_accuracy": 0.5},
              thresholds={"exact_accuracy": {"zero": 0.5, "full": 0.95, "reference": 1.0}},
              model={"name": "model_30", "cell": 11, "layers": "SimpleRNN(4) → Dense(1, sigmoid)"},
              details=[{"label": "structure", "score": score_q2, "max_score": 2.0, "status": "partial",
                        "feedback": "relu head"}],
              figures=[
                  {"kind": "confusion_matrix", "title": "cm", "data": {"matrix": [[5, 1], [2, 7]], "labels": [0, 1]}},
                  {"kind": "scatter_classes", "title": "pts", "data": {"x1": [0.1, 0.9], "x2": [0.2, 0.8],
                                                                       "predicted": [0, 1], "truth": [0, 0]}},
                  {"kind": "pred_vs_true", "title": "reg", "data": {"true": [0.5, 1.2], "predicted": [0.6, 1.1]}},
                  {"kind": "training_curve", "title": "fit", "data": {"history": {"loss": [1, .5], "accuracy": [.5, .9]}}},
                  {"kind": "bars", "title": "cmp", "data": {"labels": ["a", "b"], "values": [.9, .95], "metric": "accuracy"}},
                  {"kind": "hologram", "data": {}},
              ]),
        Check("Q5", "Explain", 0.0, 2.0, "manual", "Awaiting review.", answer="vanishing gradients",
              hints=["✓ gradient (vanish)", "✗ memory"]),
    ]
    return Result(name, "binary-addition", 1 + score_q2, 5.0, 1234, checks,
                  execution=[CellRun(0, "skipped", note="skipped: !pip install d2l"), CellRun(1, "ok", 1.5),
                             CellRun(2, "error", 0.1, "NameError", "name 'model' is not defined"),
                             CellRun(3, "timeout", 60.0, "CellTimeout", "ran longer than 60 s")],
                  sandbox={"level": "none", "warning": warning}, problems=list(problems),
                  data_sources={"binary_addition": "generated"}, timings={"execute": 61.6})


def test_report_shows_scores_statuses_reasons_and_failed_cells():
    html = render_report(make_result(score_q2=1.0), "en")
    for text in ("ana", "2 <small>/ 5</small>", "Partial", "Human review", "The output uses relu.",
                 "model_30", "cell 12", "NameError", "name &#39;model&#39; is not defined", "timed out",
                 "seed 1234", "✓ gradient (vanish)", "0.5", "0.95"):
        assert text in html, text


def test_report_is_spanish_by_default():
    html = render_report(make_result())
    assert "Superado" in html and "Revisión manual" in html and "Passed" not in html


def test_student_text_is_escaped():
    html = render_report(make_result(answer="<script>alert(1)</script>"), "en")
    assert "<script>" not in html and "&lt;script&gt;" in html


def test_report_is_self_contained_with_one_svg_per_known_figure():
    html = render_report(make_result(), "en")
    assert "http://" not in html.replace("http://www.w3.org", "") and "https://" not in html
    assert "<link" not in html and "<script" not in html
    assert html.count("<svg") == 5  # the unknown kind is skipped, not fatal


def test_problems_and_sandbox_warning_are_prominent():
    html = render_report(make_result(problems=["Out of memory at cell 3"], warning="Student code ran WITHOUT a sandbox"), "en")
    assert "Out of memory at cell 3" in html and "WITHOUT a sandbox" in html


def test_gradebook_columns_and_rows(tmp_path):
    path = tmp_path / "gradebook.csv"
    write_gradebook([make_result("zoe"), make_result("ana", 1.0)], path, ["Q1", "Q2", "Q5"])
    rows = list(csv.reader(path.open()))
    assert rows == [["submission", "score", "max_score", "Q1", "Q2", "Q5"],
                    ["ana", "2", "5", "1", "1", "0"], ["zoe", "3", "5", "1", "2", "0"]]


def test_gradescope_export(tmp_path):
    import json
    write_gradescope(make_result(), tmp_path / "results.json")
    data = json.loads((tmp_path / "results.json").read_text())
    assert data["score"] == 3 and data["tests"][0] == {"name": "Q1 Largest number", "score": 1.0, "max_score": 1.0,
                                                       "output": "Right: 2^7 - 1 = 127.", "visibility": "visible"}


def test_index_summarises_the_class():
    html = render_index([make_result("ana"), make_result("bea", 0.0), make_result("eva", 1.0)], "Binary addition", "en")
    assert 'href="ana/report.html"' in html and "Binary addition" in html
    assert "3</td>" in html  # three submissions
    assert "33.33 %" in html  # pass rate: scores 3, 1 and 2 of 5; only one reaches half


def test_terminal_table_one_line_per_question():
    table = format_table(make_result(score_q2=1.0), "en", color=False).splitlines()
    assert table[0].startswith("Q1") and "1/1" in table[0] and "Passed" in table[0]
    assert table[1].startswith("Q2") and "1/2" in table[1] and "Partial" in table[1] and "relu" in table[1]
    assert table[3].startswith("Total") and "2/5" in table[3]
    assert any("cell 3: Error — NameError" in line for line in table)
    assert any("cell 4: timed out" in line for line in table)


def test_every_status_has_words_in_both_languages():
    from grader.report import i18n
    for status in ("pass", "partial", "fail", "manual", "skipped", "timeout", "not_run", "killed"):
        assert i18n.text(status, "es") != i18n.text(status, "en")
