"""`reasonrm serve`: the judge as an HTTP service (reasonrm.server) for RL trainers."""

from __future__ import annotations

import importlib.util
import math
import os
from typing import Annotated

import typer

from reasonrm.cli import common
from reasonrm.cli.app import app
from reasonrm.cli.common import SpecOptions, err, friendly, out, spec_options
from reasonrm.errors import InputError, MissingDependencyError

LOOPBACK = ("127.0.0.1", "localhost", "::1")
SERVE_MODULES = ("fastapi", "uvicorn", "prometheus_client")  # the [serve] extra


@friendly
@spec_options(
    overrides={
        "api_key_env": {
            "flag": "--engine-api-key-env",
            "help": "openai engine: environment variable holding the engine's API key.",
        }
    }
)
def serve(
    host: Annotated[
        str, typer.Option(help="Address to listen on (loopback by default: only this machine).")
    ] = "127.0.0.1",
    port: Annotated[int, typer.Option(min=0, max=65535, help="Port (0: any free one).")] = 8000,
    api_key_env: Annotated[
        str | None,
        typer.Option(
            help="Environment variable holding the key clients must send as "
            "'Authorization: Bearer KEY' (default: no key)."
        ),
    ] = None,
    max_batch: Annotated[
        int, typer.Option(min=1, help="Most judge jobs (pairs, matches, queries) per request.")
    ] = 512,
    queue: Annotated[
        int, typer.Option(min=1, help="Judge jobs waiting at once; a request over it gets 429.")
    ] = 2048,
    workers: Annotated[
        int | None, typer.Option(min=1, help="Jobs judged at once (default: 2x engine capacity).")
    ] = None,
    timeout: Annotated[
        float, typer.Option(min=0.001, help="Seconds per request before 504.")
    ] = 600.0,
    max_chars: Annotated[
        int, typer.Option(min=1, help="Longest prompt, response or query, in characters.")
    ] = 100_000,
    *,
    specs: SpecOptions,
) -> None:
    """Serve the judge over HTTP: /v1/judge, /v1/rank, /get_reward (OpenRLHF), /health,
    /metrics. Pairs are judged in both orders by default, tournament matches in one random
    order (--orders auto)."""
    missing = [m for m in SERVE_MODULES if importlib.util.find_spec(m) is None]
    if missing:
        raise MissingDependencyError(
            f"reasonrm serve needs the server extra ({', '.join(missing)} missing): "
            "pip install 'reasonrm[serve]'"
        )
    from reasonrm.judge import Judge
    from reasonrm.server.app import create_app
    from reasonrm.server.settings import ServerSettings

    api_key = None
    if api_key_env is not None:
        api_key = os.environ.get(api_key_env, "").strip()
        if not api_key:
            raise InputError(f"--api-key-env {api_key_env}: that environment variable is empty")
    elif host not in LOOPBACK:
        err.print(f"[yellow]warning:[/] listening on {host} with no API key (see --api-key-env)")
    judge_spec, engine_spec = specs.judge(), specs.engine()
    settings = ServerSettings(
        model_name=engine_spec.model,
        api_key=api_key,
        max_pairs=max_batch,
        max_chars=max_chars,
        queue_size=queue,
        workers=workers,
        timeout=timeout,
    )  # checked before the model loads
    eng = common.open_engine(engine_spec)
    app = None
    try:
        judge = Judge.from_spec(eng, judge_spec)
        app = create_app(judge, settings)
        about = f"{judge.protocol.name} judge, {judge.votes} vote(s), orders {judge.orders}"
        _run(app, host, port, timeout, about)
    finally:
        # the app closes the engine at shutdown; this covers a start that failed before
        if app is None or not app.state.service.engine_closed:
            eng.close()


def _run(app, host: str, port: int, timeout: float, about: str) -> None:
    """Run uvicorn until Ctrl-C; print one line with the URL once the socket listens."""
    import uvicorn

    class ReadyServer(uvicorn.Server):
        async def startup(self, sockets=None) -> None:
            await super().startup(sockets)
            if not self.started:
                return
            bound = port
            for server in getattr(self, "servers", []):  # the real port when --port 0
                for sock in server.sockets:
                    bound = sock.getsockname()[1]
            shown = f"[{host}]" if ":" in host else host
            out.print(f"reasonrm serving at http://{shown}:{bound} ({about})", highlight=False)

    # uvicorn lets requests in flight finish for as long as one request may take
    config = uvicorn.Config(
        app,
        host=host,
        port=port,
        log_level="warning",
        timeout_graceful_shutdown=max(1, math.ceil(timeout)),
    )
    ReadyServer(config).run()


app.command()(serve)
