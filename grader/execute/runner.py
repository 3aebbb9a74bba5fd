"""Run a student's notebook in a sandboxed kernel, one cell at a time.

nbclient drives the kernel; around it this module adds what grading needs:
a per-cell timeout that also stops cells which ignore interrupts, a deadline
for the whole notebook, limits on memory, processes and disk (see
:mod:`grader.execute.limits`), a cap on kept output, the cell
policy of :mod:`grader.execute.cells`, and a record of how every cell ran.
A cell's error never stops the next cell; a dead kernel stops the run, and
the cells left are reported as not run.
"""
from __future__ import annotations

import asyncio
import json
import os
import shutil
import signal
import stat
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path
from queue import Empty
from typing import Callable

import nbformat
import psutil
from jupyter_client.kernelspec import KernelSpecManager
from jupyter_client.manager import AsyncKernelManager
from nbclient import NotebookClient
from nbclient.exceptions import CellTimeoutError, DeadKernelError
from traitlets import Integer

from ..environment import COURSE_PACKAGES
from ..i18n import each_language
from ..result import CellRun
from . import cells as cell_policy
from .execution import Execution
from .leftovers import longest_scratch_name
from .limits import Cgroup, Limits, rlimits_for
from .packages import installed_by, module_of
from .sandbox import KERNEL_SUPPORT, Sandbox

KERNEL_SUPPORT_INSIDE = "/opt/grader-kernel"
DATA_INSIDE = "/opt/grader-data"
INTERRUPT_GRACE = 10.0     # seconds a timed-out cell gets to answer an interrupt
WATCH_INTERVAL = 0.2
PROCESS_PRESSURE = 2.0     # seconds of new processes refused without pause before the kernel is stopped
SOCKET_PATH_BYTES = 107 if sys.platform.startswith("linux") else 103  # a socket's address, less its closing NUL
CONNECTION_FOLDER, SOCKET_NAME = "connection", "ipc"  # the kernel's sockets: <job>/connection/ipc-1 ... ipc-5


class _CappedClient(NotebookClient):
    """An nbclient that keeps at most ``output_limit`` bytes of output per cell.

    Each output message is measured as it arrives; what passes the cap is cut
    (a stream's text is shortened, a rich output is replaced by a note) and
    later outputs of the cell are dropped, so a notebook that prints 100 MB
    never has more than one message of it in the grader's memory.
    """

    output_limit = Integer(1024**2, help="bytes of output kept per cell").tag(config=True)

    def __init__(self, nb, km=None, **kw):
        super().__init__(nb, km=km, **kw)
        self._kept: dict[int, int] = {}   # cell index -> bytes of output kept
        self._cut: set[int] = set()       # cells whose output was cut

    def _cleanup_kernel(self) -> None:
        """nbclient's ``atexit`` hook, still registered when the process exits mid-notebook (Ctrl-C reaches
        the main thread while a helper thread runs the notebook): kill the kernel's processes, nothing more.

        nbclient's own hook shuts the kernel down through its manager, which then closes the zmq context
        that the helper thread's channels still use, and waits for their sockets: the process never exited
        (a pool worker, and the batch waiting for it, hung after Ctrl-C). The helper's ``finally``, if the
        exit leaves it time, or the next grader's sweep removes the kernel's cgroup and folder.
        """
        process = getattr(self.km.provisioner, "process", None) if self.km and self.km.provisioner else None
        if process is None or process.poll() is not None:
            return
        try:
            os.killpg(process.pid, signal.SIGKILL)  # the launcher leads a session of its own (jupyter_client)
        except OSError:
            process.kill()

    def output(self, outs, msg, display_id, cell_index):
        kept = self._kept.setdefault(cell_index, 0)
        error = msg["msg_type"] == "error"  # always kept (shortened): it tells how the cell ended
        if kept >= self.output_limit and not error:
            self._note_cut(outs, cell_index)
            return None
        out = super().output(outs, msg, display_id, cell_index)
        if out is None:
            return out
        size = _size_of(out)
        room = max(self.output_limit - kept, 0)
        if error:
            _shrink(out, room)
        elif size > room:
            _shrink(out, room)
            self._note_cut(outs, cell_index)
            size = room
        self._kept[cell_index] = kept + size
        return out

    def _update_display_id(self, display_id, msg):
        data = msg.get("content", {}).get("data") or {}
        if sum(len(str(value)) for value in data.values()) > self.output_limit:
            msg["content"]["data"] = {"text/plain": f"[grader] output cut: more than {self.output_limit // 1024} KiB"}
        super()._update_display_id(display_id, msg)

    def _note_cut(self, outs, cell_index):
        if cell_index not in self._cut:
            self._cut.add(cell_index)
            outs.append(nbformat.v4.new_output(
                "stream", name="stderr",
                text=f"\n[grader] output cut: more than {self.output_limit // 1024} KiB\n"))


