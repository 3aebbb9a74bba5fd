"""How the student's kernel is launched: the sandbox around it.

:meth:`Sandbox.command` is the one place that builds the kernel's launcher;
whatever the level, the kernel starts as::

    sh (joins the job's cgroups) → prlimit (address space, file size, core,
    processes) → the isolation of the level → python -m ipykernel_launcher

Levels, strongest first:

- ``bubblewrap``: ``bwrap`` with every namespace unshared (no network at all,
  its own processes, its own mounts), a user namespace where the kernel is
  uid 1000 with no capabilities and cannot create further user namespaces,
  ``no_new_privs``. The file system is built from nothing: read-only binds of
  ``/usr`` and the library folders, an allow-list of ``/etc`` (never
  ``shadow``, ``ssl/private`` or ssh keys: in the user namespace root's files
  would look like the sandbox user's own), a generated ``passwd``/``group``,
  Python and the virtual environment (only those folders: never the
  repository around them), a private size-limited ``/tmp`` and ``/dev/shm``,
  and one writable scratch folder (plus the kernel's connection folder).
  Rubrics, the reference, other submissions, the output folder, the cache and
  the user's home do not exist inside.
- ``unshare``: the fallback when the grader runs as root without bubblewrap
  (util-linux only). ``unshare`` gives new network, mount, PID, IPC and UTS
  namespaces; a shell builds the same file system view as above on a tmpfs
  and ``chroot``s into it; ``setpriv`` then drops to an unprivileged uid
  (:data:`UNSHARE_UID`), clears every capability (bounding set included) and
  sets ``no_new_privs``. Left as root inside, a kernel escaped (see
  docs/security-model.md), so the uid change is not optional.
- ``none``: no isolation (the grader's own user, file system and network);
  only the resource limits apply. The terminal and every report say so.

Whenever a level weaker than ``bubblewrap`` is in force, :meth:`Sandbox.warning_in`
says so plainly, in the report's language; the CLI prints it and every result carries it.
"""
from __future__ import annotations

import functools
import os
import shutil
import subprocess
import sys
import sysconfig
from dataclasses import dataclass
from pathlib import Path

from .. import i18n

KERNEL_SUPPORT = Path(__file__).parent / "kernel"
SANDBOX_UID = 1000             # the kernel's uid inside bubblewrap's user namespace
UNSHARE_UID = 2_000_000        # the kernel's real uid at the unshare level: no user of the host has it
LEVELS = ("bubblewrap", "unshare", "none")
CHOICES = ("auto", *LEVELS)  # what --sandbox accepts

# /etc entries a Python/TensorFlow/matplotlib kernel reads; nothing else of /etc is visible.
ETC_ALLOWED = ("ld.so.cache", "ld.so.conf", "ld.so.conf.d", "nsswitch.conf", "host.conf", "hosts",
               "localtime", "timezone", "ssl/certs", "ssl/openssl.cnf", "ca-certificates", "fonts",
               "alternatives", "mime.types", "os-release", "debian_version", "protocols", "services",
               "gai.conf", "locale.alias", "matplotlibrc", "xdg")

