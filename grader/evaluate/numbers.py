"""Read the number a student meant from an answer written as text.

Answers come as ``127``, ``2^7-1``, ``$2^7 - 1 = 127$``, ``$$2^8 = 256$$``,
``2**7 - 1``, ``ciento veintisiete``. Arithmetic is evaluated with ``ast``
on numbers and + - * / ^ only, never with ``eval``. When the text holds an
equation the value of its last side is what it states. The answer is the
first value stated after the last answer marker (``Respuesta:``), or in the
whole text when there is none.
"""
from __future__ import annotations

import ast
import operator
import re

_MARKER = re.compile(r"(?:respuesta|answer|resultado|result|soluci[oó]n|solution|R)\s*[:=\-]", re.IGNORECASE)
_EXPRESSION = r"[\d(][\d\s+\-*/^().,]*"
_CHAIN = re.compile(rf"{_EXPRESSION}(?:(?:=|≈)\s*{_EXPRESSION})*")
_OPS = {ast.Add: operator.add, ast.Sub: operator.sub, ast.Mult: operator.mul,
        ast.Div: operator.truediv, ast.Pow: operator.pow, ast.USub: operator.neg, ast.UAdd: operator.pos}
_UNITS = {
    "cero": 0, "zero": 0, "uno": 1, "un": 1, "one": 1, "dos": 2, "two": 2, "tres": 3, "three": 3,
    "cuatro": 4, "four": 4, "cinco": 5, "five": 5, "seis": 6, "six": 6, "siete": 7, "seven": 7,
    "ocho": 8, "eight": 8, "nueve": 9, "nine": 9, "diez": 10, "ten": 10, "once": 11, "eleven": 11,
    "doce": 12, "twelve": 12, "trece": 13, "catorce": 14, "quince": 15, "dieciséis": 16, "dieciseis": 16,
    "diecisiete": 17, "dieciocho": 18, "diecinueve": 19, "veinte": 20, "twenty": 20,
    "veintiuno": 21, "veintidós": 22, "veintidos": 22, "veintitrés": 23, "veintitres": 23,
    "veinticuatro": 24, "veinticinco": 25, "veintiséis": 26, "veintiseis": 26, "veintisiete": 27,
    "veintiocho": 28, "veintinueve": 29, "treinta": 30, "thirty": 30, "cuarenta": 40, "forty": 40,
    "cincuenta": 50, "fifty": 50, "sesenta": 60, "sixty": 60, "setenta": 70, "seventy": 70,
    "ochenta": 80, "eighty": 80, "noventa": 90, "ninety": 90,
    "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19,
}
_HUNDREDS = {"cien": 100, "ciento": 100, "doscientos": 200, "trescientos": 300, "cuatrocientos": 400,
             "quinientos": 500, "seiscientos": 600, "setecientos": 700, "ochocientos": 800,
             "novecientos": 900, "hundred": 100}
_NUMBER_WORD = re.compile("|".join(sorted(map(re.escape, [*_UNITS, *_HUNDREDS, "y", "and", "mil", "thousand"]),
                                          key=len, reverse=True)), re.IGNORECASE)


def _evaluate(node):
    if isinstance(node, ast.Constant) and isinstance(node.value, (int, float)):
        return node.value
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        left, right = _evaluate(node.left), _evaluate(node.right)
        if isinstance(node.op, ast.Pow) and abs(right) > 64:
            raise ValueError("exponent too large")
        return _OPS[type(node.op)](left, right)
    if isinstance(node, ast.UnaryOp) and type(node.op) in _OPS:
        return _OPS[type(node.op)](_evaluate(node.operand))
    raise ValueError("not arithmetic")


def evaluate_expression(text: str) -> float | None:
    """The value of one arithmetic expression such as ``2^7 - 1``, or None."""
    text = text.strip().rstrip(".,").replace("^", "**").replace(",", ".")
    if not text or len(text) > 200:
        return None
    try:
        value = _evaluate(ast.parse(text, mode="eval").body)
    except (SyntaxError, ValueError, ZeroDivisionError, OverflowError, RecursionError):
        return None
    return float(value)


def _delatex(text: str) -> str:
    text = text.replace("$", " ").replace("\\cdot", "*").replace("\\times", "*").replace("\\,", "")
    text = re.sub(r"\\frac\s*\{([^{}]*)\}\s*\{([^{}]*)\}", r"((\1)/(\2))", text)
    text = re.sub(r"\^\s*\{([^{}]*)\}", r"^(\1)", text)
    text = re.sub(r"\\(left|right|quad|qquad|text|mathrm|displaystyle)\b", " ", text)
    return text.replace("{", "(").replace("}", ")").replace("×", "*").replace("·", "*").replace("−", "-")


def _words_to_number(text: str) -> float | None:
    """``ciento veintisiete`` -> 127; None when the text spells no number."""
    total, current, found = 0, 0, False
    for word in re.findall(r"[a-záéíóúñ]+", text.lower()):
        if word in _UNITS:
            current += _UNITS[word]
            found = True
        elif word in _HUNDREDS:
            current = (current or 1) * 100 if word == "hundred" else current + _HUNDREDS[word]
            found = True
        elif word in ("mil", "thousand"):
            total, current, found = total + (current or 1) * 1000, 0, True
        elif word not in ("y", "and") and found:
            break
    return float(total + current) if found else None


def _values(text: str) -> list[float]:
    """Values stated in ``text``, in order; an equation states its last side."""
    values = []
    for match in _CHAIN.finditer(text):
        side = re.split(r"=|≈", match.group())[-1]
        value = evaluate_expression(side)
        if value is not None:
            values.append(value)
        else:  # "128 (2^7)": not one expression; take its numbers one by one
            values += [float(n.replace(",", ".")) for n in re.findall(r"\d+(?:[.,]\d+)?", side)]
    return values


def parse_number(text: str, context: tuple = ()) -> float | None:
    """The number an answer states, or None when it states none.

    ``context`` holds numbers that merely restate the question (``7`` in "the
    largest number with 7 digits"); they are skipped.
    """
    text = _delatex(text or "")
    markers = list(_MARKER.finditer(text))
    if markers:
        text = text[markers[-1].end():]
    values = [value for value in _values(text) if value not in context]
    if values:
        return values[0]
    return _words_to_number(text)