def _size_of(out) -> int:
    if out.get("output_type") == "stream":
        return len(out.get("text", ""))
    return len(json.dumps(out))


def _shrink(out, room: int) -> None:
    """Cut one output down to about ``room`` bytes, in place."""
    kind = out.get("output_type")
    if kind == "stream":
        out["text"] = out.get("text", "")[:max(room, 0)]
    elif kind == "error":
        out["ename"] = str(out.get("ename", ""))[:200]
        out["evalue"] = str(out.get("evalue", ""))[:2000]
        out["traceback"] = [line[:2000] for line in out.get("traceback", [])[:20]]
    else:
        text = str((out.get("data") or {}).get("text/plain", ""))[:max(room, 0)]
        out["data"] = {"text/plain": text or "[grader] output cut"}
        out["metadata"] = {}


def execute_notebook(notebook: nbformat.NotebookNode, job_dir: Path, sandbox: Sandbox,
                     limits: Limits, legacy_keras: bool = False, data_files: dict | None = None,
                     progress: Callable[[dict], None] | None = None,
                     course_packages: list[str] | None = None) -> Execution:
    """Execute a copy of ``notebook`` in ``job_dir``; the original is untouched.

    ``course_packages`` are the rubric's (``[environment] packages``): the
    kernel finds them in :data:`grader.environment.COURSE_PACKAGES`, or a
    placeholder when they could not be installed. ``data_files`` maps each data file
    the notebook may load offline to the modules whose ``load_data`` returns it.
    """
    config = {"legacy_keras": legacy_keras, "placeholders": placeholders(notebook, course_packages or [])}
    return asyncio.run(_execute(notebook, Path(job_dir), sandbox, limits, config,
                                data_files or {}, progress or (lambda event: None)))


def placeholders(notebook: nbformat.NotebookNode, course_packages: list[str]) -> dict[str, str]:
    """Modules the kernel stands in for while they are missing, each with the install line that named it.

    They are the modules of the notebook's skipped install lines, the course
    packages (in case one could not be installed; no line) and Colab's.
    """
    reasons = {module_of(package): "" for package in course_packages}
    reasons["google.colab"] = ""
    for cell in notebook.cells:
        if cell.cell_type == "code":
            for line in cell_policy.sanitize(cell.source)[1]:
                reasons.update((module_of(requirement), line) for requirement in installed_by(line))
    return reasons


@dataclass
class _Watch:
    """Where the run is and which limit stopped it: kept by the cell loop and :func:`_watch`, read after the run.

    A limit's field holds the 1-based number of the cell at which it stopped the kernel; 0 when it did not.
    """
    cgroup: Cgroup
    cell: int | None = None       # index of the cell running now
    out_of_memory: int = 0
    too_many_processes: int = 0
    too_much_disk: int = 0

    def here(self) -> int:
        return (self.cell or 0) + 1

    def why_dead(self) -> tuple[str, str]:
        """The error name and message of the running cell when its kernel died."""
        if not self.out_of_memory and self.cgroup.oom_killed():  # the OS's memory limit struck before the watchdog
            self.out_of_memory = self.here()
        if self.out_of_memory:
            return "OutOfMemory", "the kernel used more memory than allowed and was stopped"
        if self.too_many_processes:
            return "ProcessLimit", "the notebook kept starting processes past the limit and was stopped"
        if self.too_much_disk:
            return "DiskLimit", "the notebook wrote more data than allowed and was stopped"
        return "KernelDied", "the kernel died (the process exited or was killed)"

    def problems(self, limits: Limits, refused: int) -> list[dict]:
        """The limits the notebook hit, in words ({lang: words}); ``refused``: new processes the cgroup refused."""
        problems = []
        if self.too_many_processes:
            problems.append(each_language("runner.too_many_processes", cell=self.too_many_processes,
                                          processes=limits.processes))
        elif refused:
            problems.append(each_language("runner.processes_refused", processes=limits.processes, refused=refused))
        if self.out_of_memory:
            problems.append(each_language("runner.out_of_memory", cell=self.out_of_memory,
                                          gib=limits.memory / 1024**3))
        if self.too_much_disk:
            problems.append(each_language("runner.disk_limit", cell=self.too_much_disk, mib=limits.disk / 1024**2))
        return problems


