"""What ``grader grade`` leaves in ``OUT/.grader/`` for ``grader review``, and re-scoring one submission from it.

The record holds every submission's grading job as the last run made it (the
reference's measured values, the seed, the late-work intake...) and the path
of the manual_scores.csv it read. Re-scoring after a review is that same job
with the instructor's new scores, handed to :func:`grader.grade.grade`: the
saved execution and the saved measurements are re-used, so no notebook runs
and no model is loaded, and a later ``grader grade`` re-uses the result as it is.
"""
from __future__ import annotations

import json
from dataclasses import asdict, dataclass, field, replace
from pathlib import Path

from .. import rubric as rubrics
from ..batch import BatchError, read_manual_scores
from ..grade import Job, grade, measured_by_this_version, needs_execution
from ..report import write_class_files
from ..result import Result, load_result, write_json_atomic

RECORD = Path(".grader") / "review.json"


def write_record(out: Path, jobs: list[Job], manual_scores: Path, title: str, lang: str) -> None:
    """Called by ``grader grade`` once it knows every job of the run; paths are made absolute, so that the review
    server finds them from any folder (the scores are read afresh from the CSV)."""
    def absolute(job: Job) -> dict:
        paths = {name: str(Path(getattr(job, name)).resolve())
                 for name in ("notebook", "assignment", "cache_dir", "out_dir")}
        return {**asdict(job), **paths, "manual": {}}
    write_json_atomic(out / RECORD, {"manual_scores": str(Path(manual_scores).resolve()), "title": title,
                                     "lang": lang, "jobs": {job.submission: absolute(job) for job in jobs}})


@dataclass
class Record:
    out: Path
    manual_scores: Path
    title: str
    lang: str
    jobs: dict[str, Job]
    _read: dict = field(default_factory=dict, repr=False)   # submission -> (file's stamp, its result)

    @classmethod
    def load(cls, out: Path, manual_scores: Path | None = None) -> "Record":
        """The record of the last ``grader grade`` into ``out``; ``manual_scores`` replaces the CSV it read."""
        try:
            saved = json.loads((out / RECORD).read_text(encoding="utf-8"))
            jobs = {sid: Job(**job) for sid, job in saved["jobs"].items()}
            return cls(out, Path(manual_scores or saved["manual_scores"]), str(saved["title"]), str(saved["lang"]),
                       jobs)
        except (OSError, ValueError, KeyError, TypeError) as error:
            raise BatchError(f"{out}: no record of a `grader grade` run here ({out / RECORD}: "
                             f"{getattr(error, 'strerror', None) or error}); grade the class into it first") from None

    @property
    def rubric(self) -> rubrics.Rubric:
        return rubrics.load(next(iter(self.jobs.values())).assignment)

    def results(self) -> dict[str, Result]:
        """The saved result of every submission that has one; a file is read again only once it changed."""
        found = {}
        for sid in self.jobs:
            path = self.out / sid / "result.json"
            try:
                stat = path.stat()
            except OSError:
                continue
            stamp = (stat.st_mtime_ns, stat.st_size, stat.st_ino)
            if self._read.get(sid, (None,))[0] != stamp:
                self._read[sid] = (stamp, load_result(path))
            if self._read[sid][1] is not None:
                found[sid] = self._read[sid][1]
        return found

    def rescore(self, sid: str) -> Result:
        """Grade ``sid`` again with manual_scores.csv as it now is, then rewrite the gradebook and class summary.

        The job is read from the record again: a ``grader grade`` run since the server started (a new seed, a
        new reference) is what counts. Raises BatchError, naming the problem, when the CSV cannot be read, or
        when the submission would have to run again or its models be measured again (its notebook, the
        environment or the grader's evaluation code changed): that is ``grader grade``'s work.
        """
        rubric = self.rubric
        manual = read_manual_scores(self.manual_scores, rubric)
        recorded = Record.load(self.out, self.manual_scores).jobs
        if sid not in recorded:
            raise BatchError(f"{sid}: not in the last `grader grade` of {self.out}")
        job = replace(recorded[sid], out_dir=str(self.out / sid), manual=manual.get(sid, {}))
        if needs_execution(job) or not measured_by_this_version(job):
            raise BatchError(f"{sid}: its notebook, the grading environment or the grader changed since "
                             f"`grader grade`; the points are saved, run `grader grade` to score them")
        result = grade(job)
        write_class_files(list(self.results().values()), self.out, [q.id for q in rubric.questions], self.title,
                          self.lang)
        return result
