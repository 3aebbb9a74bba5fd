"""Reports are derived from a Result: check what a student and an instructor read."""
import csv
import json
import re
import subprocess
import sys

import pytest

from grader import i18n
from grader.report import figures, format_table, render_index, render_report, write_gradebook, write_gradescope
from grader.result import CellRun, Check, Result

CURVE = {"history": {"loss": [0.7, 0.4, 0.2], "val_loss": [0.72, 0.45, 0.3], "accuracy": [0.5, 0.8, 0.95]}}
FIGURES = [
    {"kind": "confusion_matrix", "title": "", "data": {"matrix": [[90 if i == j else (i * j) % 3 for j in range(10)]
                                                                  for i in range(10)], "labels": list(range(10))}},
    {"kind": "scatter_classes", "title": "", "data": {
        "x1": [i / 500 for i in range(500)], "x2": [(i * 37 % 500) / 500 for i in range(500)],
        "predicted": [int(i / 500 + (i * 37 % 500) / 500 > 1.03) for i in range(500)],
        "truth": [int(i / 500 + (i * 37 % 500) / 500 > 1) for i in range(500)]}},
    {"kind": "pred_vs_true", "title": "", "data": {"true": [i / 50 for i in range(100)],
                                                   "predicted": [i / 50 * 0.9 + 0.1 for i in range(100)]}},
    {"kind": "training_curve", "title": "Entrenamiento de «model»", "data": CURVE},
    {"kind": "bars", "title": "", "data": {"labels": ["model_500", "model_2000"], "values": [0.14, 0.004],
                                           "metric": "mae", "reference": 0.01}},
]


def full_marks(name="ana") -> Result:
    """A binary-addition-like submission that earns every point."""
    checks = [
        Check("Q1", "Largest number with 7 binary digits", 1.0, 1.0, "pass", "Right: 2^7 - 1 = 127.",
              {"answer": 127.0}, answer="127"),
        Check("Q4", "Training on 7-bit numbers", 3.0, 3.0, "pass", "“model”: exact_accuracy = 1 on 3000 fresh samples.",
              {"exact_accuracy": 1.0, "n_samples": 3000, "standard_error": 0.0004},
              thresholds={"exact_accuracy": {"zero": 0.5, "full": 0.95, "reference": 1.0}},
              model={"name": "model", "cell": 12, "layers": "SimpleRNN(4, tanh) → Dense(1, sigmoid)",
                     "file": "model-1-v2.keras"},
              figures=[FIGURES[3]]),
    ]
    return Result(name, "binary-addition", 4.0, 4.0, 1234, checks,
                  execution=[CellRun(i, "ok", 0.5) for i in range(6)], sandbox={"level": "bubblewrap", "warning": ""},
                  data_sources={"binary_addition": "generated from the seed"}, timings={"execute": 48.66})


def partial(name="bea", answer="vanishing gradients", score_q2=1.0, problems=(), warning="") -> Result:
    """A submission with partial credit, every figure kind, human review, failed cells."""
    checks = [
        Check("Q1", {"es": "Mayor número", "en": "Largest number"}, 0.0, 1.0, "fail",
              "128 = 2^7 already needs 8 digits.\nWith 7 digits the largest is 127.", {"answer": 128.0}, answer="128"),
        Check("Q2", "Model", score_q2, 2.0, "pass" if score_q2 == 2 else "partial", "The output uses relu.",
              {"exact_accuracy": 0.725},
              thresholds={"exact_accuracy": {"zero": 0.5, "full": 0.95, "reference": 1.0}},
              model={"name": "model_30", "cell": 11, "layers": "SimpleRNN(4) → Dense(1, relu)"},
              details=[{"label": "structure", "score": score_q2, "max_score": 2.0, "status": "partial",
                        "feedback": "relu head"},
                       {"label": "exact_accuracy on fresh data", "score": 0, "max_score": 0, "status": "pass",
                        "feedback": "measured for information"}],
              figures=FIGURES + [{"kind": "hologram", "data": {}}]),
        Check("Q5", "Explain", 0.0, 2.0, "manual", "Awaiting review.", answer=answer,
              hints=["✓ gradient (vanish)", "✗ memory"],
              details=[{"label": "Explanation", "score": 0, "max_score": 2.0, "status": "manual",
                        "feedback": "Awaiting review."}]),
    ]
    return Result(name, "binary-addition", score_q2, 5.0, 1234, checks,
                  execution=[CellRun(0, "skipped", note="skipped: !pip install d2l"), CellRun(1, "ok", 1.5),
                             CellRun(2, "error", 0.1, "NameError", "name 'model' is not defined"),
                             CellRun(3, "timeout", 60.0, "CellTimeout", "ran longer than 60 s"),
                             CellRun(4, "not_run")],
                  sandbox={"level": "none", "warning": warning}, problems=list(problems),
                  notebook="/srv/submissions/bea.ipynb", data_sources={"binary_addition": "generated"},
                  timings={"execute": 61.6, "evaluate": 2.0})


