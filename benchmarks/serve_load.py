"""`reasonrm serve` under load, on loopback: one client at a time against N concurrent clients,
then a fault run.

The server is the real command (`reasonrm serve --port 0`) in a child process with the
embedded default model. Every request judges one real RewardBench pair (both orders, as
serve does by default). Phase "1 client" sends them one after another; phase "N clients"
sends the same number of pairs from N concurrent clients. Throughput is completion tokens
per second of wall time (sampled verdicts differ in length between phases; pairs per second
is reported too); latency is per request. Any non-200 answer or transport error counts as
failed, and every request must come back (none lost).

The ceiling: after the server stops, the same pairs are judged in process by the engine
alone through `Judge` (one at a time, then all at once), so the server's ratio can be read
against what the engine itself gains from concurrency on this machine.

Fault run (`--no-fault` to skip): at the same time as N/2 good clients, clients that hang
up mid-request, pairs too long for the model's context (an engine error for that pair),
and malformed bodies. Every good request must get its 200 with judgments; every accepted
bad one an answer with a clear error; the server must still answer /health afterwards.
Cancelled requests and failed jobs are the server's own counters (/metrics, read before and
after the fault phase), not the clients' timeouts.

Usage: python benchmarks/serve_load.py [--model qwen2.5-1.5b --clients 16 --requests 16
        --max-tokens 64 --parallel 8]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import re
import signal
import statistics
import subprocess
import sys
import threading
import time

import httpx
from common import prometheus_value, report, rewardbench_pairs, write_result


class Server:
    """`reasonrm serve --port 0` in a child process; waits for its ready line."""

    def __init__(self, args: list[str], timeout: float = 600) -> None:
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "reasonrm.cli", "serve", "--port", "0", *args],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            env=os.environ | {"COLUMNS": "200"},
        )
        self.lines: list[str] = []
        threading.Thread(target=self._read, daemon=True).start()
        deadline = time.monotonic() + timeout
        self.url = None
        while self.url is None and time.monotonic() < deadline and self.proc.poll() is None:
            for line in list(self.lines):
                if found := re.search(r"reasonrm serving at (http://\S+)", line):
                    self.url = found.group(1)
            time.sleep(0.2)
        if self.url is None:
            self.stop()
            sys.exit("the server did not start:\n" + "".join(self.lines))

    def _read(self) -> None:
        for line in self.proc.stdout:
            self.lines.append(line)

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGINT)
            self.proc.wait(300)


def pair_body(c) -> dict:
    return {"pairs": [{"prompt": c.prompt, "a": c.a, "b": c.b}]}


async def one_request(client: httpx.AsyncClient, url: str, body: dict) -> dict:
    started = time.perf_counter()
    try:
        r = await client.post(url + "/v1/judge", json=body)
        status, ok, tokens = r.status_code, False, 0
        if r.status_code == 200:
            answer = r.json()  # parsed once: the verdicts' errors and the token count
            ok = all(j["error"] is None for j in answer["judgments"])
            tokens = answer["usage"]["completion_tokens"]
    except httpx.HTTPError as e:
        ok, status, tokens = False, type(e).__name__, 0
    return {"ok": ok, "status": status, "tokens": tokens, "seconds": time.perf_counter() - started}


async def run_clients(url: str, bodies: list[dict], clients: int) -> dict:
    """`clients` workers share the bodies; each sends its next one when its last returns."""
    queue = list(reversed(bodies))
    results: list[dict] = []

    async def worker(client: httpx.AsyncClient) -> None:
        while queue:
            results.append(await one_request(client, url, queue.pop()))

    started = time.perf_counter()
    async with httpx.AsyncClient(timeout=1800) as client:
        await asyncio.gather(*(worker(client) for _ in range(clients)))
    wall = time.perf_counter() - started
    latencies = sorted(r["seconds"] for r in results)
    tokens = sum(r["tokens"] for r in results)
    return {
        "clients": clients,
        "requests": len(bodies),
        "answered": len(results),
        "failed": sum(not r["ok"] for r in results),
        "seconds": round(wall, 1),
        "pairs_per_s": round(len(bodies) / wall, 4),
        "completion_tokens": tokens,
        "tokens_per_s": round(tokens / wall, 3),
        "p50_s": round(statistics.median(latencies), 2),
        "p99_s": round(latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))], 2),
    }


async def fault_run(url: str, bodies: list[dict], clients: int) -> dict:
    """Good requests alongside hang-ups, over-long pairs and malformed bodies."""
    long_pair = {"pairs": [{"prompt": "Summarise: " + "lorem ipsum " * 6000, "a": "x", "b": "y"}]}
    malformed = [
        b"{not json",
        json.dumps({"pairs": [{"prompt": "p", "a": "a"}]}).encode(),
        json.dumps({"pairs": "none"}).encode(),
    ]
    out = {"good_ok": 0, "good_failed": 0, "client_timeouts": 0, "long_clear_error": 0}
    out |= {"long_other": 0, "malformed_422": 0, "malformed_other": 0}

    async def good(client: httpx.AsyncClient, body: dict) -> None:
        r = await one_request(client, url, body)
        out["good_ok" if r["ok"] else "good_failed"] += 1

    async def hang_up(body: dict) -> None:
        async with httpx.AsyncClient(timeout=0.5) as c:
            try:
                await c.post(url + "/v1/judge", json=body)
            except httpx.TimeoutException:
                out["client_timeouts"] += 1

    async def too_long(client: httpx.AsyncClient) -> None:
        r = await client.post(url + "/v1/judge", json=long_pair)
        error = r.status_code == 200 and (r.json()["judgments"][0]["error"] or "")
        clear = "context" in error or "too long" in error or r.status_code == 413
        out["long_clear_error" if clear else "long_other"] += 1

    async def bad(client: httpx.AsyncClient, raw: bytes) -> None:
        r = await client.post(
            url + "/v1/judge", content=raw, headers={"Content-Type": "application/json"}
        )
        clear = r.status_code == 422 and r.json().get("detail")
        out["malformed_422" if clear else "malformed_other"] += 1

    async with httpx.AsyncClient(timeout=1800) as client:
        await asyncio.gather(
            *(good(client, b) for b in bodies[: clients // 2]),
            *(hang_up(b) for b in bodies[-4:]),
            *(too_long(client) for _ in range(2)),
            *(bad(client, raw) for raw in malformed),
        )
        health = await client.get(url + "/health")
        after = await one_request(client, url, bodies[0])
    out["health_after"] = health.status_code
    out["served_after"] = after["ok"]
    return out


def engine_ceiling(args, pairs) -> tuple[dict, dict]:
    """The same pairs judged in process (both orders, as serve does): one at a time, then
    all at once; the engine's own gain from concurrency."""
    from reasonrm import Judge, load_engine

    def phase(clients: int) -> dict:
        started = time.perf_counter()
        judge = Judge(
            engine,
            "rrm",
            score="vote",
            orders="both",
            max_tokens=args.max_tokens,
            concurrency=clients,
        )
        judgments = list(judge.judge_many(pairs, errors="return"))
        wall = time.perf_counter() - started
        tokens = sum(j.completion_tokens for j in judgments)
        return {
            "clients": clients,
            "requests": len(pairs),
            "answered": len(judgments),
            "failed": sum(j.error is not None for j in judgments),
            "seconds": round(wall, 1),
            "pairs_per_s": round(len(pairs) / wall, 4),
            "completion_tokens": tokens,
            "tokens_per_s": round(tokens / wall, 3),
        }

    engine = load_engine("llamacpp", args.model, parallel=args.parallel, context=args.context)
    try:
        list(
            Judge(engine, "rrm", score="vote", max_tokens=args.max_tokens).judge_many(pairs[:2])
        )  # warm-up
        return phase(1), phase(args.clients)
    finally:
        engine.close()


