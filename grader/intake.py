"""Intake: what an LMS hands over, as one file to grade per student.

A layout says how file names tell the student: ``flat`` (``<id>.ipynb``),
``folders`` (``<id>/<anything>``), ``canvas`` and ``moodle`` (their
"download all submissions", as a folder or as the zip itself), or
``regex:PATTERN`` with nbgrader's named groups. ``auto`` takes Canvas or
Moodle when most files are named their way, else the rules of
:func:`grader.batch.find_submissions`. Under a layout that names students,
each student gets exactly one submission: the latest attempt is graded,
every other file is named in a note, and a student with no notebook still
gets one (graded zero, saying what was handed in).
"""
from __future__ import annotations

import csv
import json
import os
import re
import shutil
import stat
import time
import unicodedata
import zipfile
import zlib
from dataclasses import dataclass, field
from datetime import datetime, timezone
from pathlib import Path, PurePosixPath

from .batch import MANUAL_SCORES, BatchError, find_submissions, safe_id
from .i18n import LANGS, each_language, text

EXTENSIONS = "extensions.csv"
LAYOUTS = ("auto", "flat", "folders", "canvas", "moodle")
GROUPS = ("student_id", "file_id", "first_name", "last_name", "email", "timestamp", "late", "attempt")
MAX_ZIP_BYTES = 4 * 1024**3
MAX_ZIP_FILES = 10_000
NOTEBOOK_SNIFF_BYTES = 64 * 1024**2  # a renamed file larger than this is not read to see if it is a notebook

# Canvas, lib/content_zipper.rb (instructure/canvas-lms): "<sortable name, lower case, word characters only>
# [_LATE]_<user id, or anon_<id> when grading is anonymous>_<attachment id>_<file name>"; a file uploaded
# again under the same name is stored as "<name>-1.<ext>", then "-2"...
CANVAS = re.compile(r"(?:(?!(?i:late)_|anon_)(?P<name>[^\W_]+)_)?(?:(?P<late>(?i:late))_)?"
                    r"(?P<student_id>anon_[^\W_]+|\d+)_(?P<order>\d+)_(?P<file_id>[^/]+)\Z")
# Moodle, mod/assign/classes/downloader.php (moodle/moodle): "<Full Name>_<participant id>_assignsubmission_
# <plugin>" as each student's folder (Moodle >= 4.1; "..._<plugin>_/" before), or before each file name when
# "Download submissions in folders" is off; "_" in the full name becomes a space.
MOODLE = re.compile(r"(?P<name>[^/_]*)_(?P<student_id>\d+)_assignsubmission_[a-z]+(?:_?/|_)(?P<file_id>.+)\Z")
RESUBMITTED = re.compile(r"(?P<stem>.+)-(?P<number>\d+)(?P<suffix>\.[^.]*)?")


def check_layout(text: str) -> str:
    """``--layout``: a known layout, or ``regex:PATTERN`` whose pattern compiles and names student_id and file_id."""
    if text in LAYOUTS:
        return text
    if not text.startswith("regex:"):
        raise ValueError(f"{text!r} is not one of {', '.join(LAYOUTS)} or regex:PATTERN")
    try:
        pattern = re.compile(text[len("regex:"):])
    except re.error as error:
        raise ValueError(f"{text!r}: not a regular expression: {error}") from None
    missing = [group for group in ("student_id", "file_id") if group not in pattern.groupindex]
    if missing:
        raise ValueError(f"{text!r}: needs the named groups student_id and file_id, as nbgrader's "
                         f"(?P<student_id>...)(?P<file_id>...); missing {', '.join(missing)}")
    return text


@dataclass
class Submission:
    """One student's hand-in: the file to grade, and what the LMS's names said about it."""
    id: str                        # the output folder's name and the gradebook's ``submission``
    path: Path
    student_id: str = ""
    name: str = ""
    late: bool | None = None       # the LMS's own flag, when its names carry one
    attempt: int = 1
    submitted: str = ""            # ISO 8601, when the names carry a time
    notes: list[dict] = field(default_factory=list)   # {lang: words} (i18n.each_language), for the report

    def intake(self, extra_hours: float = 0.0) -> dict:
        """What the grading job carries to :func:`grader.late.stamp` (and into its evaluation key)."""
        return {"student_id": self.student_id, "name": self.name, "late": self.late, "attempt": self.attempt,
                "submitted": self.submitted, "extra_hours": extra_hours, "notes": self.notes}