def hostile() -> Result:
    return partial(answer="<script>alert('x')</script> & <img src=https://evil.example/a.png>",
                   problems=["Out of memory at cell 3 <b>", "Model “m” refused for safety: Lambda layer"],
                   warning="Student code ran WITHOUT a sandbox")


# ---------------------------------------------------------------- the student's report

def test_full_marks_report_shows_score_status_and_model():
    html = render_report(full_marks(), "en")
    assert re.search(r'class="total">4 <small>/ 4</small>', html)
    assert html.count('<span class="badge pass">Passed</span>') >= 4  # overview and section of both questions
    assert "Right: 2^7 - 1 = 127." in html
    assert "<code>model</code> (cell 13)" in html and "model-1-v2.keras" in html
    assert "<strong>1</strong>" in html and "0 points at 0.5, all at 0.95 (reference: 1)" in html
    assert "measured on 3000 samples (± 0.0004)" in html and "n_samples" not in html   # the band's row says it
    assert "6 / 6 code cells without problems" in html and "Execution time: 49 s" in html
    assert "Cells with problems" not in html and "Problems with this submission" not in html
    assert "To reproduce this grade: seed <code>1234</code>" in html and "generated from the seed" in html


def test_partial_report_shows_parts_band_review_and_failed_cells():
    html = render_report(partial(), "en")
    assert re.search(r'class="total">1 <small>/ 5</small>', html) and "2 points awaiting human review" in html
    assert "Partial" in html and "Not passed" in html and "Human review" in html
    assert "Largest number" in html and "Mayor número" not in html            # rubric text in the report's language
    assert "For information" in html                                         # a 0-point part is not "Passed"
    assert "relu head" in html and "<code>model_30</code> (cell 12)" in html
    assert "<strong>0.725</strong>" in html and "50 %" in html                 # halfway through the band
    assert "<li>✓ gradient (vanish)</li>" in html and "vanishing gradients" in html
    execution = html[html.index("Notebook execution"):]
    assert "1 / 5 code cells without problems" in execution and "Execution time: 1 min 2 s" in execution
    for text in ("NameError", "name &#39;model&#39; is not defined", "timed out", "not run",
                 "skipped: !pip install d2l",
                 "<td class=\"num\">3</td>", "1 min"):
        assert text in execution, text
    assert "<code>bea.ipynb</code>" in html and "/srv/submissions" not in html


def test_report_is_spanish_by_default():
    html = render_report(partial())
    assert '<html lang="es">' in html
    for text in ("Parcial", "No superado", "Revisión manual", "Informativo", "Ejecución del cuaderno",
                 "tiempo agotado", "Mayor número", "(celda 12)", "pendientes de revisión manual"):
        assert text in html, text
    assert "Passed" not in html and "Human review" not in html and "Not passed" not in html


def test_student_text_and_problems_are_escaped():
    html = render_report(hostile(), "en")
    assert "<script>" not in html and "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt;" in html
    assert "<img" not in html and "Out of memory at cell 3 &lt;b&gt;" in html


def links(html: str) -> list[str]:
    """Every address the page would load or link to: src, href, xlink:href of real tags."""
    from html.parser import HTMLParser
    found = []

    class Parser(HTMLParser):
        def handle_starttag(self, tag, attrs):
            found.extend(value or "" for name, value in attrs if name in ("src", "href", "xlink:href", "action"))

    Parser().feed(html)
    return found


def test_report_is_self_contained():
    html = render_report(hostile(), "en")
    addresses = links(html)
    assert addresses and all(address.startswith(("#", "data:")) for address in addresses)  # nothing outside the page
    assert "<link" not in html and "<script" not in html and "@import" not in html
    assert not re.search(r"url\(\s*['\"]?(?!#)", html)  # SVG clip paths refer to ids in the page; nothing else


def test_problems_and_sandbox_warning_are_prominent():
    html = render_report(hostile(), "en")
    top = html[:html.index("<h2>")]  # before the first question
    assert "Security warning" in top and "WITHOUT a sandbox" in top
    assert "Problems with this submission" in top and "refused for safety: Lambda layer" in top


