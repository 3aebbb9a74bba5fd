"""Every message the grader writes, in Spanish (the course's language) and English, and number formats.

One catalog: the checks, the evaluation context, the runner, the harvest's notes, intake, late work, the
self-check and the reports all say what they say by a key of :data:`MESSAGES`, with named parameters
(``text("metric.training_of", lang, label=...)``); ``tests/test_i18n.py`` proves every key has every language
and every key the code uses exists.
"""
from __future__ import annotations

import math

LANGS = ("es", "en")

MESSAGES = {  # key -> (Spanish, English); a text with {name} fields is formatted with the parameters
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
    # grader/review: the review page
    "title": ("Revisión manual", "Human review"),
    "part_text": ("Respuesta escrita", "Written answer"),
    "part_model": ("Modelo con código propio", "Model with code of its own"),
    "students": ("estudiantes", "students"),
    "student": ("Estudiante", "Student"),
    "of": ("de", "of"),
    "reviewed": ("revisadas", "reviewed"),
    "flagged": ("Marcadas para otra revisión", "Flagged for another look"),
    "flag": ("Marcar para otra revisión", "Flag for another look"),
    "unflag": ("Quitar la marca", "Remove the flag"),
    "is_flagged": ("Marcada para otra revisión", "Flagged for another look"),
    "start": ("Empezar", "Start"),
    "nothing": ("No hay nada pendiente de revisión manual.", "Nothing awaits human review."),
    "points_box": ("Puntos", "Points"),
    "comment_box": ("Comentario (lo ve el estudiante)", "Comment (the student sees it)"),
    "reviewer": ("Revisor", "Reviewer"),
    "past": ("Comentarios ya usados en esta pregunta", "Comments already used in this question"),
    "save": ("Guardar y siguiente", "Save and next"),
    "confirm": ("Confirmar lo medido", "Confirm what was measured"),
    "clear": ("Borrar la revisión", "Clear the review"),
    "prev": ("Anterior", "Previous"),
    "next": ("Siguiente", "Next"),
    "home": ("Todas las preguntas", "All questions"),
    "show_names": ("Mostrar nombres", "Show names"),
    "hide_names": ("Ocultar nombres", "Hide names"),
    "not_reviewed": ("Sin revisar.", "Not reviewed yet."),
    "saved_row": ("Guardado", "Saved"),
    "confirmed": ("confirmado lo medido", "measured points confirmed"),
    "by": ("por", "by"),
    "would_earn_total": ("Lo medido daría", "What was measured would earn"),
    "held": ("Partes retenidas", "Held parts"),
    "score_now": ("Nota de la entrega", "Submission's score"),
    "saved": ("Guardado y recalculado", "Saved and re-scored"),
    "conflict": ("No se guardó: otro revisor cambió esta fila después de que la abrieras. Ahora dice",
                 "Not saved: another reviewer changed this row after you opened it. It now says"),
    "conflict_removed": ("No se guardó: otro revisor borró esta fila después de que la abrieras.",
                         "Not saved: another reviewer cleared this row after you opened it."),
    "yours": ("Lo que intentabas guardar", "What you tried to save"),
    "bad_points": ("No se guardó: los puntos deben ser un número entre 0 y",
                   "Not saved: points must be a number from 0 to"),
    "no_points": ("No se guardó: escribe los puntos.", "Not saved: type the points."),
    "not_written": ("No se guardó: no se pudo escribir", "Not saved: could not write"),
    "not_rescored": ("Guardado en manual_scores.csv, pero la nota no se pudo recalcular",
                     "Saved in manual_scores.csv, but the score could not be recalculated"),
    "files": ("Archivos", "Files"),
    "keys": ("Teclado", "Keyboard"),
    "key_enter": ("en los puntos: guardar y pasar al siguiente", "in the points box: save and go to the next"),
    "key_ctrl_enter": ("en cualquier casilla: guardar y pasar al siguiente", "in any box: save and go to the next"),
    "key_escape": ("salir de la casilla (para usar las teclas de abajo)", "leave the box (to use the keys below)"),
    "key_next": ("siguiente / anterior estudiante", "next / previous student"),
    "key_points": ("ir a los puntos / al comentario", "go to the points / the comment"),
    "key_digit": ("añadir el comentario ya usado número 1 a 9", "add past comment number 1 to 9"),
    "key_flag": ("marcar o desmarcar para otra revisión", "flag or unflag for another look"),
    "key_confirm": ("confirmar lo medido (modelos)", "confirm what was measured (models)"),
    "key_names": ("mostrar u ocultar nombres", "show or hide names"),
    "key_home": ("volver a la lista de preguntas", "back to the list of questions"),
    "anonymous": ("Las entregas se muestran con un alias; los nombres solo si los pides.",
                  "Submissions are shown by an alias; names only when you ask."),
    "forbidden": ("Esta dirección necesita la clave que imprimió «grader review».",
                  "This address needs the token that `grader review` printed."),
    "not_found": ("No existe esta página.", "There is no such page."),
    "not_allowed": ("Esta página no admite esa petición.", "This page does not take that request."),
    "failed": ("El servidor de revisión falló", "The review server failed"),
    # grader/harvest/diagnosis.py: why a cell failed, when the environment is the cause; what the kernel adapted
    "diagnosis.colab": ("Esto solo funciona dentro de Google Colab ({what}), y la corrección no se hace en Colab: "
                        "no hay navegador, ni Google Drive, ni red. Los datos que use el cuaderno deben generarse "
                        "en él.",
                        "This only works inside Google Colab ({what}), and grading does not run in Colab: there is "
                        "no browser, no Google Drive and no network. Data the notebook uses must be made by the "
                        "notebook itself."),
    "diagnosis.course_package": ("es un paquete del curso que no se pudo instalar en la máquina de corrección",
                                 "it is a course package that could not be installed on the grading machine"),
    "diagnosis.keras_wrappers": ("keras.wrappers.scikit_learn ya no existe en Keras (ni en Keras 3 ni en tf-keras); "
                                 "el paquete scikeras lo sustituye.",
                                 "keras.wrappers.scikit_learn no longer exists in Keras (neither Keras 3 nor "
                                 "tf-keras); the scikeras package replaces it."),
    "diagnosis.local_file": ("La celda lee un archivo de tu equipo, de Colab o de Google Drive ({path}) que no "
                             "forma parte de la entrega: al corregir solo existe el cuaderno.",
                             "The cell reads a file from your own machine, Colab or Google Drive ({path}) that is "
                             "not part of the hand-in: when grading, only the notebook exists."),
    "diagnosis.network": ("La celda intentó usar Internet (una descarga), y la corrección no tiene red. Los datos "
                          "deben generarse en el cuaderno o venir con la tarea.",
                          "The cell tried to use the Internet (a download), and grading has no network. Data must "
                          "be made in the notebook or come with the assignment."),
    "diagnosis.not_installed": ("El módulo {module} no está instalado en el entorno de corrección, y las líneas pip "
                                "install nunca se ejecutan al corregir. Usa lo que ya hay (TensorFlow y Keras, "
                                "NumPy, pandas, matplotlib, scikit-learn...) o pide al profesor que lo añada a los "
                                "paquetes del curso.",
                                "The module {module} is not installed in the grading environment, and lines like "
                                "pip install never run when grading. Use what is there (TensorFlow and Keras, "
                                "NumPy, pandas, matplotlib, scikit-learn...) or ask the instructor to add it to the "
                                "course packages."),
    "diagnosis.placeholder": ("El cuaderno usa {module}, que no está disponible al corregir: {why}. Las líneas pip "
                              "install nunca se ejecutan al corregir; si el módulo hace falta, el profesor puede "
                              "añadirlo a los paquetes del curso.",
                              "The notebook uses {module}, which is not available when grading: {why}. Lines like "
                              "pip install never run when grading; if the module is needed, the instructor can add "
                              "it to the course packages."),
    "diagnosis.rnn_input_dim": ("input_dim= en una capa recurrente es de Keras 2; en Keras 3 la capa espera "
                                "secuencias: usa input_shape=(None, n) o keras.Input(shape=(None, n)) como primera "
                                "capa.",
                                "input_dim= on a recurrent layer is Keras 2; in Keras 3 the layer expects "
                                "sequences: use input_shape=(None, n) or keras.Input(shape=(None, n)) as the first "
                                "layer."),
    "diagnosis.skipped_line": ("su línea «{line}» no se ejecutó", 'its line "{line}" did not run'),
    "diagnosis.tf1": ("Código escrito para TensorFlow 1, que la corrección no tiene: TensorFlow 2.21 eliminó "
                      "{name}. En TensorFlow 2 no hay sesiones ni placeholders: el código se ejecuta al momento y "
                      "los modelos se construyen y entrenan con Keras (model.compile, model.fit).",
                      "Written for TensorFlow 1, which grading does not have: TensorFlow 2.21 removed {name}. "
                      "TensorFlow 2 has no sessions or placeholders: code runs at once, and models are built and "
                      "trained with Keras (model.compile, model.fit)."),
    "diagnosis.undefined_after_failure": ("«{name}» no está definida porque la celda {cell}, que la define, falló o "
                                          "no se ejecutó: arregla esa celda primero.",
                                          '"{name}" is not defined because cell {cell}, which defines it, failed or '
                                          "did not run: fix that cell first."),
    # what the kernel adapted (the report's environment notes)
    "diagnosis.note_backend": ("El cuaderno pidió el backend «{asked}» de Keras ({source}), que la corrección no "
                               "tiene: se ejecutó con TensorFlow.",
                               'The notebook asked for the Keras backend "{asked}" ({source}), which grading does '
                               "not have: it ran on TensorFlow."),
    "diagnosis.note_keras2": ("Nombres de Keras 2 traducidos a los de hoy: {names}.",
                              "Keras 2 names mapped to today's: {names}."),
    "diagnosis.note_placeholder": ("{module} no está disponible al corregir y se importó como sustituto (celda "
                                   "{imported})",
                                   "{module} is not available when grading and was imported as a placeholder (cell "
                                   "{imported})"),
    "diagnosis.note_unused": ("; nunca se usó, así que no cuesta nada.", "; it was never used, so it costs nothing."),
    "diagnosis.note_used": ("; se usó en la celda {used} ({uses}), que falló por ello.",
                            "; it was used in cell {used} ({uses}), which failed because of it."),
    # grader/harvest/answers.py: which cells a question's section took, when its labels left a choice
    "answers.cell": ("celda {cell}", "cell {cell}"),
    "answers.cells": ("celdas {first}-{last}", "cells {first}-{last}"),
    "answers.label_idle": ("la etiqueta de la celda {cells} no va seguida de trabajo",
                           "the label in cell {cells} has no work after it"),
    "answers.label_only_in_listing": ("la etiqueta solo está en la celda {cell}, que enumera varias preguntas: se "
                                      "toma el texto hasta la siguiente etiqueta",
                                      "the label is only in cell {cell}, which lists several questions: the text up "
                                      "to the next label is taken"),
    "answers.label_without_work": ("la etiqueta aparece en las celdas {cells} sin trabajo detrás: se toma la primera",
                                   "the label appears in cells {cells} with no work after it: the first is taken"),
    "answers.labels_idle": ("las etiquetas de las celdas {cells} no van seguidas de trabajo",
                            "the labels in cells {cells} have no work after them"),
    "answers.statement_lists": ("el enunciado de la celda {cells} enumera varias preguntas",
                                "the statement in cell {cells} lists several questions"),
    "answers.statements_list": ("los enunciados de las celdas {cells} enumeran varias preguntas",
                                "the statements in cells {cells} list several questions"),
    # grader/intake.py: what a student handed in, when it is not one notebook
    "intake.attempt": ("intento {attempt}", "attempt {attempt}"),
    "intake.attempt_graded": (", intento {attempt}", ", attempt {attempt}"),
    "intake.no_notebook": ("No se entregó ningún cuaderno (.ipynb), solo {files}: no hay nada que corregir.",
                           "No notebook (.ipynb) was handed in, only {files}: there is nothing to grade."),
    "intake.not_a_notebook": ("no es un cuaderno", "not a notebook"),
    "intake.renamed_notebook": ("{file} es un cuaderno de Jupyter con otra extensión: se corrige como cuaderno.",
                                "{file} is a Jupyter notebook with another extension: it is graded as one."),
    "intake.several_files": ("{count} archivos entregados: se corrige {file} (el más reciente{attempt}). No se "
                             "corrigen: {not_graded}.",
                             "{count} files handed in: {file} is graded (the latest{attempt}). Not graded: "
                             "{not_graded}."),
    "intake.time_not_understood": ("La hora {time} del nombre no se entiende: no se usa.",
                                   "The time {time} in the file name is not understood: it is not used."),
    # grader/late.py: how late, and the penalty
    "late_work.days": ("Entregada con {days} días de retraso ({submitted}; plazo {due}{extension}).",
                       "Handed in {days} days late ({submitted}; due {due}{extension})."),
    "late_work.extension": (", con una prórroga de {hours:g} h", ", with an extension of {hours:g} h"),
    "late_work.flagged_without_time": ("El LMS la marca como entregada tarde, sin indicar la hora: cuenta como 1 "
                                       "día de retraso.",
                                       "The LMS marks it late without giving the time: it counts as 1 day late."),
    "late_work.one_day": ("Entregada con {days} día de retraso ({submitted}; plazo {due}{extension}).",
                          "Handed in {days} day late ({submitted}; due {due}{extension})."),
    "late_work.score_multiplied": ("La nota se multiplica por {kept}: de {raw:g} a {score:g}.",
                                   "The score is multiplied by {kept}: from {raw:g} to {score:g}."),
    "late_work.time_from_file": ("La hora es la de modificación del archivo: los nombres del LMS no la indican.",
                                 "That time is the file's modification time: the LMS's file names give none."),
    # grader/grade.py: a notebook that cannot be read
    "grade.no_cells": ("sin celdas", "no cells"),
    "grade.not_a_notebook": ("{file}: no es un cuaderno de Jupyter ({error}).",
                             "{file}: not a Jupyter notebook ({error})."),
    "grade.not_utf8": ("{file}: no es UTF-8 válido (byte {byte}); se sustituyeron los caracteres ilegibles.",
                       "{file}: not valid UTF-8 (byte {byte}); unreadable characters were replaced."),
    "grade.unreadable": ("{file}: no se puede leer: {error}", "{file}: cannot be read: {error}"),
    # grader/pack.py: a student's self-check without a sandbox
    "pack.unsandboxed": ("Sin aislamiento aquí (no hay bubblewrap): tu cuaderno se ejecuta como en Jupyter, con tus "
                         "permisos; en tu propio ordenador no es un problema.",
                         "No sandbox here (there is no bubblewrap): your notebook runs as in Jupyter, with your own "
                         "rights; on your own computer that is fine."),
    # grader/execute/sandbox.py: a sandbox weaker than bubblewrap ({why}: the machine's own words)
    "sandbox.weaker.unshare": ("El código del estudiante se ejecutó en el aislamiento de reserva (unshare + chroot + "
                               "setpriv, uid {uid}), no en bubblewrap ({why}): sin red y sin acceso a las rúbricas, "
                               "la referencia, otras entregas ni el directorio personal, pero está menos probado que "
                               "bubblewrap. Instale bubblewrap (apt-get install bubblewrap).",
                               "Student code ran in the fallback sandbox (unshare + chroot + setpriv, uid {uid}), not "
                               "in bubblewrap ({why}): no network and no view of the rubrics, reference, other "
                               "submissions or home, but it is less tested than bubblewrap. Install bubblewrap "
                               "(apt-get install bubblewrap)."),
    "sandbox.weaker.none": ("El código del estudiante se ejecutó SIN aislamiento ({why}): podía leer las rúbricas, "
                            "la referencia y otras entregas, usar la red y cambiar la máquina con los permisos del "
                            "corrector. Instale bubblewrap (apt-get install bubblewrap), o corrija en una máquina "
                            "virtual o un contenedor desechables.",
                            "Student code ran WITHOUT a sandbox ({why}): it could read the rubrics, the reference and "
                            "other submissions, use the network and change the machine with the grader's rights. "
                            "Install bubblewrap (apt-get install bubblewrap), or grade in a throwaway VM or "
                            "container."),
    "sandbox.as_requested": ("a petición", "as requested"),
    # grader/batch.py: a submission the grader itself could not grade
    "failure.grader": ("El corrector falló con esta entrega: {error_type}: {error}",
                       "The grader failed on this submission: {error_type}: {error}"),
    "failure.infrastructure": ("La infraestructura de corrección falló {times} con esta entrega ({error_type}: "
                               "{error}); no es culpa del estudiante: vuelva a corregirla.",
                               "The grading infrastructure failed {times} on this submission ({error_type}: "
                               "{error}); this is not the student's fault: grade it again."),
    "failure.once": ("una vez", "once"),
    "failure.times": ("{count} veces", "{count} times"),
    # grader/evaluate/models.py: a model file the grader cannot load
    "model.no_configuration": ("el archivo no guarda la configuración del modelo",
                               "the file holds no model configuration"),
    "model.unknown_file_type": ("tipo de archivo de modelo desconocido ({suffix})",
                                "unknown model file type ({suffix})"),
    "model.unreadable": ("el archivo del modelo no se puede leer ({error_type})",
                         "the model file is unreadable ({error_type})"),
    "model.keras_could_not_load": ("Keras no pudo cargarlo: {error_type}: {error}",
                                   "Keras could not load it: {error_type}: {error}"),
    # grader/execute/runner.py: what stopped a notebook
    "runner.disk_limit": ("Límite de disco superado en la celda {cell}: el cuaderno escribió más de {mib:.0f} MiB "
                          "en su carpeta y se detuvo.",
                          "Disk limit exceeded at cell {cell}: the notebook wrote more than {mib:.0f} MiB to its "
                          "folder and was stopped."),
    "runner.kernel_failed": ("El kernel falló: {error_type}: {error}", "The kernel failed: {error_type}: {error}"),
    "runner.notebook_deadline": ("El cuaderno superó su tiempo límite de {seconds:.0f} s; las celdas restantes no "
                                 "se ejecutaron.",
                                 "The notebook passed its deadline of {seconds:.0f} s; the remaining cells did not "
                                 "run."),
    "runner.notebook_deadline_at_cell": ("El cuaderno superó su tiempo límite de {seconds:.0f} s en la celda "
                                         "{cell}; las celdas restantes no se ejecutaron.",
                                         "The notebook passed its deadline of {seconds:.0f} s at cell {cell}; the "
                                         "remaining cells did not run."),
    "runner.out_of_memory": ("Sin memoria en la celda {cell}: el kernel usó más de {gib:.1f} GiB y se detuvo.",
                             "Out of memory at cell {cell}: the kernel used more than {gib:.1f} GiB and was stopped."),
    "runner.processes_refused": ("El cuaderno intentó ejecutar más de {processes} procesos a la vez; se rechazaron "
                                 "los nuevos ({refused} vez/veces).",
                                 "The notebook tried to run more than {processes} processes at once; new processes "
                                 "were refused ({refused} time(s))."),
    "runner.too_many_processes": ("Demasiados procesos en la celda {cell}: el cuaderno siguió lanzando procesos más "
                                  "allá del límite de {processes} (¿una bomba fork?) y se detuvo.",
                                  "Too many processes at cell {cell}: the notebook kept starting processes past the "
                                  "limit of {processes} (a fork bomb?) and was stopped."),
    # grader/evaluate: a part the grader could not judge, the instructor's review
    "evaluate.could_not_evaluate": ("El grader no pudo evaluar esta parte: ",
                                    "The grader could not evaluate this part: "),
    "evaluate.reviewed_by_the_instructor": ("Revisado por el profesor", "Reviewed by the instructor"),
    # checks: numeric_answer
    "answer.label": ("Respuesta", "Answer"),
    "answer.no_answer_after_label": ("No se encontró la respuesta: no hay texto tras la etiqueta {label}.",
                                     "No answer found: there is no text after the label {label}."),
    "answer.no_number": ("No se encontró ningún número en la respuesta.", "No number was found in the answer."),
    "answer.right": ("Correcto.", "Right."),
    "answer.that_is_not_right": ("No es correcto.", "That is not right."),
    "answer.you_answered": ("Respondiste {value}. ", "You answered {value}. "),
    # checks: model_probe
    "probe.and_predicts_as_expected": (" y predice {predicted}, como se esperaba",
                                       " and predicts {predicted}, as expected"),
    "probe.expected_output_shape": ("La salida tiene la forma esperada {shape}",
                                    "The output has the expected shape {shape}"),
    "probe.label": ("Predicción de ejemplo", "Example prediction"),
    "probe.model_fails_on_input": ("El modelo falla con esa entrada: {error_type}: {error}",
                                   "The model fails on that input: {error_type}: {error}"),
    "probe.other_output_shape": ("La salida tiene forma {shape}; se esperaba {wanted}.",
                                 "The output has shape {shape}; {wanted} was expected."),
    "probe.predicts_other_classes": ("Predice {got}; se esperaba {expected}.",
                                     "It predicts {got}; {expected} was expected."),
    "probe.predicts_other_values": ("Predice {values}; se esperaba {expected} ± {tolerance}.",
                                    "It predicts {values}; {expected} ± {tolerance} was expected."),
    # checks: free_text
    "free_text.awaiting_review": ("Pendiente de revisión por el profesor.", "Awaiting review by the instructor."),
    "free_text.label": ("Explicación (revisión manual)", "Explanation (human review)"),
    "free_text.no_explanation": ("No se encontró ninguna explicación escrita para esta pregunta.",
                                 "No written explanation was found for this question."),
    # checks: model_metric
    "metric.below_minimum": (" No alcanza el mínimo", " It does not reach the minimum"),
    "metric.defined_before_the_question": (" (definido antes de la pregunta)", " (defined before the question)"),
    "metric.larger_sample_failed": (" No se pudo medir con {larger} muestras ({error_type}).",
                                    " It could not be measured on {larger} samples ({error_type})."),
    "metric.measured_close_to_edge": (" (con {n_samples} muestras midió {was}: tan cerca que el azar de la muestra "
                                      "podía cambiar sus puntos)",
                                      " (on {n_samples} samples it measured {was}: close enough for sampling noise "
                                      "to change its points)"),
    "metric.measured_on_all_held_out": ("medido con todos los {name[es]} reservados ({n})",
                                        "measured on all {n} held-out {name[en]}"),
    "metric.measured_on_fresh_samples": ("medido con {n} muestras nuevas", "measured on {n} fresh samples"),
    "metric.measured_on_other_encoding": (" Medido con {encoding[es]}, la entrada que espera; con la entrada del "
                                          "enunciado su {metric} es {handout:.4g}.",
                                          " Measured on {encoding[en]}, the input it expects; on the handout's "
                                          "input its {metric} is {handout:.4g}."),
    "metric.model_fails_on_fresh_data": ("El modelo «{label}» falla con los datos nuevos: {failure}",
                                         "Model “{label}” fails on the fresh data: {failure}"),
    "metric.model_named": ("«{label}»{where}: ", "“{label}”{where}: "),
    "metric.on_fresh_data": ("{metric} con datos nuevos", "{metric} on fresh data"),
    "metric.partial_credit": (" Crédito parcial", " Partial credit"),
    "metric.reaches_level": (" Alcanza el nivel pedido", " It reaches the level asked for"),
    "metric.reference_has_no_value": (" La solución de referencia no tiene valor para comparar.",
                                      " The reference solution has no value to compare with."),
    "metric.reference_must_reach": (" La solución de referencia debe llegar a {reference_min}.",
                                    " The reference solution must reach {reference_min}."),
    "metric.reference_value": (" Referencia: {reference:.4g}{known_from}.", " Reference: {reference:.4g}{known_from}."),
    "metric.samples": ("muestras", "samples"),
    "metric.training_of": ("Entrenamiento de «{label}»", "Training of “{label}”"),
    # checks: model_structure
    "structure.label": ("Estructura del modelo", "Model structure"),
    "structure.model_summary": ("Modelo «{label}»: {summary}.", "Model “{label}”: {summary}."),
    "structure.no_hidden_layer": ("No tiene capa oculta; se pedía {asked}.",
                                  "It has no hidden layer; {asked} was asked for."),
    "structure.other_hidden_layer": ("La capa oculta es {units} {activation}; se pedía {asked}.",
                                     "The hidden layer is {units} {activation}; {asked} was asked for."),
    "structure.other_output_activation": ("La activación de salida es {output_activation}; se esperaba {wanted}.",
                                          "The output activation is {output_activation}; {wanted} was expected."),
    # checks: hidden
    "hidden.graded_after_hand_in": ("Se califica tras la entrega.", "Graded after hand-in."),
    # checks: model_comparison
    "comparison.alike_do_not_count": (" {alike} modelo(s) de la sección no cuentan: tienen {same} que la referencia.",
                                      " {alike} model(s) of the section do not count: they have {same} as the "
                                      "baseline."),
    "comparison.baseline": ("referencia, {baseline}", "baseline, {baseline}"),
    "comparison.failed": (" Fallaron: ", " Failed: "),
    "comparison.model_named": (" «{label}»:", " “{label}”:"),
    "comparison.models_compared": ("{valid} modelo(s) comparados: ", "{valid} model(s) compared: "),
    "comparison.outside_its_section": ("fuera de su sección", "outside its section"),
    "comparison.same_activations": ("las mismas activaciones ocultas", "the same hidden activations"),
    "comparison.same_data": ("la misma cantidad de datos", "the same amount of data"),
    "comparison.same_size": ("el mismo tamaño", "the same size"),
    "comparison.too_few_models": ("Se pedían al menos {needed} modelo(s) de este tipo y se encontraron {valid}. ",
                                  "At least {needed} model(s) of this kind were asked for; {valid} found. "),
    # grader/student.py: the self-check in the notebook
    "student.cells_out_of_order": ("{qid}: «{label}» se hizo con celdas ejecutadas fuera de orden ({order}): una "
                                   "ejecución limpia daría otro modelo.",
                                   "{qid}: “{label}” was made by cells run out of order ({order}): a clean run "
                                   "would give another model."),
    "student.changed_after_question": ("{qid}: «{label}» cambió después de la pregunta (celda {later}); se mide "
                                       "como está ahora.",
                                       "{qid}: “{label}” changed after the question (cell {later}); it is measured "
                                       "as it is now."),
    "student.fresh_data_of_seed": ("Datos nuevos de la semilla {seed}.", "Fresh data of seed {seed}."),
    "student.not_run_as_it_is": ("no se ha ejecutado en este kernel tal como está ahora",
                                 "it has not run in this kernel as it is now"),
    "student.not_run_as_saved": ("{qid}: el historial del kernel no muestra ejecutarse ninguna celda de «{label}» "
                                 "tal como está guardada; se sitúa por el código del cuaderno.",
                                 "{qid}: the kernel's history shows none of the cells of “{label}” running as they "
                                 "are saved; it is placed by the notebook's code."),
    "student.notebook_file_not_found": ("No se encontró el archivo del cuaderno: los modelos se eligen solo por su "
                                        "firma y sus nombres, y las respuestas escritas no se pueden ver. Indícalo "
                                        'con Checker(paquete, notebook="nombre.ipynb").',
                                        "The notebook's file was not found: models are chosen by their signature "
                                        "and names only, and written answers cannot be seen. Name it with "
                                        'Checker(pack, notebook="name.ipynb").'),
    "student.tensorflow_unsupported": ("TensorFlow {version} está fuera de las versiones que admite el grader "
                                       "({shown} a {shown2}): los veredictos pueden diferir de la corrección.",
                                       "TensorFlow {version} is outside the versions the grader supports ({shown} "
                                       "to {shown2}): verdicts may differ from the grading."),
    # grader/evaluate/context.py: models, pickers and review holds
    "context.a_classification_loss": ("una pérdida de clasificación", "a classification loss"),
    "context.a_lambda_layer": ("una capa Lambda", "a Lambda layer"),
    "context.a_layer": ("una capa {layers}", "a {layers} layer"),
    "context.a_regression_loss": ("una pérdida de regresión", "a regression loss"),
    "context.class_defined_in_the_notebook": ("la clase {name}, definida en el cuaderno",
                                              "class {name}, defined in the notebook"),
    "context.code_of_its_own": (" (con código propio)", " (code of its own)"),
    "context.could_not_be_saved": ("«{label}» no se pudo guardar: {error}", "“{label}” could not be saved: {error}"),
    "context.held_for_review": ("Pendiente de revisión: modelo con código propio ({models}).{ran} Obtendría "
                                "{would_earn:g} de {max_score:g} puntos, que cuentan cuando el profesor los "
                                "confirme.",
                                "Held for review: a model with code of its own ({models}).{ran} It would earn "
                                "{would_earn:g} of {max_score:g} points, which count once the instructor confirms "
                                "them."),
    "context.hidden_layers_other_than": ("capas ocultas sin {hidden_activation_not}",
                                         "hidden layers other than {hidden_activation_not}"),
    "context.input_shape": ("entrada ", "input "),
    "context.logits_head": (" Su salida no tiene {activation} (logits, entrenado con from_logits=True): se puntúa "
                            "aplicando {activation} a sus salidas.",
                            " Its output has no {activation} (logits, trained with from_logits=True): it is scored "
                            "with {activation} applied to its outputs."),
    "context.loss": ("la pérdida {name}", "loss {name}"),
    "context.model_in_cell": ("«{label}» (celda {cell}): ", "“{label}” (cell {cell}): "),
    "context.model_not_loaded": ("Modelo «{label}» (celda {cell}) no se pudo cargar: ",
                                 "Model “{label}” (cell {cell}) could not be loaded: "),
    "context.model_with_own_code": ("Modelo con código propio ({models}).{ran}",
                                    "A model with code of its own ({models}).{ran}"),
    "context.models_in_the_notebook": (" Modelos del cuaderno: ", " Models in the notebook: "),
    "context.no_model_with": ("No se encontró ningún modelo con ", "No model was found with "),
    "context.no_trained_model": (" El cuaderno no dejó ningún modelo entrenado.",
                                 " The notebook left no trained model."),
    "context.only_models_up_to_section": (" Solo cuentan los modelos de las celdas de la pregunta (desde la "
                                          "{start}) o anteriores.",
                                          " Only models from the question's cells (from cell {start}) or earlier "
                                          "count."),
    "context.or": (" o ", " or "),
    "context.output_activation": ("salida {output_activation}", "{output_activation} output"),
    "context.output_shape": ("salida ", "output "),
    "context.own_code_predicted": (" Sus predicciones con los datos nuevos las hizo el código propio del modelo, "
                                   "ejecutado aparte en un entorno aislado que solo recibió las entradas (nunca las "
                                   "respuestas).",
                                   " Its predictions on the fresh data were made by the model's own code, run apart "
                                   "in a sandbox that got only the inputs (never the answers)."),
    "context.pack_mean": (" (media de {seeds} semillas del paquete, ±{spread:.2g})",
                          " (mean of the pack's {seeds} seeds, ±{spread:.2g})"),
    "context.question_not_found": (" La pregunta no se encontró en el cuaderno.",
                                   " The question was not found in the notebook."),
    "context.stored_python_function": ("una función de Python guardada en el modelo",
                                       "a Python function stored in the model"),
    "context.trained_with": ("entrenado con ", "trained with "),
    # checks: code_runs
    "code_runs.cells_with_problems": ("Celdas con problemas: ", "Cells with problems: "),
    "code_runs.label": ("El código se ejecuta sin errores", "The code runs without errors"),
    "code_runs.no_code": ("La pregunta no tiene código.", "The question has no code."),
    "code_runs.only_handout_cells": ("Solo se ejecutaron las celdas del enunciado: nada propio.",
                                     "Only the handout's cells ran: nothing of your own."),
    "code_runs.own_cells_ran": ("{n_runs} celda(s) propias ejecutadas sin error.",
                                "{n_runs} cell(s) of your own ran without error."),
    "code_runs.question_not_found": ("No se encontró la pregunta en el cuaderno (etiqueta {label}).",
                                     "The question was not found in the notebook (label {label})."),
}


def text(key: str, lang: str = "es", **params) -> str:
    """The words for ``key`` in ``lang``, with ``params`` filled in; an unknown key is shown as it is."""
    pair = MESSAGES.get(key)
    if pair is None:
        return key
    words = pair[LANGS.index(lang) if lang in LANGS else 0]
    return words.format(**params)


def each_language(key: str, **params) -> dict:
    """``{lang: words}`` of message ``key``, for a text made before its reader's language is known and saved
    for any (a runner's problem in execution.json, a section's or an intake's note); a parameter given as
    ``{lang: words}`` is taken in each language. :func:`localized` picks the language."""
    return {lang: text(key, lang, **{name: localized(value, lang) if isinstance(value, dict) else value
                                     for name, value in params.items()}) for lang in LANGS}


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
