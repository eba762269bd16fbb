"""Operator endpoints: Prometheus metrics and the OpenAPI document (its page: routes/pages.py)."""

from dramatiq.common import dq_name

from common.metrics import CONTENT_TYPE, QUEUE_DEPTH, exposition
from web.openapi import document
from web.responses import Reply, TextReply
from web.routing import Call, Route
from web.state import BROKER, REDIS, ROUTE_TABLE
from workers.tasks import QUEUES


async def _sample_queue_depth(call: Call) -> None:
    """Reads the length of every Dramatiq queue (delay queues included) in one round trip."""
    queues = sorted([*QUEUES, *(dq_name(queue) for queue in QUEUES)])
    namespace = call.request.app[BROKER].namespace
    async with call.request.app[REDIS].pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.llen(f"{namespace}:{queue}")
        depths = await pipe.execute()
    for queue, depth in zip(queues, depths, strict=True):
        QUEUE_DEPTH.labels(queue).set(depth)


async def metrics(call: Call) -> TextReply:
    """Every web and worker process of this host, summed (common/metrics_folder.py)."""
    await _sample_queue_depth(call)
    return TextReply(200, exposition().decode(), CONTENT_TYPE)


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
