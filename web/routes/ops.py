"""Operator endpoints: Prometheus metrics, the OpenAPI document and its page."""

from common.metrics import CONTENT_TYPE, QUEUE_DEPTH, exposition
from web.openapi import document
from web.responses import Reply, TextReply
from web.routing import Call, Route
from web.state import REDIS, ROUTE_TABLE
from workers.broker import broker

DOCS_PAGE = """<!doctype html>
<html><head><meta charset="utf-8"><title>General Scheduler API</title>
<style>body{font:15px system-ui;margin:2rem;max-width:70rem}code{background:#eee;padding:0 .3em}
h2{margin-top:2rem}li{margin:.3rem 0}</style></head>
<body><h1>General Scheduler API</h1>
<p>The machine-readable document is <a href="/openapi.json">/openapi.json</a> (OpenAPI 3.1);
any OpenAPI viewer renders it.</p><div id="ops">Loading…</div>
<script>
fetch("/openapi.json").then(r => r.json()).then(doc => {
  const byTag = {};
  for (const [path, methods] of Object.entries(doc.paths))
    for (const [method, op] of Object.entries(methods))
      (byTag[op.tags[0]] ||= []).push([method.toUpperCase(), path, op.summary]);
  const out = document.getElementById("ops"); out.textContent = "";
  for (const [tag, ops] of Object.entries(byTag)) {
    const h = document.createElement("h2"); h.textContent = tag; out.append(h);
    const ul = document.createElement("ul");
    for (const [m, p, s] of ops) {
      const li = document.createElement("li");
      li.innerHTML = "<code></code> <code></code> ";
      li.children[0].textContent = m; li.children[1].textContent = p;
      li.append(s); ul.append(li);
    }
    out.append(ul);
  }
});
</script></body></html>
"""


async def _sample_queue_depth(call: Call) -> None:
    """Reads the length of every Dramatiq queue (delay queues included) in one round trip."""
    queues = sorted(broker.get_declared_queues() | broker.get_declared_delay_queues())
    async with call.request.app[REDIS].pipeline(transaction=False) as pipe:
        for queue in queues:
            pipe.llen(f"{broker.namespace}:{queue}")
        depths = await pipe.execute()
    for queue, depth in zip(queues, depths, strict=True):
        QUEUE_DEPTH.labels(queue).set(depth)


async def metrics(call: Call) -> TextReply:
    """Every web and worker process of this host, summed (common/metrics_folder.py)."""
    await _sample_queue_depth(call)
    return TextReply(200, exposition().decode(), CONTENT_TYPE)


async def openapi(call: Call) -> Reply:
    return Reply(200, document(call.request.app[ROUTE_TABLE]))


async def docs(call: Call) -> TextReply:
    return TextReply(200, DOCS_PAGE, "text/html")


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
    Route(
        "GET",
        "/docs",
        docs,
        "A page listing this API",
        access="public",
        responses={200: None},
        tag="ops",
    ),
]
