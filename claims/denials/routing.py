"""Send a claim to the clearinghouse, or to a coder's review queue first."""

from __future__ import annotations

from typing import Literal

from claims.denials.model import DEFAULT_THRESHOLD
from medcore.model import Claim, ClaimStatus, Severity

__all__ = ["route"]


def route(claim: Claim, score: float, threshold: float = DEFAULT_THRESHOLD) -> Literal["submit", "review"]:
    """``review`` when the predicted denial probability reaches ``threshold``, or the claim is held
    or carries an error-severity scrub finding; otherwise ``submit``."""
    if not 0.0 <= threshold <= 1.0:
        raise ValueError("threshold must be between 0 and 1")
    if claim.status is ClaimStatus.held or any(f.severity is Severity.error for f in claim.findings):
        return "review"
    return "review" if score >= threshold else "submit"
