"""The SandboxFusion backend against a stand-in for the service: POST /run_code with the real
request and response shapes (the client package's models), executed by the local sandbox."""

from __future__ import annotations

import base64
import builtins
import json
import socket
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest

pytest.importorskip("sandbox_fusion", reason="pip install 'reasonrm[sandbox-fusion]'")

from sandbox_fusion.models import RunCodeRequest, RunCodeResponse  # noqa: E402

from reasonrm.errors import InputError, MissingDependencyError  # noqa: E402
from reasonrm.sandbox import FusionSandbox, LocalSandbox, open_sandbox  # noqa: E402
from reasonrm.sandbox.base import Limits, RunRequest  # noqa: E402

OURS = {"python": "python", "nodejs": "javascript", "cpp": "cpp", "java": "java", "rust": "rust"}
COMPILED = {"cpp", "java", "rust", "go"}


def execute(local: LocalSandbox, body: dict) -> dict:
    """What SandboxFusion answers, computed by really running the request here."""
    request = RunCodeRequest(**body)
    files = {name: base64.b64decode(data).decode() for name, data in request.files.items()}
    limits = Limits(seconds=request.run_timeout, compile_seconds=request.compile_timeout)
    language = OURS[request.language]
    result = local.run(RunRequest(request.code, language, request.stdin or "", files, limits))
    built = None
    if result.status == "compile_error":
        built = {"status": "Finished", "return_code": result.exit_code or 1}
        built |= {"stdout": result.stdout, "stderr": result.stderr, "execution_time": 0.1}
        response = {"status": "Failed", "message": "compile failed", "compile_result": built}
        return RunCodeResponse(**response).dict()
    if language in COMPILED:
        built = {"status": "Finished", "return_code": 0, "stdout": "", "stderr": ""}
    ran = {"stdout": result.stdout, "stderr": result.stderr, "execution_time": result.seconds}
    if result.status == "timeout":
        ran |= {"status": "TimeLimitExceeded", "return_code": None}
    else:
        ran |= {"status": "Finished", "return_code": result.exit_code}
    status = "Success" if result.status == "ok" else "Failed"
    response = {"status": status, "message": "", "compile_result": built, "run_result": ran}
    return RunCodeResponse(**response).dict()


class Service:
    """A stand-in SandboxFusion on 127.0.0.1; `mode` "ok", "500" or "sandbox-error"."""

    def __init__(self) -> None:
        self.mode = "ok"
        self.calls = 0
        local = LocalSandbox()
        service = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self) -> None:
                service.calls += 1
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                if self.path != "/run_code" or service.mode == "500":
                    self.send_response(500)
                    self.end_headers()
                    self.wfile.write(b"internal error")
                    return
                if service.mode == "sandbox-error":
                    answer = {"status": "SandboxError", "message": "executor pod lost"}
                else:
                    answer = execute(local, body)
                data = json.dumps(answer).encode()
                self.send_response(200)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, *args) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture(scope="module")
def service() -> Iterator[Service]:
    running = Service()
    yield running
    running.close()


@pytest.fixture
def fusion(service: Service) -> FusionSandbox:
    service.mode = "ok"
    return FusionSandbox(service.url + "/")


def test_python_runs_on_the_service(fusion):
    request = RunRequest(
        "import sys\nprint(int(sys.stdin.read()) * 2, open('data.txt').read())",
        stdin="21",
        files={"data.txt": "from a file"},
    )
    result = fusion.run(request)
    assert (result.status, result.exit_code, result.stdout) == ("ok", 0, "42 from a file\n")
    failed = fusion.run(RunRequest("import sys; sys.exit(4)"))
    assert (failed.status, failed.exit_code) == ("failed", 4)


def test_output_is_cut_to_the_limit(fusion):
    result = fusion.run(RunRequest("print('y' * 5000)", limits=Limits(output_bytes=100)))
    assert result.truncated and result.stdout == "y" * 100


