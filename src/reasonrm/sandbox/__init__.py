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
_local: dict[str, LocalSandbox] = {}
#: --sandbox values for this machine: isolated (the default; nothing runs where bubblewrap
#: does not work), or limits only, by the user's explicit choice
LOCAL = {"local": "bwrap", "local-unisolated": "none"}


def open_sandbox(where: str = "local") -> Sandbox:
    """A sandbox by where it runs. "local": one LocalSandbox shared by the process, under
    bubblewrap's namespaces or not at all (a check that cannot isolate response code says so
    and decides nothing); "local-unisolated": resource limits only (no network or filesystem
    isolation: code you trust); an http(s) URL: a SandboxFusion service."""
    if where in LOCAL:
        with _lock:
            if where not in _local:
                _local[where] = LocalSandbox(LOCAL[where])
            return _local[where]
    if where.startswith(("http://", "https://")):
        return FusionSandbox(where)
    raise InputError(
        "sandbox must be 'local', 'local-unisolated' or the URL of a SandboxFusion service "
        f"(http://...), got {where!r}"
    )


__all__ = [
    "LANGUAGES",
    "LOCAL",
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
