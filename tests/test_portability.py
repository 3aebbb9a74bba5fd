"""What a student's Windows or macOS lacks (no /bin/sh, uids, prlimit, O_NOFOLLOW, tf-keras) breaks nothing.

These run on Linux with the missing piece taken away (``os.name`` made ``"nt"``, an ``os`` function
deleted) around the one call that must do without it; the whole check has not been run on Windows here.
"""
import os
from pathlib import Path

import pytest

from grader import digests, pool
from grader.execute import limits, predictor, runner, sandbox


def test_the_level_none_launcher_needs_no_shell_on_windows(tmp_path, monkeypatch):
    kernel = ["python", "-m", "ipykernel_launcher", "-f", "{connection_file}"]
    assert sandbox.Sandbox("none").command(kernel, tmp_path, tmp_path, tmp_path, {})[0] == "/bin/sh"
    with monkeypatch.context() as windows:
        windows.setattr(os, "name", "nt")
        launcher = sandbox.Sandbox("none").command(kernel, tmp_path, tmp_path, tmp_path, {})
    assert launcher == kernel


def test_no_uids_no_process_limit(monkeypatch):
    class NoCgroup:
        limits_processes = False
    monkeypatch.delattr(os, "getuid")
    assert set(limits.rlimits_for(runner.Limits(), sandbox.Sandbox("none"), NoCgroup())) == {"as", "fsize", "core"}


def test_without_geteuid_the_unshare_level_is_refused_in_words(monkeypatch):
    monkeypatch.delattr(os, "geteuid")
    sandbox._works.cache_clear()
    try:
        assert sandbox._works("unshare") == "the unshare sandbox needs the grader to run as root"
    finally:
        sandbox._works.cache_clear()


def test_the_kernel_gets_what_windows_needs(monkeypatch):
    work = Path("work")
    monkeypatch.setenv("SYSTEMROOT", r"C:\Windows")
    monkeypatch.setenv("PATH", r"C:\conda\Library\bin")
    assert "SYSTEMROOT" not in runner.kernel_env(work, "support", runner.Limits(), {})
    with monkeypatch.context() as windows:
        windows.setattr(os, "name", "nt")
        env = runner.kernel_env(work, "support", runner.Limits(), {})
        transport = runner._transport(work)
    assert env["SYSTEMROOT"] == r"C:\Windows" and env["PATH"].endswith(r"C:\conda\Library\bin")
    assert transport == {"transport": "tcp", "ip": "127.0.0.1"}
    assert runner._transport(work) == {"transport": "ipc", "ip": "work/ipc"}


def test_untrusted_files_are_copied_without_o_nofollow(tmp_path, monkeypatch):
    (tmp_path / "from").mkdir()
    (tmp_path / "from" / "m.keras").write_bytes(b"model")
    monkeypatch.delattr(os, "O_NOFOLLOW")
    runner.copy_untrusted(tmp_path / "from", tmp_path / "to")
    assert (tmp_path / "to" / "m.keras").read_bytes() == b"model"


def test_a_missing_package_has_no_version_rather_than_an_error():
    assert digests._version("numpy") and digests._version("no-such-package-here") == ""


def test_no_prctl_where_the_program_cannot_be_opened(monkeypatch):
    import ctypes

    def windows_cdll(name):
        raise TypeError("LoadLibrary() argument 1 must be str, not None")
    monkeypatch.setattr(ctypes, "CDLL", windows_cdll)
    pool.die_with_parent()


def test_a_model_with_code_of_its_own_is_not_measured_on_windows(monkeypatch):
    model = Path("m.keras")  # made first: pathlib makes WindowsPath objects once os.name is "nt"
    monkeypatch.setattr(os, "name", "nt")
    with pytest.raises(predictor.PredictionError, match="measured on Linux and macOS only"):
        predictor.SandboxedPredictor().predict(model, None, "keras3", None)