@dataclass
class Intake:
    layout: str                    # the layout used (``auto`` only when none was recognised)
    submissions: dict[str, Submission]
    unmatched: list[str]           # files the layout does not name: not graded


@dataclass
class _File:
    path: Path
    label: str                     # the student's own file name, for notes
    student_id: str = ""
    name: str = ""
    late: bool | None = None
    attempt: int | None = None
    timestamp: datetime | None = None
    order: int = 0                 # the LMS's file number (Canvas): a later upload has a larger one
    notes: list = field(default_factory=list)

    def recency(self) -> tuple:
        when = self.timestamp.timestamp() if self.timestamp else 0.0
        return self.attempt or 1, when, self.order, self.path.stat().st_mtime


def open_submissions(path: Path, out: Path) -> Path:
    """The folder of submissions: ``path`` itself, or the folder its zip is extracted to, under ``out``.

    The extraction is kept (``out/.grader/submissions/<zip name>``) and re-used
    while the zip's size and time are unchanged.
    """
    if path.is_dir():
        return path
    if not path.exists():
        raise BatchError(f"{path}: no such folder")
    if not zipfile.is_zipfile(path):
        raise BatchError(f"{path}: " + ("not a folder or a zip file (to grade one notebook, use grader check)"
                                        if path.suffix.lower() != ".zip" else "not a valid zip file"))
    target = out / ".grader" / "submissions" / safe_id(path.stem)
    info = path.stat()
    stamp = f"{info.st_size} {info.st_mtime_ns}"
    marker = target / ".grader-zip"
    if marker.is_file() and marker.read_text() == stamp:
        return target
    partial = target.with_name(f".{target.name}.partial")
    try:
        shutil.rmtree(partial, ignore_errors=True)
        extract(path, partial)
        (partial / ".grader-zip").write_text(stamp)
        shutil.rmtree(target, ignore_errors=True)
        partial.rename(target)
    except OSError as error:
        shutil.rmtree(partial, ignore_errors=True)
        raise BatchError(f"{path}: cannot be extracted into {out}: {error.strerror or error}") from None
    except BatchError:
        shutil.rmtree(partial, ignore_errors=True)
        raise
    return target


def extract(path: Path, target: Path, max_bytes: int = MAX_ZIP_BYTES, max_files: int = MAX_ZIP_FILES) -> None:
    """Extract the zip at ``path`` into the new folder ``target``, refusing what could escape or overflow it.

    An entry that climbs out of the folder (``..``, an absolute path), a link
    or any other special file, an encrypted entry, more than ``max_files``
    files or more than ``max_bytes`` written (counted as written, not as the
    zip declares) refuse the whole zip: a one-line error naming it.
    """
    def refuse(problem: str):
        raise BatchError(f"{path}: {problem}; nothing was graded")

    try:
        with zipfile.ZipFile(path) as archive:
            entries = [info for info in archive.infolist() if not info.is_dir()]
            if len(entries) > max_files:
                refuse(f"{len(entries)} files, more than the {max_files} allowed")
            written = 0
            target.mkdir(parents=True)
            for info in entries:
                name = _entry_name(info)
                parts = PurePosixPath(name).parts
                if not parts or name.startswith("/") or ".." in parts or re.match(r"[A-Za-z]:", parts[0]):
                    refuse(f"the entry {name!r} points outside the folder")
                kind = stat.S_IFMT(info.external_attr >> 16)
                if kind not in (0, stat.S_IFREG):
                    refuse(f"the entry {name!r} is a link or a special file")
                if info.flag_bits & 0x1:
                    refuse(f"the entry {name!r} is encrypted")
                destination = target.joinpath(*parts)
                destination.parent.mkdir(parents=True, exist_ok=True)
                descriptor = os.open(destination, os.O_WRONLY | os.O_CREAT | os.O_EXCL | os.O_NOFOLLOW, 0o644)
                with archive.open(info) as source, os.fdopen(descriptor, "wb") as sink:
                    while chunk := source.read(1024 * 1024):
                        written += len(chunk)
                        if written > max_bytes:
                            refuse(f"more than {max_bytes / 1024**3:g} GiB once extracted")
                        sink.write(chunk)
                moment = time.mktime(info.date_time + (0, 0, -1))  # the zip's time is the local time
                os.utime(destination, (moment, moment))
    except FileExistsError as error:
        refuse(f"the entry {Path(error.filename).relative_to(target)} appears twice")
    except (zipfile.BadZipFile, zipfile.LargeZipFile, NotImplementedError, EOFError, ValueError, zlib.error) as error:
        refuse(f"not a valid zip file ({type(error).__name__}: {error})")