@dataclass
class _Kernel:
    """The sandboxed kernel of one run, ready to start: its manager and the environment it starts with."""
    manager: AsyncKernelManager
    env: dict
    work: Path                    # its writable folder (its cwd and home)
    cgroup: Cgroup

    @property
    def models_dir(self) -> Path:
        return self.work / ".grader" / "models"


def _kernel(job_dir: Path, sandbox: Sandbox, limits: Limits, config: dict, data_files: dict) -> _Kernel:
    """The kernelspec of the sandboxed kernel in ``job_dir``, its cgroup and its environment."""
    work, connection_dir, spec_dir = (job_dir / "work", job_dir / CONNECTION_FOLDER, job_dir / "kernelspec")
    for folder in (work, connection_dir, spec_dir / "grader"):
        folder.mkdir(parents=True, exist_ok=True)
    readonly = {str(KERNEL_SUPPORT): KERNEL_SUPPORT_INSIDE}
    offline_data = []
    for path, load_data in data_files.items():
        inside = f"{DATA_INSIDE}/{Path(path).name}"
        readonly[str(path)] = inside
        offline_data.append({"file": inside if sandbox.isolated else str(path), "load_data": list(load_data)})
    support = KERNEL_SUPPORT_INSIDE if sandbox.isolated else str(KERNEL_SUPPORT)
    env = kernel_env(work, support, limits, {"outdir": str(work / ".grader" / "models"), **config,
                                             "offline_data": offline_data})
    cgroup = Cgroup(limits.processes, int(limits.memory * 1.1))  # the watchdog acts first, with a clear message
    argv = sandbox.command(
        [sys.executable, "-m", "ipykernel_launcher", "-f", "{connection_file}",
         "--IPKernelApp.extensions=['grader_kernel']", "--HistoryManager.enabled=False"],
        job_dir, work, connection_dir, readonly, rlimits_for(limits, sandbox, cgroup), cgroup.procs_files())
    (spec_dir / "grader" / "kernel.json").write_text(json.dumps(
        {"argv": argv, "display_name": "grader sandbox", "language": "python", "interrupt_mode": "message"}))
    manager = AsyncKernelManager(kernel_name="grader", connection_file=str(connection_dir / "kernel.json"),
                                 kernel_spec_manager=KernelSpecManager(kernel_dirs=[str(spec_dir)]),
                                 **_transport(connection_dir))
    return _Kernel(manager, env, work, cgroup)


async def _execute(notebook, job_dir, sandbox, limits, config, data_files, progress):
    started = time.monotonic()
    notebook = nbformat.from_dict(notebook)  # deep copy: the caller's stays as submitted
    kernel = _kernel(job_dir, sandbox, limits, config, data_files)
    runs = [CellRun(index=i, status="not_run") for i, c in enumerate(notebook.cells) if c.cell_type == "code"]
    by_index = {run.index: run for run in runs}
    watch = _Watch(kernel.cgroup)

    def on_cell_execute(cell, cell_index):
        watch.cell, by_index[cell_index].status = cell_index, "running"
        progress({"event": "cell", "cell": cell_index})

    client = _CappedClient(notebook, km=kernel.manager, timeout=int(limits.cell_timeout), allow_errors=True,
                           interrupt_on_timeout=False, startup_timeout=120, record_timing=False,
                           shutdown_kernel="immediate", output_limit=limits.output, on_cell_execute=on_cell_execute)
    problems: list[dict] = []   # {lang: words} (i18n.each_language)
    with open(job_dir / "kernel.log", "wb") as kernel_log:
        async def run_cells():
            async with client.async_setup_kernel(env=kernel.env, cwd=str(kernel.work), stdout=kernel_log,
                                                 stderr=kernel_log):
                watchdog = asyncio.ensure_future(_watch(kernel.manager, limits, job_dir, watch))
                try:
                    for run in runs:
                        if not await _run_cell(client, notebook.cells[run.index], run, limits, watch, progress):
                            break
                finally:
                    watchdog.cancel()

        try:
            await asyncio.wait_for(run_cells(), timeout=limits.notebook_timeout)
        except asyncio.TimeoutError:
            problems.append(_past_deadline(by_index.get(watch.cell), limits))
        except Exception as error:  # the kernel could not start, or nbclient failed
            problems.append(each_language("runner.kernel_failed", error_type=type(error).__name__,
                                          error=str(error)[:450]))
        finally:
            await _kill(kernel.manager)
            refused = kernel.cgroup.processes_refused()
            kernel.cgroup.close()
    problems += watch.problems(limits, refused)
    for run in runs:
        if run.status == "running":
            run.status = "not_run"
    cell_of_execution = {cell.execution_count: i for i, cell in enumerate(notebook.cells)
                         if cell.cell_type == "code" and cell.get("execution_count")}
    return Execution(runs, notebook, kernel.models_dir, cell_of_execution, problems, time.monotonic() - started)


