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
- Code of the notebook's own: a model whose layers (nested models and RNN
  cells included) are classes not from Keras, or ``Lambda`` layers, gets two
  files beside its model file: ``<stem>.code.pkl`` (cloudpickle: the classes
  by name, the Lambda functions by layer name), which only the sandboxed
  predictor (:mod:`predict_server`) ever unpickles, and ``<stem>.code.json``
  (the source of each, and the output shape Keras computes for the model),
  which the grader reads as plain data. tf-keras cannot save a subclassed
  model as ``.h5``, so such a model goes to its ``.keras`` format.
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
        legacy = _legacy(model)
        version = self.versions.get(key, 0) + 1
        serial = self.serials.setdefault(key, len(self.serials) + 1)
        stem = os.path.join(self.outdir, f"model-{serial}-v{version}")
        started = time.monotonic()
        record = {"event": "version", "model": key, "execution_count": count,
                  "flavour": "legacy" if legacy else "keras3", "class": type(model).__name__}
        code = _own_code(model)
        try:
            record["file"] = _save(model, stem, legacy, own_code=bool(code))
        except Exception as error:
            record.update(file="", error=f"{type(error).__name__}: {error}"[:500])
        if code and record["file"]:
            try:
                _save_code(model, code, stem)
            except Exception:  # a full disk: the model is still judged, its code missing (the predictor says so)
                pass
        record["seconds"] = round(time.monotonic() - started, 3)
        self.versions[key] = version
        self.saved[key] = fingerprint
        self.write(record)


def _legacy(model) -> bool:
    """Whether ``model`` is tf-keras's: the first Keras class it is (a subclassed model's own class is the
    notebook's) comes from tf-keras; Keras 3's derive from TensorFlow classes further up."""
    for cls in type(model).__mro__:
        if (cls.__module__ or "").split(".")[0] in _MODEL_MODULES:
            return cls.__module__.startswith(("tf_keras", "tensorflow.python"))
    return False


def _save(model, stem: str, legacy: bool, own_code: bool) -> str:
    """Save ``model`` as ``stem`` + ``.keras`` (tf-keras: ``.h5``); the file name.

    tf-keras refuses ``.h5`` for a subclassed model: one with code of its own goes to tf-keras's ``.keras``.
    """
    if not legacy:
        model.save(stem + ".keras")
        return os.path.basename(stem) + ".keras"
    try:
        model.save(stem + ".h5")
        return os.path.basename(stem) + ".h5"
    except Exception:
        if os.path.exists(stem + ".h5"):
            os.remove(stem + ".h5")
        if not own_code:
            raise
    model.save(stem + ".keras")
    return os.path.basename(stem) + ".keras"


def _from_keras(cls) -> bool:
    """Whether ``cls`` is Keras's own: from keras, tf_keras or tensorflow, and found there under its name
    (a class of the notebook renamed ``Dense`` in module ``keras.layers`` is not)."""
    module = cls.__module__ or ""
    return module.split(".")[0] in _MODEL_MODULES and getattr(sys.modules.get(module), cls.__qualname__, None) is cls


def _own_code(model) -> dict:
    """The notebook's classes among the model and its layers, and its Lambda layers' functions; {} when none."""
    try:
        layers = list(model._flatten_layers(include_self=True, recursive=True))  # nested models, RNN cells, wrapped
    except Exception:
        layers = [model]
    classes, functions = {}, {}
    for layer in layers:
        cls = type(layer)
        if not _from_keras(cls):
            classes[cls.__name__] = cls
        elif cls.__name__ == "Lambda":
            functions[layer.name] = layer.function
    return {"classes": classes, "functions": functions} if classes or functions else {}


