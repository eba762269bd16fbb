"""Re-kicks lanes that hold commands but have no drainer (its worker was killed).

A drainer killed mid-batch took its lanes off the ready set; once their locks
lapse this sweep marks them ready again and sends a drainer. Dramatiq would
redeliver the killed worker's message after the broker's heartbeat timeout; this
sweep usually gets there first.
"""

import redis

from actors.holds import drain_lanes
from common import keys
from common.settings import Settings
from scheduler_jobs.registry import ScheduledJob

SWEEP_SECONDS = 2.0

# Forgets an idle lane only if it is still empty when forgotten.
_FORGET_IF_EMPTY = """
if redis.call('LLEN', KEYS[2]) == 0 then return redis.call('SREM', KEYS[1], ARGV[1]) end
return 0
"""


def sweep(client: redis.Redis) -> int:
    kicked = []
    for raw in client.smembers(keys.ACTIVE_LANES):
        lane = raw.decode() if isinstance(raw, bytes) else raw
        if client.llen(keys.lane(lane)) == 0:
            client.eval(_FORGET_IF_EMPTY, 2, keys.ACTIVE_LANES, keys.lane(lane), lane)
        elif not client.exists(keys.lane_lock(lane)):
            kicked.append(lane)
    if kicked:
        client.sadd(keys.READY_LANES, *kicked)
        drain_lanes.send()
    return len(kicked)


def job(settings: Settings) -> ScheduledJob:
    client = redis.Redis.from_url(settings.redis_url)
    return ScheduledJob("sweep_lanes", SWEEP_SECONDS, lambda: sweep(client))
