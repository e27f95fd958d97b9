"""The local sandbox: real programs in every language found here, and hostile ones whose
harm must stay inside (each test checks the harm and that the run ended in bounded time)."""

from __future__ import annotations

import asyncio
import json
import logging
import os
import secrets
import select
import socket
import subprocess
import sys
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from reasonrm.sandbox import local
from reasonrm.sandbox.base import Limits, RunRequest
from reasonrm.sandbox.local import LocalSandbox, Toolchain

ROOT = os.geteuid() == 0
QUICK = Limits(seconds=2.0, compile_seconds=3.0)


@pytest.fixture(scope="module")
def sandbox() -> LocalSandbox:
    return LocalSandbox()


@pytest.fixture(scope="module")
def isolated(sandbox: LocalSandbox) -> LocalSandbox:
    """The sandbox with bubblewrap: the isolation tests need it."""
    if sandbox._ready().bwrap is None:
        pytest.skip(f"bubblewrap does not work here: {sandbox._ready().isolation_note}")
    return sandbox


def _fallback_python() -> str | None:
    """An interpreter uid 65534 can run without bubblewrap (as root), else this one."""
    if not ROOT or local._others_can_reach(sys.executable):
        return sys.executable
    for candidate in ("/usr/bin/python3", "/usr/local/bin/python3"):
        if os.path.exists(candidate) and local._others_can_reach(candidate):
            return candidate
    return None


@pytest.fixture(scope="module")
def plain() -> LocalSandbox:
    """The fallback: no bubblewrap, only limits (and uid 65534 as root)."""
    python = _fallback_python()
    if python is None:
        pytest.skip("no python that uid 65534 may run without bubblewrap")
    return LocalSandbox("none", python=python)


def run(sandbox: LocalSandbox, code: str, language: str = "python", **fields):
    return sandbox.run(RunRequest(code, language=language, **fields))


def need(sandbox: LocalSandbox, language: str) -> None:
    if language not in sandbox.languages():
        pytest.skip(sandbox._ready().missing.get(language, f"no {language} here"))


def marked(marker: str) -> list[int]:
    """The processes whose command line holds `marker`."""
    found = []
    for entry in os.scandir("/proc"):
        if entry.name.isdigit() and int(entry.name) != os.getpid():
            try:
                with open(f"/proc/{entry.name}/cmdline", "rb") as cmdline:
                    if marker.encode() in cmdline.read():
                        found.append(int(entry.name))
            except OSError:
                pass
    return found


def none_left(marker: str, wait: float = 3.0) -> bool:
    """Whether no process with `marker` survives (the kernel ends a pid namespace's
    processes right after its init, so allow a moment)."""
    deadline = time.monotonic() + wait
    while marked(marker):
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


HELLO = {
    "python": "import sys\nn = int(sys.stdin.read())\nprint(n * 2, open('data.txt').read().strip())\n",
    "javascript": (
        "const fs = require('fs');\n"
        "const n = parseInt(fs.readFileSync(0, 'utf8'));\n"
        "console.log(n * 2, fs.readFileSync('data.txt', 'utf8').trim());\n"
    ),
    "cpp": (
        "#include <fstream>\n#include <iostream>\n#include <string>\n"
        'int main() { int n; std::cin >> n; std::ifstream f("data.txt"); std::string s;\n'
        "  std::getline(f, s); std::cout << n * 2 << ' ' << s << std::endl; }\n"
    ),
    "java": (
        "import java.nio.file.*;\nimport java.util.*;\n"
        "public class Solution {\n  public static void main(String[] args) throws Exception {\n"
        "    int n = new Scanner(System.in).nextInt();\n"
        '    System.out.println((n * 2) + " " + Files.readString(Path.of("data.txt")).trim());\n'
        "  }\n}\n"
    ),
    "rust": (
        "use std::io::Read;\nfn main() {\n  let mut s = String::new();\n"
        "  std::io::stdin().read_to_string(&mut s).unwrap();\n"
        "  let n: i64 = s.trim().parse().unwrap();\n"
        '  let f = std::fs::read_to_string("data.txt").unwrap();\n'
        '  println!("{} {}", n * 2, f.trim());\n}\n'
    ),
    "go": (
        'package main\nimport ("fmt"; "os"; "strings")\n'
        'func main() { var n int; fmt.Scan(&n); b, _ := os.ReadFile("data.txt")\n'
        "  fmt.Println(n*2, strings.TrimSpace(string(b))) }\n"
    ),
}