def _past_deadline(running: CellRun | None, limits: Limits) -> dict:
    """The notebook's deadline struck while ``running`` ran: that cell timed out; the problem in words."""
    if running is not None and running.status == "running":
        running.status, running.error_name = "timeout", "NotebookDeadline"
        running.error_message = f"the notebook passed its {limits.notebook_timeout:.0f} s deadline"
    if running is None:
        return each_language("runner.notebook_deadline", seconds=limits.notebook_timeout)
    return each_language("runner.notebook_deadline_at_cell", seconds=limits.notebook_timeout, cell=running.index + 1)


async def _run_cell(client, cell, run, limits, watch: _Watch, progress) -> bool:
    """Run one cell into ``run``; False when the kernel is gone and the run must stop.

    The client's ``on_cell_execute`` hook marks it running; its end is reported here, since nbclient's
    ``on_cell_executed`` does not fire after a timeout or a dead kernel.
    """
    source, skipped = cell_policy.sanitize(cell.source)
    if skipped:
        run.note = "skipped: " + "; ".join(skipped)
    if all(line.strip() in ("", "pass") for line in source.splitlines()):
        run.status = "skipped" if skipped else "ok"  # nothing left to run
        return True
    original, cell.source = cell.source, source
    started = time.monotonic()
    try:
        reply = await client.async_execute_cell(cell, run.index, execution_count=None)
        run.status = "ok"
        for output in reply.get("outputs", []):
            if output.get("output_type") == "error":
                run.status, run.error_name = "error", str(output.get("ename", ""))[:200]
                run.error_message = str(output.get("evalue", ""))[:2000]
    except CellTimeoutError:
        run.status, run.error_name = "timeout", "CellTimeout"
        run.error_message = f"the cell ran longer than {limits.cell_timeout:.0f} s and was stopped"
        if not await _interrupt(client):
            run.error_message += "; it ignored the interrupt, so the kernel was stopped"
            return False
    except DeadKernelError:
        run.status = "killed"
        run.error_name, run.error_message = watch.why_dead()
        return False
    finally:
        cell.source = original
        run.duration = round(time.monotonic() - started, 3)
        progress({"event": "cell_done", "cell": run.index, "status": run.status, "seconds": run.duration})
    return True


async def _interrupt(client) -> bool:
    """Interrupt the kernel; True when it answers again within the grace period."""
    await client.km.interrupt_kernel()
    probe = client.kc.execute("", silent=True, store_history=False)
    deadline = time.monotonic() + INTERRUPT_GRACE
    while time.monotonic() < deadline:
        try:
            msg = await client.kc.shell_channel.get_msg(timeout=max(0.1, deadline - time.monotonic()))
        except Empty:
            break
        if msg["parent_header"].get("msg_id") == probe:
            return True
    return False


