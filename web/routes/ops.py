"""Operator endpoints: Prometheus metrics and the OpenAPI document (its page: routes/pages.py)."""

import os
from collections.abc import Iterator

from prometheus_client import CONTENT_TYPE_LATEST, REGISTRY, CollectorRegistry, generate_latest
from prometheus_client.metrics_core import Metric
from prometheus_client.multiprocess import MultiProcessCollector

from common.metrics import DECLARED, QUEUE_DEPTH
from web.openapi import document
from web.responses import Reply, TextReply
from web.routing import Call, Route
from web.state import REDIS, ROUTE_TABLE
from workers.broker import broker


async def _sample_queue_depth(call: Call) -> None:
    """Reads the length of every Dramatiq queue (delay queues included) in one round trip."""
    queues = sorted(broker.get_declared_queues() | broker.get_declared_delay_queues())
    async with call.request.app[REDIS].pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.llen(f"{broker.namespace}:{queue}")
        depths = await pipe.execute()
    for queue, depth in zip(queues, depths, strict=True):
        QUEUE_DEPTH.labels(queue).set(depth)


class _NotYetSampled:
    """The declared metrics no process has sampled yet, as HELP and TYPE lines only.

    One process's registry lists every declared metric; the multiprocess collector
    only those with samples, and some (booking outcomes) are sampled by the workers.
    """

    def __init__(self, sampled: set[str]) -> None:
        self._sampled = sampled

    def collect(self) -> Iterator[Metric]:
        for metric in DECLARED:
            for family in metric.describe():
                if family.name not in self._sampled:
                    yield family


def _registry() -> CollectorRegistry:
    """Every web process's metrics when several serve (see web/server.py), else this one's."""
    if "PROMETHEUS_MULTIPROC_DIR" not in os.environ:
        return REGISTRY
    registry = CollectorRegistry()
    MultiProcessCollector(registry)
    registry.register(_NotYetSampled({family.name for family in registry.collect()}))
    return registry


async def metrics(call: Call) -> TextReply:
    await _sample_queue_depth(call)
    body = generate_latest(_registry()).decode()
    return TextReply(200, body, CONTENT_TYPE_LATEST.split(";")[0])


async def openapi(call: Call) -> Reply:
    return Reply(200, document(call.request.app[ROUTE_TABLE]))


ROUTES = [
    Route(
        "GET",
        "/metrics",
        metrics,
        "Prometheus metrics",
        access="public",
        responses={200: None},
        tag="ops",
    ),
    Route(
        "GET",
        "/openapi.json",
        openapi,
        "This API as OpenAPI 3.1",
        access="public",
        responses={200: None},
        tag="ops",
    ),
]
