"""The result of grading one submission: the one source of every output.

``result.json`` is written from :class:`Result`; the HTML report, the
gradebook, the terminal table and exit codes are all derived from it.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field
from pathlib import Path

from .atomic import write_text_atomic

STATUSES = ("pass", "partial", "fail", "error", "manual", "hidden")   # hidden: graded after hand-in (a pack)


@dataclass
class CellRun:
    """How one code cell of the notebook ran."""
    index: int                 # position of the cell in the notebook (0-based)
    status: str                # ok | error | skipped | timeout | not_run | killed
    duration: float = 0.0      # seconds
    error_name: str = ""
    error_message: str = ""
    note: str = ""             # e.g. why a line was skipped
    explanation: str = ""      # a failure explained in plain words (grader.harvest.diagnosis)


@dataclass
class Check:
    """One question of the rubric, as graded."""
    id: str
    title: str
    score: float
    max_score: float
    status: str                # one of STATUSES
    feedback: str = ""         # plain words for the student
    metrics: dict = field(default_factory=dict)
    thresholds: dict = field(default_factory=dict)  # e.g. {"exact_accuracy": {"zero": .., "full": ..}}
    model: dict = field(default_factory=dict)       # which model was judged: name, cell, layers
    details: list = field(default_factory=list)     # per part: {"label", "score", "max_score", "status", ...}
    answer: str = ""           # the student's text, for answers and human review
    hints: list = field(default_factory=list)       # keywords seen, for human review
    figures: list = field(default_factory=list)     # {"kind": ..., "data": {...}} drawn by the report
    section: str = ""          # which cells were taken for the question, when the labels left a choice


@dataclass
class Result:
    submission: str
    assignment: str
    score: float
    max_score: float
    seed: int
    checks: list[Check]
    execution: list[CellRun] = field(default_factory=list)
    notebook: str = ""         # path of the submitted file
    sandbox: dict = field(default_factory=dict)     # {"level": "bubblewrap" | ..., "warning": ""}
    # submission-wide messages (invalid JSON, deadline, out of memory, refused model...)
    problems: list = field(default_factory=list)
    data_sources: dict = field(default_factory=dict)
    timings: dict = field(default_factory=dict)     # seconds: execute, evaluate, total
    measured: dict = field(default_factory=dict)     # metric values per check, e.g. {"Q4#0": 1.0}, and on a
    #                                                  larger sample when one was taken: {"Q4#0@12000": 0.998}
    environment: dict = field(default_factory=dict)  # placeholders, backend, Keras 2 names (harvest.environment)
    fingerprint: dict = field(default_factory=dict)  # what the result depends on, for re-use
    # who handed it in and when, from the LMS's file names (grader.intake); the late penalty (grader.late)
    student_id: str = ""
    name: str = ""
    attempt: int = 1
    submitted: str = ""        # ISO 8601 time of the submission, when known
    late: bool = False
    raw_score: float | None = None   # the score before the late penalty
    late_penalty: float = 0.0        # points taken off for late work: raw_score - score

    def to_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict) -> "Result":
        data = dict(data)
        data["checks"] = [Check(**c) for c in data.get("checks", [])]
        data["execution"] = [CellRun(**c) for c in data.get("execution", [])]
        return cls(**data)


def write_json_atomic(path: Path, data) -> None:
    write_text_atomic(Path(path), json.dumps(data, indent=2, ensure_ascii=False))


def load_result(path: Path) -> Result | None:
    """The result saved at ``path``, or None when missing or unreadable."""
    try:
        return Result.from_dict(json.loads(Path(path).read_text(encoding="utf-8")))
    except (OSError, ValueError, TypeError, KeyError):
        return None
