"""Which parts of a student's code cell may run.

Shell escapes and package installs never reach the kernel: ``!cmd``,
``%pip``/``%conda``/``%system``/``%sx``, a bare ``pip install`` line (which
IPython's automagic would run), and whole cells under a shell cell magic
(``%%bash``, ``%%sh``, ``%%script``, ``%%system``). Colab's
``%tensorflow_version 2.x`` is skipped too: IPython does not know it, and
would skip the rest of its cell. The line is replaced by ``pass`` so
indentation and line numbers stay as the student wrote them.
"""
from __future__ import annotations

import re

SHELL_CELL_MAGICS = ("%%bash", "%%sh", "%%script", "%%system", "%%perl", "%%ruby")
_SKIPPED_LINE = re.compile(r"^(?P<indent>\s*)(?P<code>(!|%(pip|conda|mamba|system|sx|sc|tensorflow_version)\b"
                           r"|(pip3?|conda|apt(-get)?)\s+install\b).*)$")
_ASSIGNED_ESCAPE = re.compile(r"^(?P<indent>\s*)(?P<code>[\w.]+\s*=\s*(!|%(sx|system)\b).*)$")


def sanitize(source: str) -> tuple[str, list[str]]:
    """Return the source that may run and the lines that were skipped."""
    stripped = source.lstrip()
    if stripped.startswith(SHELL_CELL_MAGICS):
        first_line = stripped.splitlines()[0]
        return "pass", [first_line + " (whole cell)"]
    kept, skipped = [], []
    for line in source.splitlines():
        match = _SKIPPED_LINE.match(line) or _ASSIGNED_ESCAPE.match(line)
        if match:
            skipped.append(match["code"].strip())
            kept.append(f"{match['indent']}pass")
        else:
            kept.append(line)
    return "\n".join(kept), skipped
