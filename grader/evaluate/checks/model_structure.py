"""What a model is: its signature, output activation and hidden layer."""
from ..context import Context, Part
from .kind import CheckKind

KIND = CheckKind(
    "model_structure", "the model's output activation and hidden layer", needs_model=True,
    optional={"output_activation": str, "partial_activations": dict, "hidden": dict})


def run(spec, question, ctx: Context) -> Part:
    options = spec.options
    label = ctx.text(spec.label) or ctx.say("structure.label")
    chosen = ctx.pick(spec, question)
    if chosen is None:
        return Part(label, 0, spec.points, "fail", ctx.no_model(spec))
    info = chosen.info
    part = Part(label, spec.points, spec.points, "pass", model=ctx.describe_pick(chosen))
    notes = [ctx.say("structure.model_summary", label=chosen.version.label, summary=info.summary())]
    share = 1.0
    wanted = options.get("output_activation")
    if wanted and info.output_activation != wanted:
        partial = options.get("partial_activations", {}).get(info.output_activation)
        if partial:
            share = min(share, float(partial.get("fraction", 0)))
            notes.append(ctx.text(partial))
        else:
            share = 0.0
            notes.append(ctx.say("structure.other_output_activation", output_activation=info.output_activation,
                                 wanted=wanted))
    hidden = options.get("hidden")
    if hidden:
        sizes = [layer["units"] for layer in info.layers if layer.get("units")][:-1]
        units, activation = (sizes[0], info.hidden_activations[0]) if sizes else (None, None)
        if units is None or units != hidden.get("units", units) or activation != hidden.get("activation", activation):
            share = min(share, float(hidden.get("fraction", 0.5)))
            asked = f"{hidden.get('units', '')} {hidden.get('activation', '')}".strip()
            notes.append(ctx.say("structure.other_hidden_layer", units=units, activation=activation,
                                 asked=asked) if sizes else
                         ctx.say("structure.no_hidden_layer", asked=asked))
    part.score = round(spec.points * share, 3)
    part.status = "pass" if share == 1 else "partial" if share > 0 else "fail"
    part.metrics = {"output_activation": info.output_activation}
    part.feedback = " ".join(notes)
    return part
