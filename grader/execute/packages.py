"""What an install line would have installed, and the module each package gives.

Install lines never run when grading (:mod:`grader.execute.cells`); the
modules they name become placeholders in the kernel when they are missing,
so a ``from d2l import tensorflow as d2l`` that is never used costs nothing.
"""
from __future__ import annotations

import re
import shlex

# distribution name (lower case) -> module name, where they differ by more than "-" -> "_"
MODULES = {
    "scikit-learn": "sklearn", "sklearn": "sklearn", "scikit-image": "skimage",
    "opencv-python": "cv2", "opencv-python-headless": "cv2", "opencv-contrib-python": "cv2",
    "opencv-contrib-python-headless": "cv2", "pillow": "PIL", "pyyaml": "yaml", "beautifulsoup4": "bs4",
    "python-dateutil": "dateutil", "ipython": "IPython", "pytorch": "torch", "protobuf": "google.protobuf",
    "google-colab": "google.colab", "keras-tuner": "keras_tuner", "python-dotenv": "dotenv", "attrs": "attr",
    "pyzmq": "zmq", "umap-learn": "umap", "faiss-cpu": "faiss", "faiss-gpu": "faiss",
    "tensorflow-cpu": "tensorflow", "tensorflow-gpu": "tensorflow",
}
_TAKES_VALUE = {"-r", "--requirement", "-c", "--constraint", "-e", "--editable", "-i", "--index-url",
                "--extra-index-url", "-f", "--find-links", "-t", "--target", "--prefix", "--root", "--src",
                "--platform", "--python-version", "--implementation", "--abi", "--upgrade-strategy",
                "--channel", "--progress-bar", "--log", "--cache-dir", "--trusted-host", "--proxy", "--timeout"}
_INSTALL = re.compile(r"^[!%]?\s*(?:\S*python[\d.]*\s+-m\s+|\{sys\.executable\}\s+-m\s+)?"
                      r"(?:pip3?|conda|mamba)\s+install\s+(?P<args>.*)$")
_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]*")


def module_of(requirement: str) -> str:
    """``scikit-learn`` -> ``sklearn``, ``d2l==1.0.3`` -> ``d2l``; by default lower case with ``-`` as ``_``."""
    found = _NAME.match(requirement.strip())
    name = (found[0].rstrip(".") if found else requirement.strip()).lower()
    return MODULES.get(name, MODULES.get(name.replace("_", "-"), name.replace("-", "_")))


def installed_by(line: str) -> list[str]:
    """The requirements a ``pip install`` / ``conda install`` line names (no URLs, paths or files)."""
    match = _INSTALL.match(line.strip())
    if not match:
        return []
    command = re.split(r"&&|\|\||[;|#]", match["args"])[0]
    try:
        words = shlex.split(command)
    except ValueError:
        words = command.split()
    names, skip = [], False
    for word in words:
        if skip:
            skip = False
        elif word.startswith("-"):
            skip = word in _TAKES_VALUE
        elif "/" not in word and ":" not in word and not word.endswith((".whl", ".zip", ".gz")):
            if _NAME.match(word):
                names.append(word)
    return names
