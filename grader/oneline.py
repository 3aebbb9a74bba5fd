"""A message on one line of a terminal or a log: whitespace collapsed, cut with an ellipsis when too long."""
from __future__ import annotations


def one_line(text: str, width: int) -> str:
    """``text`` in at most ``width`` characters; a cut one ends with "…", after a whole word when one ends
    in the second half of the line."""
    text = " ".join(text.split())
    if len(text) <= width:
        return text
    cut = text[:max(1, width - 1)]
    if text[len(cut)] != " " and cut.rfind(" ") > width // 2:  # the cut falls inside a word: drop that word
        cut = cut[:cut.rfind(" ")]
    return cut.rstrip() + "…"
