"""Several models of one kind, scored side by side on the same fresh data.

Used where a question asks to try variations (other sizes, activations,
amounts of data): points go to having trained at least ``min_models``
distinct models that fit; the measurements are shown for the analysis.
"""
from __future__ import annotations

from ..context import Context, Part
from .model_metric import measure, notes
from .kind import CheckKind

KIND = CheckKind(
    "model_comparison", "the models of one kind trained in the section, side by side", needs_model=True,
    required={"data": str, "metric": str}, optional={"params": dict, "samples": int, "min_models": int},
    figures=("bars",))


def _training(version) -> str:
    fits = version.fits
    if not fits:
        return ""
    params = fits[-1].get("params", {})
    return ", ".join(f"{key}={params[key]}" for key in ("epochs", "steps") if key in params)


def run(spec, question, ctx: Context) -> Part:
    options = spec.options
    metric = options["metric"]
    needed = int(options.get("min_models", 1))
    label = ctx.text(spec.label) or ctx.say("Modelos comparados", "Models compared")
    picks = ctx.pick_all(spec)
    rows, failures, remarks = [], [], ""
    for chosen in picks:
        try:
            measured = measure(ctx, spec, chosen)
        except Exception as error:
            failures.append(f"{chosen.version.label}: {type(error).__name__}")
            continue
        rows.append({"name": chosen.version.label, "cell": chosen.version.cell, "layers": chosen.info.summary(),
                     "training": _training(chosen.version), metric: measured["metrics"][metric]})
        remark = notes(ctx, chosen, measured, metric)
        if remark:
            remarks += ctx.say(f" «{chosen.version.label}»:", f" “{chosen.version.label}”:") + remark
    part = Part(label, 0, spec.points, "fail", metrics={"models": len(rows)})
    if rows:
        part.figures = [{"kind": "bars", "title": label,
                         "data": {"labels": [r["name"] for r in rows], "values": [r[metric] for r in rows], "metric": metric}}]
        part.model = {"compared": rows}
    listing = "; ".join(f"{r['name']} [{r['layers']}{', ' + r['training'] if r['training'] else ''}]: {metric} = {r[metric]:.4g}"
                        for r in rows)
    if len(rows) >= needed:
        part.score, part.status = spec.points, "pass"
        part.feedback = ctx.say(f"{len(rows)} modelo(s) comparados: ", f"{len(rows)} model(s) compared: ") + listing + "."
    else:
        part.feedback = ctx.say(f"Se pedían al menos {needed} modelo(s) de este tipo y se encontraron {len(rows)}. ",
                                f"At least {needed} model(s) of this kind were asked for; {len(rows)} found. ") + \
            (listing + "." if rows else ctx.no_model(spec))
    part.feedback += remarks
    if failures:
        part.feedback += ctx.say(" Fallaron: ", " Failed: ") + ", ".join(failures) + "."
    return part
