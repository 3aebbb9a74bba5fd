"""Call models with code of their own, in a sandbox like the student's kernel: only predictions leave.

:mod:`grader.execute.predictor` starts this script under the same sandbox
and limits as the kernel, in a scratch folder of its own, and sends one
request per line on stdin (JSON, paths in that folder)::

    {"id": 3, "model": "model-2-v1.keras", "code": "model-2-v1.code.pkl", "x": "x-3.npy", "y": "y-3.npy"}

The model is loaded with the notebook's classes and Lambda functions,
unpickled from the kernel's ``.code.pkl`` (student code, run here in the
sandbox and never in the grader), called on the inputs ``x`` and its outputs
saved as ``y``. The answer is one line, ``{"id": 3}`` or ``{"id": 3,
"error": "..."}``, on the stdout this process started with; whatever the
notebook's code prints goes to stderr instead.

It runs as ``python -c "import predict_server; predict_server.main()"``:
the notebook's names go into ``__main__``, where its classes and functions
look for them, and so cannot replace this module's own. Imports nothing from
``grader``. Configuration comes as JSON in GRADER_KERNEL (``{"legacy_keras":
true}``: the notebook ran with tf-keras).
"""
import inspect
import json
import os
import pickle
import sys
import zipfile

import __main__

BATCH = 1024


def main():
    replies = os.fdopen(os.dup(1), "w", encoding="utf-8")
    os.dup2(2, 1)  # the notebook's prints go to stderr, never into the replies
    legacy = json.loads(os.environ.get("GRADER_KERNEL", "{}")).get("legacy_keras")
    if legacy:
        from grader_kernel import alias_legacy_keras
        alias_legacy_keras()
    else:
        lambdas_see_the_notebook()
    import keras
    import numpy as np
    models = {}
    for line in sys.stdin:
        request = json.loads(line)
        reply = {"id": request.get("id")}
        try:
            key = (request["model"], request.get("code"))
            if key not in models:
                models[key] = load(keras, request["model"], request.get("code"))
            x = np.load(request["x"], allow_pickle=False)
            outputs = [np.asarray(models[key](x[i:i + BATCH], training=False), dtype="float32")
                       for i in range(0, len(x), BATCH)]
            np.save(request["y"], np.concatenate(outputs), allow_pickle=False)
        except BaseException as error:  # the notebook's code may raise anything, SystemExit included
            reply["error"] = f"{type(error).__name__}: {error}"[:1000]
        replies.write(json.dumps(reply) + "\n")
        replies.flush()


def lambdas_see_the_notebook():
    """Keras 3 rebuilds a Lambda's function with the globals of its own module: give it the notebook's.

    tf-keras looks in the module the function came from, ``__main__``, already.
    """
    from keras.src.utils import python_utils
    original = python_utils.func_load

    def func_load(code, defaults=None, closure=None, globs=None):
        return original(code, defaults, closure, vars(__main__) if globs is None else globs)
    python_utils.func_load = func_load


def load(keras, path: str, code_path: str | None):
    """The model at ``path``, its classes and Lambda functions those of the notebook."""
    code = {"classes": {}, "functions": {}}
    if code_path:
        with open(code_path, "rb") as handle:
            code = pickle.load(handle)
    classes, functions = code["classes"], code["functions"]
    vars(__main__).update(classes)  # where the notebook defined them
    for function in functions.values():
        vars(__main__).update({name: value for name, value in getattr(function, "__globals__", {}).items()
                               if not name.startswith("__")})
    try:
        model = keras.models.load_model(path, custom_objects=classes, compile=False, safe_mode=False)
    except Exception:
        config = stored_config(path)
        if config.get("class_name") not in classes:
            raise
        model = rebuild(config, classes[config["class_name"]], path)
    for layer in model._flatten_layers(include_self=False, recursive=True):
        if type(layer).__name__ == "Lambda" and layer.name in functions:
            layer.function = functions[layer.name]  # the notebook's function, with the globals it had there
    return model


def stored_config(path: str) -> dict:
    if not zipfile.is_zipfile(path):
        return {}
    with zipfile.ZipFile(path) as archive:
        return json.loads(archive.read("config.json"))


def rebuild(config: dict, cls, path: str):
    """A subclassed model whose ``__init__`` does not take Keras's config keys (``trainable``, ``dtype``):
    made from the arguments it takes, built, then given its weights."""
    import numpy as np
    accepted = inspect.signature(cls.__init__).parameters
    model = cls(**{key: value for key, value in config.get("config", {}).items() if key in accepted})
    build = config.get("build_config") or {}
    if hasattr(model, "build_from_config"):
        model.build_from_config(build)
    if not model.built:
        model(np.zeros([size or 1 for size in build["input_shape"]], "float32"))
    model.load_weights(path)
    return model
