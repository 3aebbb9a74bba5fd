"""A number written in an answer (text, LaTeX or an expression)."""
from ..context import Context, Part
from ..numbers import parse_number
from .kind import CheckKind, NUMBER, TEXT

KIND = CheckKind(
    "numeric_answer", "a number written in text, LaTeX or as an expression",
    required={"expected": NUMBER},
    optional={"tolerance": NUMBER, "context": list, "right": TEXT, "wrong": dict})


def _format(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else f"{value:g}"


def run(spec, question, ctx: Context) -> Part:
    options = spec.options
    label = ctx.text(spec.label) or ctx.say("Respuesta", "Answer")
    section = ctx.section(spec)
    if section is None or not section.answer.strip():
        return Part(label, 0, spec.points, "fail", ctx.say(
            f"No se encontró la respuesta: no hay texto tras la etiqueta {question.labels[0]}.",
            f"No answer found: there is no text after the label {question.labels[0]}."))
    value = parse_number(section.answer, tuple(options.get("context", ())))
    part = Part(label, 0, spec.points, "fail", answer=section.answer[:2000])
    if value is None:
        part.feedback = ctx.say("No se encontró ningún número en la respuesta.", "No number was found in the answer.")
        return part
    part.metrics = {"answer": value, "expected": float(options["expected"])}
    if abs(value - float(options["expected"])) <= float(options.get("tolerance", 0)):
        part.score, part.status = spec.points, "pass"
        part.feedback = ctx.text(options.get("right")) or ctx.say("Correcto.", "Right.")
        return part
    explanation = ctx.text(options.get("wrong", {}).get(_format(value)))
    part.feedback = ctx.say(f"Respondiste {_format(value)}. ", f"You answered {_format(value)}. ") + (
        explanation or ctx.say("No es correcto.", "That is not right."))
    return part