def test_every_known_figure_becomes_one_inline_svg():
    html = render_report(partial(), "en")
    assert html.count("<svg") == len(FIGURES)  # the unknown kind is skipped, not fatal
    assert "<?xml" not in html and "<!DOCTYPE svg" not in html
    for caption in ("Confusion matrix on fresh data", "Fresh data by predicted class", "Prediction against true value",
                    "Entrenamiento de «model»", "Models side by side"):
        assert f"<figcaption>{caption}</figcaption>" in html, caption


@pytest.mark.parametrize("spec", FIGURES, ids=[f["kind"] for f in FIGURES])
def test_each_figure_kind_is_a_small_sized_svg(spec):
    svg = figures.render(spec, "es")
    assert svg.startswith("<svg") and svg.rstrip().endswith("</svg>")
    assert re.match(r'<svg[^>]* width="\d+" height="\d+"', svg)
    assert len(svg) < 80_000
    assert svg == figures.render(spec, "es")  # the same figure draws the same SVG: reports can be compared


def test_scatter_marks_the_wrong_points_and_the_true_boundary():
    svg = figures.render(FIGURES[1], "en")
    assert "x1 + x2 = 1" in svg and re.search(r"wrong \(\d+\)", svg)


@pytest.mark.parametrize("spec", [
    {"kind": "hologram", "data": {"x": 1}},
    {"kind": "confusion_matrix", "data": {}},
    {"kind": "scatter_classes", "data": {"x1": [0.1], "x2": "nope", "predicted": [1]}},
    {"kind": "pred_vs_true", "data": {"true": [], "predicted": []}},
    {"kind": "training_curve", "data": {"history": {}}},
    {"kind": "bars", "data": {"labels": ["a"], "values": ["high"]}},
    {},
])
def test_unknown_or_malformed_figures_are_skipped(spec):
    assert figures.render(spec) == ""


def test_importing_the_report_loads_neither_matplotlib_nor_the_evaluator():
    code = ("import sys, grader.report; print(sorted(m for m in sys.modules "
            "if m.split('.')[0] in ('matplotlib', 'numpy', 'tensorflow') or m.startswith('grader.evaluate')))")
    run = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, timeout=60)
    assert run.returncode == 0, run.stderr
    assert run.stdout.strip() == "[]"


# ---------------------------------------------------------------- the class summary

def test_index_summarises_the_class():
    results = [full_marks("ana"), partial("bea", score_q2=2.0), partial("eva", score_q2=1.0)]
    html = render_index(results, "Binary addition", "en")
    assert "<h1>Binary addition</h1>" in html
    assert "<b>3</b><span>Submissions</span>" in html
    assert "33.3 %" in html                        # 4/4 passes; 2/5 and 1/5 do not reach half
    assert "scoring at least 50 %" in html
    for sid in ("ana", "bea", "eva"):
        assert f'href="{sid}/report.html"' in html
    assert html.index("ana/report") < html.index("bea/report") < html.index("eva/report")
    q5 = re.search(r"<tr><td>Q5 Explain</td>.*?</tr>", html, re.S).group()
    assert "0 / 2" in q5 and "100 %" in q5           # both submissions with Q5 await review
    q4 = re.search(r"<tr><td>Q4 .*?</tr>", html, re.S).group()
    assert "3 / 3" in q4                               # only ana has Q4: the mean is over those who have it
    assert all(not re.match(r"[a-z]+:|//", address) for address in links(html))


def test_index_pass_fraction_is_a_parameter():
    results = [partial("bea", score_q2=2.0), partial("eva", score_q2=1.0)]
    assert "<b>0 %</b>" in render_index(results, "x", "en")
    assert "<b>50 %</b>" in render_index(results, "x", "en", pass_fraction=0.3)


def test_index_of_no_results_renders():
    assert "Todavía no hay entregas" in render_index([], "Práctica 1")


def test_index_escapes_submission_names():
    html = render_index([full_marks("<b>x</b>")], "<i>t</i>", "en")
    assert "<b>x</b>" not in html and "<i>t</i>" not in html and "&lt;b&gt;x&lt;/b&gt;" in html


# ---------------------------------------------------------------- gradebook and Gradescope

