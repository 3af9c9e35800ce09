"""Connection settings for :class:`~claims.clearinghouse.http.HttpClearinghouse`."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

__all__ = ["ClearinghouseConfig"]


class ClearinghouseConfig(BaseModel):
    """Base URL, credentials and the retry policy.

    Retries cover connection errors, timeouts, 408, 429 and 502/503/504 (and 500), with exponential
    backoff ``backoff_factor × 2**n`` capped at ``max_backoff_s``; a ``Retry-After`` header wins when
    it is shorter than the cap. Every POST carries an ``Idempotency-Key`` that stays the same across
    its retries, so a retried submission is never a second submission.
    """

    model_config = ConfigDict(frozen=True)

    base_url: str
    bearer_token: SecretStr | None = None
    api_key: SecretStr | None = None
    api_key_header: str = "x-api-key"
    connect_timeout_s: float = Field(default=3.05, gt=0)
    read_timeout_s: float = Field(default=30.0, gt=0)
    max_retries: int = Field(default=3, ge=0, le=10)
    backoff_factor: float = Field(default=0.5, ge=0)
    max_backoff_s: float = Field(default=8.0, ge=0)
    retry_statuses: frozenset[int] = frozenset({408, 429, 500, 502, 503, 504})
    user_agent: str = "medcode-clearinghouse/1"

    @field_validator("base_url")
    @classmethod
    def _url(cls, v: str) -> str:
        if not v.startswith(("http://", "https://")):
            raise ValueError("base_url must start with http:// or https://")
        return v.rstrip("/")
