"""One catalog of messages: every key in every language, and every key the code or a template uses is in it."""
import ast
import re
import string
from pathlib import Path

import pytest

from grader import i18n

GRADER = Path(__file__).resolve().parent.parent / "grader"
SAYING = {"say", "text", "each_language", "words"}      # functions whose first argument is a message key
NAMESPACES = {key.split(".")[0] for key in i18n.MESSAGES if "." in key}


def fields(words: str) -> set[str]:
    """The parameters ``words`` takes (``{encoding[es]}`` takes ``encoding``)."""
    return {re.split(r"[.\[]", name)[0] for _, name, _, _ in string.Formatter().parse(words) if name is not None}


@pytest.mark.parametrize("key", sorted(i18n.MESSAGES))
def test_every_message_is_in_every_language_with_the_same_parameters(key):
    said = i18n.MESSAGES[key]
    assert isinstance(said, tuple) and len(said) == len(i18n.LANGS), key
    assert all(isinstance(words, str) and words.strip() for words in said), key
    assert len({frozenset(fields(words)) for words in said}) == 1, key


def used_keys() -> set[tuple[str, str]]:
    """(where, key) of every message key written in the grader's code and templates."""
    found = set()
    for path in GRADER.rglob("*.py"):
        for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
            if isinstance(node, ast.Call) and node.args and isinstance(node.args[0], ast.Constant):
                name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
                if name in SAYING and isinstance(node.args[0].value, str):
                    found.add((f"{path.name}:{node.lineno}", node.args[0].value))
            elif isinstance(node, ast.Constant) and isinstance(node.value, str) and \
                    re.fullmatch(rf"(?:{'|'.join(NAMESPACES)})\.\w+", node.value):
                found.add((f"{path.name}:{node.lineno}", node.value))
    for path in [*GRADER.rglob("*.j2")]:
        found |= {(path.name, key) for key in re.findall(r"\bt\(\"(\w+)\"\)", path.read_text(encoding="utf-8"))}
    return found


def test_every_key_the_code_uses_is_in_the_catalog():
    used = used_keys()
    assert len(used) > 300   # the scan sees the checks, the runner, the notes and the templates
    missing = sorted(f"{where}: {key}" for where, key in used if key not in i18n.MESSAGES)
    assert missing == []


def test_a_message_takes_its_parameters_in_each_language():
    assert i18n.text("metric.training_of", "es", label="m") == "Entrenamiento de «m»"
    assert i18n.text("metric.training_of", "en", label="m") == "Training of “m”"
    assert i18n.each_language("intake.several_files", count=2, file="a.ipynb", attempt="",
                              not_graded={"es": "b.py (no es un cuaderno)", "en": "b.py (not a notebook)"}) == {
        "es": "2 archivos entregados: se corrige a.ipynb (el más reciente). No se corrigen: b.py (no es un cuaderno).",
        "en": "2 files handed in: a.ipynb is graded (the latest). Not graded: b.py (not a notebook)."}
    assert i18n.text("no such key", "en") == "no such key"


def test_the_report_words():
    for status in ("pass", "partial", "fail", "manual", "skipped", "timeout", "not_run", "killed"):
        assert i18n.text(status, "es") != i18n.text(status, "en")
    assert i18n.text("pass") == "Superado" and i18n.text("manual", "en") == "Human review"
