"""Numbers read off results: points awaiting review, and the class statistics."""
from __future__ import annotations

import statistics
from dataclasses import dataclass, field

from ..result import Check, Result

BINS = 10


@dataclass
class QuestionStats:
    id: str
    title: str
    max_score: float
    mean: float          # mean points over the submissions that have this question
    passed: float        # share of them with status "pass"
    manual: float        # share of them awaiting human review


@dataclass
class ClassSummary:
    results: list[Result]                      # sorted by submission
    pass_fraction: float
    max_score: float = 0.0
    mean: float = 0.0
    median: float = 0.0
    pass_rate: float = 0.0                     # share scoring at least pass_fraction of the maximum
    histogram: list[int] = field(default_factory=lambda: [0] * BINS)  # counts per tenth of the maximum
    questions: list[QuestionStats] = field(default_factory=list)


def pending(item: Result | Check) -> float:
    """Points of a check (or a whole result) still awaiting human review."""
    if isinstance(item, Result):
        return sum(pending(check) for check in item.checks)
    return sum(float(d.get("max_score", 0)) - float(d.get("score", 0))
               for d in item.details if d.get("status") == "manual")


def _question_ids(results: list[Result]) -> list[str]:
    """Every question seen, in the order of the rubric (first seen first)."""
    seen: dict[str, None] = {}
    for result in results:
        for check in result.checks:
            seen.setdefault(check.id, None)
    return list(seen)


def summarize(results: list[Result], pass_fraction: float = 0.5) -> ClassSummary:
    """Mean, median, pass rate, score histogram and per-question statistics of ``results``."""
    summary = ClassSummary(sorted(results, key=lambda r: r.submission), pass_fraction)
    if not results:
        return summary
    scores = [r.score for r in results]
    summary.max_score = max(r.max_score for r in results)
    summary.mean, summary.median = statistics.fmean(scores), statistics.median(scores)
    summary.pass_rate = sum(r.max_score > 0 and r.score >= pass_fraction * r.max_score for r in results) / len(results)
    for result in results:
        share = result.score / result.max_score if result.max_score else 0.0
        summary.histogram[min(BINS - 1, max(0, int(share * BINS)))] += 1
    for qid in _question_ids(results):
        same = [c for r in results for c in r.checks if c.id == qid]
        summary.questions.append(QuestionStats(
            id=qid, title=same[0].title, max_score=max(c.max_score for c in same),
            mean=statistics.fmean(c.score for c in same),
            passed=sum(c.status == "pass" for c in same) / len(same),
            manual=sum(c.status == "manual" for c in same) / len(same)))
    return summary
