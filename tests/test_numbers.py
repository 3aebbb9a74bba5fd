import pytest

from grader.evaluate.numbers import evaluate_expression, parse_number

CONTEXT = (7, 2)  # numbers the Q1 prompt itself mentions


@pytest.mark.parametrize("text, expected", [
    ("127", 127), ("2^7-1", 127), ("$2^7 - 1$", 127), ("$2^{7}-1$", 127), ("2**7 - 1", 127),
    ("El mayor es $2^7-1 = 127$", 127), ("Respuesta: 127, porque con 7 bits...", 127),
    ("ciento veintisiete", 127), ("one hundred twenty seven", 127),
    ("Con 7 dígitos binarios el mayor número es 127.", 127),
    ("El mayor es 127 ya que 2^7 = 128 valores", 127),
    ("$$2^8 = 256$$", 256), ("256", 256), ("128", 128), ("Es 2^7 = 128", 128), ("128 (2^7)", 128),
    ("$2^7 \\cdot 2 = 256$", 256), ("**Respuesta**: $2^7-1$", 127),
])
def test_reads_the_stated_number(text, expected):
    assert parse_number(text, CONTEXT) == expected


@pytest.mark.parametrize("text", ["", "no lo sé", "depende del número de bits"])
def test_no_number_is_none(text):
    assert parse_number(text, CONTEXT) is None


def test_arithmetic_is_evaluated_without_eval():
    assert evaluate_expression("2^7-1") == 127
    assert evaluate_expression("__import__('os').system('x')") is None
    assert evaluate_expression("9^9^9^9") is None  # refused, not computed for ever