BROKEN = {
    "cpp": "int main() { return undefined_name; }\n",
    "java": "public class Main { public static void main(String[] a) { int x = ; } }\n",
    "rust": 'fn main() { let x: i32 = "text"; }\n',
    "go": "package main\nfunc main() { x := }\n",
}


# -- programs that behave ----------------------------------------------------------------


@pytest.mark.parametrize("language", list(HELLO))
def test_hello_world_reads_stdin_and_files(sandbox, language):
    need(sandbox, language)
    result = run(
        sandbox, HELLO[language], language, stdin="21\n", files={"data.txt": "file-line\n"}
    )
    assert (result.status, result.exit_code, result.stdout) == ("ok", 0, "42 file-line\n")
    assert result.ran and result.reason is None and not result.truncated


@pytest.mark.parametrize("language", list(BROKEN))
def test_compile_error_keeps_the_compilers_message(sandbox, language):
    need(sandbox, language)
    result = run(sandbox, BROKEN[language], language)
    assert result.status == "compile_error" and not result.ran
    assert "error" in result.stderr.lower()


def test_a_compiler_fed_a_device_is_stopped(sandbox):
    need(sandbox, "cpp")
    started = time.monotonic()
    result = run(sandbox, '#include "/dev/zero"\nint main() {}\n', "cpp", limits=QUICK)
    assert result.status == "compile_error" and not result.ran
    assert time.monotonic() - started < QUICK.compile_seconds + 5


def test_a_crash_is_failed_with_its_exit_status(sandbox):
    result = run(sandbox, "import sys\nprint('before')\nsys.exit(3)\n")
    assert (result.status, result.exit_code, result.stdout) == ("failed", 3, "before\n")
    result = run(sandbox, "raise ValueError('boom')\n")
    assert result.status == "failed" and result.exit_code == 1
    assert "ValueError: boom" in result.stderr


def test_a_signal_reads_as_128_plus_its_number(sandbox):
    need(sandbox, "cpp")
    result = run(sandbox, "int main() { volatile int *p = 0; return *p; }\n", "cpp")
    assert (result.status, result.exit_code) == ("failed", 128 + 11)


def test_python_sees_the_libraries_installed_with_reasonrm(sandbox):
    result = run(sandbox, "import sympy\nprint(sympy.factorint(360))\n")
    assert result.status == "ok", result.stderr
    assert result.stdout == "{2: 3, 3: 2, 5: 1}\n"


def test_output_that_is_not_utf8_is_replaced(sandbox):
    result = run(sandbox, "import os\nos.write(1, b'ok \\xff\\xfe end')\n")
    assert result.stdout == "ok \ufffd\ufffd end"


# -- what cannot run ---------------------------------------------------------------------


def test_missing_toolchains_are_unavailable_with_a_reason():
    bare = LocalSandbox(path="/nonexistent")
    assert bare.languages() == ["python"]
    result = run(bare, "int main() {}", "cpp")
    assert result.status == "unavailable" and result.reason == "no g++ on this machine"
    assert not result.ran
    assert run(bare, "x", "cobol").status == "unavailable"


def test_an_injected_toolchain_table_is_used_as_given(tmp_path):
    roots = local._python_roots(sys.executable)  # what it needs bound in, where hidden
    table = {"python": Toolchain("main.py", (sys.executable, "-I", "main.py"), roots=roots)}
    sandbox = LocalSandbox(toolchains=table)
    assert sandbox.languages() == ["python"]
    assert run(sandbox, "print(7)").stdout == "7\n"
    assert run(sandbox, "fn main(){}", "rust").reason == "no rust toolchain given"


@pytest.mark.parametrize("name", ["../escape.txt", "/tmp/escape.txt", "a/b", "..", ".", ""])
def test_file_names_that_leave_the_directory_are_refused(sandbox, name):
    result = run(sandbox, "print(1)", files={name: "x"})
    assert result.status == "unavailable" and "plain name" in result.reason
    assert not os.path.exists(os.path.join(local._runs_parent(), "escape.txt"))


def test_a_file_named_like_the_program_is_refused(sandbox):
    result = run(sandbox, "print(1)", files={"main.py": "print(2)"})
    assert result.status == "unavailable" and "program's own" in result.reason


