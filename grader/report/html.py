"""The student's HTML report and the class summary: self-contained pages.

One file each, with inline CSS and inline SVG: no script, no font, no
image and no request to anywhere, so that a report opens from disk, prints,
and can be mailed. Every text from the notebook is escaped (autoescape).
"""
from __future__ import annotations

from functools import lru_cache
from pathlib import Path

from .. import bands, i18n
from ..atomic import write_text_atomic
from ..harvest.diagnosis import environment_notes
from ..result import Check, Result
from . import figures
from .summary import pending, summarize


@lru_cache(maxsize=None)
def _environment():
    from jinja2 import Environment, FileSystemLoader, StrictUndefined, select_autoescape
    environment = Environment(loader=FileSystemLoader(Path(__file__).parent / "templates"),
                              autoescape=select_autoescape(["html", "j2"], default=True),
                              trim_blocks=True, lstrip_blocks=True, undefined=StrictUndefined)
    environment.filters.update(num=i18n.number, duration=i18n.duration, awaiting=i18n.awaiting)
    environment.globals.update(band_share=band_share, level=level, pending=pending, environment_notes=environment_notes,
                               own_code=own_code)
    return environment


def environment_with(folder: Path):
    """The reports' templates, filters and globals, with the templates of ``folder`` first (the review page's)."""
    from jinja2 import ChoiceLoader, FileSystemLoader
    base = _environment()
    return base.overlay(loader=ChoiceLoader([FileSystemLoader(folder), base.loader]))


def band_share(value, band: dict) -> float:
    """Where ``value`` sits from the band's ``zero`` to its ``full``, in percent."""
    try:
        value, zero, full = float(value), float(band["zero"]), float(band["full"])
    except (TypeError, ValueError, KeyError):
        return 0.0
    return round(100 * bands.fraction(value, zero, full), 1)


def own_code(check: Check) -> list[tuple[str, str, str]]:
    """(``class`` | ``lambda``, name, source) of the code of their own of the models ``check`` judged."""
    found: dict[tuple[str, str], str] = {}
    for detail in check.details:
        code = (detail.get("model") or {}).get("code") or {}
        for kind, key in (("class", "classes"), ("lambda", "lambdas")):
            found.update({(kind, str(name)): str(source) for name, source in (code.get(key) or {}).items()})
    return [(kind, name, source) for (kind, name), source in found.items()]


def level(percent: float) -> str:
    """The colour class of a share of the points."""
    return "pass" if percent >= 100 else "fail" if percent <= 0 else "partial"


def _words(lang: str):
    return lambda key: i18n.text(key, lang)


def _figures(check: Check, lang: str) -> list[tuple[str, str]]:
    """(caption, svg) of each figure of ``check`` that could be drawn."""
    drawn = ((figures.title(spec, lang), figures.render(spec, lang)) for spec in check.figures)
    return [(caption, svg) for caption, svg in drawn if svg]


def render_report(result: Result, lang: str = "es") -> str:
    """The HTML feedback for one submission."""
    from .. import __version__
    return _environment().get_template("report.html.j2").render(
        r=result, lang=lang, t=_words(lang), loc=lambda value: i18n.localized(value, lang),
        figures=lambda check: _figures(check, lang), version=__version__,
        notebook=Path(result.notebook).name if result.notebook else "")


def write_report(result: Result, path, lang: str = "es") -> None:
    write_text_atomic(Path(path), render_report(result, lang))


def render_index(results: list[Result], assignment_title: str, lang: str = "es", pass_fraction: float = 0.5) -> str:
    """The class summary: statistics, score distribution, questions, and a link to every report."""
    summary = summarize(results, pass_fraction)
    return _environment().get_template("index.html.j2").render(
        s=summary, title=assignment_title, lang=lang, t=_words(lang), loc=lambda value: i18n.localized(value, lang),
        hist_max=max(summary.histogram) or 1,
        check_of=lambda r, qid: next((c for c in r.checks if c.id == qid), None))


def write_index(results: list[Result], assignment_title: str, path, lang: str = "es",
                pass_fraction: float = 0.5) -> None:
    write_text_atomic(Path(path), render_index(results, assignment_title, lang, pass_fraction))
