"""What a model is: its signature, output activation and hidden layer."""
from ..context import Context, Part


def run(spec, question, ctx: Context) -> Part:
    options = spec.options
    label = ctx.text(spec.label) or ctx.say("Estructura del modelo", "Model structure")
    chosen = ctx.pick(spec, question)
    if chosen is None:
        return Part(label, 0, spec.points, "fail", ctx.no_model(spec))
    info = chosen.info
    part = Part(label, spec.points, spec.points, "pass", model=ctx.describe_pick(chosen))
    notes = [ctx.say(f"Modelo «{chosen.version.label}»: {info.summary()}.",
                     f"Model “{chosen.version.label}”: {info.summary()}.")]
    share = 1.0
    wanted = options.get("output_activation")
    if wanted and info.output_activation != wanted:
        partial = options.get("partial_activations", {}).get(info.output_activation)
        if partial:
            share = min(share, float(partial.get("fraction", 0)))
            notes.append(ctx.text(partial))
        else:
            share = 0.0
            notes.append(ctx.say(f"La activación de salida es {info.output_activation}; se esperaba {wanted}.",
                                 f"The output activation is {info.output_activation}; {wanted} was expected."))
    hidden = options.get("hidden")
    if hidden:
        layers = [layer for layer in info.layers if layer.get("units")][:-1]
        first = layers[0] if layers else {}
        if first.get("units") != hidden.get("units", first.get("units")) or \
                (first.get("activation") or "linear") != hidden.get("activation", first.get("activation") or "linear"):
            share = min(share, float(hidden.get("fraction", 0.5)))
            notes.append(ctx.say(
                f"La capa oculta es {first.get('units')} {first.get('activation')}; se pedía {hidden.get('units')} {hidden.get('activation')}.",
                f"The hidden layer is {first.get('units')} {first.get('activation')}; {hidden.get('units')} {hidden.get('activation')} was asked for."))
    part.score = round(spec.points * share, 3)
    part.status = "pass" if share == 1 else "partial" if share > 0 else "fail"
    part.metrics = {"output_activation": info.output_activation}
    part.feedback = " ".join(notes)
    return part
