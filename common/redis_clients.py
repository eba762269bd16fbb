"""redis-py clients that never wait on Redis longer than `REDIS_TIMEOUT_SECONDS`.

A request must end, with 503 if need be, even when Redis accepts connections and
then stops answering. So every connect and every reply is bounded by the timeout,
and a timed-out call is not retried: redis-py's default retries (ten, with backoff)
would stretch one call to many times the timeout. A connection refused or reset is
tried once more, since that is how a pooled connection finds a restarted Redis.
"""

import redis
import redis.asyncio
from redis.asyncio.retry import Retry as AsyncRetry
from redis.backoff import NoBackoff
from redis.exceptions import ConnectionError
from redis.retry import Retry


def async_client(url: str, timeout: float, **options: object) -> redis.asyncio.Redis:
    return redis.asyncio.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=AsyncRetry(NoBackoff(), 1, supported_errors=(ConnectionError,)),
        **options,
    )


def sync_client(url: str, timeout: float, **options: object) -> redis.Redis:
    return redis.Redis.from_url(
        url,
        socket_timeout=timeout,
        socket_connect_timeout=timeout,
        retry=Retry(NoBackoff(), 1, supported_errors=(ConnectionError,)),
        **options,
    )
