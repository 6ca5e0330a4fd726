"""The isolation a worker process puts itself in before any student code runs.

As root (a grading server, CI): its own PID, mount, network, IPC and UTS namespaces; a root file
system that shows only what Python needs, read-only (the Python install, the virtualenv, this
package, /usr and friends) plus its scratch folder; a user id of its own with no privileges;
cgroups capping its memory and process count; resource limits. Without root it tries the same with
a user namespace, and reports every layer it could not set up instead of pretending.
"""
from __future__ import annotations

import ctypes
import os
import resource
import shutil
import sys
import tempfile
from dataclasses import dataclass, field
from pathlib import Path

import autograder

from ..libc import check as _check
from ..libc import last_error, libc
from ..protocol.jobs import PROCESS_LIMIT, WorkerJob

_CLONE_NEWNS, _CLONE_NEWUTS, _CLONE_NEWIPC = 0x00020000, 0x04000000, 0x08000000
_CLONE_NEWUSER, CLONE_NEWPID, _CLONE_NEWNET = 0x10000000, 0x20000000, 0x40000000
_MS_RDONLY, _MS_NOSUID, _MS_NODEV, _MS_REMOUNT = 0x1, 0x2, 0x4, 0x20
_MS_BIND, _MS_REC, _MS_PRIVATE = 0x1000, 0x4000, 0x40000
_MNT_DETACH, _SYS_PIVOT_ROOT, _PR_SET_NO_NEW_PRIVS = 2, 155, 38
_MS_NOEXEC = 0x8
_PR_SET_DUMPABLE = 4
_CAPABILITY_VERSION_3 = 0x20080522
_FILE_LIMIT = 64 << 20
_SYSTEM_DIRS = ("/usr", "/lib", "/lib64", "/lib32", "/bin", "/sbin", "/etc")
_DEVICES = ("null", "zero", "random", "urandom")
_NEW_ROOT = "/tmp/.autograder-root"
SHARED_SCRATCH = "/scratch"  # in the fork server's private root, where each worker mounts its own tmpfs
_LAYER_ROOT = "private read-only file system (Python, its packages, scratch folder only)"
_NAMESPACE_LAYERS = ("pid namespace", "network namespace (no network)", "ipc and uts namespaces")


@dataclass
class Isolation:
    """What this worker runs under: the layers in effect, and those that could not be set up."""

    layers: list[str] = field(default_factory=list)
    missing: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Inherited:
    """What a worker gets from the fork server besides its job."""

    number: int = 0  # different for every worker of the fork server: gives it a user id of its own
    in_pid_namespace: bool = False  # forked as PID 1 of a namespace of its own
    shared_root: bool = False  # forked inside the fork server's private root (see prepare_shared_root)
    cgroup_fds: tuple[int, ...] = ()  # its slot's cgroup.procs files, opened by the grader
    warnings: tuple[str, ...] = ()  # the fork server's speed-ups that fell back to torch's own code


def enter_sandbox(job: WorkerJob, inherited: Inherited = Inherited()) -> Isolation:
    """Isolate this process (and move into its scratch folder); returns what is in effect.

    Where it must make its own PID namespace it returns in a new child (PID 1), never here.
    """
    isolation = Isolation()
    private_mounts = False
    os.setsid()  # own process group: the grader kills the worker and everything it started at once
    devnull = os.open(os.devnull, os.O_RDWR)
    for fd in (0, 1, 2):
        os.dup2(devnull, fd)
    os.close(devnull)
    _join_cgroups(job, inherited.cgroup_fds, isolation)
    uid = 100_000 + inherited.number % 100_000
    if inherited.shared_root:
        scratch, own_user = _enter_shared_root(job, inherited, uid, isolation), True
        private_mounts = True
    else:
        scratch, own_user = job.scratch, _hand_over(job.scratch, uid, isolation)
        _limits(job, isolation)
        if _new_namespaces(isolation, inherited.in_pid_namespace, uid if own_user else None):
            if not inherited.in_pid_namespace:
                _enter_pid_namespace()  # the caller continues as PID 1 of the new namespace
            private_mounts = _private_root(job.scratch, isolation, job.files)
    _show_files(job.files, scratch, private_mounts, isolation)
    if own_user and os.getuid() == 0 and not any(m.startswith("a user of its own") for m in isolation.missing):
        _drop_privileges(uid, isolation)
    _drop_capabilities(isolation)
    _scrub_environment(scratch)
    os.chdir(scratch)
    return isolation


