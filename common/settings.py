"""Every setting is an environment variable (a `.env` file may supply them).

The names and defaults of the public ones are fixed by the contract; the rest
are operational knobs with safe defaults.
"""

import json
import os
from functools import lru_cache
from typing import Annotated
from urllib.parse import urlsplit

from pydantic import Field, field_validator
from pydantic_settings import BaseSettings, NoDecode, SettingsConfigDict

from domain.reminders import parse_offsets


class ExposureVariant(BaseSettings):
    """One experiment arm of slot exposure: how many slots a query shows."""

    person_min: int = 1
    person_max: int = 3
    location_min: int = 3
    location_max: int = 5
    fairness: bool = True


def _default_variants() -> dict[str, ExposureVariant]:
    return {
        "control": ExposureVariant(),
        "wide": ExposureVariant(person_min=2, person_max=3, location_min=4, location_max=5),
        "no-fairness": ExposureVariant(fairness=False),
    }


def _origin(value: str) -> str:
    """`scheme://host[:port]` as browsers send it in `Origin`, or `*` for any origin."""
    if value == "*":
        return value
    parts = urlsplit(value.strip().rstrip("/"))
    if parts.scheme not in ("http", "https") or not parts.netloc or parts.path:
        raise ValueError(f"not an origin (scheme://host[:port]): {value!r}")
    return f"{parts.scheme}://{parts.netloc.lower()}"


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_file=".env", extra="ignore")

    database_url: str = ""
    redis_url: str = ""
    http_host: str = "127.0.0.1"
    http_port: int = 8080
    web_processes: int = Field(default_factory=lambda: os.cpu_count() or 1, ge=1)
    dashboard_port: int = 8081
    jwt_secret: str = ""
    jwt_issuer: str = "general-scheduler"
    jwt_ttl_seconds: int = 3600
    session_ttl_seconds: int = 86400
    pii_key: str = Field(
        default="", description="base64 AES-256 key, or 'id:key,id:key' newest first"
    )
    hold_ttl_seconds: int = 600
    exposure_cache_ttl_seconds: int = 420
    exposure_enforced: bool = True
    max_live_holds: int = Field(default=2, ge=1)
    exposure_salt: str = ""
    exposure_variants: dict[str, ExposureVariant] = Field(default_factory=_default_variants)
    idempotency_ttl_seconds: int = 86400
    expiry_interval_seconds: int = 60
    booking_wait_seconds: float = 5
    generation_horizon_days: int = 60
    generation_interval_seconds: int = 3600
    rate_limit_user_get: str = "60/minute"
    rate_limit_booking_post: str = "10/minute"
    rate_limit_admin: str = "600/minute"
    rate_limit_session_post: str = "20/minute"
    rate_limit_ip_get: str = "300/minute"
    rate_limit_ip_booking_post: str = "30/minute"
    rate_limit_login: str = "10/minute"
    trusted_proxies: list[str] = Field(default_factory=list)
    cors_allowed_origins: Annotated[list[str], NoDecode] = Field(default_factory=list)
    public_base_url: str = ""
    redis_timeout_seconds: float = Field(default=1.0, gt=0)
    body_timeout_seconds: float = Field(default=10.0, gt=0)
    dramatiq_heartbeat_timeout_ms: int = 15000
    log_level: str = "INFO"
    worker_metrics: bool = False
    metrics_dir: str = ""
    smtp_url: str = ""
    notify_from: str = "scheduler@localhost"
    rate_limit_manage: str = "30/minute"
    reminder_offsets: Annotated[tuple[int, ...], NoDecode] = (86400, 7200)
    reminder_scan_seconds: float = Field(default=60, gt=0)
    sms_provider_url: str = ""
    sms_provider_key: str = ""
    whatsapp_provider_url: str = ""
    whatsapp_provider_key: str = ""
    provider_timeout_seconds: float = Field(default=10, gt=0)
    webhook_retry_seconds: Annotated[tuple[int, ...], NoDecode] = (5, 300, 1800, 7200, 18000, 36000)
    webhook_timeout_seconds: float = Field(default=10, gt=0)
    webhook_allow_http: bool = False
    webhook_allow_private: bool = False
    webhooks_niceness: int = Field(default=19, ge=0, le=19)

    @field_validator("cors_allowed_origins", mode="before")
    @classmethod
    def _origins(cls, value: object) -> list[str]:
        """A JSON list, or origins separated by commas (the usual way to write them)."""
        if isinstance(value, str):
            text = value.strip()
            value = json.loads(text) if text.startswith("[") else text.split(",")
        if not isinstance(value, list):
            raise ValueError("a list of origins")
        return [_origin(str(item)) for item in value if str(item).strip()]

    @field_validator("reminder_offsets", mode="before")
    @classmethod
    def _offsets(cls, value: object) -> object:
        """`24h,2h`: how long before the start each reminder goes out (s, m, h, d)."""
        return parse_offsets(value) if isinstance(value, str) else value

    @field_validator("webhook_retry_seconds", mode="before")
    @classmethod
    def _retries(cls, value: object) -> object:
        """`5,300,1800`: seconds to wait after each failed attempt, then give up."""
        if not isinstance(value, str):
            return value
        delays = tuple(int(part) for part in value.split(",") if part.strip())
        if any(delay < 0 for delay in delays):
            raise ValueError("retry delays are whole seconds, 0 or more")
        return delays

    @field_validator("public_base_url")
    @classmethod
    def _base_url(cls, value: str) -> str:
        return value.strip().rstrip("/")


@lru_cache
def get_settings() -> Settings:
    """The process-wide settings, read once from the environment."""
    return Settings()
