"""The one interface every sandbox implements: a program in, what it did out.

Response code is untrusted. A sandbox runs it with a deadline and resource limits, and never
raises for anything the program does: a crash, a timeout or a compile error is a `RunResult`.
A sandbox that cannot run anything (a missing toolchain, a service that is down) also answers
with a `RunResult`, status "unavailable" and the reason, so a judgment falls back to the
judge's reading instead of failing.
"""

from __future__ import annotations

import asyncio
from abc import ABC, abstractmethod
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Literal

Status = Literal["ok", "failed", "timeout", "compile_error", "unavailable"]


@dataclass(frozen=True)
class Limits:
    """What one run may use. The deadline counts the run, not the compile."""

    seconds: float = 5.0  # wall clock, then the whole process group is killed
    memory_mb: int = 1024  # writable memory (RLIMIT_DATA locally)
    output_bytes: int = 65_536  # per stream; the rest is cut and `truncated` set
    file_mb: int = 16  # the largest file the program may write
    processes: int = 64  # processes and threads it may start
    compile_seconds: float = 30.0


@dataclass(frozen=True)
class RunRequest:
    """A program and what it reads. `files` are written beside it (name -> text)."""

    code: str
    language: str = "python"
    stdin: str = ""
    files: Mapping[str, str] = field(default_factory=dict)
    limits: Limits = field(default_factory=Limits)


@dataclass(frozen=True)
class RunResult:
    """What a run did. `ok`: exit status 0; `failed`: another exit status or a signal;
    `timeout`: killed at the deadline; `compile_error`: it never ran; `unavailable`: the
    sandbox could not run it at all (`reason` says why)."""

    status: Status
    stdout: str = ""
    stderr: str = ""
    exit_code: int | None = None
    seconds: float = 0.0
    truncated: bool = False
    reason: str | None = None

    @property
    def ran(self) -> bool:
        """Whether the program ran (to an end of its own, or to the deadline)."""
        return self.status in ("ok", "failed", "timeout")

    def to_dict(self) -> dict:
        return {
            "status": self.status,
            "exit_code": self.exit_code,
            "seconds": round(self.seconds, 3),
            "stdout": self.stdout,
            "stderr": self.stderr,
            "truncated": self.truncated,
            "reason": self.reason,
        }


class Sandbox(ABC):
    """Runs untrusted programs. `arun` is safe to call concurrently."""

    name: str = "sandbox"

    @abstractmethod
    async def arun(self, request: RunRequest) -> RunResult: ...

    def run(self, request: RunRequest) -> RunResult:
        return asyncio.run(self.arun(request))

    @abstractmethod
    def languages(self) -> list[str]:
        """The languages this sandbox can run now (a missing toolchain is left out)."""

    def why_not(self, language: str) -> str | None:
        """Why this sandbox cannot run `language` now (a missing toolchain, no isolation),
        or None when it can."""
        return None if language in self.languages() else f"it does not run {language}"

    def describe(self) -> str:
        """One line: what isolation a run gets here (shown in evidence and docs)."""
        return self.name

    def close(self) -> None:
        """Release connections or helpers; the sandbox cannot be used afterwards."""


LANGUAGES: tuple[str, ...] = ("python", "javascript", "cpp", "java", "rust", "go")


def exit_code(returncode: int | None) -> int | None:
    """A signal N reads 128 + N, as a shell shows it (under bubblewrap that is all there is)."""
    return 128 - returncode if returncode is not None and returncode < 0 else returncode
