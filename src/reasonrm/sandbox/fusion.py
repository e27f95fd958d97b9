"""Response code on a SandboxFusion service (https://github.com/bytedance/SandboxFusion, the
sandbox verl uses), through its own client: POST {url}/run_code.

The service isolates and limits runs itself. Its memory limit is part of how it is deployed,
not of a request, so `Limits.memory_mb`, `file_mb` and `processes` do not reach it; the
deadlines do (`compile_timeout`, `run_timeout`), and output is cut here to `output_bytes`."""

from __future__ import annotations

import base64
import math
from typing import Any

from reasonrm.errors import MissingDependencyError
from reasonrm.sandbox.base import LANGUAGES, RunRequest, RunResult, Sandbox, exit_code
from reasonrm.sandbox.local import plain_name

# Our language names -> SandboxFusion's.
FUSION_LANGUAGES = {
    "python": "python",
    "javascript": "nodejs",
    "cpp": "cpp",
    "java": "java",
    "rust": "rust",
    "go": "go",
}
SLACK = 5.0  # seconds the service may take beyond the compile and run deadlines


class FusionSandbox(Sandbox):
    """Runs programs on the SandboxFusion service at `url`. A service that is down or
    answers an error gives status "unavailable" after `attempts` tries (a second or two
    apart), never an exception."""

    name = "sandbox-fusion"

    def __init__(self, url: str, *, attempts: int = 2) -> None:
        try:
            from sandbox_fusion import RunCodeRequest, run_code_async
        except ImportError as error:
            raise MissingDependencyError(
                "running code on SandboxFusion needs its client: "
                "pip install 'reasonrm[sandbox-fusion]'"
            ) from error
        self._request_type = RunCodeRequest
        self._run_code = run_code_async
        self.url = url.rstrip("/")
        self.attempts = attempts

    def languages(self) -> list[str]:
        return list(LANGUAGES)  # what the service was built with is its own affair

    def describe(self) -> str:
        return (
            f"sandbox-fusion: runs on the SandboxFusion service at {self.url} "
            "(its isolation; its memory limit is the service's)"
        )

    async def arun(self, request: RunRequest) -> RunResult:
        language = FUSION_LANGUAGES.get(request.language)
        if language is None:
            return RunResult("unavailable", reason=f"unknown language {request.language!r}")
        for name in request.files:
            if not plain_name(name):
                return RunResult("unavailable", reason=f"file name {name!r} is not a plain name")
        limits = request.limits
        payload = self._request_type(
            code=request.code,
            language=language,
            stdin=request.stdin,
            files={n: base64.b64encode(t.encode()).decode() for n, t in request.files.items()},
            compile_timeout=limits.compile_seconds,
            run_timeout=limits.seconds,
        )
        try:
            response = await self._run_code(
                payload,
                endpoint=self.url,
                max_attempts=self.attempts,
                client_timeout=math.ceil(limits.compile_seconds + limits.seconds + SLACK),
            )
        except Exception as error:  # down, refused, timed out, HTTP 500, SandboxError
            text = (str(error).strip().splitlines() or [type(error).__name__])[0][:300]
            return RunResult("unavailable", reason=f"SandboxFusion at {self.url}: {text}")
        return _result(response, request.limits.output_bytes, self.url)


def _cut(text: str | None, cap: int) -> tuple[str, bool]:
    data = (text or "").encode("utf-8", errors="replace")
    return data[:cap].decode("utf-8", errors="replace"), len(data) > cap


def _result(response: Any, cap: int, url: str) -> RunResult:
    """A RunCodeResponse as a RunResult."""
    built, ran = response.compile_result, response.run_result
    if built is not None and (ran is None or built.return_code not in (0, None)):
        stderr, cut_err = _cut(built.stderr or built.stdout, cap)
        stdout, cut_out = _cut(built.stdout, cap)
        late = built.status == "TimeLimitExceeded"
        return RunResult(
            "compile_error",
            stdout=stdout,
            stderr=stderr,
            exit_code=exit_code(built.return_code),
            seconds=built.execution_time or 0.0,
            truncated=cut_err or cut_out,
            reason="compiling took too long" if late else response.message or None,
        )
    if ran is None:
        return RunResult(
            "unavailable", reason=f"SandboxFusion at {url} ran nothing: {response.message}"
        )
    stdout, cut_out = _cut(ran.stdout, cap)
    stderr, cut_err = _cut(ran.stderr, cap)
    common: dict[str, Any] = dict(
        stdout=stdout,
        stderr=stderr,
        seconds=ran.execution_time or 0.0,
        truncated=cut_out or cut_err,
    )
    if ran.status == "TimeLimitExceeded":
        return RunResult("timeout", reason="killed at the deadline", **common)
    code = exit_code(ran.return_code)
    if code is None:  # "Error": it did not run to an exit status
        reason = f"SandboxFusion at {url} could not run it: {response.message}"
        return RunResult("unavailable", reason=reason, **common)
    return RunResult("ok" if code == 0 else "failed", exit_code=code, **common)
