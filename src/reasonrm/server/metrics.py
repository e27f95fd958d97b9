"""Prometheus metrics for /metrics, in a registry of the app's own (two apps in one process,
as in tests, do not share counters), and the ASGI middleware that counts every request."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable

from prometheus_client import CONTENT_TYPE_LATEST as CONTENT_TYPE  # noqa: F401 (app uses it)
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily

from reasonrm.positions import Positions
from reasonrm.types import Judgment

# judging takes seconds to minutes, so the buckets reach far past the usual web ones
LATENCY_BUCKETS = (0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600)


class _CountedElsewhere:
    """A counter whose value another object keeps (the batcher counts its cancellations)."""

    def __init__(self, name: str, doc: str, value: Callable[[], int]) -> None:
        self.name, self.doc, self.value = name, doc, value

    def collect(self):
        yield CounterMetricFamily(self.name, self.doc, value=self.value())


class Metrics:
    def __init__(
        self,
        queue_depth: Callable[[], int],
        jobs_running: Callable[[], int],
        cancelled_jobs: Callable[[], int] = lambda: 0,
    ) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        labels = ["endpoint", "status"]
        self.requests = Counter("reasonrm_requests", "HTTP requests", labels, registry=r)
        self.latency = Histogram(
            "reasonrm_request_seconds",
            "HTTP request latency",
            ["endpoint"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "reasonrm_requests_in_flight", "HTTP requests being served", registry=r
        )
        self.queue_depth = Gauge("reasonrm_queue_depth", "Judge jobs waiting", registry=r)
        self.queue_depth.set_function(queue_depth)
        self.jobs_running = Gauge("reasonrm_jobs_running", "Judge jobs being judged", registry=r)
        self.jobs_running.set_function(jobs_running)
        self.prompt_tokens = Counter("reasonrm_prompt_tokens", "Judge prompt tokens", registry=r)
        self.completion_tokens = Counter(
            "reasonrm_completion_tokens", "Judge completion tokens", registry=r
        )
        self.invalid_verdicts = Counter(
            "reasonrm_invalid_verdicts", "Judge samples without a valid verdict", registry=r
        )
        # position diagnostics: first-slot share = first_slot / verdicts, flip rate =
        # order_flips / both_orders (PromQL: rate of one over the other)
        self.verdicts = Counter(
            "reasonrm_verdicts", "Judge samples with a valid verdict", registry=r
        )
        self.first_slot = Counter(
            "reasonrm_first_slot_verdicts",
            "Valid verdicts for the response shown first (an unbiased judge: half)",
            registry=r,
        )
        self.both_orders = Counter(
            "reasonrm_both_order_judgments", "Judgments read in both orders", registry=r
        )
        self.order_flips = Counter(
            "reasonrm_order_flips",
            "Judgments whose two orders named different responses",
            registry=r,
        )
        self.failed_jobs = Counter(
            "reasonrm_failed_jobs", "Pairs or tournaments that ended in an error", registry=r
        )
        r.register(
            _CountedElsewhere(
                "reasonrm_cancelled_jobs",
                "Judge jobs dropped or interrupted because their request ended",
                cancelled_jobs,
            )
        )

    def count(self, judgments: Iterable[Judgment]) -> None:
        for j in judgments:
            self.prompt_tokens.inc(j.prompt_tokens)
            self.completion_tokens.inc(j.completion_tokens)
            self.invalid_verdicts.inc(j.votes.get("invalid", 0))
            # only what the tally reads, not the whole judgment's dict (texts, evidence)
            samples = [{"order": s.order, "verdict": s.verdict.winner} for s in j.samples]
            positions = Positions().add({"samples": samples, "orders_agree": j.orders_agree})
            self.verdicts.inc(positions.verdicts)
            self.first_slot.inc(positions.first_slot)
            self.both_orders.inc(positions.both_orders)
            self.order_flips.inc(positions.flips)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class MetricsMiddleware:
    """Counts every HTTP request (refused ones included) by endpoint and status, and times it.
    Paths other than the app's own endpoints are counted as "other", so a scanner cannot grow
    the label set without bound."""

    def __init__(self, app, metrics: Metrics, endpoints: Iterable[str]) -> None:
        self.app = app
        self.metrics = metrics
        self.endpoints = set(endpoints)

    async def __call__(self, scope, receive, send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        endpoint = scope["path"] if scope["path"] in self.endpoints else "other"
        status = 500  # what an exception that escapes the app turns into

        async def send_status(message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        started = time.monotonic()
        self.metrics.in_flight.inc()
        try:
            await self.app(scope, receive, send_status)
        finally:
            self.metrics.in_flight.dec()
            self.metrics.requests.labels(endpoint, str(status)).inc()
            self.metrics.latency.labels(endpoint).observe(time.monotonic() - started)
