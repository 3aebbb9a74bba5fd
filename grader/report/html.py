"""The student's HTML report and the class summary: self-contained pages."""
from __future__ import annotations

import statistics
from functools import lru_cache
from pathlib import Path

from ..result import Result
from . import i18n
from ..atomic import write_text_atomic


@lru_cache(maxsize=None)
def _environment():
    from jinja2 import Environment, FileSystemLoader, select_autoescape
    environment = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                              autoescape=select_autoescape(["html", "j2"]), trim_blocks=True, lstrip_blocks=True)
    environment.globals.update(fmt=_fmt, share=_share)
    return environment


def _fmt(value) -> str:
    if isinstance(value, bool) or value is None:
        return "—" if value is None else str(value)
    if isinstance(value, float):
        return f"{value:.4g}" if abs(value) < 1e5 else f"{value:.3e}"
    return str(value)


def _share(value, band) -> float:
    """Where ``value`` sits in the band, as a percentage for the meter."""
    from ..evaluate.bands import fraction
    try:
        return round(100 * fraction(float(value), float(band["zero"]), float(band["full"])), 1)
    except (TypeError, ValueError, KeyError):
        return 0.0


def render_report(result: Result, lang: str = "es") -> str:
    from .figures import render

    def figures(check):
        return [svg for svg in (render(spec) for spec in check.figures) if svg]

    return _environment().get_template("report.html.j2").render(
        r=result, lang=lang, t=lambda key: i18n.text(key, lang), figures=figures)


def write_report(result: Result, path, lang: str = "es") -> None:
    write_text_atomic(Path(path), render_report(result, lang))


def render_index(results: list[Result], assignment_title: str, lang: str = "es", pass_fraction: float = 0.5) -> str:
    results = sorted(results, key=lambda r: r.submission)
    scores = [r.score for r in results]
    max_score = max((r.max_score for r in results), default=0) or 1
    bins = 10
    histogram = [0] * bins
    for score in scores:
        histogram[min(bins - 1, int(score / max_score * bins))] += 1
    questions = []
    for check in (results[0].checks if results else []):
        same = [c for r in results for c in r.checks if c.id == check.id]
        questions.append({"id": check.id, "title": check.title, "max": check.max_score,
                          "mean": statistics.fmean(c.score for c in same),
                          "passed": sum(c.status == "pass" for c in same) / len(same),
                          "manual": sum(c.status == "manual" for c in same) / len(same)})
    return _environment().get_template("index.html.j2").render(
        lang=lang, t=lambda key: i18n.text(key, lang), title=assignment_title, results=results, n=len(results),
        max_score=max_score, mean=statistics.fmean(scores) if scores else 0,
        median=statistics.median(scores) if scores else 0,
        pass_rate=sum(s >= pass_fraction * max_score for s in scores) / len(scores) if scores else 0,
        histogram=histogram, hist_max=max(histogram), questions=questions,
        hist_labels=[f"{i * 100 // bins}–{(i + 1) * 100 // bins}%" for i in range(bins)],
        check_of=lambda r, qid: next((c for c in r.checks if c.id == qid), None))


def write_index(results: list[Result], assignment_title: str, path, lang: str = "es") -> None:
    write_text_atomic(Path(path), render_index(results, assignment_title, lang))
