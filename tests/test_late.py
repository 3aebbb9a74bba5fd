"""Late work: the rubric's [late] rules and the penalty they give a result."""
import os
from datetime import datetime, timedelta, timezone

import pytest

from grader import late
from grader.result import Check, Result
from grader.rubric import RubricError, load

RUBRIC = """
[assignment]
name = "tiny-late"
[late]
{late}
[[questions]]
id = "Q1"
  [[questions.checks]]
  kind = "code_runs"
  points = 10
"""
DUE = datetime(2026, 3, 1, 23, 59, tzinfo=timezone(timedelta(hours=1)))
RULES = late.LateRules(DUE, timedelta(minutes=10), per_day=0.1, cap=0.5)


def rubric(tmp_path, text):
    path = tmp_path / "rubric.toml"
    path.write_text(RUBRIC.format(late=text))
    return load(path)


def test_rules_from_the_rubric(tmp_path):
    rules = rubric(tmp_path, 'due = "2026-03-01T23:59:00+01:00"\ngrace_minutes = 10\n'
                             'penalty = { per_day = 0.1, cap = 0.5 }').late
    assert rules == RULES
    toml_time = rubric(tmp_path, 'due = 2026-03-01T23:59:00+01:00\npenalty = "zero"').late
    assert toml_time == late.LateRules(DUE, zero=True)
    assert load("binary-addition").late is None


@pytest.mark.parametrize("text, key, problem", [
    ('due = "2026-03-01T23:59:00"\npenalty = "zero"', "late.due", "time zone offset"),
    ('due = "the first of March"\npenalty = "zero"', "late.due", "not a date and time"),
    ('due = "2026-03-01T23:59:00+01:00"', "late.penalty", 'must be "zero" or'),
    ('due = "2026-03-01T23:59:00+01:00"\npenalty = "half"', "late.penalty", 'must be "zero" or'),
    ('due = "2026-03-01T23:59:00+01:00"\npenalty = { per_day = 1.5 }', "late.penalty.per_day", "(0, 1]"),
    ('due = "2026-03-01T23:59:00+01:00"\npenalty = { per_day = 0.1, cap = 0 }', "late.penalty.cap", "(0, 1]"),
    ('due = "2026-03-01T23:59:00+01:00"\npenalty = "zero"\ngrace_minutes = -5', "late.grace_minutes", ">= 0"),
    ('due = "2026-03-01T23:59:00+01:00"\npenalty = "zero"\nwhen = 1', "late.when", "unknown key"),
])
def test_bad_rules_name_the_key(tmp_path, text, key, problem):
    with pytest.raises(RubricError, match=f"rubric.toml: {key}: .*{problem.replace('(', '.').replace(']', '.')}"):
        rubric(tmp_path, text)


def graded(score=8.0) -> Result:
    return Result("ana", "tiny-late", score, 10.0, 1, [Check("Q1", "Q1", score, 10.0, "partial")])


def stamped(submitted="", rules=RULES, lms_late=None, extra_hours=0.0, lang="en", notebook="/nonexistent"):
    result = graded()
    intake = {"student_id": "340934", "name": "smithbob", "late": lms_late, "attempt": 2, "submitted": submitted,
              "extra_hours": extra_hours, "notes": [{"es": "nota", "en": "note"}]}
    late.stamp(result, rules, intake, notebook, lang)
    return result


def test_on_time_and_within_the_grace():
    for submitted in ("2026-03-01T20:00:00+01:00", "2026-03-02T00:09:00+01:00"):
        result = stamped(submitted)
        assert (result.late, result.score, result.raw_score, result.late_penalty) == (False, 8.0, 8.0, 0.0)
    assert (result.student_id, result.name, result.attempt, result.problems) == ("340934", "smithbob", 2, ["note"])
    assert result.submitted == "2026-03-02T00:09:00+01:00"


@pytest.mark.parametrize("submitted, days, score", [
    ("2026-03-02T00:10:00+01:00", 1, 7.2),     # a minute after the grace: a started day
    ("2026-03-03T23:59:00+01:00", 2, 6.4),     # exactly two days
    ("2026-03-04T12:00:00+01:00", 3, 5.6),     # two and a half: three started days
    ("2026-03-20T12:00:00+01:00", 19, 4.0),    # capped at half
    ("2026-03-02T01:30:00+02:00", 1, 7.2),     # another time zone: 00:30 at +01:00
])
def test_the_penalty_multiplies_the_score_per_started_day(submitted, days, score):
    result = stamped(submitted)
    assert result.late and result.score == score and result.raw_score == 8.0
    assert result.late_penalty == round(8.0 - score, 3)
    assert result.problems[0].startswith(f"Handed in {days} day{'s' if days > 1 else ''} late (")
    assert f"from 8 to {score:g}" in result.problems[0]


def test_zero_and_extensions():
    zero = late.LateRules(DUE, zero=True)
    assert stamped("2026-03-02T00:00:30+01:00", zero).score == 0.0
    extended = stamped("2026-03-02T20:00:00+01:00", extra_hours=24)
    assert not extended.late and extended.score == 8.0
    past = stamped("2026-03-03T00:30:00+01:00", extra_hours=24)
    assert past.late and past.score == 7.2 and "with an extension of 24 h" in past.problems[0]


def test_a_time_without_offset_is_in_the_due_dates_zone():
    assert stamped("2026-03-02T00:05:00").late is False       # 00:05 at +01:00: within the grace
    assert stamped("2026-03-02T00:05:00", rules=None).submitted == "2026-03-02T00:05:00"


def test_a_late_flag_without_a_time_counts_as_one_day():
    result = stamped(lms_late=True)
    assert result.late and result.score == 7.2
    assert result.problems[0].startswith("The LMS marks it late without giving the time: it counts as 1 day late.")
    assert stamped(lms_late=False).score == 8.0


def test_without_any_time_the_files_time_decides_and_says_so(tmp_path):
    notebook = tmp_path / "ana.ipynb"
    notebook.write_text("{}")
    moment = datetime(2026, 3, 3, 12, 0, tzinfo=timezone.utc).timestamp()
    os.utime(notebook, (moment, moment))
    result = stamped(notebook=notebook, lang="es")
    assert result.late and result.score == 6.4   # 2026-03-03 13:00 +01:00: 2 started days
    assert "La hora es la de modificación del archivo" in result.problems[0]
    assert result.problems[0].startswith("Entregada con 2 días de retraso")
    assert result.problems[1] == "nota"


def test_no_rules_keep_the_lms_flag_and_no_intake_nothing():
    flagged = stamped(lms_late=True, rules=None)
    assert flagged.late and flagged.score == 8.0 and flagged.late_penalty == 0.0
    checked = graded()
    late.stamp(checked, RULES, None, "/nonexistent", "en")   # grader check: no intake, nothing is late
    assert (checked.late, checked.score, checked.raw_score, checked.student_id) == (False, 8.0, 8.0, "")


def test_the_report_says_who_handed_it_in_and_the_penalty():
    from grader.report import render_report
    html = render_report(stamped("2026-03-02T00:30:00+01:00", lang="es"), "es")
    assert "smithbob · identificador 340934" in html and "intento 2" in html
    assert "Penalización por retraso: −0.8 (sin ella: 8)" in html
    assert "Entregada con 1 día de retraso (2026-03-02 00:30+01:00; plazo 2026-03-01 23:59+01:00)" in html
    on_time = render_report(stamped("2026-03-01T20:00:00+01:00"), "en")
    assert "Late penalty" not in on_time and "handed in 2026-03-01T20:00:00+01:00" in on_time