def _entry_name(info: zipfile.ZipInfo) -> str:
    """The entry's name as its author wrote it: UTF-8 names in zips that do not flag them, composed accents."""
    name = info.filename
    if not info.flag_bits & 0x800:
        try:
            name = name.encode("cp437").decode("utf-8")
        except (UnicodeEncodeError, UnicodeDecodeError):
            pass
    return unicodedata.normalize("NFC", name.replace("\\", "/"))


def find(folder: Path, layout: str = "auto") -> Intake:
    """Every submission in ``folder`` under ``layout`` (see :func:`check_layout`)."""
    files = _files(folder)
    if layout == "auto":
        layout = next((name for name, pattern in (("moodle", MOODLE), ("canvas", CANVAS))
                       if 2 * sum(bool(pattern.match(f)) for f in files) > len(files)), "auto")
    if layout == "auto":
        return Intake("auto", {sid: Submission(sid, path) for sid, path in find_submissions(folder).items()}, [])
    if layout in ("flat", "folders"):
        return _by_place(folder, files, layout)
    pattern = {"canvas": CANVAS, "moodle": MOODLE}.get(layout) or re.compile(layout[len("regex:"):])
    by_student: dict[str, list[_File]] = {}
    unmatched = []
    for relative in files:
        match = pattern.match(relative)
        if not match or not match.group("student_id"):
            unmatched.append(relative)
            continue
        found = _lms_file(folder / relative, match.groupdict(), layout)
        by_student.setdefault(found.student_id, []).append(found)
    submissions = {}
    for student_id, group in by_student.items():
        chosen = _one_per_student(group)
        submissions[safe_id(f"{chosen.name}_{student_id}" if chosen.name else student_id)] = chosen
    return Intake(layout, {sid: _named(sid, sub) for sid, sub in sorted(submissions.items())}, unmatched)


def _files(folder: Path) -> list[str]:
    """Every file below ``folder`` as a relative POSIX path, but hidden ones, macOS's and the instructor's own."""
    found = []
    for root, folders, names in os.walk(folder):
        folders[:] = sorted(f for f in folders if not f.startswith((".", "__MACOSX")))
        here = Path(root).relative_to(folder)
        for name in names:
            if name.startswith(".") or (here == Path(".") and name in (MANUAL_SCORES, EXTENSIONS)):
                continue
            found.append(unicodedata.normalize("NFC", (here / name).as_posix()))
    return sorted(found)


def _by_place(folder: Path, files: list[str], layout: str) -> Intake:
    """``flat``: each top-level notebook is a student; ``folders``: each top-level folder is one."""
    groups: dict[str, list[_File]] = {}
    unmatched = []
    for relative in files:
        parts = PurePosixPath(relative).parts
        if layout == "flat" and len(parts) == 1 and relative.lower().endswith(".ipynb"):
            groups[safe_id(PurePosixPath(relative).stem)] = [_File(folder / relative, relative)]
        elif layout == "folders" and len(parts) > 1:
            groups.setdefault(safe_id(parts[0]), []).append(_File(folder / relative, "/".join(parts[1:])))
        else:
            unmatched.append(relative)
    return Intake(layout, {sid: _named(sid, _one_per_student(group)) for sid, group in sorted(groups.items())},
                  unmatched)


def _lms_file(path: Path, groups: dict, layout: str) -> _File:
    """One file as the LMS's name describes it (the groups of its layout's pattern)."""
    label = groups["file_id"]
    name = groups.get("name") or " ".join(filter(None, (groups.get("first_name"), groups.get("last_name"))))
    found = _File(path, label, groups["student_id"], name.strip(), order=int(groups.get("order") or 0))
    if "late" in groups:
        found.late = bool(groups["late"])
    if groups.get("attempt"):
        found.attempt = int(re.sub(r"\D", "", groups["attempt"]) or 1)
    elif layout == "canvas" and (again := RESUBMITTED.fullmatch(label)):
        found.attempt = int(again["number"]) + 1
    if groups.get("timestamp"):
        found.timestamp = parse_time(groups["timestamp"])
        if found.timestamp is None:
            found.notes.append(each_language("intake.time_not_understood", time=repr(groups["timestamp"])))
    return found


