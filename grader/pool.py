"""Where a batch's jobs run, and how their progress comes back.

:class:`Pool` opens one of three executors, each with a picklable progress channel the jobs
``put`` their events into, forwarded to one callback in the driver:

- one worker: the jobs run in this process (:class:`InProcess`), events are delivered at once;
- a local pool of spawned processes (:class:`RestartingPool`), events through a manager's queue;
- a Dask cluster's executor, events through the scheduler's event log (:class:`ClusterProgress`).

It also tells :func:`grader.batch.grade_all` how to use the executor: ``window``, the jobs handed
over at once, and ``retries`` after a lost worker.
"""
from __future__ import annotations

import multiprocessing
import sys
import threading
from concurrent.futures import BrokenExecutor, Executor, Future, ProcessPoolExecutor
from pathlib import Path
from typing import Callable


class Forward:
    """A progress channel that hands each event to ``deliver`` at once (jobs run in this process)."""

    def __init__(self, deliver: Callable[[dict], None]):
        self.deliver = deliver

    def put(self, event) -> None:
        if isinstance(event, dict):
            self.deliver(event)


class Labelled:
    """A progress channel that files every event under ``name`` (picklable when ``queue`` is): the references
    ``grader validate`` grades at once are all the submission "reference"."""

    def __init__(self, queue, name: str):
        self.queue, self.name = queue, name

    def put(self, event) -> None:
        if isinstance(event, dict):
            self.queue.put({**event, "submission": self.name})


class InProcess(Executor):
    """The Executor interface, running each job right here (one worker: no pool to start)."""

    def submit(self, fn, /, *args, **kwargs) -> Future:
        future = Future()
        try:
            future.set_result(fn(*args, **kwargs))
        except BaseException as error:
            future.set_exception(error)
        return future


class ClusterProgress:
    """The progress channel of a Dask run: events go to the scheduler's event log under ``topic``.

    Picklable and queue-like (``put``); the driver subscribes to the topic.
    Nothing polls, so an idle batch costs the scheduler nothing.
    """

    def __init__(self, topic: str):
        self.topic = topic

    def put(self, event: dict) -> None:
        from distributed import get_worker
        get_worker().log_event(self.topic, event)


class RestartingPool(Executor):
    """A spawn process pool that replaces itself when a dead worker has broken it."""

    def __init__(self, workers: int):
        self.workers = workers
        self._pool = self._new()

    def _new(self) -> ProcessPoolExecutor:
        return ProcessPoolExecutor(max_workers=self.workers, mp_context=multiprocessing.get_context("spawn"),
                                   initializer=die_with_parent)

    def submit(self, fn, /, *args, **kwargs) -> Future:
        try:
            return self._pool.submit(fn, *args, **kwargs)
        except BrokenExecutor:
            self._pool.shutdown(wait=False, cancel_futures=True)
            self._pool = self._new()
            return self._pool.submit(fn, *args, **kwargs)

    def shutdown(self, wait: bool = True, *, cancel_futures: bool = False) -> None:
        self._pool.shutdown(wait=wait, cancel_futures=cancel_futures)


def die_with_parent() -> None:
    """Have Linux kill this process when the grader dies (kill -9 included), so no worker lingers.

    What a killed worker was grading is simply graded again by the next run.
    """
    try:
        import ctypes
        import signal
        ctypes.CDLL(None).prctl(1, signal.SIGKILL)  # PR_SET_PDEATHSIG; a no-op where there is no prctl
    except (OSError, AttributeError, TypeError):  # TypeError: Windows cannot open the program itself (None)
        pass