async def _watch(km, limits: Limits, job_dir: Path, watch: _Watch):
    """Stop the kernel when its process tree holds too much memory, keeps hitting the process
    limit (a fork bomb) or holds too much data on disk (see :func:`disk_used`)."""
    ticks, refused_before, pressed = 0, 0, 0
    cgroup = watch.cgroup
    while True:
        await asyncio.sleep(WATCH_INTERVAL)
        ticks += 1
        process = getattr(km.provisioner, "process", None)
        if process is None:
            continue
        rss = cgroup.memory_usage()
        tree = _tree(process.pid) if rss is None or not cgroup.limits_processes else []
        if rss is None:  # no cgroup: the sum of RSS counts pages shared by forked children more than once
            rss = sum(_safe(lambda p: p.memory_info().rss, p) for p in tree)
        if cgroup.limits_processes:  # new processes refused since the last look
            refused = cgroup.processes_refused()
            at_limit, refused_before = refused > refused_before, refused
        else:  # RLIMIT_NPROC refuses them (not for a uid that is root's): count threads too, as it does
            count = sum(_safe(lambda p: p.num_threads(), p) for p in tree)
            at_limit = count >= limits.processes
            if count > 2 * limits.processes:  # nothing refuses them: stop it now
                pressed = int(PROCESS_PRESSURE / WATCH_INTERVAL)
        pressed = pressed + 1 if at_limit else 0
        if pressed * WATCH_INTERVAL >= PROCESS_PRESSURE:
            watch.too_many_processes = watch.here()
        elif rss > limits.memory:
            watch.out_of_memory = watch.here()
        elif ticks % 5 == 0 and disk_used(job_dir, process.pid, limits.disk) > limits.disk:
            watch.too_much_disk = watch.here()
        else:
            continue
        await _kill(km)
        return


def _tree(pid: int) -> list:
    try:
        root = psutil.Process(pid)
        return [root, *root.children(recursive=True)]
    except psutil.Error:
        return []


def _safe(measure, process) -> int:
    try:
        return measure(process)
    except psutil.Error:
        return 0


def disk_used(folder: Path, pid: int, limit: int) -> int:
    """Bytes the process tree of ``pid`` holds on the disk of ``folder``: the folder's files, and the files on
    that disk it has deleted but keeps open, which no walk of the folder sees (RLIMIT_FSIZE bounds each of
    them, not how many there are)."""
    try:
        device = os.stat(folder).st_dev
    except OSError:
        return folder_size(folder, limit)
    return folder_size(folder, limit) + deleted_open_size(_tree(pid), device)


def deleted_open_size(processes: list, device: int) -> int:
    """Bytes of the regular files on ``device`` that ``processes`` keep open after deleting them, each file
    counted once. Not the files they keep only mapped: reading a process's maps waits on its memory lock,
    which a fork bomb's failing forks keep taking (a 256-process bomb then took 87 s to stop, not 4)."""
    sizes = {}
    for process in processes:
        try:
            with os.scandir(f"/proc/{process.pid}/fd") as descriptors:
                for descriptor in descriptors:
                    try:
                        info = os.stat(descriptor.path)  # the open file itself, through /proc's link
                    except OSError:
                        continue
                    if info.st_nlink == 0 and info.st_dev == device and stat.S_ISREG(info.st_mode):
                        sizes[info.st_ino] = info.st_size
        except OSError:  # the process ended, or its descriptors are not ours to read
            continue
    return sum(sizes.values())


def folder_size(folder: Path, limit: int) -> int:
    """Bytes under ``folder``; stops counting past ``limit`` (a million tiny files must not stall us)."""
    total, seen = 0, 0
    for root, _, files in os.walk(folder):
        for name in files:
            seen += 1
            try:
                total += os.lstat(os.path.join(root, name)).st_size
            except OSError:
                continue
            if total > limit or seen > 100_000:
                return limit + 1
    return total


def _open_no_follow(path, flags):
    """O_NOFOLLOW: not even a link made between the scandir and the open (Windows has no such flag)."""
    return os.open(path, flags | getattr(os, "O_NOFOLLOW", 0))