def prepare_shared_root(files: str | None = None) -> str | None:
    """Move the fork server into a private read-only root, once: the workers it forks start there.

    Each worker then only adds its own /proc and scratch tmpfs, instead of building the whole root
    again (about 1.5 ms of system time per submission). `files`: the assignment's staged files, shown
    read-only at the same path. Returns None, or why the workers must build their own root (not root,
    no mount namespace).
    """
    if os.geteuid() != 0:
        return "not root"
    if libc.unshare(_CLONE_NEWNS) != 0:
        return f"unshare: {last_error()}"
    try:
        _build_root(None, files)
    except _HalfBuilt as exc:  # inside the new root without its old one detached: never fork from here
        sys.stderr.write(f"autograder: the fork server's private root is unsafe: {exc}\n")
        os._exit(5)
    except OSError as exc:
        return str(exc)
    return None


def _enter_shared_root(job: WorkerJob, inherited: Inherited, uid: int, isolation: Isolation) -> str:
    """Namespaces of its own, a /proc showing only its processes, and a scratch tmpfs only it can enter."""
    _check(libc.unshare(_namespace_flags(inherited.in_pid_namespace)), "unshare")
    if not inherited.in_pid_namespace:
        _enter_pid_namespace()
    _mount("proc", "/proc", "proc", _MS_NOSUID | _MS_NODEV | _MS_NOEXEC)
    _mount("tmpfs", SHARED_SCRATCH, "tmpfs", _MS_NOSUID | _MS_NODEV,
           f"size={job.limits.memory_mb}m,mode=700,uid={uid},gid={uid}")
    isolation.layers += [*_NAMESPACE_LAYERS, _LAYER_ROOT]
    _limits(job, isolation)  # reads /proc/self, which exists from here on
    return SHARED_SCRATCH


def _join_cgroups(job: WorkerJob, fds: tuple[int, ...], isolation: Isolation) -> None:
    if not fds:
        isolation.missing.append("cgroups (not root, or no cgroup v1 hierarchy): memory and process count "
                                 "are capped by resource limits only")
        return
    for path, fd in zip(job.cgroups, fds):
        name = Path(path).parent.parent.name
        try:
            os.write(fd, str(os.getpid()).encode())
            isolation.layers.append(f"{name} cgroup")
        except OSError as exc:
            isolation.missing.append(f"{name} cgroup ({exc.strerror or exc})")
    for fd in fds:  # opened by root: the notebook must not get hold of them
        os.close(fd)


def _hand_over(scratch: str, uid: int, isolation: Isolation) -> bool:
    """Give the scratch folder to a user of the worker's own, where this process may (root)."""
    try:
        if os.geteuid() != 0:
            raise PermissionError("not root")
        os.chown(scratch, uid, uid)
        return True
    except PermissionError as exc:
        isolation.missing.append(f"a user of its own ({exc.strerror or exc}): the notebook runs as the grader's "
                                 "user and can read what it can")
        return False


def _limits(job: WorkerJob, isolation: Isolation) -> None:
    _limit(resource.RLIMIT_CORE, 0)
    _limit(resource.RLIMIT_FSIZE, _FILE_LIMIT)
    _limit(resource.RLIMIT_AS, _mapped_bytes() + job.limits.memory_mb * (1 << 20))
    _limit(resource.RLIMIT_NPROC, PROCESS_LIMIT * 4)
    isolation.layers.append(f"resource limits (address space +{job.limits.memory_mb} MB, "
                            f"files {_FILE_LIMIT >> 20} MB, processes)")


def _new_namespaces(isolation: Isolation, in_pid_namespace: bool, own_uid: int | None) -> bool:
    """New namespaces made directly where allowed, else inside a user namespace, else none (and said so).

    `own_uid`: the worker's own user, where this process may switch to it (root). Root without
    CAP_SYS_ADMIN (Docker's default capabilities) switches to it first and then makes the user
    namespace as that user, mapped to itself: the namespace's user then owns the scratch folder.
    """
    flags = _namespace_flags(in_pid_namespace)
    if libc.unshare(flags) == 0:
        isolation.layers += _NAMESPACE_LAYERS
        return True
    if own_uid is not None:
        _drop_privileges(own_uid, isolation)
    uid, gid = os.getuid(), os.getgid()
    if libc.unshare(flags | _CLONE_NEWUSER) != 0:
        error, user = last_error(), "the grader's user" if own_uid is None else "any user"
        isolation.missing.append(f"namespaces (unshare: {error}): the notebook can read every file {user} can, "
                                 "and reach the network")
        return False
    try:  # map our own user to itself inside the user namespace, so mounts are allowed there
        # A process that changed its user is not "dumpable": its /proc/self files belong to root
        # and it could not write its own map. Dumpable only while it writes it.
        libc.prctl(_PR_SET_DUMPABLE, 1, 0, 0, 0)
        Path("/proc/self/setgroups").write_text("deny")
        Path("/proc/self/uid_map").write_text(f"{uid} {uid} 1")
        Path("/proc/self/gid_map").write_text(f"{gid} {gid} 1")
    except OSError as exc:
        # The namespaces exist, but without a mapping no mount is allowed in them.
        isolation.layers += ["network namespace (no network)", "ipc and uts namespaces"]
        isolation.missing.append(f"pid namespace and private file system (user namespace mapping: {exc.strerror}): "
                                 "the notebook can read every file the grader's user can")
        return False
    finally:
        libc.prctl(_PR_SET_DUMPABLE, 0, 0, 0, 0)
    isolation.layers += ["user namespace", *_NAMESPACE_LAYERS]
    return True