class Pool:
    """``with Pool(workers, on_event, cluster) as pool``: ``pool.executor`` runs jobs, ``pool.queue`` is the
    progress channel to hand them, and every event they put reaches ``on_event``."""

    def __init__(self, workers: int, on_event: Callable[[dict], None], cluster: str | None = None):
        self.workers, self.on_event, self.cluster = workers, on_event, cluster
        self.window, self.retries = workers, 1
        self._stopped = threading.Event()
        self._close: list[Callable[[bool], None]] = []

    def __enter__(self) -> Pool:
        if self.cluster:
            self._open_cluster()
        elif self.workers == 1:
            self.executor, self.queue = InProcess(), Forward(self.on_event)
        else:
            from multiprocessing.managers import SyncManager
            manager = SyncManager(ctx=multiprocessing.get_context("spawn"))
            manager.start(die_with_parent)  # after a kill -9 of the grader it must not linger
            self._close.append(lambda ok: manager.shutdown())
            self.executor, self.queue = RestartingPool(self.workers), manager.Queue()
            threading.Thread(target=self._pump, daemon=True).start()
        return self

    def _open_cluster(self) -> None:
        import uuid

        from distributed import Client
        self.client = Client(self.cluster)
        self._close.append(lambda ok: self.client.close())
        self.executor = self.client.get_executor(pure=False)  # a retry is a new task, not the lost one
        self.window = None                                    # the scheduler balances the cluster
        self.retries = _grader_retries(self.client)
        self.queue = ClusterProgress(f"grader-progress-{uuid.uuid4().hex}")
        self.client.subscribe_topic(self.queue.topic, lambda record: Forward(self.on_event).put(record[1]))

    def __exit__(self, *exc) -> bool:
        self._stopped.set()
        if self.cluster:  # a Dask executor: shutdown(wait) only
            self.executor.shutdown(wait=exc[0] is None)
        else:
            self.executor.shutdown(wait=exc[0] is None, cancel_futures=True)
        for close in reversed(self._close):
            close(exc[0] is None)
        return False

    def _pump(self) -> None:
        """Deliver the workers' progress events until the batch ends."""
        forward = Forward(self.on_event)
        while not self._stopped.is_set():
            try:
                event = self.queue.get(timeout=1)
            except (EOFError, OSError, ConnectionError):
                return
            except Exception:  # queue.Empty: look again
                continue
            forward.put(event)

    def check_cluster(self, paths: list[Path]) -> str:
        """Why the cluster's workers cannot grade (they must import the same grader and see ``paths``), or ""."""
        try:
            self.client.wait_for_workers(1, timeout=60)
            answers = self.client.run(_worker_can_grade, [str(path.resolve()) for path in paths])
        except Exception as error:
            return f"the Dask cluster did not answer: {type(error).__name__}: {error}"
        for worker, problem in answers.items():
            if problem:
                return (f"worker {worker}: {problem}. Every worker needs the same virtualenv and repository path "
                        f"as the driver, and the submissions, rubric and --out folder on a shared filesystem at "
                        f"the same paths (see README)")
        return ""


def _grader_retries(client) -> int:
    """Retries after a lost worker, so that a lost notebook is re-run once in all.

    Dask itself re-runs a task whose worker died, up to the scheduler's
    ``allowed-failures`` (3 by default), before it reports KilledWorker; the
    grader adds its one retry only when the scheduler made none.
    """
    try:
        allowed = client.run_on_scheduler(_allowed_failures)
    except Exception:
        allowed = 3
    if allowed:
        print(f"grader: the Dask scheduler re-runs a task lost with its worker up to {allowed} time(s) "
              f"(distributed.scheduler.allowed-failures); then the submission is reported as an "
              f"infrastructure failure.", file=sys.stderr)
    return 0 if allowed else 1


def _allowed_failures(dask_scheduler=None) -> int:
    return int(getattr(dask_scheduler, "allowed_failures", 3))


def _worker_can_grade(paths: list[str]) -> str:
    import importlib.util
    import os
    if importlib.util.find_spec("grader") is None or importlib.util.find_spec("nbclient") is None:
        return "cannot import grader (or nbclient)"
    from grader.execute.runner import socket_path_problem  # the worker's own TMPDIR: its kernels start there
    if problem := socket_path_problem():
        return problem
    missing = [path for path in paths if not os.path.exists(path)]
    return f"cannot see {', '.join(missing)}" if missing else ""
