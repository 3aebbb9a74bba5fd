"""Prepare a worker process for evaluation: thread pinning and a background import.

Each worker pins TensorFlow's and BLAS's thread pools before anything imports
TensorFlow (the environment variables are read once, at import), so N workers
on N cores do not oversubscribe them. It then imports Keras in a background
thread while the student's notebook runs in its kernel, so TensorFlow is
ready when the evaluation needs it, and is imported once per worker, not once
per submission. Both are no-ops after the first call in a process.
"""
from __future__ import annotations

import os
import sys
import threading

_started = threading.Event()
THREAD_VARIABLES = ("TF_NUM_INTRAOP_THREADS", "OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def pin_threads(threads: int) -> int:
    """Limit this process's TensorFlow/BLAS threads to ``threads``; returns the number for the kernel.

    ``threads <= 0`` means: decide here, from this machine's cores and the
    tasks this worker runs at once (a Dask worker's ``nthreads``).
    """
    if threads <= 0:
        threads = threads_here()
    if "tensorflow" in sys.modules:  # too late for this process; the kernel still gets ``threads``
        return threads
    for name in THREAD_VARIABLES:
        os.environ[name] = str(threads)
    os.environ["TF_NUM_INTEROP_THREADS"] = "1"
    os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")
    return threads


def cores() -> int:
    return len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1


def threads_here() -> int:
    """Cores per notebook slot on this machine: cores // tasks that can run at once here.

    On a Dask worker, the slots are the ``nthreads`` of every worker on this
    host (several worker processes may share a machine); elsewhere, one.
    """
    slots = 1
    try:
        from distributed import get_client, get_worker
        worker = get_worker()
        slots = worker.state.nthreads
        try:
            info = get_client().scheduler_info(n_workers=-1)["workers"]
            host = worker.address.rsplit(":", 1)[0]
            slots = sum(w.get("nthreads", 1) for address, w in info.items()
                        if address.rsplit(":", 1)[0] == host) or slots
        except Exception:
            pass
    except Exception:  # not on a Dask worker
        pass
    return max(1, cores() // max(1, slots))


def _import():
    try:
        import keras  # noqa: F401  (the import is the point)
    except Exception:  # the evaluation will report it when it imports keras itself
        pass


def warm_up() -> None:
    """Start importing Keras (and TensorFlow) in the background, once per process."""
    if not _started.is_set():
        _started.set()
        threading.Thread(target=_import, name="grader-warmup", daemon=True).start()
