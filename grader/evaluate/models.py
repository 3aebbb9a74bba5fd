"""Load a model file from the sandbox, safely, and describe what it is.

Before Keras sees a file, its configuration is read as plain JSON and every
layer class is checked against Keras' own layers. A model with code of its
own (a ``Lambda``, a class defined in the notebook, or one the kernel's notes
name) is never loaded here: it is described from its configuration and the
kernel's notes (:func:`read_notes`), and only the sandboxed predictor
(:mod:`grader.execute.predictor`) runs it. Any other model is loaded by
Keras with ``safe_mode=True``. Files from legacy Keras (tf-keras) are
``.h5`` and are loaded with tf-keras: each model is evaluated with the Keras
that built it (Keras 3 cannot rebuild tf-keras recurrent layers).

A model is described as people build it: the layers of nested models
(``Sequential([model, Softmax()])``) are listed in place, an activation
layer counts as the activation of the layer before it, and the loss is read
in any spelling Keras stores (string, function, class; Keras 3 or tf-keras).
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from .. import i18n

CODE_CARRIERS = {"Lambda", "__lambda__"}  # Keras' own classes that carry the notebook's code (a Python function)
MODELS = {"Sequential", "Functional", "Model"}
CONTAINERS = MODELS | {"InputLayer"}
# How Keras stores plain values in a config (a functional model's tensors, arrays, slices): data, not classes
VALUES = {"__keras_tensor__", "__tensor__", "__numpy__", "__bytes__", "__ellipsis__", "__slice__", "__typespec__"}


MAX_NOTES = 2 * 1024**2    # bytes of the kernel's notes on a model's own code
MAX_SOURCE = 20000         # characters of source kept per class or function


class RefusedModel(Exception):
    """A model file the grader cannot load; ``words`` say why in each language (the message, in English).

    ``passing`` marks a failure of this machine (memory, disk), not of the
    file, which a later run may not meet.
    """

    def __init__(self, key: str, passing: bool = False, **params):
        self.words = i18n.each_language(key, **params)
        super().__init__(self.words["en"])
        self.passing = passing


# Layers whose only job is an activation, and the activation they apply
ACTIVATION_LAYERS = {"Softmax": "softmax", "ReLU": "relu", "LeakyReLU": "leaky_relu", "ELU": "elu", "PReLU": "prelu"}


@dataclass
class ModelInfo:
    """What a model is, read from the loaded model (not from the notebook's claims)."""
    input_shape: tuple | None
    output_shape: tuple | None
    layers: list[dict] = field(default_factory=list)     # {"class", "units", "activation", "name", "wraps"}
    loss: str = ""                                       # the loss it was compiled with, normalised
    from_logits: bool = False                            # that loss was told the outputs are logits
    own_code: list[str] = field(default_factory=list)    # its classes defined in the notebook, "Lambda"
    code: dict = field(default_factory=dict)             # their sources: {"classes": {..}, "lambdas": {..}}

    @classmethod
    def from_dict(cls, data: dict) -> "ModelInfo":
        shape = lambda value: None if value is None else tuple(value)  # noqa: E731  (JSON made it a list)
        return cls(**{**data, "input_shape": shape(data["input_shape"]), "output_shape": shape(data["output_shape"])})

    @property
    def layer_classes(self) -> set[str]:
        """Classes of the layers, and of the layers they wrap (``Bidirectional(LSTM)`` is an LSTM too)."""
        return {name for layer in self.layers for name in (layer["class"], layer.get("wraps")) if name}

    @property
    def output_activation(self) -> str:
        for layer in reversed(self.layers):
            if layer.get("activation"):
                return layer["activation"]
        return "linear"

    @property
    def hidden_activations(self) -> list[str]:
        """The activation after each layer with units but the last, counting a separate activation layer."""
        found = []
        for layer in self.layers:
            if layer.get("units"):
                found.append(layer.get("activation") or "linear")
            elif layer.get("activation") and found and found[-1] == "linear":
                found[-1] = layer["activation"]
        return found[:-1]

    @property
    def logits(self) -> bool:
        """A linear output trained with ``from_logits=True``: scores that need a softmax or sigmoid.

        A linear output trained with a loss that expects probabilities is not
        logits: Keras clips it into [0, 1] while training, so it learns
        probabilities, and thresholds at 0.5 as the handout's model does.
        """
        return self.from_logits and self.output_activation == "linear"

    def summary(self) -> str:
        return " → ".join(_layer_text(layer) for layer in self.layers)


def _layer_text(layer: dict) -> str:
    """``Dense(64, relu)``, ``Bidirectional(LSTM(8, tanh))``, ``Softmax``."""
    text = layer.get("wraps") or layer["class"]
    if layer.get("units"):
        text += f"({layer['units']}" + (f", {layer['activation']}" if layer.get("activation") else "") + ")"
    return f"{layer['class']}({text})" if layer.get("wraps") else text


# Keras' names of one loss, compacted by normalise_loss (keras.losses.get knows them too, but importing
# Keras would cost a re-grade from the memo its promise of not importing TensorFlow)
LOSS_ALIASES = {"mse": "meansquarederror", "mae": "meanabsoluteerror", "mape": "meanabsolutepercentageerror",
                "msle": "meansquaredlogarithmicerror", "bce": "binarycrossentropy", "huberloss": "huber",
                "kld": "kldivergence", "kullbackleiblerdivergence": "kldivergence"}
LOSS_FAMILIES = {
    "classification": {"binarycrossentropy", "categoricalcrossentropy", "sparsecategoricalcrossentropy",
                       "binaryfocalcrossentropy", "categoricalfocalcrossentropy", "hinge", "squaredhinge",
                       "categoricalhinge"},
    "regression": {"meansquarederror", "meanabsoluteerror", "meanabsolutepercentageerror",
                   "meansquaredlogarithmicerror", "huber", "logcosh"},
}


def normalise_loss(loss) -> str:
    """One name for one loss: ``"mse"``, ``"mean_squared_error"``, ``keras.losses.mean_squared_error`` and
    ``MeanSquaredError()`` are all ``meansquarederror``.

    Keras stores a loss as a string, as a class (``{"class_name": "MeanSquaredError", ...}``) or, in
    Keras 3, a function as ``{"class_name": "function", "config": "mean_squared_error"}``.
    """
    if isinstance(loss, dict):
        config = loss.get("config")
        loss = config if loss.get("class_name") == "function" and isinstance(config, str) else \
            loss.get("class_name") or (config if isinstance(config, dict) else {}).get("name") or ""
    if not isinstance(loss, str):
        return ""  # several losses (a model with several outputs): none of the models asked for here
    name = loss.rsplit(".", 1)[-1].replace("_", "").lower()
    return LOSS_ALIASES.get(name, name)


def losses_meant(names) -> set[str]:
    """The normalised losses a rubric's ``loss = [...]`` accepts: names, or families (``"classification"``)."""
    return set().union(*(LOSS_FAMILIES.get(name, {normalise_loss(name)}) for name in names))


def _loss_of(stored) -> tuple[str, bool]:
    """The normalised loss and whether it takes logits, as Keras stored it in a compile or training config."""
    config = stored.get("config") if isinstance(stored, dict) else None
    return normalise_loss(stored), bool(isinstance(config, dict) and config.get("from_logits"))


def _compiled_loss(config) -> object:
    """The loss of the model, else of the first model nested in it (a wrapper is often not compiled)."""
    if isinstance(config, dict):
        if (config.get("compile_config") or {}).get("loss"):
            return config["compile_config"]["loss"]
        children = config.values()
    elif isinstance(config, list):
        children = config
    else:
        return None
    return next((loss for loss in map(_compiled_loss, children) if loss), None)


def _config_of(path: Path) -> tuple[dict, object]:
    """The model's configuration and its training loss as stored, read as plain JSON."""
    if path.suffix == ".keras":
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
        return config, _compiled_loss(config)
    if path.suffix == ".h5":
        import h5py
        with h5py.File(path, "r") as handle:
            raw, training = handle.attrs.get("model_config"), handle.attrs.get("training_config")
        if raw is None:
            raise RefusedModel("model.no_configuration")
        decode = lambda value: json.loads(value.decode() if isinstance(value, bytes) else value)  # noqa: E731
        return decode(raw), decode(training).get("loss") if training is not None else None
    raise RefusedModel("model.unknown_file_type", suffix=repr(path.suffix))


def _layer_classes(config) -> list[tuple[str, str]]:
    """(class name, module) of every object in a Keras config, recursively."""
    found = []
    if isinstance(config, dict):
        if "class_name" in config and isinstance(config.get("config"), (dict, list)):
            found.append((str(config["class_name"]), str(config.get("module") or "")))
        for value in config.values():
            found += _layer_classes(value)
    elif isinstance(config, list):
        for value in config:
            found += _layer_classes(value)
    return found


@dataclass
class StoredModel:
    """What a model file says of itself, read as plain JSON."""
    config: dict
    loss: str
    from_logits: bool
    own_code: list[str]     # classes defined in the notebook, "Lambda", "__lambda__" (a function stored in it)


def read_config(path: Path) -> StoredModel:
    """The model's configuration, loss and code of its own; :class:`RefusedModel` when the file is unreadable."""
    try:
        config, loss = _config_of(path)
        classes = _layer_classes(config)
    except (OSError, KeyError, ValueError, RecursionError, zipfile.BadZipFile) as error:  # nested without end
        raise RefusedModel("model.unreadable", error_type=type(error).__name__) from None
    if not isinstance(config, dict):
        raise RefusedModel("model.no_configuration")
    own_code = []
    for class_name, module in classes:
        if class_name in VALUES or class_name in own_code:
            continue
        defined_elsewhere = module and not module.startswith("keras")
        if class_name in CODE_CARRIERS or defined_elsewhere or not (module or _known_to_keras(class_name)):
            own_code.append(class_name)
    if "Lambda" in own_code and "__lambda__" in own_code:
        own_code.remove("__lambda__")  # the Lambda layer's own function: one piece of code, named once
    return StoredModel(config, *_loss_of(loss), own_code)


def read_notes(path: Path | None) -> dict:
    """The kernel's notes on a model's own code (``<stem>.code.json``), checked as untrusted plain data:
    sources of ``classes`` and ``lambdas``, ``output_shape``, ``layers`` of a subclassed model, ``error``."""
    notes = {"classes": {}, "lambdas": {}, "output_shape": None, "layers": [], "error": ""}
    if path is None:
        return notes
    try:
        with open(path, "rb") as handle:
            data = json.loads(handle.read(MAX_NOTES))
    except (OSError, ValueError, RecursionError):
        return {**notes, "error": "the kernel's notes on its code are unreadable"}
    if not isinstance(data, dict):
        return notes
    for key in ("classes", "lambdas"):
        if isinstance(data.get(key), dict):
            notes[key] = {str(name)[:100]: str(source)[:MAX_SOURCE] for name, source in list(data[key].items())[:50]}
    shape = data.get("output_shape")
    if isinstance(shape, list) and 0 < len(shape) <= 8 and all(d is None or type(d) is int for d in shape):
        notes["output_shape"] = shape
    if isinstance(data.get("layers"), list):
        notes["layers"] = data["layers"][:200]
    notes["error"] = str(data.get("error") or "")[:500]
    return notes


def _known_to_keras(class_name: str) -> bool:
    import keras
    return class_name in CONTAINERS or any(hasattr(module, class_name) for module in (
        keras.layers, keras.initializers, keras.regularizers, keras.constraints, keras.optimizers,
        keras.losses, keras.metrics, keras.activations, keras.dtype_policies))


def load(path: Path, notes: dict | None = None):
    """The Keras model saved at ``path`` and what it is; :class:`RefusedModel` if it cannot be loaded.

    A model with code of its own (named by its configuration or by the kernel's
    ``notes``) is not loaded: it comes back as None, described from its
    configuration and the notes.
    """
    path = Path(path)
    stored = read_config(path)
    notes = notes or read_notes(None)
    own_code = stored.own_code + [name for name in notes["classes"] if name not in stored.own_code]
    if own_code:
        try:
            return None, describe_stored(stored, own_code, notes)
        except (AttributeError, TypeError, ValueError, RecursionError) as error:  # a configuration of odd shape
            raise RefusedModel("model.unreadable", error_type=type(error).__name__) from None
    try:
        if path.suffix == ".h5":  # legacy Keras; Lambda layers were sent away above, so no code is unmarshalled
            import tf_keras
            model = tf_keras.models.load_model(path, compile=False)
        else:
            import keras
            model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:
        passing = isinstance(error, (MemoryError, OSError)) or "ResourceExhausted" in type(error).__name__
        raise RefusedModel("model.keras_could_not_load", passing=passing, error_type=type(error).__name__,
                           error=str(error)[:300]) from None
    return model, describe(model, stored.loss, stored.from_logits)


def describe(model, loss: str = "", from_logits: bool = False) -> ModelInfo:
    return ModelInfo(_shape(model, "input"), _shape(model, "output"),
                     [_describe_layer(type(layer).__name__, layer.get_config()) for layer in _leaf_layers(model)],
                     loss, from_logits)


def describe_stored(stored: StoredModel, own_code: list[str], notes: dict) -> ModelInfo:
    """A model with code of its own, from its configuration: layers and input shape (a subclassed model's
    layers, which its configuration does not list, and the output shape from the kernel's notes)."""
    config = stored.config
    layers = _stored_layers(config) or _stored_layers({"config": {"layers": notes["layers"]}}) or \
        [(str(config.get("class_name")), {})]
    output = notes["output_shape"]
    return ModelInfo(_stored_input_shape(config), None if output is None else (None, *output[1:]),
                     [_describe_layer(name, layer_config) for name, layer_config in layers],
                     stored.loss, stored.from_logits, own_code,
                     {"classes": notes["classes"], "lambdas": notes["lambdas"]})


def _stored_layers(entry: dict) -> list[tuple[str, dict]]:
    """(class, config) of the layers of a stored model, those of nested models in place; no input layers."""
    found = []
    inner = entry.get("config")
    for layer in (inner.get("layers") if isinstance(inner, dict) else None) or []:
        if not isinstance(layer, dict) or not isinstance(layer.get("config"), dict):
            continue
        name = str(layer.get("class_name"))
        if name in MODELS:
            found += _stored_layers(layer)
        elif name != "InputLayer":
            found.append((name, layer["config"]))
    return found


def _stored_input_shape(config: dict):
    """The input shape a stored model was built for, its batch size left open."""
    inner = config.get("config") if isinstance(config.get("config"), dict) else {}
    build = config.get("build_config") if isinstance(config.get("build_config"), dict) else {}
    shape = build.get("input_shape") or inner.get("build_input_shape")
    for layer in (inner.get("layers") or []) if shape is None else []:
        if isinstance(layer, dict) and layer.get("class_name") == "InputLayer":
            given = layer.get("config") if isinstance(layer.get("config"), dict) else {}
            shape = given.get("batch_shape") or given.get("batch_input_shape")
            break
    if not isinstance(shape, list) or not shape or not all(d is None or type(d) is int for d in shape):
        return None  # several inputs, or none known
    return (None, *shape[1:])


def _leaf_layers(model) -> list:
    """The model's layers, with those of every model nested in it in their place; no input layers."""
    found = []
    for layer in model.layers:
        if type(layer).__name__ in MODELS:
            found += _leaf_layers(layer)
        elif type(layer).__name__ != "InputLayer":
            found.append(layer)
    return found


def _describe_layer(class_name: str, config: dict) -> dict:
    """Class, name, units and activation, from the layer's config; a wrapper (``TimeDistributed``,
    ``Bidirectional``) or an ``RNN`` tells those of the layer or cell it holds."""
    wrapped = next((config[key] for key in ("layer", "forward_layer", "cell") if isinstance(config.get(key), dict)),
                   None)
    inner = wrapped["config"] if wrapped is not None and isinstance(wrapped.get("config"), dict) else config
    activation = inner.get("activation") or ACTIVATION_LAYERS.get(class_name)
    if isinstance(activation, dict):  # a class, or a function of the notebook's
        named = activation.get("config")
        activation = named if isinstance(named, str) else (named or {}).get("name") or activation.get("class_name")
    described = {"class": class_name, "name": config.get("name"), "units": inner.get("units"),
                 "activation": None if activation is None else str(activation)}
    if wrapped is not None:
        described["wraps"] = str(wrapped.get("class_name"))
    return described


def _shape(model, which: str):
    try:
        shape = getattr(model, f"{which}_shape")
    except (AttributeError, ValueError, RuntimeError):
        build = model.get_build_config() or {} if which == "input" else {}
        shape = build.get("input_shape")
        if shape is None:
            return None
    if isinstance(shape, list) and shape and isinstance(shape[0], (list, tuple)):
        return None  # several inputs or outputs: not a model any check here expects
    return tuple(shape)
