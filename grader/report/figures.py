"""Pictures for the report, as inline SVG: no image files, no network.

A figure is a dict ``{"kind", "title", "data"}`` made by the evaluator.
This module draws it with matplotlib (imported only when there is
something to draw) and returns the ``<svg>`` element, ready to embed in
HTML. A kind it does not know, or data it cannot draw, gives "".
"""
from __future__ import annotations

import hashlib
import io
import json
import math
import re

from .. import i18n

MAX_POINTS = 400
PX_PER_INCH = 96  # CSS pixels
COLOURS = {"one": "#2b6cb0", "zero": "#dd8a2b", "wrong": "#b42318", "line": "#475467", "bar": "#2b6cb0"}
SMALL = 7


def _subsample(*columns):
    """Every k-th point, so that at most MAX_POINTS remain; the columns must be as long as each other."""
    columns = [list(column) for column in columns]
    if len({len(column) for column in columns}) > 1:
        raise ValueError("columns of different lengths")
    step = max(1, math.ceil(len(columns[0]) / MAX_POINTS)) if columns else 1
    return [column[::step] for column in columns]


def _confusion_matrix(figure, data, lang):
    from matplotlib.colors import PowerNorm
    matrix = data["matrix"]
    labels = data.get("labels") or list(range(len(matrix)))
    top = max(max(row) for row in matrix) or 1
    axes = figure.add_subplot(1, 1, 1)
    axes.pcolormesh(matrix, cmap="Blues", norm=PowerNorm(0.4, vmin=0, vmax=top))  # vector: crisp in print
    axes.set_xlim(0, len(matrix[0])), axes.set_ylim(len(matrix), 0), axes.set_aspect("equal")
    centres = [k + 0.5 for k in range(len(labels))]
    axes.set_xticks(centres, [str(label) for label in labels])
    axes.set_yticks(centres, [str(label) for label in labels])
    axes.set_xlabel(i18n.text("predicted", lang)), axes.set_ylabel(i18n.text("true", lang))
    for i, row in enumerate(matrix):
        for j, value in enumerate(row):
            if value:
                axes.text(j + 0.5, i + 0.5, str(value), ha="center", va="center", fontsize=6,
                          color="white" if (value / top) ** 0.4 > 0.6 else ("#1d2939" if i == j else COLOURS["wrong"]))


def _scatter_classes(figure, data, lang):
    truth = data.get("truth") or data["predicted"]
    x1, x2, predicted, truth = _subsample(data["x1"], data["x2"], data["predicted"], truth)
    axes = figure.add_subplot(1, 1, 1)
    rows = list(zip(x1, x2, predicted, truth))
    for wanted, colour in ((1, COLOURS["one"]), (0, COLOURS["zero"])):
        points = [(a, b) for a, b, p, _ in rows if int(p) == wanted]
        if points:
            axes.scatter(*zip(*points), s=7, c=colour, label=f"{i18n.text('predicted_class', lang)} {wanted}")
    wrong = [(a, b) for a, b, p, t in rows if int(p) != int(t)]
    if wrong:
        axes.scatter(*zip(*wrong), s=30, marker="x", c=COLOURS["wrong"], linewidths=1,
                     label=f"{i18n.text('wrong', lang)} ({len(wrong)})")
    axes.plot([0, 1], [1, 0], color=COLOURS["line"], linewidth=1, label="x1 + x2 = 1")
    axes.set_xlim(0, 1), axes.set_ylim(0, 1), axes.set_aspect("equal")
    axes.set_xlabel("x1"), axes.set_ylabel("x2")
    axes.legend(fontsize=SMALL, loc="upper center", bbox_to_anchor=(0.5, -0.16), ncol=2, frameon=False)


def _pred_vs_true(figure, data, lang):
    truth, predicted = _subsample(data["true"], data["predicted"])
    axes = figure.add_subplot(1, 1, 1)
    axes.scatter(truth, predicted, s=7, c=COLOURS["one"])
    low, high = min(truth + predicted), max(truth + predicted)
    axes.plot([low, high], [low, high], color=COLOURS["line"], linewidth=1, label=i18n.text("ideal", lang))
    axes.set_xlabel(i18n.text("true", lang)), axes.set_ylabel(i18n.text("predicted", lang))
    axes.set_aspect("equal", adjustable="datalim")
    axes.legend(fontsize=SMALL, loc="upper left")


def _is_loss(key: str) -> bool:
    return any(word in key for word in ("loss", "mae", "mse", "error", "crossentropy"))


