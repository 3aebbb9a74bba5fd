"""The student's own code cells of the question ran without error.

Cells identical to the handout's and cells with nothing to run (blank,
comments, ``pass``) are not the student's work, so they earn nothing.
"""
from __future__ import annotations

from ..context import Context, Part
from .kind import CheckKind

KIND = CheckKind("code_runs", "the student's own cells of the question ran without error")


def _has_code(source: str) -> bool:
    """False for a cell the student left as given: blank, comments, ``pass``."""
    return any(line.strip() not in ("", "pass") and not line.strip().startswith("#") for line in source.splitlines())


def run(spec, question, ctx: Context) -> Part:
    label = ctx.text(spec.label) or ctx.say("code_runs.label")
    section = ctx.section(spec)
    if section is None:
        return Part(label, 0, spec.points, "fail", ctx.say("code_runs.question_not_found",
                                                           label=question.labels[0]))
    own = [i for i in section.code_cells if i not in section.given_cells and _has_code(ctx.harvest.cells[i].source)]
    runs = [ctx.harvest.run_of(i) for i in own]
    runs = [run for run in runs if run is not None and run.status != "skipped"]
    if not runs:
        if section.given_cells:
            return Part(label, 0, spec.points, "fail", ctx.say("code_runs.only_handout_cells"))
        return Part(label, 0, spec.points, "fail",
                    ctx.say("code_runs.no_code"))
    bad = [run for run in runs if run.status not in ("ok",)]
    if not bad:
        return Part(label, spec.points, spec.points, "pass",
                    ctx.say("code_runs.own_cells_ran", n_runs=len(runs)))
    described = "; ".join(f"{ctx.say('cell')} {run.index + 1}: {run.error_name or run.status}"
                          + (f" ({run.error_message[:120]})" if run.error_message else "") for run in bad)
    status = "error" if any(run.status in ("error", "timeout", "killed") for run in bad) else "fail"
    return Part(label, 0, spec.points, status,
                ctx.say("code_runs.cells_with_problems") + described + ".")
