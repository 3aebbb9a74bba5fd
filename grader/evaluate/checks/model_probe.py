"""Call a model on a given input and check the shape (and values) it returns.

With ``data``, the outputs are read as that kind of data reads them (a
two-class softmax as the probability of class 1), so any model the kind can
score answers in the handout's shape.
"""
import numpy as np

from ..context import Context, Part
from ..data import get_kind, read
from .kind import NUMBER, CheckKind

KIND = CheckKind(
    "model_probe", "the model called on a given input", needs_model=True, calls_model=True,
    required={"input": list, "output_shape": list},
    optional={"expected_rounded": list, "expected": (list, int, float), "tolerance": NUMBER, "data": str})


def run(spec, question, ctx: Context) -> Part:
    options = spec.options
    label = ctx.text(spec.label) or ctx.say("probe.label")
    chosen = ctx.pick(spec, question)
    if chosen is None:
        return Part(label, 0, spec.points, "fail", ctx.no_model(spec))
    part = Part(label, 0, spec.points, "fail", model=ctx.describe_pick(chosen))
    try:
        output = np.asarray(ctx.remember(chosen, ["probe", options["input"]], lambda: ctx.predict(
            chosen, np.asarray(options["input"], dtype=np.float32))), dtype=np.float32)
        if "data" in options:
            output = np.asarray(read(get_kind(options["data"]), output), dtype=np.float32)
    except Exception as error:
        part.status = "error"
        part.feedback = ctx.say("probe.model_fails_on_input", error_type=type(error).__name__,
                                error=str(error)[:200])
        return part
    shape, wanted = list(output.shape), list(options["output_shape"])
    part.metrics = {"output_shape": shape}
    if shape != wanted:
        part.feedback = ctx.say("probe.other_output_shape", shape=tuple(shape), wanted=tuple(wanted))
        return part
    expected = options.get("expected_rounded")
    if expected is not None:
        got = (output >= 0.5).astype(int).reshape(-1).tolist()
        part.metrics["predicted"] = got
        if got != list(np.asarray(expected).reshape(-1)):
            part.feedback = ctx.say("probe.predicts_other_classes", got=got, expected=expected)
            part.feedback += ctx.head_note(chosen)
            return part
    if "expected" in options:
        values = [round(float(v), 4) for v in output.reshape(-1)]
        part.metrics["predicted"] = values
        tolerance = float(options.get("tolerance", 0))
        if np.any(np.abs(output.reshape(-1) - np.asarray(options["expected"], dtype=float).reshape(-1)) > tolerance):
            part.feedback = ctx.say("probe.predicts_other_values", values=values, expected=options["expected"],
                                    tolerance=tolerance)
            part.feedback += ctx.head_note(chosen)
            return part
    part.score, part.status = spec.points, "pass"
    part.feedback = ctx.say("probe.expected_output_shape", shape=tuple(shape))
    if "predicted" in part.metrics:
        part.feedback += ctx.say("probe.and_predicts_as_expected", predicted=part.metrics["predicted"])
    part.feedback += "." + ctx.head_note(chosen)
    return part
