"""Late work: the rubric's ``[late]`` rules, and who handed a result in and when.

A late submission's score is **multiplied** by ``1 - min(cap, per_day * days late)``
(``penalty = "zero"``: by 0), so the penalty is a share of what the student
earned, and stays that share when human-review points arrive later. A day
late is any started day past the deadline: the rubric's ``due`` plus the
student's extra time from ``extensions.csv``; ``grace_minutes`` after it
still count as on time.
"""
from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

from .i18n import localized, text

DAY = timedelta(days=1)


@dataclass(frozen=True)
class LateRules:
    due: datetime                # aware
    grace: timedelta = timedelta(0)
    per_day: float = 0.0         # share of the score taken off per day late
    cap: float = 1.0             # at most this share
    zero: bool = False           # penalty = "zero": late work scores nothing


def parse(table, fail) -> LateRules | None:
    """The rubric's ``[late]`` table; ``fail(key, problem)`` raises the rubric's error."""
    if table is None:
        return None
    if not isinstance(table, dict):
        fail("late", "must be a table [late]")
    unknown = set(table) - {"due", "grace_minutes", "penalty"}
    if unknown:
        fail(f"late.{sorted(unknown)[0]}", "unknown key (known: due, grace_minutes, penalty)")
    due = table.get("due")
    if isinstance(due, str):
        try:
            due = datetime.fromisoformat(due)
        except ValueError:
            fail("late.due", f"{due!r} is not a date and time like 2026-03-01T23:59:00+01:00")
    if not isinstance(due, datetime) or due.tzinfo is None:
        fail("late.due", "needs a date, a time and a time zone offset, e.g. 2026-03-01T23:59:00+01:00")
    grace = table.get("grace_minutes", 0)
    if isinstance(grace, bool) or not isinstance(grace, (int, float)) or grace < 0:
        fail("late.grace_minutes", f"{grace!r} is not a number of minutes >= 0")
    grace = timedelta(minutes=grace)
    penalty = table.get("penalty")
    if penalty == "zero":
        return LateRules(due, grace, zero=True)
    if not isinstance(penalty, dict) or set(penalty) - {"per_day", "cap"} or "per_day" not in penalty:
        fail("late.penalty", 'must be "zero" or { per_day = 0.1, cap = 0.5 } (cap optional)')
    for key in ("per_day", "cap"):
        value = penalty.get(key, 1.0)
        if isinstance(value, bool) or not isinstance(value, (int, float)) or not 0 < value <= 1:
            fail(f"late.penalty.{key}", f"{value!r} is not a share of the score in (0, 1]")
    return LateRules(due, grace, float(penalty["per_day"]), float(penalty.get("cap", 1.0)))


def stamp(result, rules: LateRules | None, intake: dict | None, notebook: Path, lang: str) -> None:
    """Give ``result`` who handed it in and when (``intake``, from grader.intake), then its late penalty.

    Without an intake (``grader check``, the reference solution) nothing is late.
    """
    result.raw_score = result.score
    if intake is None:
        return
    result.student_id = intake.get("student_id", "")
    result.name = intake.get("name", "")
    result.attempt = intake.get("attempt", 1)
    result.problems = [localized(note, lang) for note in intake.get("notes", [])] + list(result.problems)
    submitted, from_file = _submitted(intake, rules, notebook)
    result.submitted = submitted.isoformat() if submitted else ""
    if rules is None:
        result.late = bool(intake.get("late"))
        return
    extra = timedelta(hours=intake.get("extra_hours", 0))
    deadline = rules.due + extra
    if submitted is not None:
        result.late = submitted > deadline + rules.grace
        days = math.ceil((submitted - deadline) / DAY) if result.late else 0
    else:  # the LMS flags it late but gives no time (Canvas): the least it can be
        result.late = bool(intake.get("late"))
        days = 1 if result.late else 0
    if not result.late:
        return
    share = 1.0 if rules.zero else min(rules.cap, rules.per_day * days)
    result.score = round(result.raw_score * (1 - share), 3)
    result.late_penalty = round(result.raw_score - result.score, 3)
    result.problems.insert(0, _explain(lang, submitted, from_file, deadline, extra, days, share, result))


def _submitted(intake: dict, rules: LateRules | None, notebook: Path) -> tuple[datetime | None, bool]:
    """When it was handed in, and whether that is only the file's modification time."""
    if intake.get("submitted"):
        when = datetime.fromisoformat(intake["submitted"])
        return (when.replace(tzinfo=rules.due.tzinfo) if rules and when.tzinfo is None else when), False
    if rules is None or intake.get("late") is not None:
        return None, False
    try:
        return datetime.fromtimestamp(notebook.stat().st_mtime).astimezone(), True
    except OSError:
        return None, False


def _explain(lang, submitted, from_file, deadline, extra, days, share, result) -> str:
    def at(when):
        return when.isoformat(sep=" ", timespec="minutes")

    if submitted is None:
        said = [text("late_work.flagged_without_time", lang)]
    else:
        extension = text("late_work.extension", lang, hours=extra / timedelta(hours=1)) if extra else ""
        said = [text("late_work.one_day" if days == 1 else "late_work.days", lang, days=days, submitted=at(submitted),
                     due=at(deadline), extension=extension)]
        if from_file:
            said.append(text("late_work.time_from_file", lang))
    said.append(text("late_work.score_multiplied", lang, kept=f"{1 - share:.3g}", raw=result.raw_score,
                     score=result.score))
    return " ".join(said)
