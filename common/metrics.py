"""Prometheus metrics of the web and worker processes, summed over the host's processes.

Every process writes its samples to the folder of `common/metrics_folder.py`;
`exposition()` reads them all, so one scrape of any web process shows them all.
"""

import os
from collections.abc import Iterator

from common.metrics_folder import folder, join
from common.settings import get_settings

FOLDER = folder(get_settings())
join(FOLDER)

# prometheus_client chooses multiprocess mode when first imported: after `join`.
from prometheus_client import (  # noqa: E402
    CONTENT_TYPE_LATEST,
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    generate_latest,
)
from prometheus_client.metrics_core import Metric  # noqa: E402
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead  # noqa: E402

HTTP_REQUESTS = Counter(
    "http_requests_total", "HTTP requests by route and status", ["method", "route", "status"]
)
HTTP_LATENCY = Histogram(
    "http_request_duration_seconds",
    "HTTP request latency by route",
    ["method", "route"],
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)
EXPOSED_SLOTS = Histogram(
    "exposed_slots_count",
    "Slots shown by one GET /v1/slots",
    ["scope", "variant"],
    buckets=(0, 1, 2, 3, 4, 5, 6, 8, 10),
)
HOLD_TO_CONFIRM = Histogram(
    "hold_to_confirm_ms",
    "Milliseconds from hold to confirmation",
    buckets=(1000, 5000, 15000, 30000, 60000, 120000, 300000, 600000, 1800000),
)
BOOKING_OUTCOMES = Counter("booking_outcomes_total", "Booking commands by outcome", ["outcome"])
SLOT_CONFLICTS = Counter("slot_conflicts_total", "Holds refused for lack of capacity", ["code"])
QUEUE_DEPTH = Gauge(
    "queue_depth",
    "Messages waiting in a Dramatiq queue",
    ["queue"],
    multiprocess_mode="mostrecent",
)
SLOTS_GENERATED = Counter("slots_generated_total", "Slot instances created by generation")
EVENTS_PUBLISHED = Counter("events_published_total", "Outbox events published to the stream")
BOOKING_FUNNEL = Counter(
    "booking_funnel_total",
    "Bookings at each step: slots shown by a GET /v1/slots, then holds held, confirmed,"
    " cancelled and expired as committed",
    ["step"],
)
FUNNEL_STEPS = ("exposed", "held", "confirmed", "cancelled", "expired")
for _step in FUNNEL_STEPS:
    BOOKING_FUNNEL.labels(_step)  # every step is exported, 0 until it happens

DECLARED = (
    HTTP_REQUESTS,
    HTTP_LATENCY,
    EXPOSED_SLOTS,
    HOLD_TO_CONFIRM,
    BOOKING_OUTCOMES,
    SLOT_CONFLICTS,
    QUEUE_DEPTH,
    SLOTS_GENERATED,
    EVENTS_PUBLISHED,
    BOOKING_FUNNEL,
)
"""Every metric above, so a scrape lists each one even before any process sampled it."""

CONTENT_TYPE = CONTENT_TYPE_LATEST.split(";")[0]


class _Host:
    """Every process's samples from the folder, then the declared metrics none has sampled,
    as HELP and TYPE lines only (the folder holds only what was sampled)."""

    def collect(self) -> Iterator[Metric]:
        sampled = list(MultiProcessCollector(None, str(FOLDER)).collect())
        yield from sampled
        names = {family.name for family in sampled}
        for metric in DECLARED:
            for family in metric.describe():
                if family.name not in names:
                    yield family


def exposition() -> bytes:
    """The Prometheus text of every process of the platform on this host."""
    _forget_dead_live_gauges()
    registry = CollectorRegistry()
    registry.register(_Host())
    return generate_latest(registry)


def _forget_dead_live_gauges() -> None:
    """A live gauge counts only running processes; one killed never said it ended."""
    for live in FOLDER.glob("gauge_live*_*.db"):
        pid = int(live.stem.rsplit("_", 1)[1])
        if not _running(pid):
            mark_process_dead(pid, str(FOLDER))


def _running(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True
