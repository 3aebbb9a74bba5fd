"""Progress of a batch in the terminal.

On a terminal: a status line per running submission (current cell and how
long it has run), done/total and the estimated time left. Without one (CI,
logs): one line per finished submission and per slow or failing cell.
"""
from __future__ import annotations

import sys
import threading
import time

from .oneline import one_line

SLOW_CELL = 5.0     # seconds; quicker cells are not worth a line in a log
PROBLEM_WIDTH = 80  # characters of a finished submission's first problem; the report has it whole


class Progress:
    def __init__(self, total: int, stream=None):
        self.total, self.done = total, 0
        self.stream = stream or sys.stderr
        self.tty = self.stream.isatty()
        self.started = time.monotonic()
        self.running: dict[str, dict] = {}
        self.lock = threading.Lock()
        self._drawn = 0
        self.reused = 0     # finished without running anything: they say nothing about time left
        if self.tty:  # the running times tick even while no event arrives
            threading.Thread(target=self._tick, name="grader-progress", daemon=True).start()

    def _tick(self) -> None:
        while True:
            time.sleep(1.0)
            with self.lock:
                if self.running:
                    self._draw()

    def note(self, text: str) -> None:
        """A message of the batch's own, printed above the status lines."""
        with self.lock:
            self._line(text)
            self._draw()

    def event(self, event: dict) -> None:
        with self.lock:
            name = event.get("submission", "")
            kind = event.get("event")
            state = self.running.setdefault(name, {"cell": None, "since": time.monotonic()})
            if kind == "reused":
                state["reused"] = True
            if kind == "cell":
                state.update(cell=event["cell"], since=time.monotonic())
            elif kind == "cell_done" and not self.tty:
                if event["seconds"] >= SLOW_CELL or event["status"] not in ("ok", "skipped"):
                    self._line(f"  {name}: cell {event['cell'] + 1} {event['status']} in {event['seconds']:.1f} s")
            elif kind == "reused_execution" and not self.tty:
                self._line(f"  {name}: notebook already run (saved execution re-used), evaluating")
            elif kind == "evaluate":
                state.update(cell="eval", since=time.monotonic())
            self._draw()

    def finished(self, name: str, text: str, problem: str = "") -> None:
        """The line of a finished submission: its points, and the start of its first problem, if any."""
        with self.lock:
            state = self.running.pop(name, None) or {}
            self.done += 1
            self.reused += bool(state.get("reused"))
            if problem:
                text += f"  ({one_line(problem, PROBLEM_WIDTH)})"
            note = " — unchanged, result re-used" if state.get("reused") else ""
            self._line(f"[{self.done}/{self.total}] {name}: {text}{note}{self._eta()}")
            self._draw()

    def forget(self, name: str) -> None:
        """Stop showing ``name`` (work outside the count, such as the reference solution)."""
        with self.lock:
            self.running.pop(name, None)
            self._draw()

    def _eta(self) -> str:
        graded = self.done - self.reused
        if not graded or self.done == self.total:
            return ""
        left = (time.monotonic() - self.started) / graded * (self.total - self.done)
        return f"  (about {left / 60:.0f} min left)" if left >= 60 else f"  (about {left:.0f} s left)"

    def _line(self, text: str) -> None:
        self._clear()
        print(text, file=self.stream, flush=True)

    def _clear(self) -> None:
        if self.tty and self._drawn:
            self.stream.write("\x1b[1A\x1b[2K" * self._drawn)
            self._drawn = 0

    def _draw(self) -> None:
        if not self.tty:
            return
        self._clear()
        now = time.monotonic()
        lines = []
        for name, state in list(self.running.items())[:8]:
            where = "evaluating" if state["cell"] == "eval" else \
                f"cell {state['cell'] + 1}" if isinstance(state["cell"], int) else "starting"
            lines.append(f"  … {name}: {where} ({now - state['since']:.0f} s)")
        lines.append(f"  {self.done}/{self.total} done{self._eta()}")
        self.stream.write("\n".join(lines) + "\n")
        self.stream.flush()
        self._drawn = len(lines)
