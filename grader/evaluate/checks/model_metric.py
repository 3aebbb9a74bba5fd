"""How well a model does on fresh data, with points from a band."""
from __future__ import annotations

from ... import bands
from ..context import Context, Part
from ..data import get_kind, read
from .kind import CheckKind

KIND = CheckKind(
    "model_metric", "a metric on fresh data, points by a band", needs_model=True,
    required={"data": str, "metric": str}, optional={"params": dict, "samples": int, "band": dict},
    figures=("training_curve",))


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


def measure(ctx: Context, spec, chosen) -> dict:
    """What ``chosen`` measures on the check's fresh data (remembered: see memo).

    The model is measured on the handout's encoding of the data, and on the
    kind's other encodings where they are worth trying (see ``Encoding``); it
    keeps its best. ``metrics`` and ``figures`` are from that one, and
    ``encoding`` describes it when it is not the handout's, with the metric
    in the handout's encoding as ``handout``.
    """
    options = spec.options
    name, params, samples = options["data"], options.get("params", {}), int(options.get("samples", 2000))
    metric = options["metric"]
    kind = get_kind(name)
    best = max if kind.METRICS.get(metric, True) else min

    def compute() -> dict:
        dataset = ctx.data.get(name, params, samples)

        def attempt(encoding, x):
            predictions = read(kind, ctx.predict(chosen, x))
            return encoding, predictions, kind.score(dataset, predictions)

        tried = [attempt(None, dataset.x)]
        tried += [attempt(encoding, encoding.encode(dataset.x)) for encoding in getattr(kind, "ENCODINGS", ())
                  if encoding.worth_trying(chosen.info.layer_classes, metric, tried[0][2][metric])]
        encoding, predictions, metrics = best(tried, key=lambda tried_one: tried_one[2][metric])  # ties: the handout's
        figure = kind.figure(dataset, predictions, metrics) if hasattr(kind, "figure") else None
        measured = {"metrics": metrics, "figures": [figure] if figure else []}
        if encoding is not None:
            measured["encoding"] = {**encoding.description, "handout": tried[0][2][metric]}
        return measured

    return ctx.remember(chosen, ["measure", name, params, samples, metric, ctx.data.source(name)], compute)


def notes(ctx: Context, chosen, measured: dict, metric: str) -> str:
    """Sentences on how the model was measured when it is not as the handout's model would be."""
    text = ctx.head_note(chosen)
    encoding = measured.get("encoding")
    if encoding:
        text += ctx.say(f" Medido con {encoding['es']}, la entrada que espera; con la entrada del enunciado "
                        f"su {metric} es {encoding['handout']:.4g}.",
                        f" Measured on {encoding['en']}, the input it expects; on the handout's input "
                        f"its {metric} is {encoding['handout']:.4g}.")
    return text


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
        measured = measure(ctx, spec, chosen)
    except Exception as error:
        part.status = "error"
        part.feedback = ctx.say(f"El modelo «{chosen.version.label}» falla con los datos nuevos: {type(error).__name__}: {str(error)[:200]}",
                                f"Model “{chosen.version.label}” fails on the fresh data: {type(error).__name__}: {str(error)[:200]}")
        return part
    metrics = measured["metrics"]
    value = metrics[metric]
    key = f"{question.id}#{question.checks.index(spec)}"
    ctx.measured[key] = value
    part.metrics = {k: v for k, v in metrics.items() if not isinstance(v, list)}
    part.figures = measured["figures"] + training_curve(ctx, chosen)
    where = {"section": "", "before": ctx.say(" (definido antes de la pregunta)", " (defined before the question)"),
             "anywhere": ""}[chosen.where]
    note = notes(ctx, chosen, measured, metric)
    measured = ctx.say(f"«{chosen.version.label}»{where}: {metric} = {value:.4g} con {metrics.get('n_samples', '?')} muestras nuevas.",
                       f"“{chosen.version.label}”{where}: {metric} = {value:.4g} on {metrics.get('n_samples', '?')} fresh samples.")
    measured += note
    band = options.get("band")
    if band is None or spec.points == 0:
        part.status, part.score, part.feedback = "pass", spec.points, measured
        return part
    if ctx.reference is None and "reference_min" in band and not _good_enough(options, value, band["reference_min"]):
        part.status = "error"
        part.feedback = measured + ctx.say(f" La solución de referencia debe llegar a {band['reference_min']}.",
                                           f" The reference solution must reach {band['reference_min']}.")
        return part
    reference, known_from = ctx.reference_value(key, value)
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
        part.feedback += ctx.say(f" Referencia: {reference:.4g}{known_from}.",
                                 f" Reference: {reference:.4g}{known_from}.")
    return part