def parse_time(text: str) -> datetime | None:
    """A time from a file name: ISO 8601, or nbgrader's 2016-01-30-15-00-00; a trailing UTC or Z is UTC."""
    text = text.strip()
    utc = re.search(r"\s*(?:UTC|UCT|GMT|Z)$", text, re.IGNORECASE)
    if utc:
        text = text[:utc.start()]
    dashed = re.fullmatch(r"(\d{4}-\d\d-\d\d)[-_ T](\d\d)[-:](\d\d)(?:[-:](\d\d))?", text)
    if dashed:
        text = f"{dashed[1]}T{dashed[2]}:{dashed[3]}:{dashed[4] or '00'}"
    try:
        when = datetime.fromisoformat(text)
    except ValueError:
        return None
    return when.replace(tzinfo=timezone.utc) if utc and when.tzinfo is None else when


def _one_per_student(files: list[_File]) -> _File:
    """The file to grade among one student's: the latest notebook, else a notebook renamed, else any file.

    The chosen one carries notes naming every other file, and why it was chosen.
    """
    notebooks = [f for f in files if f.path.suffix.lower() == ".ipynb"]
    renamed = [] if notebooks else [f for f in files if _is_notebook(f.path)]
    chosen = max(notebooks or renamed or files, key=_File.recency)
    notes = list(chosen.notes)
    if renamed:
        notes.append(each_language("intake.renamed_notebook", file=chosen.label))
    elif not notebooks:
        listed = ", ".join(sorted(f.label for f in files))
        notes.append(each_language("intake.no_notebook", files=listed))
    others = sorted((f for f in files if f is not chosen), key=lambda f: f.label)
    if others and (notebooks or renamed):
        numbered = any(f.attempt for f in files)
        not_graded = {lang: ", ".join(_described(f, numbered, lang) for f in others) for lang in LANGS}
        attempt = each_language("intake.attempt_graded", attempt=chosen.attempt) if chosen.attempt else ""
        notes.append(each_language("intake.several_files", count=len(files), file=chosen.label, attempt=attempt,
                                   not_graded=not_graded))
    chosen.notes = notes
    return chosen


def _described(other: _File, numbered: bool, lang: str) -> str:
    """A file that is not graded, with its attempt when the LMS numbers them, and whether it is a notebook."""
    tags = []
    if numbered:
        tags.append(text("intake.attempt", lang, attempt=other.attempt or 1))
    if other.path.suffix.lower() != ".ipynb":
        tags.append(text("intake.not_a_notebook", lang))
    return other.label + (f" ({', '.join(tags)})" if tags else "")


def _is_notebook(path: Path) -> bool:
    """True when a file with another extension holds a Jupyter notebook (JSON with cells)."""
    try:
        if path.stat().st_size > NOTEBOOK_SNIFF_BYTES:
            return False
        data = json.loads(path.read_bytes())
    except (OSError, ValueError):
        return False
    return isinstance(data, dict) and isinstance(data.get("cells", data.get("worksheets")), list)


def _named(sid: str, chosen: _File) -> Submission:
    return Submission(sid, chosen.path, chosen.student_id, chosen.name, chosen.late, chosen.attempt or 1,
                      chosen.timestamp.isoformat() if chosen.timestamp else "", chosen.notes)


def read_extensions(path: Path, submissions: dict[str, Submission]) -> tuple[dict[str, float], list[str]]:
    """Submission id -> extra hours, from the instructor's ``extensions.csv``; and the students it names unknown.

    Columns ``student`` (a submission id or a student id) and ``extra_hours``;
    any other column (a reason) is the instructor's own.
    """
    if not path.is_file():
        return {}, []
    by_student = {sub.student_id: sid for sid, sub in submissions.items() if sub.student_id}
    try:
        with path.open(encoding="utf-8-sig", newline="") as handle:
            rows = list(csv.DictReader(handle))
    except (OSError, UnicodeDecodeError, csv.Error) as error:
        raise BatchError(f"{path}: cannot be read: {error}") from None
    extensions, unknown = {}, []
    for line, row in enumerate(rows, start=2):
        if not {"student", "extra_hours"} <= set(row):
            raise BatchError(f"{path}: needs the columns student and extra_hours")
        student = (row["student"] or "").strip()
        try:
            hours = float(row["extra_hours"])
        except (TypeError, ValueError):
            raise BatchError(f"{path}, line {line}: extra_hours {row['extra_hours']!r} is not a number") from None
        if hours < 0:
            raise BatchError(f"{path}, line {line}: extra_hours {hours:g} is negative")
        sid = safe_id(student) if safe_id(student) in submissions else by_student.get(student)
        if sid is None:
            unknown.append(student)
        else:
            extensions[sid] = hours
    return extensions, unknown
