"""Clearinghouse submission: the :class:`Clearinghouse` protocol and the HTTP adapter.

>>> config = ClearinghouseConfig(base_url="http://127.0.0.1:8080", api_key="...")   # doctest: +SKIP
>>> with HttpClearinghouse(config) as client:                                     # doctest: +SKIP
...     receipt = client.submit_x12(x12_text)
...     acks = client.fetch_acknowledgements(receipt.submission_id)
"""

from claims.clearinghouse.base import AckDocument, Clearinghouse, RemittanceDocument, SubmissionReceipt
from claims.clearinghouse.config import ClearinghouseConfig
from claims.clearinghouse.exceptions import (
    ClearinghouseAuthError,
    ClearinghouseError,
    ClearinghouseRequestError,
    ClearinghouseUnavailable,
)
from claims.clearinghouse.http import HttpClearinghouse, idempotency_key_for
from claims.clearinghouse.payload import claim_payload

__all__ = [
    "AckDocument",
    "Clearinghouse",
    "ClearinghouseAuthError",
    "ClearinghouseConfig",
    "ClearinghouseError",
    "ClearinghouseRequestError",
    "ClearinghouseUnavailable",
    "HttpClearinghouse",
    "RemittanceDocument",
    "SubmissionReceipt",
    "claim_payload",
    "idempotency_key_for",
]