_UNSHARE_SETUP = r'''
set -eu
unset JPY_PARENT_PID
kernel_path=$PATH PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH
chroot=$(command -v chroot) setpriv=$(command -v setpriv)
root=$1 uid=$2 tmp_size=$3 work=$4 connection=$5; shift 5
chown -R "$uid:$uid" "$work" "$connection"
chmod 0700 "$work" "$connection"
mount --make-rprivate /
mount -t tmpfs -o size=16m,mode=0755 grader-root "$root"
mkdir -p "$root/proc" "$root/dev" "$root/tmp"
mount -t proc -o nosuid,nodev,noexec proc "$root/proc"
mount -t tmpfs -o "size=$tmp_size,mode=1777,nosuid,nodev" grader-tmp "$root/tmp"
mount -t tmpfs -o size=1m,mode=0755,nosuid grader-dev "$root/dev"
for node in null zero full random urandom tty; do
  : > "$root/dev/$node"; mount --bind "/dev/$node" "$root/dev/$node"
done
ln -s /proc/self/fd "$root/dev/fd"; ln -s /proc/self/fd/0 "$root/dev/stdin"
ln -s /proc/self/fd/1 "$root/dev/stdout"; ln -s /proc/self/fd/2 "$root/dev/stderr"
mkdir -p "$root/dev/shm" "$root/dev/pts"
mount -t tmpfs -o "size=$tmp_size,mode=1777,nosuid,nodev" grader-shm "$root/dev/shm"
while [ "$1" != "--" ]; do
  kind=$1 source=$2 target=$root$3; shift 3
  case $kind in
    link) mkdir -p "${target%/*}"; ln -s "$source" "$target" ;;
    ro|rw)
      if [ -d "$source" ]; then mkdir -p "$target"; else mkdir -p "${target%/*}"; : > "$target"; fi
      mount --rbind "$source" "$target"
      if [ "$kind" = ro ]; then mount -o remount,bind,ro,nosuid,nodev "$target"
      else mount -o remount,bind,nosuid,nodev "$target"; fi ;;
  esac
done
shift
mount -o remount,bind,ro "$root/dev"
mount -o remount,ro "$root"
cd /
PATH=$kernel_path exec "$chroot" "$root" "$setpriv" --reuid="$uid" --regid="$uid" --clear-groups --inh-caps=-all \
  --bounding-set=-all --no-new-privs -- /bin/sh -c 'cd "$0" && exec "$@"' "$work" "$@"
'''


@dataclass(frozen=True)
class Sandbox:
    level: str                 # bubblewrap | unshare | none
    why: str = ""              # why not a stronger level, in this machine's words; empty: as requested

    def warning_in(self, lang: str) -> str:
        """What running at this level means, for the terminal and every report; empty at the bubblewrap level."""
        if self.level == "bubblewrap":
            return ""
        return i18n.text(f"sandbox.weaker.{self.level}", lang, uid=UNSHARE_UID,
                         why=self.why or i18n.text("sandbox.as_requested", lang))

    @property
    def warning(self) -> str:
        return self.warning_in("en")

    @property
    def isolated(self) -> bool:
        """True when the kernel sees its own file system (paths inside differ from the host's)."""
        return self.level in ("bubblewrap", "unshare")

    def command(self, kernel_argv: list[str], job_dir: Path, work: Path, connection_dir: Path,
                readonly: dict[str, str], rlimits: dict[str, int] | None = None,
                cgroup_procs: list[Path] = ()) -> list[str]:
        """The whole launcher of the kernel.

        ``readonly`` maps host paths to the paths the kernel sees them at;
        ``rlimits`` are prlimit resource names (``as``, ``fsize``, ``nproc``,
        ``core``) and values; ``cgroup_procs`` are the ``cgroup.procs`` files
        the launcher joins before anything else runs. ``job_dir`` receives
        the generated ``passwd``/``group`` and the unshare level's new root.
        """
        if self.level == "bubblewrap":
            isolated = self._bubblewrap(kernel_argv, job_dir, work, connection_dir, readonly, rlimits or {})
        elif self.level == "unshare":
            isolated = self._unshare(kernel_argv, job_dir, work, connection_dir, readonly, rlimits or {})
        elif os.name == "nt":  # a student's own Windows: no shell to put between (nor cgroups, nor prlimit)
            isolated = list(kernel_argv)
        else:
            # not exec'd: the kernel's parent is this shell, so a notebook that kills its parent
            # process kills the shell, not the grader
            isolated = ["/bin/sh", "-c", '"$@"', "grader-kernel", *kernel_argv]
        return _join_cgroups(cgroup_procs, _prlimit(rlimits or {}) + isolated)

    def _bubblewrap(self, kernel_argv, job_dir, work, connection_dir, readonly, rlimits) -> list[str]:
        etc = _identity_files(job_dir, SANDBOX_UID)
        argv = [shutil.which("bwrap") or "bwrap", "--unshare-all", "--unshare-user",
                "--uid", str(SANDBOX_UID), "--gid", str(SANDBOX_UID), "--cap-drop", "ALL",
                *(["--disable-userns"] if _bwrap_supports("--disable-userns") else []),
                "--die-with-parent", "--new-session", "--unsetenv", "JPY_PARENT_PID",
                # /proc/sys read-only: run by root, the sandbox's uid is root's outside, and file modes
                # alone would let it write host-wide settings such as kernel.core_pattern
                "--proc", "/proc", "--ro-bind", "/proc/sys", "/proc/sys", "--dev", "/dev",
                "--size", str(_tmp_size(rlimits)), "--tmpfs", "/tmp",
                "--size", str(_tmp_size(rlimits)), "--tmpfs", "/dev/shm"]
        for kind, source, target in _view(readonly, etc):
            argv += ["--symlink", source, target] if kind == "link" else ["--ro-bind", source, target]
        argv += ["--bind", str(work), str(work), "--bind", str(connection_dir), str(connection_dir),
                 "--remount-ro", "/", "--chdir", str(work), "--"]
        return argv + kernel_argv

    def _unshare(self, kernel_argv, job_dir, work, connection_dir, readonly, rlimits) -> list[str]:
        etc = _identity_files(job_dir, UNSHARE_UID)
        root = Path(job_dir) / "root"
        root.mkdir(parents=True, exist_ok=True)
        mounts: list[str] = []
        for kind, source, target in _view(readonly, etc):
            mounts += [kind, source, target]
        mounts += ["rw", str(work), str(work), "rw", str(connection_dir), str(connection_dir)]
        # setpriv --pdeathsig: if the grader dies (kill -9), unshare dies, and --kill-child ends the kernel
        return [shutil.which("setpriv") or "setpriv", "--pdeathsig", "KILL", "--",
                shutil.which("unshare") or "unshare", "--net", "--mount", "--pid", "--ipc", "--uts",
                "--cgroup", "--fork", "--kill-child", "--", "/bin/sh", "-c", _UNSHARE_SETUP, "grader-sandbox",
                str(root), str(UNSHARE_UID), str(_tmp_size(rlimits)), str(work), str(connection_dir),
                *mounts, "--", *kernel_argv]


