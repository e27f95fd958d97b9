"""Where response code runs: `open_sandbox("local")` (this machine, the default) or
`open_sandbox("http://host:8080")` (a SandboxFusion service). Both modules import only the
standard library; the SandboxFusion client is imported when a FusionSandbox is made."""

from __future__ import annotations

import threading

from reasonrm.errors import InputError
from reasonrm.sandbox.base import LANGUAGES, Limits, RunRequest, RunResult, Sandbox, Status
from reasonrm.sandbox.fusion import FusionSandbox
from reasonrm.sandbox.local import LocalSandbox, Toolchain

_lock = threading.Lock()
_local: LocalSandbox | None = None


def open_sandbox(where: str = "local") -> Sandbox:
    """A sandbox by where it runs. "local": one LocalSandbox shared by the process (it
    finds its toolchains and probes bubblewrap once); an http(s) URL: a FusionSandbox."""
    global _local
    if where == "local":
        with _lock:
            if _local is None:
                _local = LocalSandbox()
            return _local
    if where.startswith(("http://", "https://")):
        return FusionSandbox(where)
    raise InputError(
        f"sandbox must be 'local' or the URL of a SandboxFusion service (http://...), got {where!r}"
    )


__all__ = [
    "LANGUAGES",
    "FusionSandbox",
    "Limits",
    "LocalSandbox",
    "RunRequest",
    "RunResult",
    "Sandbox",
    "Status",
    "Toolchain",
    "open_sandbox",
]