# -- hostile programs (with bubblewrap) --------------------------------------------------


def test_an_infinite_loop_is_killed_at_the_deadline(isolated):
    started = time.monotonic()
    result = run(isolated, "while True:\n    pass\n", limits=Limits(seconds=1.0))
    elapsed = time.monotonic() - started
    assert result.status == "timeout" and result.ran and result.exit_code is None
    assert 1.0 <= result.seconds < 1.5 and elapsed < 3.0


FORK_BOMB = (
    "import os, sys\n"
    "bomb = 'import os\\nwhile True:\\n    try:\\n        os.fork()\\n    except OSError:\\n        pass'\n"
    "os.execv(sys.executable, [sys.executable, '-c', bomb, '{marker}'])\n"
)


def test_a_fork_bomb_is_bounded_and_leaves_nothing(isolated):
    marker = f"reasonrm-bomb-{secrets.token_hex(6)}"
    started = time.monotonic()
    result = run(isolated, FORK_BOMB.format(marker=marker), limits=QUICK)
    assert result.status in ("timeout", "failed")
    assert time.monotonic() - started < QUICK.seconds + 5
    assert none_left(marker)


SPAWNER = (
    "import os, subprocess, sys\n"
    "sleeper = [sys.executable, '-c', 'import time; time.sleep(1000)', '{marker}']\n"
    "subprocess.Popen(sleeper)\n"
    "subprocess.Popen(sleeper, start_new_session=True)  # out of the process group\n"
    "if os.fork() == 0:  # a daemon: double fork, new session\n"
    "    os.setsid()\n"
    "    if os.fork() == 0:\n"
    "        os.execv(sys.executable, sleeper)\n"
    "    os._exit(0)\n"
    "import time; time.sleep(0.5)\n"
    "print('spawned', flush=True)\n"
    "{tail}"
)


@pytest.mark.parametrize("tail", ["", "time.sleep(1000)\n"], ids=["exits", "times-out"])
def test_processes_it_spawns_do_not_survive_it(isolated, tail):
    marker = f"reasonrm-sleep-{secrets.token_hex(6)}"
    started = time.monotonic()
    result = run(isolated, SPAWNER.format(marker=marker, tail=tail), limits=QUICK)
    assert result.stdout == "spawned\n"
    assert result.status == ("ok" if not tail else "timeout")
    assert time.monotonic() - started < QUICK.seconds + 3
    assert none_left(marker)


def test_a_memory_bomb_is_stopped(isolated):
    started = time.monotonic()
    result = run(isolated, "x = bytearray(2 * 10**9)\nprint('allocated')\n")
    assert result.status == "failed" and "MemoryError" in result.stderr
    grow = "chunks = []\nwhile True:\n    chunks.append(bytearray(10**7))\n"
    result = run(isolated, grow, limits=Limits(memory_mb=256))
    assert result.status == "failed" and "MemoryError" in result.stderr
    assert time.monotonic() - started < 10


def test_it_cannot_write_outside_its_directory(isolated, tmp_path):
    tag = secrets.token_hex(6)
    home = Path(os.environ.get("HOME") or Path.home())
    targets = [
        home / f"reasonrm-sandbox-escape-{tag}",
        Path(f"/tmp/reasonrm-sandbox-escape-{tag}"),
        tmp_path / f"escape-{tag}",
        Path(local._runs_parent()) / f"escape-{tag}",
        Path.cwd() / f"escape-{tag}",
    ]
    code = (
        "import os\n"
        f"for path in {[str(t) for t in targets]!r}:\n"
        "    try:\n"
        "        with open(path, 'w') as f:\n"
        "            f.write('escaped')\n"
        "        print('wrote', path)\n"
        "    except OSError as error:\n"
        "        print('refused', path, type(error).__name__)\n"
        "try:\n"
        "    open('in-its-directory.txt', 'w')\n"
        "except OSError as error:\n"
        "    print('its directory is read-only', type(error).__name__)\n"
        "open('/tmp/scratch.txt', 'w').write('fine')\n"
        "print('scratch', open('/tmp/scratch.txt').read())\n"
    )
    result = run(isolated, code)
    assert result.status == "ok", result.stderr
    assert "scratch fine" in result.stdout  # /tmp: its own, bounded, gone afterwards
    assert "its directory is read-only OSError" in result.stdout
    for target in targets:
        assert not target.exists(), f"{target} was written"
    assert not Path("/tmp/scratch.txt").exists()