def server_counts(url: str) -> dict:
    """What the server itself counted (its /metrics; names in reasonrm/server/metrics.py):
    requests answered 499 (the client went away), the jobs the batcher cancelled for them,
    and failed jobs."""
    text = httpx.get(url + "/metrics").text
    return {
        "cancelled_requests": prometheus_value(
            text, "reasonrm_requests_total", endpoint="/v1/judge", status="499"
        ),
        "cancelled_jobs": prometheus_value(text, "reasonrm_cancelled_jobs_total"),
        "failed_jobs": prometheus_value(text, "reasonrm_failed_jobs_total"),
    }


def main() -> None:
    # a plain kill must still stop the server child (the `finally` below), not orphan it
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="qwen2.5-1.5b")
    ap.add_argument("--clients", type=int, default=16)
    ap.add_argument("--requests", type=int, default=16, help="pairs per phase")
    ap.add_argument("--max-tokens", type=int, default=64)
    ap.add_argument("--parallel", type=int, default=8, help="llama.cpp slots")
    ap.add_argument("--context", type=int, default=4096)
    ap.add_argument("--max-chars", type=int, default=600, help="longest pair (prompt + both)")
    ap.add_argument("--no-fault", dest="fault", action="store_false")
    ap.add_argument("--no-ceiling", dest="ceiling", action="store_false")
    args = ap.parse_args()

    pairs = rewardbench_pairs(args.requests, max_chars=args.max_chars)
    bodies = [pair_body(c) for c in pairs]
    server = Server(
        [
            "--model", args.model, "--max-tokens", str(args.max_tokens), "--score", "vote",
            "--parallel", str(args.parallel), "--context", str(args.context),
        ]
    )  # fmt: skip
    try:
        print(f"serving at {server.url}; {args.requests} pairs per phase", flush=True)
        asyncio.run(run_clients(server.url, bodies[:2], 1))  # warm-up, not counted
        single = asyncio.run(run_clients(server.url, bodies, 1))
        print(f"1 client: {single}", flush=True)
        many = asyncio.run(run_clients(server.url, bodies, args.clients))
        print(f"{args.clients} clients: {many}", flush=True)
        fault = None
        if args.fault:
            before = server_counts(server.url)
            fault = asyncio.run(fault_run(server.url, bodies, args.clients))
            after = server_counts(server.url)
            # the server's own counts over the fault phase, not what the clients saw
            fault |= {f"server_{k}": after[k] - before[k] for k in after}
        failed_jobs = server_counts(server.url)["failed_jobs"]
    finally:
        server.stop()

    # tokens per second: sampled verdicts differ in length between the phases
    ratio = many["tokens_per_s"] / single["tokens_per_s"]
    report(
        f"reasonrm serve on loopback: {args.model}, max_tokens {args.max_tokens}", [single, many]
    )
    print(f"throughput ratio, {args.clients} clients vs 1: {ratio:.2f}x (target 1.5x)")
    ceiling = None
    if args.ceiling:
        alone = engine_ceiling(args, pairs)
        ceiling = alone[1]["tokens_per_s"] / alone[0]["tokens_per_s"]
        report("The engine alone (Judge in process, no HTTP)", list(alone))
        print(
            f"engine alone, {args.clients} at once vs 1: {ceiling:.2f}x; the server reaches "
            f"{ratio / ceiling:.2f} of that ceiling"
        )
    if fault:
        report("Fault run", [fault])
    result = {
        "model": args.model,
        "max_tokens": args.max_tokens,
        "parallel": args.parallel,
        "single": single,
        "concurrent": many,
        "throughput_ratio": round(ratio, 3),
        "engine_ceiling_ratio": round(ceiling, 3) if ceiling else None,
        "fault": fault,
        "server_failed_jobs": failed_jobs,
    }
    print(json.dumps({"benchmark": "serve_load", **result}))
    write_result("serve_load", result)


if __name__ == "__main__":
    main()
