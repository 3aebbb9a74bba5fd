"""Import the evaluator's heavy libraries in the background, once per process.

A worker starts this before its first notebook runs, so TensorFlow is ready
by the time the evaluation needs it, and is imported once per worker, not
once per submission.
"""
import threading

_started = threading.Event()


def _import():
    import keras  # noqa: F401  (the import is the point)


def warm_up() -> None:
    if not _started.is_set():
        _started.set()
        threading.Thread(target=_import, name="grader-warmup", daemon=True).start()
