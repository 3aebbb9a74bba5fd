"""Words of the reports, in Spanish (the course's language) and English."""
from __future__ import annotations

STRINGS = {
    "pass": ("Superado", "Passed"), "partial": ("Parcial", "Partial"), "fail": ("No superado", "Not passed"),
    "error": ("Error", "Error"), "manual": ("Revisión manual", "Human review"),
    "ok": ("correcta", "ok"), "skipped": ("omitida", "skipped"), "timeout": ("tiempo agotado", "timed out"),
    "not_run": ("no ejecutada", "not run"), "killed": ("detenida", "stopped"), "running": ("en curso", "running"),
    "report": ("Informe de corrección", "Grading report"), "score": ("Nota", "Score"),
    "questions": ("Preguntas", "Questions"), "question": ("Pregunta", "Question"), "points": ("Puntos", "Points"),
    "status": ("Estado", "Status"), "reason": ("Motivo", "Reason"), "model": ("Modelo evaluado", "Model judged"),
    "cell": ("celda", "cell"), "measured": ("Medido", "Measured"), "band": ("Banda", "Band"),
    "answer": ("Respuesta del estudiante", "Student's answer"), "hints": ("Pistas para el revisor", "Hints for the reviewer"),
    "parts": ("Partes", "Parts"), "execution": ("Ejecución del cuaderno", "Notebook execution"),
    "cells_ok": ("celdas de código se ejecutaron sin problemas", "code cells ran without problems"),
    "cells_with_problems": ("Celdas con problemas", "Cells with problems"), "duration": ("Duración", "Duration"),
    "total_time": ("Tiempo de ejecución", "Execution time"), "problems": ("Problemas", "Problems"),
    "sandbox_warning": ("Aviso de seguridad", "Security warning"),
    "reproduce": ("Para reproducir: semilla", "To reproduce: seed"), "data_sources": ("Datos", "Data"),
    "summary": ("Resumen de la clase", "Class summary"), "submissions": ("Entregas", "Submissions"),
    "submission": ("Entrega", "Submission"), "mean": ("Media", "Mean"), "median": ("Mediana", "Median"),
    "pass_rate": ("Aprobados", "Pass rate"), "distribution": ("Distribución de notas", "Score distribution"),
    "mean_points": ("Puntos medios", "Mean points"), "passed_share": ("Superada", "Passed"),
    "manual_share": ("Por revisar", "To review"), "figures": ("Gráficas", "Figures"),
    "training": ("entrenamiento", "training"), "total": ("Total", "Total"), "zero_at": ("0 puntos en", "0 points at"),
    "full_at": ("todos en", "all at"), "reference": ("referencia", "reference"), "compared": ("Modelos comparados", "Models compared"),
    "layers": ("capas", "layers"), "error_in_cell": ("error", "error"), "seconds": ("s", "s"),
}


def text(key: str, lang: str = "es") -> str:
    pair = STRINGS.get(key)
    if pair is None:
        return key
    return pair[0] if lang == "es" else pair[1]


def localized(value, lang: str = "es") -> str:
    """A rubric text, given as a plain string or per language."""
    if isinstance(value, dict):
        return str(value.get(lang) or next(iter(value.values()), ""))
    return "" if value is None else str(value)
