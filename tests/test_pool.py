"""grader.pool: jobs run in this process or in a pool of processes, and their progress events come back."""
import os
import time

import pytest

from grader.pool import Pool


def report_and_answer(queue, answer):
    queue.put({"event": "cell", "pid": os.getpid()})
    queue.put("not an event")  # what is not a dict is dropped
    return answer


def fail():
    raise ZeroDivisionError("in the job")


def test_one_worker_runs_each_job_here_and_forwards_its_progress_at_once():
    events = []
    with Pool(1, events.append) as pool:
        assert pool.executor.submit(report_and_answer, pool.queue, 42).result() == 42
        assert events == [{"event": "cell", "pid": os.getpid()}]
        with pytest.raises(ZeroDivisionError, match="in the job"):
            pool.executor.submit(fail).result()
    assert (pool.window, pool.retries) == (1, 1)


def test_a_pool_runs_jobs_in_other_processes_and_forwards_their_progress():
    events = []
    with Pool(2, events.append) as pool:
        assert pool.executor.submit(report_and_answer, pool.queue, 7).result() == 7
        deadline = time.monotonic() + 10
        while not events and time.monotonic() < deadline:
            time.sleep(0.05)
    assert len(events) == 1 and events[0]["event"] == "cell" and events[0]["pid"] != os.getpid()
    assert pool.window == 2
