"""How well a model does on fresh data, with points from a band."""
from __future__ import annotations

from .. import bands
from ..context import Context, Part
from ..data import get_kind


def training_curve(ctx: Context, chosen) -> list[dict]:
    """The model's training history, all its ``fit`` calls end to end."""
    history: dict[str, list] = {}
    for fit in chosen.version.fits:
        for key, values in fit["history"].items():
            history.setdefault(key, []).extend(values)
    if not history:
        return []
    return [{"kind": "training_curve", "title": ctx.say(f"Entrenamiento de «{chosen.version.label}»",
                                                        f"Training of “{chosen.version.label}”"),
             "data": {"history": history}}]


def measure(ctx: Context, spec, chosen) -> tuple[dict, list]:
    """Metrics of ``chosen`` on the check's fresh data, and a picture of them (remembered: see memo)."""
    options = spec.options
    name, params, samples = options["data"], options.get("params", {}), int(options.get("samples", 2000))
    kind = get_kind(name)

    def compute() -> dict:
        dataset = ctx.data.get(name, params, samples)
        predictions = ctx.predict(chosen, dataset.x)
        metrics = kind.score(dataset, predictions)
        figure = kind.figure(dataset, predictions, metrics) if hasattr(kind, "figure") else None
        return {"metrics": metrics, "figures": [figure] if figure else []}

    measured = ctx.remember(chosen, ["measure", name, params, samples, ctx.data.source(name)], compute)
    return measured["metrics"], measured["figures"]


def _good_enough(options: dict, value: float, floor: float) -> bool:
    """Whether the reference's own ``value`` is at least as good as ``floor``."""
    higher_is_better = get_kind(options["data"]).METRICS.get(options["metric"], True)
    return value >= floor if higher_is_better else value <= floor


def run(spec, question, ctx: Context) -> Part:
    options = spec.options
    metric = options["metric"]
    label = ctx.text(spec.label) or ctx.say(f"{metric} con datos nuevos", f"{metric} on fresh data")
    chosen = ctx.pick(spec, question)
    if chosen is None:
        return Part(label, 0, spec.points, "fail", ctx.no_model(spec))
    part = Part(label, 0, spec.points, "fail", model=ctx.describe_pick(chosen))
    try:
        metrics, figures = measure(ctx, spec, chosen)
    except Exception as error:
        part.status = "error"
        part.feedback = ctx.say(f"El modelo «{chosen.version.label}» falla con los datos nuevos: {type(error).__name__}: {str(error)[:200]}",
                                f"Model “{chosen.version.label}” fails on the fresh data: {type(error).__name__}: {str(error)[:200]}")
        return part
    value = metrics[metric]
    key = f"{question.id}#{question.checks.index(spec)}"
    ctx.measured[key] = value
    part.metrics = {k: v for k, v in metrics.items() if not isinstance(v, list)}
    part.figures = figures + training_curve(ctx, chosen)
    where = {"section": "", "before": ctx.say(" (definido antes de la pregunta)", " (defined before the question)"),
             "anywhere": ""}[chosen.where]
    measured = ctx.say(f"«{chosen.version.label}»{where}: {metric} = {value:.4g} con {metrics.get('n_samples', '?')} muestras nuevas.",
                       f"“{chosen.version.label}”{where}: {metric} = {value:.4g} on {metrics.get('n_samples', '?')} fresh samples.")
    band = options.get("band")
    if band is None or spec.points == 0:
        part.status, part.score, part.feedback = "pass", spec.points, measured
        return part
    if ctx.reference is None and "reference_min" in band and not _good_enough(options, value, band["reference_min"]):
        part.status = "error"
        part.feedback = measured + ctx.say(f" La solución de referencia debe llegar a {band['reference_min']}.",
                                           f" The reference solution must reach {band['reference_min']}.")
        return part
    reference = ctx.reference.get(key) if ctx.reference is not None else value
    try:
        bounds = bands.resolve(band, reference)
    except ValueError:
        part.status = "error"
        part.feedback = measured + ctx.say(" La solución de referencia no tiene valor para comparar.",
                                           " The reference solution has no value to compare with.")
        return part
    part.thresholds = {metric: bounds}
    share = bands.fraction(value, bounds["zero"], bounds["full"])
    part.score = round(spec.points * share, 3)
    part.status = "pass" if share == 1 else "partial" if share > 0 else "fail"
    verdict = {"pass": ctx.say(" Alcanza el nivel pedido", " It reaches the level asked for"),
               "partial": ctx.say(" Crédito parcial", " Partial credit"),
               "fail": ctx.say(" No alcanza el mínimo", " It does not reach the minimum")}[part.status]
    part.feedback = measured + verdict + f" ({bounds['zero']:.3g} → 0, {bounds['full']:.3g} → {spec.points:g})."
    if "reference" in bounds:
        part.feedback += ctx.say(f" Referencia: {reference:.4g}.", f" Reference: {reference:.4g}.")
    return part
