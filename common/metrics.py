"""Prometheus metrics shared by the web and worker processes."""

from prometheus_client import Counter, Gauge, Histogram

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
)
"""Every metric above, so a scrape lists each one even before it has samples."""