def _tmp_size(rlimits: dict) -> int:
    """Size of the private /tmp and /dev/shm: the scratch folder's disk limit."""
    return int(rlimits.get("fsize") or 1024**3)


def _join_cgroups(cgroup_procs, argv: list[str]) -> list[str]:
    if not cgroup_procs:
        return argv
    joins = "; ".join(f"echo $$ > '{path}'" for path in cgroup_procs)
    return ["/bin/sh", "-c", f'{joins}; exec "$@"', "grader-limits", *argv]


def _prlimit(rlimits: dict) -> list[str]:
    """util-linux ``prlimit`` setting ``rlimits`` on itself, then becoming the rest of the launcher."""
    tool = shutil.which("prlimit")
    if tool is None or not rlimits:
        return []
    return [tool, *(f"--{name}={int(value)}" for name, value in rlimits.items() if value is not None), "--"]


def _view(readonly: dict[str, str], etc: dict[str, str]) -> list[tuple[str, str, str]]:
    """What the kernel sees besides its scratch folder: (``ro`` | ``link``, source, target)."""
    view: list[tuple[str, str, str]] = []
    for path in _system_paths():
        view.append(("link", os.readlink(path), path) if os.path.islink(path) else ("ro", path, path))
    for name in ETC_ALLOWED:
        path = f"/etc/{name}"
        if os.path.islink(path):
            view.append(("link", os.readlink(path), path))
        elif os.path.exists(path):
            view.append(("ro", path, path))
    view += [("ro", host, inside) for host, inside in etc.items()]
    view += [("ro", host, inside) for host, inside in readonly.items()]
    return view


