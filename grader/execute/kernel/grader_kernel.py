"""IPython extension loaded into the student's kernel before any cell runs.

It is the only grader code inside the sandbox, and it decides nothing: it
records what the kernel holds so the trusted side can judge it later.

- Legacy Keras: with ``legacy_keras`` the name ``keras`` is made to mean
  tf-keras (Keras 2), so ``import keras.preprocessing.sequence`` in an old
  notebook does not bring Keras 3 back.
- Environment: a Keras backend we lack becomes TensorFlow and Keras 2 names
  are mapped (:mod:`keras_compat`); modules named in ``placeholders`` import
  as placeholders when absent (:mod:`missing_modules`). What was used is
  written to the manifest after each cell, once per cell.
- Models: after every cell, every Keras model reachable from a global name
  (directly, or inside a list, tuple or dict) is saved when it is new or has
  changed since it was last saved, with the names it was seen under. A model
  that a later cell overwrites was already saved. The kernel keeps a
  reference to each model so that ``id()`` stays unique.
- Everything goes to ``<outdir>/manifest.jsonl``, one JSON object per line.

Configuration comes as JSON in the environment variable GRADER_KERNEL.
"""
import json
import os
import sys
import time

_CONFIG = json.loads(os.environ.get("GRADER_KERNEL", "{}"))
_MODEL_MODULES = ("keras", "tf_keras", "tensorflow")


class _Recorder:
    def __init__(self, shell, outdir):
        self.shell = shell
        self.outdir = outdir
        os.makedirs(outdir, exist_ok=True)
        self.manifest = open(os.path.join(outdir, "manifest.jsonl"), "a", encoding="utf-8")
        self.models = {}       # id -> model (kept alive on purpose)
        self.saved = {}        # id -> fingerprint of the last saved version
        self.histories = {}    # id -> id of the last History object recorded
        self.versions = {}     # id -> number of versions saved
        self.serials = {}      # id -> short number used in file names
        self.noted = {}        # environment events of the running cell

    def write(self, record):
        self.manifest.write(json.dumps(record) + "\n")
        self.manifest.flush()

    def note(self, record):
        """Keep an environment event of the running cell; written after it with its count, once per cell."""
        key = json.dumps({k: v for k, v in record.items() if k != "what"}, sort_keys=True)
        if key not in self.noted:
            self.noted[key] = record

    def _write_notes(self, count):
        for record in self.noted.values():
            self.write({**record, "execution_count": count})
        self.noted.clear()

    def after_cell(self, result):
        count = result.execution_count
        self._write_notes(count)
        if not any(name in sys.modules for name in _MODEL_MODULES):
            return
        try:
            found = _find_models(self.shell.user_ns)
        except Exception as error:  # a hostile namespace must not break the kernel
            self.write({"event": "error", "execution_count": count, "message": repr(error)[:500]})
            return
        seen = {}
        for name, model in found:
            seen.setdefault(id(model), (model, []))[1].append(name)
        for key, (model, names) in seen.items():
            self.models[key] = model
            self.write({"event": "seen", "model": key, "names": names, "execution_count": count})
            self._record_history(key, model, count)
            self._save_if_changed(key, model, count)

    def _record_history(self, key, model, count):
        history = getattr(model, "history", None)
        if history is None or id(history) == self.histories.get(key):
            return
        values = getattr(history, "history", None)
        params = getattr(history, "params", None)
        if not isinstance(values, dict) or not values:
            return
        self.histories[key] = id(history)
        self.write({
            "event": "fit", "model": key, "execution_count": count,
            "params": {k: v for k, v in (params or {}).items() if isinstance(v, (int, float, str))},
            "history": {str(k): [float(x) for x in v][:1000] for k, v in values.items()},
        })

    def _save_if_changed(self, key, model, count):
        try:
            fingerprint = _fingerprint(model)
        except Exception:
            return  # not built yet: nothing to save
        if self.saved.get(key) == fingerprint:
            return
        legacy = type(model).__module__.startswith(("tf_keras", "tensorflow.python"))
        version = self.versions.get(key, 0) + 1
        serial = self.serials.setdefault(key, len(self.serials) + 1)
        filename = f"model-{serial}-v{version}" + (".h5" if legacy else ".keras")
        started = time.monotonic()
        record = {"event": "version", "model": key, "execution_count": count, "file": filename,
                  "flavour": "legacy" if legacy else "keras3", "class": type(model).__name__}
        try:
            model.save(os.path.join(self.outdir, filename))
        except Exception as error:
            record.update(file="", error=f"{type(error).__name__}: {error}"[:500])
        record["seconds"] = round(time.monotonic() - started, 3)
        self.versions[key] = version
        self.saved[key] = fingerprint
        self.write(record)


def _is_model(value):
    for cls in type(value).__mro__:
        if cls.__name__ in ("Model", "Functional", "Sequential") and cls.__module__.startswith(("keras", "tf_keras", "tensorflow")):
            return True
    return False


def _find_models(namespace):
    for name, value in list(namespace.items()):
        if name.startswith("_"):
            continue
        if _is_model(value):
            yield name, value
        elif isinstance(value, (list, tuple)):
            for i, item in enumerate(value[:50]):
                if _is_model(item):
                    yield f"{name}[{i}]", item
        elif isinstance(value, dict):
            for k, item in list(value.items())[:50]:
                if _is_model(item):
                    yield f"{name}[{k!r}]", item


def _fingerprint(model):
    """Cheap summary that changes when the model is built, trained or edited."""
    if not model.built:
        raise ValueError("not built")
    weights = model.get_weights()
    total = 0.0
    for w in weights:
        total += float(w.sum()) + float(abs(w).sum())
    return (len(model.layers), len(weights), round(total, 6))


def _alias_legacy_keras():
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tf_keras
    sys.modules["keras"] = tf_keras


def load_ipython_extension(shell):
    import keras_compat
    import missing_modules

    recorder = _Recorder(shell, _CONFIG.get("outdir", "grader-models"))
    if _CONFIG.get("legacy_keras"):
        _alias_legacy_keras()
    keras_compat.install(recorder.note)   # before the placeholders: keras.layers.core is a moved name
    if _CONFIG.get("mnist_file"):
        import offline_datasets
        offline_datasets.install(_CONFIG["mnist_file"])
    placeholders = missing_modules.install(_CONFIG.get("placeholders", {}), recorder.note)

    def before_cell(info):
        try:
            placeholders.before_cell(shell.transform_cell(info.raw_cell))
        except Exception:  # a cell IPython cannot transform has no feature detection to find
            pass
    shell.events.register("pre_run_cell", before_cell)
    shell.events.register("post_run_cell", recorder.after_cell)