def copy_untrusted(source: Path, target: Path) -> None:
    """Copy a folder the kernel wrote: regular files and folders only, with plain modes.

    Symbolic links, FIFOs, sockets and devices are left behind, and no mode is
    copied: a set-uid file made in the sandbox (by a uid that is root's outside,
    when the grader runs as root) must not become a set-uid file in the output.
    """
    target.mkdir(parents=True, exist_ok=True)
    os.chmod(target, 0o755)
    for entry in os.scandir(source):
        destination = target / entry.name
        if entry.is_symlink():
            continue
        if entry.is_dir(follow_symlinks=False):
            copy_untrusted(Path(entry.path), destination)
        elif entry.is_file(follow_symlinks=False):
            with open(entry.path, "rb", opener=_open_no_follow) as src, \
                    open(destination, "wb") as dst:
                shutil.copyfileobj(src, dst, 1024 * 1024)
            os.chmod(destination, 0o644)


async def _kill(km):
    try:
        if km.has_kernel:
            await km.shutdown_kernel(now=True)
    except Exception:
        process = getattr(km.provisioner, "process", None) if km.provisioner else None
        if process is not None:
            process.kill()


def socket_path_problem() -> str:
    """Why the kernels' Unix sockets cannot live under this temporary folder, or "".

    Their paths, ``<tmp>/grader-job-PID-START-XXXXXXXX/connection/ipc-5``, must fit in a socket address.
    Checked before anything runs: otherwise every kernel fails to start and every notebook gets zero for it.
    """
    if os.name == "nt":
        return ""
    temporary = tempfile.gettempdir()
    longest = Path(temporary, longest_scratch_name("job"), CONNECTION_FOLDER, f"{SOCKET_NAME}-5")
    length = len(os.fsencode(longest))
    if length <= SOCKET_PATH_BYTES:
        return ""
    room = SOCKET_PATH_BYTES - (length - len(os.fsencode(temporary)))
    return (f"the temporary folder {temporary} is too long for the notebooks' kernels: their sockets live under "
            f"it, and a socket's path has at most {SOCKET_PATH_BYTES} bytes; set TMPDIR to a folder of at most "
            f"{room} bytes (for example TMPDIR=/tmp)")


def _transport(connection_dir: Path) -> dict:
    """Unix sockets in the connection folder (a sandbox without network has no tcp); tcp on the local
    address where there are none (a student's own Windows, which has no sandbox)."""
    if os.name == "nt":
        return {"transport": "tcp", "ip": "127.0.0.1"}
    return {"transport": "ipc", "ip": str(connection_dir / SOCKET_NAME)}


# what a Python process on Windows needs of its environment (sockets and random numbers need SYSTEMROOT)
WINDOWS_VARIABLES = ("SYSTEMROOT", "WINDIR", "COMSPEC", "PATHEXT", "TEMP", "TMP", "NUMBER_OF_PROCESSORS",
                     "PROCESSOR_ARCHITECTURE", "APPDATA", "LOCALAPPDATA", "PROGRAMDATA")


def _kernel_path() -> str:
    """The kernel's PATH: its Python's folder first; on Windows then the user's own PATH, where conda's and
    TensorFlow's libraries are found (Windows loads them through it)."""
    here = os.path.dirname(sys.executable)
    if os.name == "nt":
        return os.pathsep.join([here, os.environ.get("PATH", "")])
    return here + ":/usr/bin:/bin"


def kernel_env(work: Path, support: str, limits: Limits, config: dict) -> dict:
    threads = str(limits.threads)
    return {
        **{name: os.environ[name] for name in WINDOWS_VARIABLES if os.name == "nt" and name in os.environ},
        "PATH": _kernel_path(),
        "HOME": str(work), "KERAS_HOME": str(work / ".keras"), "MPLBACKEND": "Agg",
        # the course packages come after the kernel's own modules; the grader's process never imports them
        "PYTHONPATH": os.pathsep.join([support, str(COURSE_PACKAGES)]), "PYTHONDONTWRITEBYTECODE": "1",
        "GRADER_KERNEL": json.dumps(config),
        "TF_CPP_MIN_LOG_LEVEL": "2", "TF_ENABLE_ONEDNN_OPTS": "0",
        "TF_NUM_INTRAOP_THREADS": threads, "TF_NUM_INTEROP_THREADS": "1",
        "OMP_NUM_THREADS": threads, "OPENBLAS_NUM_THREADS": threads, "MKL_NUM_THREADS": threads,
        "LANG": "C.UTF-8", "TERM": "dumb",
        **{k: v for k, v in os.environ.items() if k.startswith("OPENBLAS_") and k != "OPENBLAS_NUM_THREADS"},
    }
