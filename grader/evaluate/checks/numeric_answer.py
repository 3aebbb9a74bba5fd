"""A number written in an answer (text, LaTeX or an expression)."""
from ..context import Context, Part
from ..numbers import parse_number
from .kind import NUMBER, TEXT, CheckKind

KIND = CheckKind(
    "numeric_answer", "a number written in text, LaTeX or as an expression",
    required={"expected": NUMBER},
    optional={"tolerance": NUMBER, "context": list, "right": TEXT, "wrong": dict})


def _format(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def run(spec, question, ctx: Context) -> Part:
    options = spec.options
    label = ctx.text(spec.label) or ctx.say("answer.label")
    section = ctx.section(spec)
    if section is None or not section.answer.strip():
        return Part(label, 0, spec.points, "fail", ctx.say("answer.no_answer_after_label",
                                                           label=question.labels[0]))
    value = parse_number(section.answer, tuple(options.get("context", ())))
    part = Part(label, 0, spec.points, "fail", answer=section.answer[:2000])
    if value is None:
        part.feedback = ctx.say("answer.no_number")
        return part
    part.metrics = {"answer": value, "expected": float(options["expected"])}
    if abs(value - float(options["expected"])) <= float(options.get("tolerance", 0)):
        part.score, part.status = spec.points, "pass"
        part.feedback = ctx.text(options.get("right")) or ctx.say("answer.right")
        return part
    explanation = ctx.text(options.get("wrong", {}).get(_format(value)))
    part.feedback = ctx.say("answer.you_answered", value=_format(value)) + (
        explanation or ctx.say("answer.that_is_not_right"))
    return part
