"""Kinds of checks. Each module has ``run(spec, question, ctx) -> Part``.

The rubric configures them; a new kind is a new module registered here.
"""
from . import code_runs, free_text, hidden, model_comparison, model_metric, model_probe, model_structure, numeric_answer

KINDS = {
    "numeric_answer": numeric_answer.run,
    "model_structure": model_structure.run,
    "model_probe": model_probe.run,
    "model_metric": model_metric.run,
    "model_comparison": model_comparison.run,
    "free_text": free_text.run,
    "code_runs": code_runs.run,
    "hidden": hidden.run,
}
