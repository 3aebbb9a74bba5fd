"""manual_scores.csv as the review page edits it, and the page's own small state (flags, aliases).

A save holds a lock (``flock``: other threads and other servers on the same
output folder wait), reads the file again, refuses when the row changed since
the reviewer read it (its version, a digest of its content, came with the
form), and writes the whole file atomically: a reader, or a server killed
at any moment, sees the old file or the new one. Rows and columns the page
does not know are kept as they are.
"""
from __future__ import annotations

import csv
import fcntl
import hashlib
import hmac
import io
import json
import secrets
from contextlib import contextmanager
from pathlib import Path

from ..atomic import write_text_atomic
from ..batch import BatchError, reviewed_part, safe_id

COLUMNS = ["submission", "question", "part", "points", "comment", "reviewer"]


class Conflict(Exception):
    """The row changed since the reviewer read it; ``row`` is what it is now (None: removed)."""

    def __init__(self, row: dict | None):
        super().__init__("the row changed since it was read")
        self.row = row


def version(row: dict | None) -> str:
    """A short digest of what a row says (points, comment, reviewer); empty when there is no row."""
    if row is None:
        return ""
    said = [(row.get(column) or "").strip() for column in ("points", "comment", "reviewer")]
    return hashlib.sha256(json.dumps(said).encode()).hexdigest()[:16]


@contextmanager
def locked(path: Path):
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a") as handle:
        fcntl.flock(handle, fcntl.LOCK_EX)
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


class Sheet:
    """The rows of ``path`` keyed by (submission, question, part), as read_manual_scores reads them."""

    def __init__(self, path: Path, rubric, lock: Path):
        self.path, self.lock = Path(path), Path(lock)
        self.questions = {q.id: q for q in rubric.questions}

    def _read(self) -> tuple[list[str], list[dict]]:
        if not self.path.is_file():
            return list(COLUMNS), []
        try:
            with self.path.open(encoding="utf-8", newline="") as handle:
                reader = csv.DictReader(handle)
                return list(reader.fieldnames or COLUMNS), list(reader)
        except (OSError, UnicodeDecodeError, csv.Error) as error:
            raise BatchError(f"{self.path}: cannot be read: {error}") from None

    def key(self, row: dict) -> tuple[str, str, str] | None:
        question = self.questions.get((row.get("question") or "").strip())
        if question is None:
            return None
        return safe_id((row.get("submission") or "").strip()), question.id, reviewed_part(row.get("part"), question)

    def rows(self) -> dict[tuple[str, str, str], dict]:
        """The row in force for each key: the last one, as for read_manual_scores."""
        return {key: row for row in self._read()[1] if (key := self.key(row)) is not None}

    def comments(self, question: str, part: str) -> list[str]:
        """The comments given so far in this question's part, the most used first."""
        counts: dict[str, int] = {}
        for (_, qid, kind), row in self.rows().items():
            comment = (row.get("comment") or "").strip()
            if comment and (qid, kind) == (question, part):
                counts[comment] = counts.get(comment, 0) + 1
        return sorted(counts, key=lambda comment: -counts[comment])

    def save(self, key: tuple[str, str, str], read_version: str, points: str | None, comment: str = "",
             reviewer: str = "") -> None:
        """Write the row of ``key`` (``points`` None: remove it), unless it changed since ``read_version``."""
        with locked(self.lock):
            columns, rows = self._read()
            mine = [index for index, row in enumerate(rows) if self.key(row) == key]
            current = rows[mine[-1]] if mine else None
            if version(current) != read_version:
                raise Conflict(current)
            if points is None:
                rows = [row for index, row in enumerate(rows) if index not in mine]
            else:
                row = {"submission": key[0], "question": key[1], "part": key[2], "points": points,
                       "comment": comment, "reviewer": reviewer}
                if current is None:
                    rows.append(row)
                else:
                    current.update(row)
            columns += [column for column in COLUMNS if column not in columns]
            buffer = io.StringIO()
            writer = csv.DictWriter(buffer, columns, restval="", extrasaction="ignore", lineterminator="\n")
            writer.writeheader()
            writer.writerows(rows)
            write_text_atomic(self.path, buffer.getvalue())


class Flags:
    """Submissions marked for another look, kept in a JSON file."""

    def __init__(self, path: Path, lock: Path):
        self.path, self.lock = Path(path), Path(lock)

    def get(self) -> dict[str, str]:
        """submission -> who flagged it."""
        try:
            flags = json.loads(self.path.read_text(encoding="utf-8"))
            return {str(sid): str(by) for sid, by in flags.items()} if isinstance(flags, dict) else {}
        except (OSError, ValueError):
            return {}

    def set(self, sid: str, flagged: bool, by: str = "") -> None:
        with locked(self.lock):
            flags = self.get()
            if flagged:
                flags[sid] = by
            else:
                flags.pop(sid, None)
            write_text_atomic(self.path, json.dumps(flags, indent=1, ensure_ascii=False))


def aliases(sids, secret_file: Path, lock: Path) -> dict[str, str]:
    """A stable alias for each submission, which tells nothing of who it is: a keyed digest of its id.

    The key is made once per output folder and kept in ``secret_file``, so aliases and the order they give
    (the page's order of students) stay across restarts and are the same for every reviewer.
    """
    with locked(lock):
        try:
            key = secret_file.read_text().strip()
        except OSError:
            key = ""
        if len(key) < 32:
            key = secrets.token_hex(32)
            write_text_atomic(secret_file, key)
    digests = {sid: hmac.new(key.encode(), sid.encode(), "sha256").hexdigest() for sid in sids}
    for length in range(6, 65):  # as short as keeps them apart
        short = {sid: digest[:length] for sid, digest in digests.items()}
        if len(set(short.values())) == len(short):
            return short
    return digests