def test_a_cpp_compile_error_maps_to_compile_error(fusion):
    if "cpp" not in LocalSandbox().languages():
        pytest.skip("no g++ for the stand-in service")
    result = fusion.run(RunRequest("int main() { return nope; }", "cpp"))
    assert result.status == "compile_error" and "nope" in result.stderr
    ok = fusion.run(RunRequest('#include <cstdio>\nint main() { puts("hi"); }', "cpp"))
    assert (ok.status, ok.stdout) == ("ok", "hi\n")


def test_a_timeout_maps_to_timeout(fusion):
    result = fusion.run(RunRequest("while True:\n    pass", limits=Limits(seconds=1.0)))
    assert result.status == "timeout" and result.ran


def test_a_service_that_is_down_is_unavailable_quickly():
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"http://127.0.0.1:{port}"
    started = time.monotonic()
    result = FusionSandbox(url).run(RunRequest("print(1)"))
    assert time.monotonic() - started < 5
    assert result.status == "unavailable" and url in result.reason
    assert "\n" not in result.reason


@pytest.mark.parametrize("mode", ["500", "sandbox-error"])
def test_a_service_that_answers_an_error_is_unavailable(fusion, service, mode):
    service.mode = mode
    calls = service.calls
    result = fusion.run(RunRequest("print(1)"))
    assert result.status == "unavailable" and service.url in result.reason
    assert service.calls - calls == fusion.attempts  # a few tries, not five


def test_an_unknown_language_or_file_name_is_unavailable(fusion, service):
    calls = service.calls
    assert fusion.run(RunRequest("x", "cobol")).status == "unavailable"
    assert fusion.run(RunRequest("x", files={"../x": ""})).status == "unavailable"
    assert service.calls == calls


def test_languages_are_mapped_to_the_services_names(fusion, monkeypatch):
    sent = []

    async def record(request, **options):
        sent.append((request.language, options["max_attempts"]))
        raise ConnectionError("not sent")

    monkeypatch.setattr(fusion, "_run_code", record)
    for language in ["python", "javascript", "cpp", "java", "rust", "go"]:
        fusion.run(RunRequest("x", language))
    assert [language for language, _ in sent] == ["python", "nodejs", "cpp", "java", "rust", "go"]
    assert fusion.languages() == ["python", "javascript", "cpp", "java", "rust", "go"]


def test_without_the_client_package_construction_fails(monkeypatch):
    real_import = builtins.__import__

    def no_client(name, *args, **kwargs):
        if name.startswith("sandbox_fusion"):
            raise ImportError(f"No module named {name!r}")
        return real_import(name, *args, **kwargs)

    monkeypatch.setattr(builtins, "__import__", no_client)
    with pytest.raises(MissingDependencyError, match=r"reasonrm\[sandbox-fusion\]"):
        FusionSandbox("http://127.0.0.1:1")


def test_open_sandbox_takes_local_or_a_url():
    assert open_sandbox("local") is open_sandbox()
    assert isinstance(open_sandbox(), LocalSandbox)
    remote = open_sandbox("https://sandbox.example:8080/")
    assert isinstance(remote, FusionSandbox) and remote.url == "https://sandbox.example:8080"
    with pytest.raises(InputError, match="local.*URL"):
        open_sandbox("docker")


def test_a_judge_runs_its_code_checks_on_the_service(service):
    from fakes import ScriptedEngine

    from reasonrm import Comparison, Judge

    service.mode = "ok"
    prompt = (
        "Write a Python function `double(x: int) -> int` to solve the following problem:\n"
        "Double x.\n>>> double(2)\n4\n>>> double(-1)\n-2\n"
    )
    pair = Comparison(prompt, "    return x + 2\n", "    return 2 * x\n")
    before = service.calls
    judge = Judge(ScriptedEngine(lambda chat, params: "\\boxed{Assistant 1}"), sandbox=service.url)
    j = judge.judge(pair)
    assert j.decided_by == "code" and j.winner == "B"
    assert service.calls > before  # the programs ran on the service
    service.mode = "500"
    down = judge.with_options().judge(pair)
    assert down.decided_by is None and sum(down.votes.values()) == 2  # the reading, both orders
    (evidence,) = down.evidence
    assert evidence.winner is None and "unavailable" in evidence.summary, evidence.summary
