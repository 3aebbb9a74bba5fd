"""batch.plan: what a batch re-uses, what it runs and on how many workers, decided before any worker starts.

Saved results and executions are made here with the keys the grader would give them (no kernel runs):
a result whose keys are current is re-used, one whose keys are not is run again.
"""
import json
from dataclasses import replace
from pathlib import Path

import nbformat

from grader import rubric as rubrics
from grader.batch import Batch, after_reference, plan, reference_job
from grader.execute.warmup import cores
from grader.grade import Job, _current_keys
from grader.intake import Submission
from grader.result import Result

from .builders import question, rubric_toml, seven_bits

RUBRIC = rubric_toml("tiny-plan", question("Q1", seven_bits()))


def notebook(path: Path, answer: str) -> Path:
    nbformat.write(nbformat.v4.new_notebook(cells=[nbformat.v4.new_markdown_cell("**Q1**"),
                                                   nbformat.v4.new_markdown_cell(answer)]), path)
    return path


def save(job: Job, executed: bool = True, current: bool = True) -> None:
    """The files a finished job leaves: result.json with its keys (or stale ones), execution.json."""
    keys = _current_keys(job)
    out = Path(job.out_dir)
    out.mkdir(parents=True, exist_ok=True)
    result = Result(job.submission, "tiny-plan", 1, 1, job.seed, [], measured={"Q1#0": 1.0},
                    fingerprint=keys if current else {**keys, "evaluation": "stale"})
    (out / "result.json").write_text(json.dumps(result.to_dict()))
    if executed:
        (out / "execution.json").write_text(json.dumps({"key": keys["execution"]}))


def make_batch(tmp_path) -> Batch:
    (tmp_path / "rubric.toml").write_text(RUBRIC)
    notebook(tmp_path / "reference.ipynb", "127")
    submissions = {sid: Submission(sid, notebook(tmp_path / f"{sid}.ipynb", "127")) for sid in ("ana", "bea", "cris")}
    template = Job(submission="", notebook="", assignment=str(tmp_path / "rubric.toml"), out_dir="", seed=3,
                   lang="en", threads=1, cache_dir=str(tmp_path / "cache"))
    return Batch(rubrics.load(tmp_path / "rubric.toml"), template, submissions, tmp_path, tmp_path / "out",
                 tmp_path / "manual_scores.csv")


def test_without_the_reference_every_job_waits_for_it(tmp_path):
    batch = make_batch(tmp_path)
    made = plan(batch, workers=2)
    assert made.reference is None and made.reused == [] and made.workers == 2
    assert [job.submission for job in made.todo] == ["ana", "bea", "cris"]


def test_current_results_are_reused_and_idle_workers_are_not_started(tmp_path):
    batch = make_batch(tmp_path)
    save(reference_job(batch.rubric, batch.template))
    reference = replace(batch.template, reference={"Q1#0": 1.0})
    jobs = {job.submission: job for job in batch.jobs(reference)}
    save(jobs["ana"])
    save(jobs["bea"])
    save(jobs["cris"], executed=False, current=False)
    made = plan(batch, workers=2)
    assert made.reference is not None and made.template.reference == {"Q1#0": 1.0}
    assert sorted(r.submission for r in made.reused) == ["ana", "bea"]
    assert [job.submission for job in made.todo] == ["cris"]
    assert made.workers == 1 and made.todo[0].threads == max(1, cores())  # one job: one worker, every core
    assert plan(batch, workers=2, threads_given=True).todo[0].threads == 1


def test_only_evaluations_left_run_on_one_worker(tmp_path):
    batch = make_batch(tmp_path)
    save(reference_job(batch.rubric, batch.template))
    for job in batch.jobs(replace(batch.template, reference={"Q1#0": 1.0})):
        save(job, current=False)   # executed, but its result is stale (say, new points)
    made = plan(batch, workers=3)
    assert len(made.todo) == 3 and made.workers == 1
    assert plan(batch, workers=3, cluster=True).workers == 3   # a cluster decides for itself


def test_after_the_reference_its_values_reach_every_job(tmp_path):
    batch = make_batch(tmp_path)
    made = plan(batch, workers=2)
    reference = Result("reference", "tiny-plan", 1, 1, 3, [], measured={"Q1#0": 0.5})
    after = after_reference(batch, made, reference)
    assert after.reference is reference and after.workers == 2
    assert {job.reference["Q1#0"] for job in after.todo} == {0.5} and len(after.todo) == 3
