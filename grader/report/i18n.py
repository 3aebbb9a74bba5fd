"""Words and number formats of the reports, in Spanish (the course's language) and English."""
from __future__ import annotations

import math

LANGS = ("es", "en")

STRINGS = {
    # statuses of a question or part, and of a cell
    "pass": ("Superado", "Passed"),
    "partial": ("Parcial", "Partial"),
    "fail": ("No superado", "Not passed"),
    "error": ("Error", "Error"),
    "manual": ("Revisión manual", "Human review"),
    "hidden": ("Tras la entrega", "After hand-in"),
    "info": ("Informativo", "For information"),
    "ok": ("correcta", "ok"),
    "skipped": ("omitida", "skipped"),
    "timeout": ("tiempo agotado", "timed out"),
    "not_run": ("no ejecutada", "not run"),
    "killed": ("detenida", "stopped"),
    # the student's report
    "report": ("Informe de corrección", "Grading report"),
    "score": ("Nota", "Score"),
    "questions": ("Preguntas", "Questions"),
    "question": ("Pregunta", "Question"),
    "points": ("Puntos", "Points"),
    "status": ("Estado", "Status"),
    "reason": ("Motivo", "Reason"),
    "parts": ("Partes", "Parts"),
    "measured": ("Medido", "Measured"),
    "band": ("Banda de puntos", "Points band"),
    "measured_on": ("medido con", "measured on"),
    "samples": ("muestras", "samples"),
    "zero_at": ("0 puntos en", "0 points at"),
    "full_at": ("todos en", "all at"),
    "reference": ("referencia", "reference"),
    "model": ("Modelo evaluado", "Model judged"),
    "cell": ("celda", "cell"),
    "input": ("entrada", "input"),
    "output": ("salida", "output"),
    "file": ("archivo", "file"),
    "compared": ("Modelos comparados", "Models compared"),
    "would_earn": ("obtendría", "would earn"),
    "own_code": ("Código propio del modelo, que el profesor revisa antes de confirmar sus puntos",
                 "The model's own code, which the instructor reviews before confirming its points"),
    "class": ("Clase", "Class"),
    "lambda": ("Capa Lambda", "Lambda layer"),
    "layers": ("Capas", "Layers"),
    "training": ("Entrenamiento", "Training"),
    "answer": ("Respuesta entregada", "Submitted answer"),
    "hints": ("Pistas para el revisor (no dan puntos)", "Hints for the reviewer (they award no points)"),
    "problems": ("Problemas de la entrega", "Problems with this submission"),
    "sandbox_warning": ("Aviso de seguridad", "Security warning"),
    "execution": ("Ejecución del cuaderno", "Notebook execution"),
    "code_cells": ("celdas de código", "code cells"),
    "without_problems": ("sin problemas", "without problems"),
    "cells_with_problems": ("Celdas con problemas", "Cells with problems"),
    "environment": ("Entorno de ejecución", "Environment"),
    "duration": ("Duración", "Duration"),
    "total_time": ("Tiempo de ejecución", "Execution time"),
    "evaluation_time": ("evaluación", "evaluation"),
    "reproduce": ("Para reproducir esta corrección: semilla", "To reproduce this grade: seed"),
    "data_sources": ("Datos", "Data"),
    "notebook": ("Cuaderno", "Notebook"),
    "sandbox": ("Aislamiento", "Sandbox"),
    "student_id": ("identificador", "student id"),
    "attempt": ("intento", "attempt"),
    "submitted": ("entregada el", "handed in"),
    "late_penalty": ("Penalización por retraso", "Late penalty"),
    "raw_score": ("sin ella", "before it"),
    # the class summary
    "summary": ("Resumen de la clase", "Class summary"),
    "submissions": ("Entregas", "Submissions"),
    "submission": ("Entrega", "Submission"),
    "mean": ("Media", "Mean"),
    "median": ("Mediana", "Median"),
    "pass_rate": ("Aprobados", "Pass rate"),
    "pass_threshold": ("con al menos", "scoring at least"),
    "distribution": ("Distribución de notas", "Score distribution"),
    "mean_points": ("Puntos medios", "Mean points"),
    "passed_share": ("Superada", "Passed"),
    "manual_share": ("Por revisar", "To review"),
    "legend": ("Leyenda", "Legend"),
    "no_submissions": ("Todavía no hay entregas corregidas.", "No graded submissions yet."),
    # the terminal table
    "total": ("Total", "Total"),
    # figures
    "predicted": ("predicho", "predicted"),
    "true": ("real", "true"),
    "epoch": ("época", "epoch"),
    "wrong": ("errores", "wrong"),
    "predicted_class": ("clase predicha", "predicted class"),
    "ideal": ("ideal", "ideal"),
    "loss": ("pérdida", "loss"),
    "confusion_matrix": ("Matriz de confusión con datos nuevos", "Confusion matrix on fresh data"),
    "scatter_classes": ("Datos nuevos según la clase predicha", "Fresh data by predicted class"),
    "pred_vs_true": ("Predicción frente a valor real", "Prediction against true value"),
    "training_curve": ("Curvas de entrenamiento", "Training curves"),
    "bars": ("Comparación de modelos", "Models side by side"),
}


def text(key: str, lang: str = "es") -> str:
    """The words for ``key``; an unknown key is shown as it is."""
    pair = STRINGS.get(key)
    if pair is None:
        return key
    return pair[1] if lang == "en" else pair[0]


def localized(value, lang: str = "es") -> str:
    """A rubric text, given as a plain string or as ``{"es": .., "en": ..}``."""
    if isinstance(value, dict):
        return str(value.get(lang) or next((v for v in value.values() if v), ""))
    return "" if value is None else str(value)


def awaiting(points: float, lang: str = "es") -> str:
    """How many points a human reviewer has still to give: "1 punto pendiente de revisión manual"."""
    amount = f"{round(points, 3):g}"
    if lang == "en":
        return f"{amount} point{'' if points == 1 else 's'} awaiting human review"
    return f"{amount} punto pendiente de revisión manual" if points == 1 else \
        f"{amount} puntos pendientes de revisión manual"


def number(value) -> str:
    """A measured value or a score, short: 0.9862, 12, 1.5e-05; "—" when missing."""
    if value is None:
        return "—"
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if not math.isfinite(value):
        return str(value)
    if value != 0 and (abs(value) >= 1e6 or abs(value) < 1e-4):
        return f"{value:.3g}"
    return f"{value:.4g}" if abs(value) < 1e4 else f"{value:.0f}"


def duration(seconds) -> str:
    """Seconds for people: 0.4 s, 48 s, 12 min 5 s, 1 h 3 min."""
    seconds = float(seconds or 0)
    if seconds < 10:
        return f"{seconds:.1f} s"
    if seconds < 60:
        return f"{seconds:.0f} s"
    minutes, rest = divmod(round(seconds), 60)
    if minutes < 60:
        return f"{minutes} min {rest} s" if rest else f"{minutes} min"
    hours, minutes = divmod(minutes, 60)
    return f"{hours} h {minutes} min"
