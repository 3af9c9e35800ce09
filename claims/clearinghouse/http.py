"""An HTTP(S) clearinghouse adapter in the style of the major clearinghouse REST APIs.

=====================================  ==============================================
``POST /claims/x12``                   raw 837P body (``application/edi-x12``) → receipt
``POST /claims``                       one JSON claim → receipt
``GET /submissions/{id}/acknowledgements``   ``{"acknowledgements": [{"type", "x12", "created_at"}]}``
``GET /remittances?since=&submission_id=``   ``{"remittances": [{"remittance_id", "submission_id", "created_at", "x12"}]}``
=====================================  ==============================================

Authentication is a bearer token, an API key header, or both. The retry loop is bounded
(``max_retries``) and sends the same ``Idempotency-Key`` on every attempt of one submission.
"""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Mapping
from datetime import datetime
from typing import Any

import requests

from claims.clearinghouse.base import AckDocument, RemittanceDocument, SubmissionReceipt
from claims.clearinghouse.config import ClearinghouseConfig
from claims.clearinghouse.exceptions import (
    ClearinghouseAuthError,
    ClearinghouseError,
    ClearinghouseRequestError,
    ClearinghouseUnavailable,
)

__all__ = ["HttpClearinghouse", "idempotency_key_for"]

log = logging.getLogger(__name__)


def idempotency_key_for(body: bytes) -> str:
    """The default key: a digest of the exact bytes, so sending the same file twice is one submission."""
    return "sha256-" + hashlib.sha256(body).hexdigest()[:48]


class HttpClearinghouse:
    """A :class:`~claims.clearinghouse.base.Clearinghouse` over HTTP(S) with ``requests``.

    Parameters
    ----------
    config : ClearinghouseConfig
        Base URL, credentials, timeouts and retry policy.
    session : requests.Session, optional
        Reused for connection pooling; one is created (and closed by :meth:`close`) otherwise.
    sleep : callable, optional
        Used between retries (tests may pass a no-op).
    """

    def __init__(self, config: ClearinghouseConfig, session: requests.Session | None = None, *, sleep=time.sleep):
        self.config = config
        self._own_session = session is None
        self.session = session or requests.Session()
        self.session.headers["User-Agent"] = config.user_agent
        if config.bearer_token is not None:
            self.session.headers["Authorization"] = f"Bearer {config.bearer_token.get_secret_value()}"
        if config.api_key is not None:
            self.session.headers[config.api_key_header] = config.api_key.get_secret_value()
        self._sleep = sleep

    # -- the protocol ------------------------------------------------------------------------------

    def submit_x12(self, x12: str, *, idempotency_key: str | None = None) -> SubmissionReceipt:
        body = x12.encode("ascii", errors="strict")
        key = idempotency_key or idempotency_key_for(body)
        data = self._request("POST", "/claims/x12", "submit X12", body=body,
                             headers={"Content-Type": "application/edi-x12", "Idempotency-Key": key})
        return self._receipt(data, key)

    def submit_json(self, claim: Mapping[str, Any], *, idempotency_key: str | None = None) -> SubmissionReceipt:
        body = json.dumps(claim, sort_keys=True, default=str).encode()
        key = idempotency_key or idempotency_key_for(body)
        data = self._request("POST", "/claims", "submit JSON claim", body=body,
                             headers={"Content-Type": "application/json", "Idempotency-Key": key})
        return self._receipt(data, key)

    def fetch_acknowledgements(self, submission_id: str) -> list[AckDocument]:
        data = self._request("GET", f"/submissions/{requests.utils.quote(submission_id, safe='')}/acknowledgements",
                             "fetch acknowledgements")
        return [AckDocument(kind=a["type"], x12=a["x12"], created_at=a["created_at"]) for a in data.get("acknowledgements", [])]

    def fetch_remittance(self, *, since: datetime | None = None, submission_id: str | None = None) -> list[RemittanceDocument]:
        params = {}
        if since is not None:
            params["since"] = since.isoformat()
        if submission_id is not None:
            params["submission_id"] = submission_id
        data = self._request("GET", "/remittances", "fetch remittances", params=params)
        return [RemittanceDocument(**r) for r in data.get("remittances", [])]

    # -- plumbing ----------------------------------------------------------------------------------

    def close(self) -> None:
        if self._own_session:
            self.session.close()

    def __enter__(self) -> HttpClearinghouse:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def _receipt(self, data: dict[str, Any], key: str) -> SubmissionReceipt:
        try:
            return SubmissionReceipt(**{**data, "idempotency_key": data.get("idempotency_key") or key})
        except (TypeError, ValueError):
            raise ClearinghouseError("the clearinghouse answered with a receipt medcode cannot read") from None

    def _request(self, method: str, path: str, what: str, *, body: bytes | None = None,
                 headers: dict[str, str] | None = None, params: dict[str, str] | None = None) -> dict[str, Any]:
        cfg = self.config
        url = cfg.base_url + path
        attempts = 0
        last_status: int | None = None
        last_error = ""
        while True:
            attempts += 1
            retry_after: float | None = None
            try:
                response = self.session.request(
                    method, url, data=body, headers=headers, params=params,
                    timeout=(cfg.connect_timeout_s, cfg.read_timeout_s),
                )
            except requests.Timeout:
                last_status, last_error = None, "timed out"
            except requests.ConnectionError:
                last_status, last_error = None, "connection failed"
            else:
                last_status = response.status_code
                if response.status_code < 400:
                    try:
                        return response.json()
                    except ValueError:
                        raise ClearinghouseError(f"{what}: the clearinghouse answered with something other than JSON") from None
                error = _error_code(response)
                if response.status_code not in cfg.retry_statuses:
                    cls = ClearinghouseAuthError if response.status_code in (401, 403) else ClearinghouseRequestError
                    raise cls(what, response.status_code, error)
                last_error = f"HTTP {response.status_code} {error}"
                retry_after = _retry_after(response)
            if attempts > cfg.max_retries:
                raise ClearinghouseUnavailable(what, attempts, last_status, last_error)
            delay = min(cfg.max_backoff_s, cfg.backoff_factor * 2 ** (attempts - 1))
            if retry_after is not None:
                delay = min(cfg.max_backoff_s, retry_after)
            # The path and status only: bodies and errors may carry claim content.
            log.warning("clearinghouse %s %s: %s; retry %d/%d in %.2fs", method, path, last_status or last_error,
                        attempts, cfg.max_retries, delay)
            self._sleep(delay)


def _error_code(response: requests.Response) -> str:
    try:
        data = response.json()
    except ValueError:
        return response.reason or "error"
    if isinstance(data, dict):
        return str(data.get("error") or response.reason or "error")[:200]
    return response.reason or "error"


def _retry_after(response: requests.Response) -> float | None:
    value = response.headers.get("Retry-After")
    try:
        return max(0.0, float(value)) if value is not None else None
    except ValueError:
        return None
