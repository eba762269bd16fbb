"""A Redis lease, so several scheduler processes never run the same job at once.

APScheduler's job stores are not safe to share between processes; instead every
scheduler ticks, and only the one that takes the lease does the work.
"""

import uuid

import redis

from common import keys

_RELEASE = """
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0
"""


class Lease:
    def __init__(self, client: redis.Redis, name: str, ttl_ms: int) -> None:
        self._client = client
        self._key = keys.lease(name)
        self._ttl_ms = ttl_ms
        self._token = str(uuid.uuid4())

    def acquire(self) -> bool:
        return bool(self._client.set(self._key, self._token, nx=True, px=self._ttl_ms))

    def release(self) -> None:
        """Frees the lease only if it is still ours (it may have expired and been retaken)."""
        self._client.eval(_RELEASE, 1, self._key, self._token)
