"""Evaluate: judge a harvest against the rubric, in the trusted process.

Nothing here runs student code. Models come from files checked before
Keras loads them (:mod:`.models`); a model with code of its own is called
only through the sandboxed predictor, and the parts that judge it wait for
the instructor; data is generated fresh from the run's seed (:mod:`.data`);
each question's checks (:mod:`.checks`) give parts that add up to the
question's result.
"""
from __future__ import annotations

from dataclasses import asdict
from typing import TYPE_CHECKING

from ..harvest import Harvest
from ..result import Check
from ..rubric import Question, Rubric
from .checks import KINDS
from .context import Context, DataCache, Part
from .memo import Memo

if TYPE_CHECKING:  # the predictor brings the kernel's machinery: imported when a model needs it (Context)
    from ..execute.predictor import SandboxedPredictor

__all__ = ["evaluate", "DataCache", "Memo"]
PENDING = {"manual", "hidden"}   # parts whose points come later: from the instructor, or after hand-in


def evaluate(harvest: Harvest, rubric: Rubric, data: DataCache, lang: str = "es",
             reference: dict | None = None, manual: dict | None = None,
             memo: Memo | None = None, predictor: SandboxedPredictor | None = None
             ) -> tuple[list[Check], dict, list[str]]:
    """Grade every question; returns the checks, the measured values and problems.

    ``reference`` holds the reference solution's measured values (None while
    grading the reference itself); ``manual`` maps question ids to the
    instructor's review, ``{"text" | "model": {"points": .., "comment": ..}}``
    (see :func:`grader.batch.read_manual_scores`); ``memo`` remembers what the
    models measured for the next run (see memo); ``predictor`` calls models
    with code of their own (by default one with the strongest sandbox here),
    and is stopped at the end.
    """
    ctx = Context(harvest, rubric, data, lang, reference, memo, predictor)
    checks = []
    try:
        for question in rubric.questions:
            parts = [_judge(spec, question, ctx) for spec in question.checks]
            checks.append(combine(question, parts, ctx, (manual or {}).get(question.id)))
    finally:
        ctx.close()
    return checks, ctx.measured, ctx.refused


def _judge(spec, question: Question, ctx: Context) -> Part:
    """One check's part; held for review when it judged a model with code of its own."""
    ctx.own_code_judged, ctx.own_code_ran = {}, False
    try:
        part = KINDS[spec.kind].run(spec, question, ctx)
    except Exception as error:  # a bug or a bizarre model must not lose the other questions
        part = Part(ctx.text(spec.label) or spec.kind, 0, spec.points, "error",
                    ctx.say("evaluate.could_not_evaluate")
                    + f"{type(error).__name__}: {str(error)[:300]}")
    if ctx.own_code_judged:
        ctx.hold_for_review(part)
    part.visibility = spec.visibility
    return part


def combine(question: Question, parts: list[Part], ctx: Context, manual: dict | None) -> Check:
    if manual is not None:
        _apply_manual(parts, manual, ctx)
    scored = [part for part in parts if part.max_score > 0]
    automatic = [part for part in scored if part.status not in PENDING]
    score = round(sum(part.score for part in parts), 3)
    max_score = sum(part.max_score for part in parts)
    got = sum(part.score for part in automatic)
    out_of = sum(part.max_score for part in automatic)
    if any(part.status == "error" for part in automatic) and got < out_of:
        status = "error"
    elif got == out_of:
        waiting = {part.status for part in scored} & PENDING
        status = ("manual" if "manual" in waiting else "hidden") if waiting else "pass"
    else:
        status = "fail" if got == 0 else "partial"
    metrics, thresholds, hints, figures = {}, {}, [], []
    for part in parts:
        metrics.update(part.metrics)
        thresholds.update(part.thresholds)
        hints += part.hints
        figures += part.figures
    section = ctx.harvest.sections.get(question.id)
    return Check(
        id=question.id, title=ctx.text(question.title), score=score, max_score=max_score, status=status,
        feedback=" ".join(part.feedback for part in parts if part.feedback),
        metrics=metrics, thresholds=thresholds,
        model=next((part.model for part in parts if part.model), {}),
        details=[{k: v for k, v in asdict(part).items() if k not in ("figures",)} for part in parts],
        answer=next((part.answer for part in parts if part.answer), ""), hints=hints, figures=figures,
        section=ctx.text(section.note) if section else "")


def _apply_manual(parts: list[Part], manual: dict, ctx: Context) -> None:
    """Give the instructor's points to the parts awaiting review, in order, capped at their maximum.

    ``manual["text"]`` goes to the free-text parts; ``manual["model"]`` to the
    parts held for a model with code of its own, whose points are then the
    ones given, or, given none, the ones it measured.
    """
    for kind, review in manual.items():
        held = [part for part in parts
                if part.status == "manual" and (part.would_earn is not None) == (kind == "model")]
        remaining = review.get("points")
        comment = review.get("comment", "")
        reviewed = ctx.say("evaluate.reviewed_by_the_instructor") + \
            (f": {comment}" if comment else ".")
        for part in held:
            given = part.would_earn if remaining is None else min(part.max_score, max(0.0, float(remaining)))
            if remaining is not None:
                remaining -= given
            part.score = round(given, 3)
            part.status = "pass" if part.score == part.max_score else "partial" if part.score > 0 else "fail"
            part.feedback = (part.feedback + " " + reviewed) if kind == "model" else reviewed