def test_it_sees_only_the_system_and_the_toolchains(isolated, tmp_path):
    """Files outside the system's directories are not there at all, readable or not."""
    parent = Path("/var/lib") / f"reasonrm-sandbox-test-{secrets.token_hex(6)}"
    parent.mkdir()
    try:
        (parent / "notes.txt").write_text("a world-readable file of the user's")
        (parent / "notes.txt").chmod(0o644)
        parent.chmod(0o755)
        code = (
            "import os\n"
            f"print(os.path.exists({str(parent)!r}), os.path.exists('/var/lib'))\n"
            "print(sorted(os.listdir('/')))\n"
        )
        result = run(isolated, code)
    finally:
        for child in parent.iterdir():
            child.unlink()
        parent.rmdir()
    assert result.status == "ok", result.stderr
    assert result.stdout.startswith("False False\n")


def test_it_cannot_read_home_directories(isolated):
    secret = Path.home() / f".reasonrm-sandbox-secret-{secrets.token_hex(6)}"
    secret.write_text("the user's secret")
    try:
        secret.chmod(0o644)  # readable by anyone: only hiding the directory protects it
        code = (
            "import os\n"
            f"print(sorted(os.listdir({str(Path.home())!r})))\n"
            "try:\n"
            f"    print(open({str(secret)!r}).read())\n"
            "except OSError as error:\n"
            "    print(type(error).__name__)\n"
        )
        result = run(isolated, code)
    finally:
        secret.unlink()
    assert result.status == "ok", result.stderr
    assert "secret" not in result.stdout and result.stdout.endswith("FileNotFoundError\n")


def test_it_cannot_read_the_parents_environment(isolated, monkeypatch):
    secret = f"sk-test-{secrets.token_hex(12)}"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    code = (
        "import os, glob\n"
        "print(dict(os.environ))\n"
        "for path in ['/proc/self/environ', f'/proc/{os.getppid()}/environ', '/proc/1/environ',\n"
        "             *glob.glob('/proc/*/environ'), *glob.glob('/proc/*/task/*/environ')]:\n"
        "    try:\n"
        "        print(path, open(path, 'rb').read())\n"
        "    except OSError as error:\n"
        "        print(path, error)\n"
        "print('pids', [int(p) for p in os.listdir('/proc') if p.isdigit()])\n"
    )
    result = run(isolated, code)
    assert result.status == "ok", result.stderr
    assert secret not in result.stdout + result.stderr
    assert "OPENAI_API_KEY" not in result.stdout
    pids = json.loads(result.stdout.strip().splitlines()[-1].removeprefix("pids "))
    assert max(pids) < 50  # its own pid namespace: none of this machine's processes


def test_it_cannot_open_network_connections(isolated):
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = listener.getsockname()[1]
        code = (
            "import socket\n"
            f"for address in [('127.0.0.1', {port}), ('1.1.1.1', 53), ('8.8.8.8', 443)]:\n"
            "    try:\n"
            "        socket.create_connection(address, timeout=1).close()\n"
            "        print('connected', address)\n"
            "    except OSError as error:\n"
            "        print('refused', address, error)\n"
            "try:\n"
            "    socket.getaddrinfo('pypi.org', 443)\n"
            "    print('resolved')\n"
            "except OSError as error:\n"
            "    print('no dns', error)\n"
        )
        started = time.monotonic()
        result = run(isolated, code)
        assert time.monotonic() - started < 5
        assert result.status == "ok", result.stderr
        assert "connected" not in result.stdout and "resolved" not in result.stdout
        assert [line.split()[0] for line in result.stdout.splitlines()] == ["refused"] * 3 + ["no"]
        pending, _, _ = select.select([listener], [], [], 0)
        assert not pending, "the test's listener was reached"


def test_a_gigabyte_of_output_is_cut_in_bounded_time(isolated):
    code = "import os\nblock = b'x' * (1 << 20)\nfor _ in range(1024):\n    os.write(1, block)\n"
    limits = Limits(seconds=10.0, output_bytes=10_000)
    started = time.monotonic()
    result = run(isolated, code, limits=limits)
    assert time.monotonic() - started < limits.seconds + 3
    assert result.truncated and result.stdout == "x" * 10_000
    assert result.status in ("ok", "timeout")


