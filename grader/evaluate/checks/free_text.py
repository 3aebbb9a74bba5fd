"""A written explanation: a person grades it; the grader points at key ideas.

Keyword hints only help the reviewer; they never award points.
"""
from __future__ import annotations

import unicodedata

from ..context import Context, Part
from .kind import CheckKind

KIND = CheckKind(
    "free_text", "a written explanation, for human review", human_review=True,
    optional={"keywords": dict, "min_words": int})


def _plain(text: str) -> str:
    return "".join(c for c in unicodedata.normalize("NFD", text.lower()) if unicodedata.category(c) != "Mn")


def run(spec, question, ctx: Context) -> Part:
    label = ctx.text(spec.label) or ctx.say("free_text.label")
    section = ctx.section(spec)
    answer = section.answer.strip() if section else ""
    part = Part(label, 0, spec.points, "manual", answer=answer[:4000])
    if len(answer.split()) < int(spec.options.get("min_words", 3)):
        part.status = "fail"
        part.feedback = ctx.say("free_text.no_explanation")
        return part
    plain = _plain(answer)
    for concept, words in spec.options.get("keywords", {}).items():
        hits = [word for word in words if _plain(word) in plain]
        found = f" ({', '.join(hits)})" if hits else ""
        part.hints.append(("✓ " if hits else "✗ ") + concept.replace("_", " ") + found)
    part.feedback = ctx.say("free_text.awaiting_review")
    return part
