"""How well a model does on fresh data, with points from a band."""
from __future__ import annotations

from ... import bands, i18n
from ..context import Context, Part
from ..data import get_kind, read
from .kind import CheckKind

KIND = CheckKind(
    "model_metric", "a metric on fresh data, points by a band", needs_model=True, calls_model=True,
    required={"data": str, "metric": str}, optional={"params": dict, "samples": int, "band": dict},
    figures=("training_curve",))

MORE = 4  # a measurement whose noise could move the points is made again on this many times the samples


def training_curve(ctx: Context, chosen) -> list[dict]:
    """The model's training history, all its ``fit`` calls end to end."""
    history: dict[str, list] = {}
    for fit in chosen.version.fits:
        for key, values in fit["history"].items():
            history.setdefault(key, []).extend(values)
    if not history:
        return []
    return [{"kind": "training_curve", "title": ctx.say("metric.training_of", label=chosen.version.label),
             "data": {"history": history}}]


def measure(ctx: Context, spec, chosen, samples: int | None = None) -> dict:
    """What ``chosen`` measures on ``samples`` (default: the check's) fresh samples (remembered: see memo).

    The model is measured on the handout's encoding of the data, and on the
    kind's other encodings where they are worth trying (see ``Encoding``); it
    keeps its best. ``metrics``, ``figures`` and ``noise`` (each metric's
    standard error) are from that one, and ``encoding`` describes it when it
    is not the handout's, with the metric in the handout's encoding as
    ``handout``. ``held_out`` is how many unique samples the kind holds, when
    it holds only so many.
    """
    options = spec.options
    name, params = options["data"], options.get("params", {})
    samples = samples or int(options.get("samples", 2000))
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
        measured = {"metrics": metrics, "figures": [figure] if figure else [],
                    "noise": kind.noise(dataset, predictions, metrics), "held_out": dataset.info.get("held_out")}
        if encoding is not None:
            measured["encoding"] = {**encoding.description, "handout": tried[0][2][metric]}
        return measured

    return ctx.remember(chosen, ["measure", name, params, samples, metric, ctx.data.source(name)], compute)


def notes(ctx: Context, chosen, measured: dict, metric: str) -> str:
    """Sentences on how the model was measured when it is not as the handout's model would be."""
    text = ctx.head_note(chosen)
    encoding = measured.get("encoding")
    if encoding:
        text += ctx.say("metric.measured_on_other_encoding", encoding=encoding, metric=metric,
                        handout=encoding["handout"])
    return text


def _good_enough(options: dict, value: float, floor: float) -> bool:
    """Whether the reference's own ``value`` is at least as good as ``floor``."""
    higher_is_better = get_kind(options["data"]).METRICS.get(options["metric"], True)
    return value >= floor if higher_is_better else value <= floor


def more_samples(kind, measured: dict) -> int | None:
    """The size of a second, larger measurement, or None when the kind can give no more samples."""
    n = measured["metrics"]["n_samples"]
    larger = min(MORE * n, kind.MAX_SAMPLES, measured.get("held_out") or kind.MAX_SAMPLES)
    return larger if larger > n else None


def on_samples(ctx: Context, kind, measured: dict) -> str:
    """"measured on N fresh samples", or "on all N held-out digits" when the kind has no more."""
    n = measured["metrics"]["n_samples"]
    if n == measured.get("held_out"):
        name = getattr(kind, "SAMPLE_NAME", None) or i18n.each_language("metric.samples")
        return ctx.say("metric.measured_on_all_held_out", name=name, n=n)
    return ctx.say("metric.measured_on_fresh_samples", n=n)


