"""Several models of one kind, scored side by side on the same fresh data.

Used where a question asks to try variations (other sizes, activations,
amounts of data): points go to having trained at least ``min_models``
distinct models that fit, and that differ from the ``baseline`` question's
model in what the question varies (``differ``: size, activation or data);
the measurements are shown beside the baseline's for the analysis. A model
left under another question's heading, that no question judged, still
counts, with a note.
"""
from __future__ import annotations

from ..context import Context, Part
from .kind import CheckKind
from .model_metric import measure, notes

KIND = CheckKind(
    "model_comparison", "the models of one kind trained in the section, side by side",
    needs_model=True, calls_model=True,
    required={"data": str, "metric": str},
    optional={"params": dict, "samples": int, "min_models": int, "baseline": str, "differ": str},
    figures=("bars",))

DIFFERENCES = ("size", "activation", "data")


def _training(version) -> str:
    fits = version.fits
    if not fits:
        return ""
    params = fits[-1].get("params", {})
    return ", ".join(f"{key}={params[key]}" for key in ("epochs", "steps") if key in params)


def _steps(version):
    """Batches per epoch of the model's last training: with the same batch size, the amount of data."""
    return version.fits[-1].get("params", {}).get("steps") if version.fits else None


def differs(aspect: str | None, chosen, baseline) -> bool:
    """Whether ``chosen`` varies what the question asks to vary, compared with the ``baseline`` model."""
    if baseline is None or aspect is None:
        return True
    if chosen.version.model == baseline.version.model:
        return False
    if aspect == "size":
        return [layer.get("units") for layer in chosen.info.layers if layer.get("units")] != \
            [layer.get("units") for layer in baseline.info.layers if layer.get("units")]
    if aspect == "activation":
        return chosen.info.hidden_activations != baseline.info.hidden_activations
    mine, theirs = _steps(chosen.version), _steps(baseline.version)
    return mine is None or theirs is None or mine != theirs  # unknown: the benefit of the doubt


def _row(ctx: Context, spec, chosen, metric: str, role: str) -> tuple[dict, str]:
    measured = measure(ctx, spec, chosen)
    row = {"name": chosen.version.label, "cell": chosen.version.cell, "layers": chosen.info.summary(),
           "training": _training(chosen.version), metric: measured["metrics"][metric]}
    if role:
        row["role"] = role
    remark = notes(ctx, chosen, measured, metric)
    return row, (ctx.say("comparison.model_named", label=chosen.version.label) + remark) if remark else ""


def _models(ctx: Context, spec, baseline, needed: int) -> tuple[list, int]:
    """The models that count, and how many of the section's do not (they vary nothing against the baseline)."""
    aspect = spec.options.get("differ")
    section = ctx.pick_all(spec)
    counted = [p for p in section if differs(aspect, p, baseline)]
    if len(counted) < needed:  # left under another heading: still the student's work for this question
        elsewhere = [p for p in ctx.pick_all(spec, elsewhere=True) if differs(aspect, p, baseline)]
        counted += elsewhere[:needed - len(counted)]
    return counted, len(section) - len([p for p in counted if p.where != "before" and p.where != "after"])


def run(spec, question, ctx: Context) -> Part:
    options = spec.options
    metric = options["metric"]
    needed = int(options.get("min_models", 1))
    label = ctx.text(spec.label) or ctx.say("compared")
    baseline = ctx.picks.get(options.get("baseline", ""))
    counted, alike = _models(ctx, spec, baseline, needed)
    shown = [(baseline, ctx.say("comparison.baseline", baseline=options["baseline"]))] \
        if baseline is not None else []
    shown += [(p, "" if p.where in ("section", "anywhere") else ctx.say("comparison.outside_its_section"))
              for p in counted]
    rows, failures, remarks, valid = [], [], "", 0
    for chosen, role in shown:
        try:
            row, remark = _row(ctx, spec, chosen, metric, role)
        except Exception as error:
            failures.append(f"{chosen.version.label}: {type(error).__name__}")
            continue
        rows.append(row)
        remarks += remark
        if chosen is not baseline:
            valid += 1
            ctx.compared.setdefault(chosen.version.model, question.id)
    part = Part(label, 0, spec.points, "fail", metrics={"models": valid})
    if rows:
        part.figures = [{"kind": "bars", "title": label, "data": {
            "labels": [r["name"] for r in rows], "values": [r[metric] for r in rows], "metric": metric}}]
        part.model = {"compared": rows}
    listing = "; ".join(f"{r['name']}{' (' + r['role'] + ')' if r.get('role') else ''} [{r['layers']}"
                        f"{', ' + r['training'] if r['training'] else ''}]: {metric} = {r[metric]:.4g}" for r in rows)
    if valid >= needed:
        part.score, part.status = spec.points, "pass"
        part.feedback = ctx.say("comparison.models_compared", valid=valid) + listing + "."
    else:
        part.feedback = ctx.say("comparison.too_few_models", needed=needed, valid=valid) + \
            (listing + "." if rows else ctx.no_model(spec))
    if alike and options.get("differ"):
        same = {"size": "comparison.same_size", "activation": "comparison.same_activations",
                "data": "comparison.same_data"}[options["differ"]]
        part.feedback += ctx.say("comparison.alike_do_not_count", alike=alike, same=ctx.say(same))
    part.feedback += remarks
    if failures:
        part.feedback += ctx.say("comparison.failed") + ", ".join(failures) + "."
    return part