def _namespace_flags(in_pid_namespace: bool) -> int:
    """Mount, network, IPC and UTS namespaces, and a PID namespace unless the worker was forked into one."""
    return _CLONE_NEWNS | _CLONE_NEWNET | _CLONE_NEWIPC | _CLONE_NEWUTS | (0 if in_pid_namespace else CLONE_NEWPID)


def _enter_pid_namespace() -> None:
    """Fork: the child is PID 1 of the new namespace; this process waits and exits with it."""
    pid = os.fork()
    if pid == 0:
        return
    for fd in range(3, 256):  # hold nothing the grader would wait on
        try:
            os.close(fd)
        except OSError:
            pass
    try:
        _, status = os.waitpid(pid, 0)
        code = os.waitstatus_to_exitcode(status)
    except BaseException:
        code = 1
    os._exit(code if code >= 0 else 128 - code)


class _HalfBuilt(OSError):
    """The process already moved into the new root but could not leave the old one behind."""


def _private_root(scratch: str, isolation: Isolation, files: str | None) -> bool:
    """A worker's own root, where the fork server has none to share: with the scratch folder and /proc."""
    try:
        _build_root(scratch, files)
        isolation.layers.append(_LAYER_ROOT)
        return True
    except _HalfBuilt as exc:
        raise RuntimeError(f"private file system half made ({exc}); not running the notebook") from None
    except OSError as exc:
        isolation.missing.append(f"private file system ({exc}): the notebook can read every file the grader's user can")
        return False


def _show_files(files: str | None, scratch: str, private_mounts: bool, isolation: Isolation) -> None:
    """Put the assignment's files in the working folder: bound read-only where this worker has mounts of its
    own (a notebook cannot change, delete or replace them), else copied (and said so)."""
    if not files:
        return
    names = sorted(os.listdir(files))
    for name in names:
        source, target = os.path.join(files, name), os.path.join(scratch, name)
        if not private_mounts:
            _copy_read_only(source, target)
            continue
        if os.path.isdir(source):
            os.mkdir(target)
        else:
            open(target, "x").close()
        _mount(source, target, None, _MS_BIND | _MS_REC)
        try:  # a bind of the read-only staged folder is read-only already; this makes sure
            _mount(None, target, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_REC | _MS_NOSUID)
        except OSError:
            pass
        if not os.statvfs(target).f_flag & os.ST_RDONLY:
            raise OSError(f"the assignment file {name} could not be made read-only")
    if private_mounts:
        isolation.layers.append("assignment files read-only in the working folder")
    else:
        isolation.missing.append("assignment files read-only (no mounts of its own): the notebook gets copies it "
                                 "could change or replace for itself")


def _copy_read_only(source: str, target: str) -> None:
    """A copy with the staged files' modes, read-only already (engine/course_files.py stages them so)."""
    if os.path.isdir(source):
        shutil.copytree(source, target)
    else:
        shutil.copy2(source, target)