def _identity_files(job_dir: Path, uid: int) -> dict[str, str]:
    """A passwd and a group that name only the sandbox user (``getpass``, matplotlib and TF look it up)."""
    folder = Path(job_dir) / "etc"
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "passwd").write_text(f"root:x:0:0:root:/nonexistent:/usr/sbin/nologin\n"
                                   f"student:x:{uid}:{uid}:student:/nonexistent:/usr/sbin/nologin\n"
                                   f"nobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n")
    (folder / "group").write_text(f"root:x:0:\nstudent:x:{uid}:\nnogroup:x:65534:\n")
    for name in ("passwd", "group"):
        os.chmod(folder / name, 0o644)
    return {str(folder / "passwd"): "/etc/passwd", str(folder / "group"): "/etc/group"}


def _system_paths() -> list[str]:
    """Host folders a Python kernel needs, read-only: the OS's programs and libraries, Python itself.

    The virtual environment is bound as exactly its own folder (``sys.prefix``):
    never the repository it may live in.
    """
    paths = ["/usr", "/bin", "/sbin", "/lib", "/lib64", "/lib32", "/libx32"]
    prefixes = {sys.prefix, sys.base_prefix, sys.exec_prefix, sysconfig.get_paths()["stdlib"],
                os.path.dirname(os.path.realpath(sys.executable))}
    for prefix in sorted(prefixes):
        if not os.path.isdir(prefix) or any(prefix == p or prefix.startswith(p + "/") for p in paths):
            continue
        paths = [p for p in paths if not p.startswith(prefix + "/")] + [prefix]
    return [p for p in paths if os.path.lexists(p)]


@functools.lru_cache(maxsize=None)
def _bwrap_supports(option: str) -> bool:
    try:
        return option in subprocess.run(["bwrap", "--help"], capture_output=True, text=True, timeout=10).stdout
    except (OSError, subprocess.SubprocessError):
        return False


@functools.lru_cache(maxsize=None)
def _works(level: str) -> str:
    """Empty when ``level`` can start a process on this machine; else why not."""
    if level == "bubblewrap":
        if shutil.which("bwrap") is None:
            return "bubblewrap is not installed"
    elif level == "unshare":
        if not hasattr(os, "geteuid") or os.geteuid() != 0:  # Windows has no root, nor unshare
            return "the unshare sandbox needs the grader to run as root"
        missing = [tool for tool in ("unshare", "setpriv", "chroot", "mount", "prlimit") if shutil.which(tool) is None]
        if missing:
            return f"{', '.join(missing)} not found (util-linux, coreutils)"
    import tempfile
    with tempfile.TemporaryDirectory(prefix="grader-probe-") as job:
        work, connection = Path(job) / "work", Path(job) / "connection"
        work.mkdir()
        connection.mkdir()
        argv = Sandbox(level).command([sys.executable, "-S", "-c", "import os; os.listdir('.')"], Path(job),
                                      work, connection, {})
        try:
            done = subprocess.run(argv, capture_output=True, text=True, timeout=60, env={"PATH": "/usr/bin:/bin"})
        except (OSError, subprocess.SubprocessError) as error:
            return f"{level} failed to start ({error})"
    if done.returncode != 0:
        detail = (done.stderr.strip().splitlines() or ["exit code %d" % done.returncode])[-1][:200]
        return f"{level} failed to start a process here ({detail})"
    return ""


def detect(requested: str = "auto") -> Sandbox:
    """The strongest sandbox that works here (``auto``), or the one ``requested``.

    Raises RuntimeError when the requested level cannot work on this machine.
    """
    if requested not in CHOICES:
        raise RuntimeError(f"unknown sandbox level {requested!r} (auto, {', '.join(LEVELS)})")
    reasons = []
    for level in LEVELS[:-1]:
        if requested not in ("auto", level):
            continue
        why = _works(level)
        if not why:
            if level == "bubblewrap":
                return Sandbox(level)
            return Sandbox(level, "; ".join(reasons))
        if requested == level:
            raise RuntimeError(f"--sandbox {level}: {why}")
        reasons.append(why)
    return Sandbox("none", "; ".join(reasons))
