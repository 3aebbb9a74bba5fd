"""A hidden check, as a student pack shows it: its title and points only; it is graded after hand-in."""
from ..context import Context, Part
from .kind import CheckKind

KIND = CheckKind("hidden", "a hidden check in a student pack: its title and points only", pack_only=True)


def run(spec, question, ctx: Context) -> Part:
    return Part(ctx.text(spec.label) or ctx.text(question.title), 0, spec.points, "hidden",
                ctx.say("hidden.graded_after_hand_in"))
