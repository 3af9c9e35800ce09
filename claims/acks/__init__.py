"""Acknowledgements: the 999 (syntax, per functional group) and the 277CA (per claim)."""

from claims.acks.ack277 import (
    ACCEPTED_CATEGORIES,
    REJECTED_CATEGORIES,
    Ack277,
    ClaimStatus277,
    StatusCode,
    parse_277,
)
from claims.acks.ack999 import Ack999, ElementError, SegmentError, TransactionAck, parse_999

__all__ = [
    "ACCEPTED_CATEGORIES",
    "REJECTED_CATEGORIES",
    "Ack277",
    "Ack999",
    "ClaimStatus277",
    "ElementError",
    "SegmentError",
    "StatusCode",
    "TransactionAck",
    "parse_277",
    "parse_999",
]
