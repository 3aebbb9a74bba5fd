"""What a check kind declares about itself: its rubric keys and what the pipeline must know of it.

Every check module has one ``KIND = CheckKind(...)`` and one ``run(spec, question, ctx) -> Part``; the rubric
is validated against the declarations (:func:`grader.rubric.build`), and batch, grade and the report ask them
instead of knowing kinds by name.
"""
from __future__ import annotations

from dataclasses import dataclass, field

NUMBER = (int, float)
TEXT = (str, dict)          # plain, or {"es": .., "en": ..}
# keys every check takes, and those of a check that judges a model
COMMON_KEYS = {"kind": str, "points": NUMBER, "label": TEXT, "section": str, "visibility": str}
MODEL_KEYS = {"model": str, "exclude": list, "only_in_section": bool}


@dataclass(frozen=True)
class CheckKind:
    name: str
    judges: str                                     # what it judges, in a few words (the README's table)
    required: dict = field(default_factory=dict)    # key -> the type (or tuple of types) its value must have
    optional: dict = field(default_factory=dict)
    needs_model: bool = False       # picks a model with the rubric's ``model`` selector (so Keras is needed)
    calls_model: bool = False       # calls the model it picks on data (not only describes it); needs_model too
    human_review: bool = False      # its points come from the instructor (manual_scores.csv, part ``text``)
    figures: tuple = ()             # figure kinds it draws itself (report.figures); data kinds add theirs
    pack_only: bool = False         # exists only in a student pack's rubric (a hidden check)

    @property
    def keys(self) -> dict:
        """Every key a check of this kind may have, with its type."""
        model_keys = {**MODEL_KEYS} if self.needs_model else {}
        return {**COMMON_KEYS, **model_keys, **self.required, **self.optional}

    @property
    def required_keys(self) -> set:
        return set(self.required) | ({"model"} if self.needs_model else set())

    def problems(self, check: dict) -> list[tuple[str, str]]:
        """(key, problem) for every way ``check`` (a rubric's table) breaks this declaration, first first."""
        found = [(key, f"required for kind {self.name!r}") for key in sorted(self.required_keys - set(check))]
        found += [(key, f"unknown key for kind {self.name!r} (known: {', '.join(sorted(self.keys))})")
                  for key in sorted(set(check) - set(self.keys))]
        for key, value in check.items():
            wanted = self.keys.get(key)
            if wanted and (not isinstance(value, wanted) or (isinstance(value, bool) and bool not in _types(wanted))):
                found.append((key, f"{value!r} is not {_describe(wanted)}"))
        return found


def _types(wanted) -> tuple:
    return wanted if isinstance(wanted, tuple) else (wanted,)


def _describe(wanted) -> str:
    names = {int: "a number", float: "a number", str: "a text", dict: "a table", list: "a list", bool: "true or false"}
    return " or ".join(dict.fromkeys(names[kind] for kind in _types(wanted)))