def _save_code(model, code: dict, stem: str) -> None:
    """Write ``<stem>.code.pkl`` and ``<stem>.code.json`` (which says why, when the code could not be pickled)."""
    notes = {"classes": {name: _source(cls) for name, cls in code["classes"].items()},
             "lambdas": {name: _source(function) for name, function in code["functions"].items()},
             "output_shape": _output_shape(model),
             "layers": _layer_configs(model) if type(model).__name__ in code["classes"] else [], "error": ""}
    try:
        import cloudpickle
        for cls in code["classes"].values():
            module = sys.modules.get(cls.__module__)
            if module is not None and cls.__module__ != "__main__" and not _installed(module):
                cloudpickle.register_pickle_by_value(module)  # the notebook's own .py file: the predictor lacks it
        with open(stem + ".code.pkl", "wb") as handle:
            cloudpickle.dump(code, handle)
    except Exception as error:
        if os.path.exists(stem + ".code.pkl"):
            os.remove(stem + ".code.pkl")
        notes["error"] = f"{type(error).__name__}: {error}"[:500]
    with open(stem + ".code.json", "w", encoding="utf-8") as handle:
        json.dump(notes, handle, default=repr)


def _installed(module) -> bool:
    path = os.path.realpath(getattr(module, "__file__", None) or "")
    return any(path.startswith(os.path.realpath(prefix) + os.sep) for prefix in {sys.prefix, sys.base_prefix})


def _source(obj) -> str:
    """The source of a function or class of the notebook; "source not available" when it has none."""
    import inspect
    try:
        return inspect.getsource(obj)[:20000]
    except (OSError, TypeError):  # a class of a cell: inspect wants a module file that __main__ has not
        pass
    methods = [getattr(member, "__func__", member).__code__ for member in vars(obj).values()
               if hasattr(getattr(member, "__func__", member), "__code__")] if isinstance(obj, type) else []
    if methods:
        import linecache
        lines = linecache.getlines(methods[0].co_filename)
        first = min(code.co_firstlineno for code in methods if code.co_filename == methods[0].co_filename)
        for start in range(min(first, len(lines)) - 1, -1, -1):  # the class statement above its first method
            if lines[start].lstrip().startswith("class "):
                return "".join(inspect.getblock(lines[start:]))[:20000]
    return "source not available"


def _output_shape(model):
    """The output shape Keras computes (a subclassed model is traced on its build shape); None if it cannot."""
    try:
        return list(model.output_shape)
    except Exception:
        pass
    try:
        shape = [None, *(model.get_build_config() or {})["input_shape"][1:]]
    except Exception:
        return None
    try:
        from keras import KerasTensor  # Keras 3
        return list(model.compute_output_spec(KerasTensor(shape)).shape)
    except Exception:
        pass
    try:
        return list(model.compute_output_shape(tuple(shape)))  # tf-keras
    except Exception:
        return None


def _layer_configs(model) -> list:
    """The configs of a subclassed model's layers, which its own config does not list."""
    found = []
    for layer in getattr(model, "layers", [])[:200]:
        try:
            config = json.loads(json.dumps(layer.get_config(), default=repr))
        except Exception:
            config = {"name": getattr(layer, "name", "")}
        found.append({"class_name": type(layer).__name__, "config": config})
    return found


def _is_model(value):
    for cls in type(value).__mro__:
        if cls.__name__ in ("Model", "Functional", "Sequential") and cls.__module__.startswith(_MODEL_MODULES):
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


def alias_legacy_keras():
    os.environ["TF_USE_LEGACY_KERAS"] = "1"
    import tf_keras
    sys.modules["keras"] = tf_keras


def load_ipython_extension(shell):
    import keras_compat
    import missing_modules

    recorder = _Recorder(shell, _CONFIG.get("outdir", "grader-models"))
    if _CONFIG.get("legacy_keras"):
        alias_legacy_keras()
    keras_compat.install(recorder.note)   # before the placeholders: keras.layers.core is a moved name
    if _CONFIG.get("offline_data"):
        import offline_datasets
        for data in _CONFIG["offline_data"]:
            offline_datasets.install(data["file"], data["load_data"])
    placeholders = missing_modules.install(_CONFIG.get("placeholders", {}), recorder.note)

    def before_cell(info):
        try:
            placeholders.before_cell(shell.transform_cell(info.raw_cell))
        except Exception:  # a cell IPython cannot transform has no feature detection to find
            pass
    shell.events.register("pre_run_cell", before_cell)
    shell.events.register("post_run_cell", recorder.after_cell)
