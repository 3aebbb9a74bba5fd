"""Load a model file from the sandbox, safely, and describe what it is.

Before Keras sees a file, its configuration is read as plain JSON and every
layer class is checked against Keras' own layers: a ``Lambda`` (arbitrary
code) or a class defined in the notebook is refused with the reason, and
nothing from the file is ever executed. Then Keras loads it with
``safe_mode=True``. Files from legacy Keras (tf-keras) are ``.h5`` and are
loaded with tf-keras: each model is evaluated with the Keras that built it
(Keras 3 cannot rebuild tf-keras recurrent layers).
"""
from __future__ import annotations

import json
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

REFUSED = {"Lambda": "a Lambda layer runs arbitrary code from the notebook",
           "__lambda__": "a Python function stored in the model runs arbitrary code from the notebook"}
CONTAINERS = {"Sequential", "Functional", "Model", "InputLayer"}
# How Keras stores plain values in a config (a functional model's tensors, arrays, slices): data, not classes
VALUES = {"__keras_tensor__", "__tensor__", "__numpy__", "__bytes__", "__ellipsis__", "__slice__", "__typespec__"}


class RefusedModel(Exception):
    """A model file the grader will not or cannot load; the message says why.

    ``unsafe`` tells a refusal (it would run the notebook's code) from a
    file that is merely broken; ``passing`` marks a failure of this machine
    (memory, disk), not of the file, which a later run may not meet.
    """

    def __init__(self, message: str, unsafe: bool = False, passing: bool = False):
        super().__init__(message)
        self.unsafe, self.passing = unsafe, passing


@dataclass
class ModelInfo:
    """What a model is, read from the loaded model (not from the notebook's claims)."""
    input_shape: tuple | None
    output_shape: tuple | None
    layers: list[dict] = field(default_factory=list)     # {"class", "units", "activation", "name"}
    loss: str = ""                                       # the loss it was compiled with, normalised

    @classmethod
    def from_dict(cls, data: dict) -> "ModelInfo":
        shape = lambda value: None if value is None else tuple(value)  # noqa: E731  (JSON made it a list)
        return cls(shape(data["input_shape"]), shape(data["output_shape"]), data["layers"], data["loss"])

    @property
    def layer_classes(self) -> set[str]:
        return {layer["class"] for layer in self.layers}

    @property
    def output_activation(self) -> str:
        for layer in reversed(self.layers):
            if layer.get("activation"):
                return layer["activation"]
        return "linear"

    @property
    def hidden_activations(self) -> list[str]:
        with_units = [layer for layer in self.layers if layer.get("units")]
        return [layer.get("activation") or "linear" for layer in with_units[:-1]]

    def summary(self) -> str:
        parts = []
        for layer in self.layers:
            text = layer["class"]
            if layer.get("units"):
                text += f"({layer['units']}" + (f", {layer['activation']}" if layer.get("activation") else "") + ")"
            parts.append(text)
        return " → ".join(parts)


LOSS_ALIASES = {"mse": "meansquarederror", "mae": "meanabsoluteerror", "bce": "binarycrossentropy"}


def normalise_loss(loss) -> str:
    """``"mse"``, ``"mean_squared_error"`` and ``MeanSquaredError`` are one loss."""
    if isinstance(loss, dict):
        loss = loss.get("class_name") or loss.get("config", {}).get("name") or ""
    name = str(loss or "").rsplit(".", 1)[-1].replace("_", "").lower()
    return LOSS_ALIASES.get(name, name)


def _config_of(path: Path) -> tuple[dict, str]:
    """The model's configuration and its training loss, read as plain JSON."""
    if path.suffix == ".keras":
        with zipfile.ZipFile(path) as archive:
            config = json.loads(archive.read("config.json"))
        return config, normalise_loss((config.get("compile_config") or {}).get("loss"))
    if path.suffix == ".h5":
        import h5py
        with h5py.File(path, "r") as handle:
            raw, training = handle.attrs.get("model_config"), handle.attrs.get("training_config")
        if raw is None:
            raise RefusedModel("the file holds no model configuration")
        decode = lambda value: json.loads(value.decode() if isinstance(value, bytes) else value)  # noqa: E731
        return decode(raw), normalise_loss(decode(training).get("loss") if training is not None else "")
    raise RefusedModel(f"unknown model file type {path.suffix!r}")


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


def check_config(path: Path) -> str:
    """The model's loss; :class:`RefusedModel` when the file needs code the grader will not run."""
    try:
        config, loss = _config_of(path)
    except (OSError, KeyError, ValueError, zipfile.BadZipFile) as error:
        raise RefusedModel(f"the model file is unreadable ({type(error).__name__})") from None
    for class_name, module in _layer_classes(config):
        if class_name in REFUSED:
            raise RefusedModel(f"{class_name}: {REFUSED[class_name]}", unsafe=True)
        if class_name in VALUES:
            continue
        defined_elsewhere = module and not module.startswith("keras")
        if defined_elsewhere or not (module or _known_to_keras(class_name)):
            raise RefusedModel(f"{class_name}: a class defined in the notebook; the grader does not run its code",
                               unsafe=True)
    return loss


def _known_to_keras(class_name: str) -> bool:
    import keras
    return class_name in CONTAINERS or any(hasattr(module, class_name) for module in (
        keras.layers, keras.initializers, keras.regularizers, keras.constraints, keras.optimizers,
        keras.losses, keras.metrics, keras.activations, keras.dtype_policies))


def load(path: Path):
    """The Keras model saved at ``path`` and what it is; :class:`RefusedModel` if unsafe or unreadable."""
    path = Path(path)
    loss = check_config(path)
    try:
        if path.suffix == ".h5":  # legacy Keras; Lambda layers were refused above, so no code is unmarshalled
            import tf_keras
            model = tf_keras.models.load_model(path, compile=False)
        else:
            import keras
            model = keras.models.load_model(path, compile=False, safe_mode=True)
    except Exception as error:
        passing = isinstance(error, (MemoryError, OSError)) or "ResourceExhausted" in type(error).__name__
        raise RefusedModel(f"Keras could not load it: {type(error).__name__}: {str(error)[:300]}",
                           passing=passing) from None
    return model, describe(model, loss)


def describe(model, loss: str = "") -> ModelInfo:
    layers = []
    for layer in model.layers:
        config = layer.get_config()
        activation = config.get("activation")
        if isinstance(activation, dict):
            activation = activation.get("config", {}).get("name") or activation.get("class_name")
        layers.append({"class": type(layer).__name__, "name": layer.name,
                       "units": config.get("units"), "activation": activation})
    return ModelInfo(_shape(model, "input"), _shape(model, "output"), layers, loss)


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
