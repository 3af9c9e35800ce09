"""X12 837P 005010X222A1 professional claims: build, validate with pyx12, parse back with x12sdk.

The model mirrors the implementation guide: :mod:`~claims.x837p.segments` (one typed model per
segment), :mod:`~claims.x837p.loops` (2000A, 2010AA, 2300, 2400...) and
:mod:`~claims.x837p.transaction` (ST...SE inside ISA/GS...GE/IEA).
"""

from claims.x837p.build import (
    ESTIMATED_DOB_RULE,
    SubmitterContact,
    build_837p,
    build_interchange,
    claim_from_encounter,
)
from claims.x837p.parse import ParsedClaim, ParsedLine, parse_837p
from claims.x837p.validate import ValidationResult, validate_837p

__all__ = [
    "ESTIMATED_DOB_RULE",
    "ParsedClaim",
    "ParsedLine",
    "SubmitterContact",
    "ValidationResult",
    "build_837p",
    "build_interchange",
    "claim_from_encounter",
    "parse_837p",
    "validate_837p",
]
