"""The table ``grader check`` prints: one line per question, then one per problem, pytest-style."""
from __future__ import annotations

import os
import shutil
import sys

from .. import i18n
from ..oneline import one_line
from ..result import Result
from .summary import pending

ANSI = {"pass": "32", "partial": "33", "fail": "31", "error": "35", "manual": "34", "hidden": "37", "problem": "31;1"}


def format_table(result: Result, lang: str = "es", color: bool | None = None) -> str:
    """One row per check (id, points, status, first line of feedback), the total, then problems and failed cells."""
    if color is None:
        color = sys.stdout.isatty() and "NO_COLOR" not in os.environ
    width = shutil.get_terminal_size((100, 24)).columns

    def paint(kind: str, text: str) -> str:
        return f"\x1b[{ANSI.get(kind, '0')}m{text}\x1b[0m" if color else text

    id_width = max([len(c.id) for c in result.checks] + [len(i18n.text("total", lang))])
    points = [f"{c.score:g}/{c.max_score:g}" for c in result.checks]
    total = f"{result.score:g}/{result.max_score:g}"
    points_width = max(len(p) for p in points + [total])
    status_width = max([len(i18n.text(c.status, lang)) for c in result.checks] + [1])
    lines = []
    for check, score in zip(result.checks, points):
        head = f"{check.id:<{id_width}}  {score:>{points_width}}  "
        reason = next(iter((check.feedback or "").strip().splitlines()), "")
        room = width - len(head) - status_width - 3  # one column spare: no wrap at the exact width
        line = head + paint(check.status, f"{i18n.text(check.status, lang):<{status_width}}")
        lines.append((line + "  " + one_line(reason, room)).rstrip() if room > 10 else line)
    waiting = pending(result)
    lines.append(f"{i18n.text('total', lang):<{id_width}}  {total:>{points_width}}"
                 + (f"  ({i18n.awaiting(waiting, lang)})" if waiting else ""))
    messages = ([result.sandbox["warning"]] if result.sandbox.get("warning") else []) + list(result.problems)
    messages += [f"{i18n.text('cell', lang)} {cell.index + 1}: {i18n.text(cell.status, lang)}"
                 + (f" — {cell.error_name}: {cell.error_message}" if cell.error_name else "")
                 for cell in result.execution if cell.status not in ("ok", "skipped")]
    lines += [paint("problem", "!") + " " + one_line(message, width - 2) for message in messages]
    return "\n".join(lines)
