"""The server's limits and options, in one place (the CLI fills them from its flags)."""

from __future__ import annotations

from dataclasses import dataclass

from reasonrm.errors import InputError


@dataclass(frozen=True)
class ServerSettings:
    """model_name: the name /v1/models and every response report (default: the engine's).
    api_key: when set, every endpoint but /health wants `Authorization: Bearer <api_key>`.
    max_pairs: judge jobs one request may cause (pairs, tournament matches, reward queries);
      more is 413. max_chars: the longest prompt, response, query or label (413).
    max_body_bytes: the largest request body (413).
    queue_size: judge jobs waiting at once, over all requests; a request that does not fit
      whole is refused with 429 and Retry-After.
    workers: jobs judged at once (default twice the engine's capacity, so its slots stay busy).
    timeout: seconds one request may take before 504; shutdown waits as long for jobs in flight.
    close_engine: close the engine when the app shuts down (the server owns it).
    """

    model_name: str | None = None
    api_key: str | None = None
    max_pairs: int = 512
    max_chars: int = 100_000
    max_body_bytes: int = 32 * 2**20
    queue_size: int = 2048
    workers: int | None = None
    timeout: float = 600.0
    close_engine: bool = True

    def __post_init__(self) -> None:
        for name in ("max_pairs", "max_chars", "max_body_bytes", "queue_size"):
            if getattr(self, name) < 1:
                raise InputError(f"{name} must be at least 1")
        if self.workers is not None and self.workers < 1:
            raise InputError("workers must be at least 1")
        if self.timeout <= 0:
            raise InputError("timeout must be positive")
        if self.api_key is not None and not self.api_key.strip():
            raise InputError("the API key is empty")
