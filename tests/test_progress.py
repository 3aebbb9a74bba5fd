"""The lines a batch prints where there is no terminal (CI, logs), and the one-line messages in them."""
import io

from grader.oneline import one_line
from grader.progress import Progress


def test_a_finished_line_says_where_a_long_problem_was_cut():
    stream = io.StringIO()
    progress = Progress(3, stream)
    progress.finished("gema", "4.039/18", "Model «model» (cell 7) could not be loaded: Keras could not load it: "
                                          "ValueError: A total of 2 objects could not be loaded.\n\nThe shape")
    progress.finished("fran", "8.723/18", "Cell 5 failed:\nNameError")
    progress.finished("elena", "16/18")
    gema, fran, elena = stream.getvalue().splitlines()
    assert gema.startswith("[1/3] gema: 4.039/18  (Model «model» (cell 7) could not be loaded: Keras could not "
                           "load it:…)  (about ")
    assert fran.startswith("[2/3] fran: 8.723/18  (Cell 5 failed: NameError)  (about ")  # short: whole, on one line
    assert elena == "[3/3] elena: 16/18"


def test_one_line_cuts_after_a_whole_word_when_it_can():
    assert one_line("a\n  b\tc", 10) == "a b c"
    assert one_line("the model was not found", 23) == "the model was not found"
    assert one_line("the model was not found", 22) == "the model was not…"        # not "the model was not fou…"
    assert one_line("the model was not found", 18) == "the model was not…"        # "not" ends where the cut falls
    assert one_line("/a/very/long/path/of/a/model.keras", 12) == "/a/very/lon…"  # no word ends late enough