def _training_curve(figure, data, lang):
    from matplotlib.ticker import MaxNLocator
    history = {key: list(values) for key, values in data["history"].items() if values}
    losses = {key: values for key, values in history.items() if _is_loss(key)}
    others = {key: values for key, values in history.items() if key not in losses}
    panels = [group for group in (losses, others) if group]
    if not panels:
        raise ValueError("empty history")
    for index, group in enumerate(panels):
        axes = figure.add_subplot(1, len(panels), index + 1)
        for key, values in group.items():
            steps, values = _subsample(range(1, len(values) + 1), values)
            axes.plot(steps, values, label=key, linewidth=1.3, linestyle="--" if key.startswith("val_") else "-")
        axes.xaxis.set_major_locator(MaxNLocator(integer=True))
        axes.set_xlabel(i18n.text("epoch", lang))
        axes.set_ylabel(i18n.text("loss", lang) if group is losses else next(iter(group)).removeprefix("val_"))
        axes.legend(fontsize=SMALL)


def _bars(figure, data, lang):
    labels, values = [str(label) for label in data["labels"]], [float(value) for value in data["values"]]
    axes = figure.add_subplot(1, 1, 1)
    bars = axes.bar(range(len(values)), values, color=COLOURS["bar"], width=0.6)
    axes.bar_label(bars, [i18n.number(value) for value in values], fontsize=SMALL)
    long = sum(len(label) for label in labels) > 40
    axes.set_xticks(range(len(labels)), labels, rotation=25 if long else 0, ha="right" if long else "center")
    axes.set_ylabel(data.get("metric", ""))
    axes.margins(y=0.15)
    if data.get("reference") is not None:
        axes.axhline(float(data["reference"]), color=COLOURS["wrong"], linestyle="--", linewidth=1,
                     label=f"{i18n.text('reference', lang)} {i18n.number(float(data['reference']))}")
        axes.legend(fontsize=SMALL)


# kind -> (drawing function, width and height in inches)
KINDS = {
    "confusion_matrix": (_confusion_matrix, (3.5, 3.3)),
    "scatter_classes": (_scatter_classes, (3.3, 3.7)),
    "pred_vs_true": (_pred_vs_true, (3.4, 3.2)),
    "training_curve": (_training_curve, (5.0, 2.6)),
    "bars": (_bars, (3.6, 2.8)),
}


def title(spec: dict, lang: str = "es") -> str:
    """The caption of a figure: its own title, or a default for its kind."""
    return i18n.localized(spec.get("title"), lang) or i18n.text(str(spec.get("kind")), lang)


COORDINATES = re.compile(r'\b(?:x|y|d)="[^"]*"')


def _coarser(match: re.Match) -> str:
    """Coordinates to a tenth of a point: finer than any screen, and shorter to write."""
    return re.sub(r"(\.\d)\d+", r"\1", match.group(0))


def _svg(figure) -> str:
    """The figure as an ``<svg>`` element, sized in pixels."""
    buffer = io.StringIO()
    figure.savefig(buffer, format="svg")
    svg = buffer.getvalue()
    svg = svg[svg.index("<svg"):]
    svg = re.sub(r"<metadata>.*?</metadata>\s*", "", svg, flags=re.S)
    svg = COORDINATES.sub(_coarser, svg)
    width, height = (round(inches * PX_PER_INCH) for inches in figure.get_size_inches())
    return re.sub(r'<svg([^>]*?) width="[^"]*" height="[^"]*"',
                  rf'<svg\1 width="{width}" height="{height}" role="img"', svg, count=1)


def render(spec: dict, lang: str = "es") -> str:
    """The SVG of one figure, or "" for a kind this module does not know or data it cannot draw."""
    kind = spec.get("kind")
    if kind not in KINDS:
        return ""
    draw, size = KINDS[kind]
    import matplotlib
    from matplotlib.figure import Figure
    # text as <text> (small, in the page's fonts); ids unique to this figure yet the same on every run
    salt = hashlib.sha256(json.dumps(spec, sort_keys=True, default=str).encode()).hexdigest()[:12]
    try:
        with matplotlib.rc_context({"font.size": 8, "svg.fonttype": "none", "svg.hashsalt": salt}):
            figure = Figure(figsize=size, dpi=72, layout="constrained")
            draw(figure, spec.get("data") or {}, lang)
            return _svg(figure)
    except Exception:  # a malformed figure must not cost the student the whole report
        return ""