def test_gradebook_columns_and_rows(tmp_path):
    path = tmp_path / "gradebook.csv"
    late = partial("zoe", score_q2=2.0)  # handed in late through an LMS: 2 points less 20 %
    late.student_id, late.name, late.late, late.attempt = "340934", "Zoe Ruiz", True, 2
    late.raw_score, late.late_penalty, late.score = 2.0, 0.4, 1.6
    write_gradebook([late, full_marks("ana"), partial("bea", score_q2=1.5)], path, ["Q1", "Q2", "Q4", "Q5"])
    rows = list(csv.reader(path.open(encoding="utf-8")))
    assert rows == [["submission", "student_id", "name", "late", "attempt", "raw_score", "late_penalty", "score",
                     "max_score", "Q1", "Q2", "Q4", "Q5"],
                    ["ana", "", "", "false", "1", "4", "0", "4", "4", "1", "", "3", ""],
                    ["bea", "", "", "false", "1", "1.5", "0", "1.5", "5", "0", "1.5", "", "0"],
                    ["zoe", "340934", "Zoe Ruiz", "true", "2", "2", "0.4", "1.6", "5", "0", "2", "", "0"]]
    assert [p.name for p in tmp_path.iterdir()] == ["gradebook.csv"]  # no temporary file left behind


def test_gradescope_export(tmp_path):
    result = hostile()
    result.checks[1].details[1]["visibility"] = "hidden"
    write_gradescope(result, tmp_path / "results.json", "en")
    data = json.loads((tmp_path / "results.json").read_text(encoding="utf-8"))
    assert data["score"] == 1.0 and data["stdout_visibility"] == "hidden"
    # one test per check of each question; a question without parts (a grader failure) is one test
    tests = [(t["name"], t["number"], t["score"], t["max_score"], t["status"], t["visibility"]) for t in data["tests"]]
    assert tests == [
        ("Q1 Largest number", "Q1", 0.0, 1.0, "failed", "visible"),
        ("Q2 Model · structure", "Q2", 1.0, 2.0, "failed", "visible"),
        ("Q2 Model · exact_accuracy on fresh data", "Q2", 0, 0, "passed", "after_published"),
        ("Q5 Explain · Explanation", "Q5", 0, 2.0, "failed", "visible")]
    assert data["tests"][1]["output"] == "relu head" and {t["output_format"] for t in data["tests"]} == {"md"}
    assert data["output"].startswith("Sandbox: none.")
    assert "WITHOUT a sandbox" in data["output"] and "Out of memory" in data["output"]


# ---------------------------------------------------------------- the terminal table

def test_terminal_table_one_line_per_question(monkeypatch):
    monkeypatch.setenv("COLUMNS", "100")
    lines = format_table(partial(problems=["Deadline passed"], warning="No sandbox"), "en", color=False).splitlines()
    assert re.match(r"Q1\s+0/1\s+Not passed\s+128 = 2\^7 already needs 8 digits\.$", lines[0])
    assert re.match(r"Q2\s+1/2\s+Partial\s+The output uses relu\.$", lines[1])
    assert re.match(r"Q5\s+0/2\s+Human review\s+Awaiting review\.$", lines[2])
    assert re.match(r"Total\s+1/5\s+\(2 points awaiting human review\)$", lines[3])
    assert lines[4:] == ["! No sandbox", "! Deadline passed",
                         "! cell 3: Error — NameError: name 'model' is not defined",
                         "! cell 4: timed out — CellTimeout: ran longer than 60 s", "! cell 5: not run"]
    assert all(len(line) <= 100 for line in lines) and "\x1b[" not in "".join(lines)


def test_terminal_table_truncates_to_the_width_and_colours_on_request(monkeypatch):
    monkeypatch.setenv("COLUMNS", "50")
    result = full_marks()
    result.checks[0].feedback = "word " * 40
    plain = format_table(result, "es", color=False).splitlines()
    assert all(len(line) <= 50 for line in plain) and plain[0].endswith("…") and "Superado" in plain[0]
    coloured = format_table(result, "es", color=True)
    assert "\x1b[32mSuperado" in coloured and "\x1b[0m" in coloured


# ---------------------------------------------------------------- words

def test_localized_rubric_texts():
    assert i18n.localized({"es": "Hola", "en": "Hello"}, "en") == "Hello"
    assert i18n.localized({"es": "Hola"}, "en") == "Hola"
    assert i18n.localized("plain", "en") == "plain" and i18n.localized(None) == ""


def test_numbers_and_durations_for_people():
    assert [i18n.number(v) for v in (2.0, 0.98625, 1.5e-05, None, 3000)] == ["2", "0.9862", "1.5e-05", "—", "3000"]
    assert [i18n.duration(s) for s in (0.42, 48.66, 725, 3800)] == ["0.4 s", "49 s", "12 min 5 s", "1 h 3 min"]
    assert i18n.awaiting(1) == "1 punto pendiente de revisión manual"
    assert i18n.awaiting(2.5, "en") == "2.5 points awaiting human review"