def test_its_directory_is_removed_afterwards(isolated):
    result = run(isolated, "import os\nopen('/tmp/left.txt', 'w').write('x')\nprint(os.getcwd())\n")
    directory = result.stdout.strip()
    assert directory.startswith(local._runs_parent())
    assert not os.path.exists(directory)
    failed = run(isolated, "import os\nprint(os.getcwd())\nwhile True: pass\n", limits=QUICK)
    assert failed.status == "timeout" and not os.path.exists(failed.stdout.strip())


LOOK = (
    "import json, os, sys, time\n"
    "open('/tmp/mine.txt', 'w').write(sys.stdin.read())\n"
    "time.sleep(0.3)\n"
    "print(json.dumps([open('/tmp/mine.txt').read(), sorted(os.listdir('/tmp')),"
    " os.listdir('..')]))\n"
)


async def test_concurrent_runs_do_not_see_each_other(isolated):
    requests = [RunRequest(LOOK, stdin=f"run-{i}") for i in range(4)]
    results = await asyncio.gather(*(isolated.arun(r) for r in requests))
    for i, result in enumerate(results):
        mine, files, siblings = json.loads(result.stdout)
        assert mine == f"run-{i}" and "mine.txt" in files and "main.py" not in files
        assert len(siblings) == 1  # only its own directory under the parent


def test_runs_from_threads_at_once(isolated):
    with ThreadPoolExecutor(4) as pool:
        results = list(pool.map(lambda i: run(isolated, f"print({i} * 3)"), range(6)))
    assert [r.stdout for r in results] == [f"{i * 3}\n" for i in range(6)]


async def test_cancelling_a_run_kills_it_and_cleans_up(isolated):
    marker = f"reasonrm-cancel-{secrets.token_hex(6)}"
    code = SPAWNER.format(marker=marker, tail="time.sleep(1000)\n")
    task = asyncio.create_task(isolated.arun(RunRequest(code, limits=Limits(seconds=30))))
    deadline = time.monotonic() + 10
    while len(marked(marker)) < 3 and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    before = set(os.listdir(local._runs_parent()))
    assert before, "the run's directory should exist while it runs"
    task.cancel()
    with pytest.raises(asyncio.CancelledError):
        await task
    assert none_left(marker)
    assert not set(os.listdir(local._runs_parent())) & before


def test_a_failing_batch_cancels_runs_that_are_starting_without_hanging(isolated):
    """asyncio.run cancels every task when one fails, runs still starting included; asyncio's
    own subprocesses can wait forever for such a run (Python 3.11), the sandbox must not."""

    async def batch():
        gate = asyncio.Semaphore(4)

        async def job(i: int):
            async with gate:
                if i == 10:
                    raise ValueError("one job of the batch fails")
                return await isolated.arun(RunRequest(f"print({i})"))

        await asyncio.gather(*(job(i) for i in range(60)))

    with ThreadPoolExecutor(1) as pool:
        ran = pool.submit(asyncio.run, batch())
        with pytest.raises(ValueError, match="one job of the batch fails"):
            ran.result(timeout=60)


def test_describe_says_what_isolation_applies(isolated):
    text = isolated.describe()
    assert text.startswith("local: bubblewrap") and "no network" in text
    assert ("uid 65534" in text) == ROOT


# -- without bubblewrap ------------------------------------------------------------------


def test_without_bubblewrap_the_environment_is_still_empty(plain, monkeypatch):
    secret = f"sk-test-{secrets.token_hex(12)}"
    monkeypatch.setenv("OPENAI_API_KEY", secret)
    code = (
        "import json, os\nprint(json.dumps(sorted(os.environ)), os.getuid())\n"
        "try:\n    print(open(f'/proc/{os.getppid()}/environ', 'rb').read())\n"
        "except OSError as error:\n    print('refused', error)\n"
    )
    result = run(plain, code)
    assert result.status == "ok", result.stderr
    names, uid = result.stdout.splitlines()[0].rsplit(" ", 1)
    assert json.loads(names) == ["HOME", "LANG", "PATH", "REASONRM_SANDBOX", "TMPDIR"]
    if ROOT:  # as another uid it cannot read its parent's environment either
        assert int(uid) == 65534 and secret not in result.stdout


