"""The question's code cells ran without error."""
from __future__ import annotations

from ..context import Context, Part


def run(spec, question, ctx: Context) -> Part:
    label = ctx.text(spec.label) or ctx.say("El código se ejecuta sin errores", "The code runs without errors")
    section = ctx.section(spec)
    if section is None:
        return Part(label, 0, spec.points, "fail", ctx.say(
            f"No se encontró la pregunta en el cuaderno (etiqueta {question.labels[0]}).",
            f"The question was not found in the notebook (label {question.labels[0]})."))
    runs = [ctx.harvest.run_of(i) for i in section.code_cells]
    runs = [run for run in runs if run is not None and run.status != "skipped"]
    if not runs:
        return Part(label, 0, spec.points, "fail", ctx.say("La pregunta no tiene código.", "The question has no code."))
    bad = [run for run in runs if run.status not in ("ok",)]
    if not bad:
        return Part(label, spec.points, spec.points, "pass",
                    ctx.say(f"{len(runs)} celda(s) ejecutadas sin error.", f"{len(runs)} cell(s) ran without error."))
    described = "; ".join(f"{ctx.say('celda', 'cell')} {run.index + 1}: {run.error_name or run.status}"
                          + (f" ({run.error_message[:120]})" if run.error_message else "") for run in bad)
    status = "error" if any(run.status in ("error", "timeout", "killed") for run in bad) else "fail"
    return Part(label, 0, spec.points, status, ctx.say("Celdas con problemas: ", "Cells with problems: ") + described + ".")
