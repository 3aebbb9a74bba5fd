"""Pictures for the report, as inline SVG (no files, no network).

Each figure is a dict ``{"kind", "title", "data"}`` made by the evaluator;
this module draws it with matplotlib, imported only when there is
something to draw.
"""
from __future__ import annotations

import io
import re

MAX_POINTS = 400
COLOURS = {"ok": "#2b7bba", "other": "#e6842a", "wrong": "#c0392b", "line": "#555555"}


def _subsample(*columns):
    n = len(columns[0]) if columns else 0
    step = max(1, n // MAX_POINTS)
    return [list(column)[::step] for column in columns]


def _figure(width=4.6, height=3.2):
    import matplotlib
    matplotlib.use("Agg")
    from matplotlib.figure import Figure
    figure = Figure(figsize=(width, height), dpi=100)
    figure.set_layout_engine("tight")
    return figure


def _svg(figure) -> str:
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    return re.sub(r"<metadata>.*?</metadata>", "", svg, flags=re.S)


def _confusion_matrix(data, axes):
    matrix = data["matrix"]
    labels = data.get("labels") or list(range(len(matrix)))
    axes.imshow(matrix, cmap="Blues")
    axes.set_xticks(range(len(labels)), labels)
    axes.set_yticks(range(len(labels)), labels)
    axes.set_xlabel("predicted / predicho")
    axes.set_ylabel("true / real")
    top = max(max(row) for row in matrix) or 1
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value:
                axes.text(j, i, str(value), ha="center", va="center", fontsize=6,
                          color="white" if value > top / 2 else "black")


def _scatter_classes(data, axes):
    x1, x2, predicted, truth = _subsample(data["x1"], data["x2"], data["predicted"], data.get("truth", data["predicted"]))
    for wanted, colour, label in ((1, COLOURS["ok"], "1"), (0, COLOURS["other"], "0")):
        points = [(a, b) for a, b, p, t in zip(x1, x2, predicted, truth) if p == wanted and p == t]
        if points:
            axes.scatter(*zip(*points), s=8, c=colour, label=f"pred {label}")
    wrong = [(a, b) for a, b, p, t in zip(x1, x2, predicted, truth) if p != t]
    if wrong:
        axes.scatter(*zip(*wrong), s=22, marker="x", c=COLOURS["wrong"], label="wrong / error")
    axes.plot([0, 1], [1, 0], color=COLOURS["line"], linewidth=1, label="x1 + x2 = 1")
    axes.set_xlim(0, 1), axes.set_ylim(0, 1)
    axes.set_xlabel("x1"), axes.set_ylabel("x2")
    axes.legend(fontsize=6, loc="upper right")


def _pred_vs_true(data, axes):
    truth, predicted = _subsample(data["true"], data["predicted"])
    axes.scatter(truth, predicted, s=8, c=COLOURS["ok"])
    low, high = min(truth + predicted), max(truth + predicted)
    axes.plot([low, high], [low, high], color=COLOURS["line"], linewidth=1)
    axes.set_xlabel("true / real"), axes.set_ylabel("predicted / predicho")


def _bars(data, axes):
    labels, values = data["labels"], data["values"]
    axes.bar(range(len(values)), values, color=COLOURS["ok"])
    axes.set_xticks(range(len(labels)), labels, rotation=30, ha="right", fontsize=7)
    axes.set_ylabel(data.get("metric", ""))
    if data.get("reference") is not None:
        axes.axhline(data["reference"], color=COLOURS["wrong"], linestyle="--", linewidth=1)


def _training_curve(data, figure):
    history = data["history"]
    losses = {k: v for k, v in history.items() if "loss" in k or "mae" in k or "mse" in k}
    others = {k: v for k, v in history.items() if k not in losses}
    panels = [group for group in (losses, others) if group]
    for index, group in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), index + 1)
        for key, values in group.items():
            axes.plot(range(1, len(values) + 1), values, label=key, linewidth=1.2)
        axes.set_xlabel("epoch / época")
        axes.legend(fontsize=6)


DRAW = {"confusion_matrix": _confusion_matrix, "scatter_classes": _scatter_classes,
        "pred_vs_true": _pred_vs_true, "bars": _bars}


def render(figure_spec: dict) -> str:
    """The SVG of one figure, or "" for a kind this module does not know."""
    kind, data = figure_spec.get("kind"), figure_spec.get("data") or {}
    try:
        if kind == "training_curve":
            figure = _figure(6.4 if len(data.get("history", {})) > 1 else 4.6, 2.8)
            _training_curve(data, figure)
        elif kind in DRAW:
            figure = _figure(4.6, 4.0 if kind in ("confusion_matrix", "scatter_classes") else 3.2)
            DRAW[kind](data, figure.add_subplot(1, 1, 1))
        else:
            return ""
        if figure_spec.get("title"):
            figure.suptitle(figure_spec["title"], fontsize=9)
        return _svg(figure)
    except (KeyError, TypeError, ValueError):
        return ""  # a malformed figure must not cost the report
