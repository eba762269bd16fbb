"""Text message providers: how an SMS or a WhatsApp message leaves the platform.

A provider is one call, `send(to, body, idempotency_key, request_id)`, which
raises when the message was not accepted; a Twilio or Meta adapter is a class
with that one method. The platform's own is a plain HTTP provider (contract §9):
`POST {"to", "body", "idempotency_key"}` to the configured URL, with
`Authorization: Bearer <key>` when a key is set, the request id in
`X-Request-Id`, and a time limit per attempt. Any answer but 2xx is a failure,
retried by the caller with the same idempotency key.
"""

from typing import Protocol

import aiohttp


class ProviderRefused(Exception):
    """The provider did not accept the message (it answered, but not with 2xx)."""

    def __init__(self, status: int) -> None:
        super().__init__(f"provider answered {status}")
        self.status = status


class TextProvider(Protocol):
    async def send(self, to: str, body: str, idempotency_key: str, request_id: str) -> None: ...


class HttpTextProvider:
    def __init__(
        self, session: aiohttp.ClientSession, url: str, key: str, timeout_seconds: float
    ) -> None:
        self._session = session
        self._url = url
        self._key = key
        self._timeout = aiohttp.ClientTimeout(total=timeout_seconds)

    async def send(self, to: str, body: str, idempotency_key: str, request_id: str) -> None:
        headers = {"X-Request-Id": request_id} if request_id else {}
        if self._key:
            headers["Authorization"] = f"Bearer {self._key}"
        payload = {"to": to, "body": body, "idempotency_key": idempotency_key}
        async with self._session.post(
            self._url, json=payload, headers=headers, timeout=self._timeout
        ) as response:
            if not 200 <= response.status < 300:
                raise ProviderRefused(response.status)