def test_without_bubblewrap_the_limits_hold(plain):
    code = (
        "import resource\n"
        "for name in ['CPU', 'DATA', 'FSIZE', 'NOFILE', 'NPROC', 'CORE']:\n"
        "    print(name, resource.getrlimit(getattr(resource, 'RLIMIT_' + name))[0])\n"
    )
    limits = Limits(seconds=3, memory_mb=512, file_mb=4, processes=16)
    result = run(plain, code, limits=limits)
    values = dict(line.split() for line in result.stdout.splitlines())
    assert values["CPU"] == "4" and values["DATA"] == str(512 << 20)
    assert values["FSIZE"] == str(4 << 20) and values["NOFILE"] == "256" and values["CORE"] == "0"
    assert int(values["NPROC"]) >= 16
    bomb = run(plain, "x = bytearray(2 * 10**9)\n", limits=limits)
    assert bomb.status == "failed" and "MemoryError" in bomb.stderr
    big = run(plain, "open('big', 'wb').write(b'x' * (5 << 20))\n", limits=limits)
    assert big.status == "failed"  # SIGXFSZ or an OSError


def test_without_bubblewrap_what_it_leaves_behind_is_killed(plain):
    marker = f"reasonrm-plain-{secrets.token_hex(6)}"
    started = time.monotonic()
    result = run(plain, SPAWNER.format(marker=marker, tail=""), limits=Limits(seconds=6))
    assert result.status == "ok" and result.stdout == "spawned\n"
    assert time.monotonic() - started < 4  # its exit counts, not the pipes it left open
    assert none_left(marker)


def test_without_bubblewrap_the_deadline_kills_the_process_group(plain):
    marker = f"reasonrm-plain-{secrets.token_hex(6)}"
    started = time.monotonic()
    result = run(plain, SPAWNER.format(marker=marker, tail="time.sleep(1000)\n"), limits=QUICK)
    assert result.status == "timeout" and result.stdout == "spawned\n"
    assert time.monotonic() - started < QUICK.seconds + 3
    assert none_left(marker)
    loop = run(plain, "while True:\n    pass\n", limits=Limits(seconds=1.0))
    assert loop.status == "timeout" and loop.seconds < 1.5


def test_without_bubblewrap_describe_and_a_warning_say_so(monkeypatch, caplog):
    monkeypatch.setattr(local, "_bwrap_binary", lambda: "/bin/false")
    with caplog.at_level(logging.WARNING, logger="reasonrm.sandbox.local"):
        sandbox = LocalSandbox("auto", python=_fallback_python())
        text = sandbox.describe()
    assert "without network isolation" in caplog.text
    assert "no network or filesystem isolation" in text
    strict = LocalSandbox(python=_fallback_python())  # the default: bubblewrap or nothing
    result = run(strict, "print(1)")
    assert result.status == "unavailable" and "bubblewrap" in result.reason
    assert "local-unisolated" in result.reason and strict.why_not("python") == result.reason
    assert strict.languages() == []


@pytest.mark.skipif(not ROOT, reason="as root only: whether uid 65534 can reach the interpreter")
def test_an_interpreter_uid_65534_cannot_reach_is_unavailable_without_bubblewrap(tmp_path):
    hidden = tmp_path / "private"
    hidden.mkdir(mode=0o700)
    (hidden / "python3").symlink_to(sys.executable)
    sandbox = LocalSandbox("none", python=str(hidden / "python3"))
    result = run(sandbox, "print(1)")
    assert result.status == "unavailable" and "uid 65534" in result.reason


def test_directories_left_by_a_dead_process_are_removed(monkeypatch, tmp_path):
    dead = subprocess.Popen(["true"])  # a pid that is gone now
    dead.wait()
    stale = tmp_path / f"reasonrm-sandboxes-{dead.pid}-abc123"
    (stale / "reasonrm-sandbox-x").mkdir(parents=True)
    alive = tmp_path / f"reasonrm-sandboxes-{os.getpid()}-def456"
    alive.mkdir()
    monkeypatch.setattr(local.tempfile, "tempdir", str(tmp_path))
    monkeypatch.setattr(local, "_parent", None)
    parent = local._runs_parent()
    assert parent.startswith(str(tmp_path / f"reasonrm-sandboxes-{os.getpid()}-"))
    assert not stale.exists() and alive.exists()
