"""The table ``grader check`` prints: one line per question, pytest-style."""
from __future__ import annotations

import shutil
import sys

from ..result import Result
from . import i18n

COLOURS = {"pass": "32", "partial": "33", "fail": "31", "error": "35", "manual": "34"}


def format_table(result: Result, lang: str = "es", color: bool | None = None) -> str:
    color = sys.stdout.isatty() if color is None else color
    width = shutil.get_terminal_size((100, 20)).columns
    paint = (lambda status, text: f"\x1b[{COLOURS.get(status, '0')}m{text}\x1b[0m") if color else (lambda s, text: text)
    id_width = max([len(c.id) for c in result.checks] + [4])
    status_width = max(len(i18n.text(s, lang)) for s in COLOURS)
    lines = []
    for check in result.checks:
        points = f"{check.score:g}/{check.max_score:g}"
        head = f"{check.id:<{id_width}}  {points:>7}  "
        status = f"{i18n.text(check.status, lang):<{status_width}}"
        reason = (check.feedback or "").splitlines()[0] if check.feedback else ""
        room = max(10, width - len(head) - status_width - 3)
        if len(reason) > room:
            reason = reason[:room - 1] + "…"
        lines.append(head + paint(check.status, status) + "  " + reason)
    lines.append(f"{i18n.text('total', lang):<{id_width}}  {result.score:g}/{result.max_score:g}")
    for problem in result.problems:
        lines.append(f"! {problem}")
    for cell in result.execution:
        if cell.status not in ("ok", "skipped"):
            lines.append(f"! {i18n.text('cell', lang)} {cell.index + 1}: {i18n.text(cell.status, lang)}"
                         + (f" — {cell.error_name}: {cell.error_message[:120]}" if cell.error_name else ""))
    if result.sandbox.get("warning"):
        lines.append(f"! {result.sandbox['warning']}")
    return "\n".join(lines)
