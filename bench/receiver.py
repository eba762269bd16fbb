"""A webhook endpoint for the fan-out benchmark, in a process of its own.

    python -m bench.receiver PORT

It stands in for the embedding product's servers, which run on other machines: at
the lowest CPU priority (`common/priority.py`) it takes only what the platform leaves. `POST /hook`
answers 200 and counts; `GET /count` says how many and when the last came
(`time.monotonic()`, the same clock in every process of the machine).
"""

import sys
import time

from aiohttp import web

from common.priority import yield_cpu


def app() -> web.Application:
    seen = {"count": 0, "last": 0.0}

    async def hook(request: web.Request) -> web.Response:
        await request.read()
        seen["count"] += 1
        seen["last"] = time.monotonic()
        return web.Response(text="ok")

    async def count(request: web.Request) -> web.Response:
        return web.json_response(seen)

    application = web.Application()
    application.router.add_post("/hook", hook)
    application.router.add_get("/count", count)
    return application


if __name__ == "__main__":
    yield_cpu()
    web.run_app(app(), host="127.0.0.1", port=int(sys.argv[1]), access_log=None, print=None)