def _build_root(scratch: str | None, files: str | None = None) -> None:
    """Pivot into a new root: read-only binds of what Python needs, nothing else.

    With `scratch` (a worker building its own): that folder writable, and /proc. Without (the fork
    server): empty mount points where each worker mounts its /proc and scratch tmpfs.
    """
    _mount(None, "/", None, _MS_REC | _MS_PRIVATE)
    # One fixed mount point for every process: each mounts its own tmpfs there, inside its own
    # mount namespace, so the grader sees an empty folder and has nothing to clean up.
    new_root = _NEW_ROOT
    os.makedirs(new_root, exist_ok=True)
    _mount("tmpfs", new_root, "tmpfs", _MS_NOSUID | _MS_NODEV, "size=1m,mode=755")
    for link in _SYSTEM_DIRS:  # /lib -> usr/lib and the like: same links in the new root
        if os.path.islink(link):
            os.symlink(os.readlink(link), new_root + link)
    for path in _visible_paths(files):
        target = new_root + path
        os.makedirs(target, exist_ok=True)
        _mount(path, target, None, _MS_BIND | _MS_REC)
        _mount(None, target, None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY | _MS_REC | _MS_NOSUID)
    os.makedirs(new_root + (scratch or SHARED_SCRATCH), exist_ok=True)
    if scratch:
        _mount(scratch, new_root + scratch, None, _MS_BIND | _MS_NOSUID | _MS_NODEV)
    os.makedirs(new_root + "/dev", exist_ok=True)
    for device in _DEVICES:
        open(f"{new_root}/dev/{device}", "w").close()
        _mount(f"/dev/{device}", f"{new_root}/dev/{device}", None, _MS_BIND)
    os.makedirs(new_root + "/proc", exist_ok=True)
    if scratch:
        _mount("proc", new_root + "/proc", "proc", _MS_NOSUID | _MS_NODEV)
    os.makedirs(new_root + "/tmp", exist_ok=True)
    os.makedirs(new_root + "/.old", exist_ok=True)
    _check(libc.syscall(_SYS_PIVOT_ROOT, new_root.encode(), f"{new_root}/.old".encode()), "pivot_root")
    try:
        os.chdir("/")
        _check(libc.umount2(b"/.old", _MNT_DETACH), "umount the old root")
        os.rmdir("/.old")
        _mount(None, "/", None, _MS_BIND | _MS_REMOUNT | _MS_RDONLY)
    except OSError as exc:
        raise _HalfBuilt(str(exc)) from None


def _visible_paths(files: str | None = None) -> list[str]:
    """The folders a worker must see to keep importing: system libraries, Python, its packages, and the
    assignment's staged files."""
    package = os.path.realpath(autograder.__path__[0])
    candidates = [*_SYSTEM_DIRS, sys.base_prefix, sys.prefix, package, *([files] if files else [])]
    chosen: list[str] = []
    for path in sorted({os.path.realpath(p) for p in candidates if os.path.isdir(p)}, key=len):
        if not any(path == c or path.startswith(c + "/") for c in chosen):
            chosen.append(path)
    return chosen


def _drop_privileges(uid: int, isolation: Isolation) -> None:
    try:
        os.setgroups([])
        os.setgid(uid)
        os.setuid(uid)
    except PermissionError as exc:
        isolation.missing.append(f"a user of its own ({exc.strerror}): the notebook runs as the grader's user")
        return
    finally:
        libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    isolation.layers.append(f"unprivileged user {uid} (no capabilities)")


class _CapHeader(ctypes.Structure):
    _fields_ = [("version", ctypes.c_uint32), ("pid", ctypes.c_int)]


class _CapData(ctypes.Structure):
    _fields_ = [("effective", ctypes.c_uint32), ("permitted", ctypes.c_uint32), ("inheritable", ctypes.c_uint32)]


def _drop_capabilities(isolation: Isolation) -> None:
    """No capability left, also those a user namespace gave (mounting, in its own namespaces), and
    none to gain back through a set-user-id program."""
    libc.prctl(_PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0)
    header, data = _CapHeader(_CAPABILITY_VERSION_3, 0), (_CapData * 2)()
    if libc.capset(ctypes.byref(header), data) != 0:
        isolation.missing.append(f"dropping capabilities (capset: {last_error()})")


def _scrub_environment(scratch: str) -> None:
    """Keep no secrets of the grader's environment (CI tokens) within the notebook's reach."""
    keep = {key: os.environ[key] for key in ("PATH", "LANG", "LC_ALL") if key in os.environ}
    os.environ.clear()
    os.environ.update(keep, HOME=scratch, TMPDIR=scratch, MPLBACKEND="Agg")
    # Importing torch already asked tempfile for a folder (/tmp, read-only here): ask again, so that
    # torch's own caches (AdamW's first step makes one) go to the scratch folder.
    tempfile.tempdir = None


def _mount(source, target, fstype, flags, data=None) -> None:
    encode = lambda text: text.encode() if text is not None else None  # noqa: E731
    _check(libc.mount(encode(source), encode(target), encode(fstype), flags, encode(data)), f"mount {target}")


def _limit(which: int, value: int) -> None:
    soft, hard = resource.getrlimit(which)
    if hard != resource.RLIM_INFINITY:
        value = min(value, hard)
    resource.setrlimit(which, (value, value))


def _mapped_bytes() -> int:
    with open("/proc/self/statm") as statm:
        return int(statm.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