def run(spec, question, ctx: Context) -> Part:  # long: one straight path (measure, again near an edge, score)
    options = spec.options
    metric = options["metric"]
    kind = get_kind(options["data"])
    label = ctx.text(spec.label) or ctx.say("metric.on_fresh_data", metric=metric)
    chosen = ctx.pick(spec, question)
    if chosen is None:
        return Part(label, 0, spec.points, "fail", ctx.no_model(spec))
    part = Part(label, 0, spec.points, "fail", model=ctx.describe_pick(chosen))
    key = f"{question.id}#{question.checks.index(spec)}"
    band = options.get("band") if spec.points else None
    try:
        measured = measure(ctx, spec, chosen)
        ctx.measured[key] = measured["metrics"][metric]
        larger = more_samples(kind, measured)
        if larger and band and band.get("relative") and ctx.reference is None:
            # the reference on the larger sample too: a student measured on it is compared with it there
            ctx.measured[f"{key}@{larger}"] = measure(ctx, spec, chosen, larger)["metrics"][metric]
    except Exception as error:
        part.status = "error"
        failure = f"{type(error).__name__}: {str(error)[:200]}"
        part.feedback = ctx.say("metric.model_fails_on_fresh_data", label=chosen.version.label, failure=failure)
        return part
    value = measured["metrics"][metric]
    where = {"section": "", "before": ctx.say("metric.defined_before_the_question"),
             "anywhere": ""}[chosen.where]
    named = ctx.say("metric.model_named", label=chosen.version.label, where=where)
    if band is None:
        part.status, part.score = "pass", spec.points
        _describe(part, ctx, chosen, kind, metric, measured, named)
        return part
    if ctx.reference is None and "reference_min" in band and not _good_enough(options, value, band["reference_min"]):
        part.status = "error"
        _describe(part, ctx, chosen, kind, metric, measured, named)
        part.feedback += ctx.say("metric.reference_must_reach", reference_min=band["reference_min"])
        return part
    reference, known_from = ctx.reference_value(key, value)
    try:
        bounds = bands.resolve(band, reference)
    except ValueError:
        part.status = "error"
        _describe(part, ctx, chosen, kind, metric, measured, named)
        part.feedback += ctx.say("metric.reference_has_no_value")
        return part
    comparable = ctx.reference is None or not band.get("relative") or f"{key}@{larger}" in ctx.reference
    first, retry_failed = None, ""
    noise = measured["noise"][metric]
    if larger and comparable and bands.too_close_to_call(value, noise, bounds["zero"], bounds["full"]):
        try:
            first, measured = measured, measure(ctx, spec, chosen, larger)
        except Exception as error:  # e.g. out of memory on the larger sample: the first measurement stands
            retry_failed = ctx.say("metric.larger_sample_failed", larger=larger, error_type=type(error).__name__)
        else:
            value = ctx.measured[f"{key}@{larger}"] = measured["metrics"][metric]
            if ctx.reference is not None and band.get("relative"):  # compared with the reference on that sample
                reference = ctx.reference[f"{key}@{larger}"]
            bounds = bands.resolve(band, value if ctx.reference is None else reference)
    part.thresholds = {metric: bounds}
    share = bands.fraction(value, bounds["zero"], bounds["full"])
    part.score = round(spec.points * share, 3)
    part.status = "pass" if share == 1 else "partial" if share > 0 else "fail"
    _describe(part, ctx, chosen, kind, metric, measured, named, first)
    part.feedback += retry_failed
    verdict = {"pass": ctx.say("metric.reaches_level"),
               "partial": ctx.say("metric.partial_credit"),
               "fail": ctx.say("metric.below_minimum")}[part.status]
    part.feedback += verdict + f" ({bounds['zero']:.3g} → 0, {bounds['full']:.3g} → {spec.points:g})."
    if "reference" in bounds:
        part.feedback += ctx.say("metric.reference_value", reference=bounds["reference"], known_from=known_from)
    return part


def _describe(part: Part, ctx: Context, chosen, kind, metric: str, measured: dict, named: str,
              first: dict | None = None) -> None:
    """The part's metrics, figures and first sentences, from the measurement that decides it; ``first`` is
    the smaller one it replaced."""
    metrics = measured["metrics"]
    part.metrics = {k: v for k, v in metrics.items() if not isinstance(v, list)}
    part.metrics["standard_error"] = measured["noise"][metric]
    part.figures = measured["figures"] + training_curve(ctx, chosen)
    text = named + f"{metric} = {metrics[metric]:.4g}, " + on_samples(ctx, kind, measured)
    if first is not None:
        was = f"{first['metrics'][metric]:.4g} ± {first['noise'][metric]:.2g}"
        text += ctx.say("metric.measured_close_to_edge", n_samples=first["metrics"]["n_samples"], was=was)
    part.feedback = text + "." + notes(ctx, chosen, measured, metric)
