"""Customer PII at rest: authenticated encryption with rotating keys, keyed lookups.

Ciphertexts are `"<key id>:<base64(nonce + AES-GCM ciphertext)>"`, so rows
written under an old key stay readable after a new key is put first in
`PII_KEY`. Lookups and uniqueness use an HMAC of the normalized value, never
the ciphertext (AES-GCM is randomized, so equal phones never encrypt equally).
"""

import base64
import hashlib
import hmac
import os
from dataclasses import dataclass, field

from cryptography.hazmat.primitives.ciphers.aead import AESGCM


@dataclass(frozen=True)
class PiiKeys:
    """Keys by id; the first one encrypts, all of them decrypt."""

    keys: dict[str, bytes]
    current: str
    _ciphers: dict[str, AESGCM] = field(init=False, repr=False, compare=False)
    """One cipher per key: building one costs as much as encrypting a short reply."""

    def __post_init__(self) -> None:
        object.__setattr__(self, "_ciphers", {i: AESGCM(k) for i, k in self.keys.items()})

    @classmethod
    def parse(cls, spec: str) -> "PiiKeys":
        """Reads `PII_KEY`: either one base64 key, or `id:base64key,...` newest first."""
        keys: dict[str, bytes] = {}
        for part in (p.strip() for p in spec.split(",") if p.strip()):
            key_id, _, encoded = part.rpartition(":")
            key = base64.urlsafe_b64decode(encoded + "=" * (-len(encoded) % 4))
            if len(key) != 32:
                raise ValueError("each PII key must be 32 bytes, base64 encoded")
            keys[key_id or "k1"] = key
        if not keys:
            raise ValueError("PII_KEY is empty")
        return cls(keys=keys, current=next(iter(keys)))

    def encrypt(self, plaintext: str) -> str:
        nonce = os.urandom(12)
        sealed = self._ciphers[self.current].encrypt(nonce, plaintext.encode(), None)
        return f"{self.current}:{base64.urlsafe_b64encode(nonce + sealed).decode()}"

    def decrypt(self, token: str) -> str:
        key_id, _, encoded = token.partition(":")
        raw = base64.urlsafe_b64decode(encoded)
        return self._ciphers[key_id].decrypt(raw[:12], raw[12:], None).decode()

    def lookup_hash(self, normalized: str) -> str:
        """A keyed hash for equality lookups, stable across rotations.

        Its key derives from the OLDEST key in `PII_KEY`, so adding newer keys never
        changes a hash; keep that first key listed (last) for as long as bookings exist.
        """
        return self.keyed_hash("lookup", normalized)

    def keyed_hash(self, purpose: str, value: str) -> str:
        """An HMAC of `value` under a key of its own per `purpose`, derived like `lookup_hash`'s."""
        first = next(reversed(self.keys.values()))
        mac_key = hashlib.sha256(purpose.encode() + b":" + first).digest()
        return hmac.new(mac_key, value.encode(), hashlib.sha256).hexdigest()


def generate_key() -> str:
    return base64.urlsafe_b64encode(os.urandom(32)).decode().rstrip("=")


def mask_phone(phone: str) -> str:
    """`+971501234512` -> `+9715*****12`: enough to recognise, not to dial."""
    digits = [c for c in phone if c.isdigit()]
    if len(digits) < 7:
        return "*" * len(phone)
    plus = "+" if phone.strip().startswith("+") else ""
    return f"{plus}{''.join(digits[:4])}{'*' * (len(digits) - 6)}{''.join(digits[-2:])}"


def mask_email(email: str) -> str:
    """`alice@example.org` -> `a***@example.org`."""
    local, _, domain = email.partition("@")
    return f"{local[:1]}***@{domain}"
