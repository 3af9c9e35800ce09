"""Parse an X12 277 claim acknowledgment (277CA, 005010X214) into per-claim statuses.

Each claim is identified by its TRN*2 (the 837 CLM01, echoed back) and carries one or more STC
segments. STC01 is a composite ``category:status:entity``: category A1/A2 means acknowledged and
accepted into adjudication, A3/A4/A6/A7/A8 (and A5 split claim excepted) mean rejected. The same
reader accepts 277 claim status responses (005010X212), whose categories (F*, P*, E*...) are
reported as ``accepted=None``.
"""

from __future__ import annotations

from decimal import Decimal, InvalidOperation

from pydantic import BaseModel, ConfigDict, Field

from claims.x12_reader import read_segments

__all__ = ["ACCEPTED_CATEGORIES", "REJECTED_CATEGORIES", "Ack277", "ClaimStatus277", "StatusCode", "parse_277"]

ACCEPTED_CATEGORIES = frozenset({"A0", "A1", "A2", "A5"})
REJECTED_CATEGORIES = frozenset({"A3", "A4", "A6", "A7", "A8"})


class StatusCode(BaseModel):
    """One STC composite: claim status category, claim status code and entity."""

    model_config = ConfigDict(frozen=True)

    category: str = Field(description="STC01-1 / 10-1 / 11-1")
    status: str | None = Field(default=None, description="STC01-2: 20 accepted for processing, 562 NPI...")
    entity: str | None = Field(default=None, description="STC01-3: 85 billing provider, IL subscriber, PR payer...")


class ClaimStatus277(BaseModel):
    """The acknowledgment of one claim."""

    model_config = ConfigDict(frozen=True)

    claim_id: str = Field(description="TRN02 at the claim level: the 837 CLM01")
    codes: list[StatusCode]
    action_code: str | None = Field(default=None, description="STC03: WQ accepted, U rejected")
    amount: Decimal | None = Field(default=None, description="STC04, the total claim charge")
    payer_claim_number: str | None = Field(default=None, description="REF*1K")

    @property
    def category(self) -> str:
        return self.codes[0].category

    @property
    def accepted(self) -> bool | None:
        """True for A1/A2 (and A0/A5), False for A3/A4/A6/A7/A8, None for categories a 277CA does not use."""
        cats = {c.category for c in self.codes}
        if cats & REJECTED_CATEGORIES:
            return False
        if cats & ACCEPTED_CATEGORIES:
            return True
        return None


class Ack277(BaseModel):
    """One 277 transaction set."""

    model_config = ConfigDict(frozen=True)

    control_number: str = Field(description="ST02")
    version: str | None = Field(default=None, description="ST03")
    batch_codes: list[StatusCode] = Field(default_factory=list, description="STC above the claim level")
    claims: list[ClaimStatus277] = Field(default_factory=list)

    def claim(self, claim_id: str) -> ClaimStatus277 | None:
        return next((c for c in self.claims if c.claim_id == claim_id), None)


def parse_277(text: str) -> list[Ack277]:
    """Every 277 transaction set in an interchange.

    Raises
    ------
    ValueError
        When the text is not an X12 interchange or holds no 277.
    """
    delimiters, segments = read_segments(text)
    out: list[Ack277] = []
    current: dict | None = None
    claim: dict | None = None
    level: str | None = None
    in_service = False

    def close_claim() -> None:
        nonlocal claim
        if claim is not None and current is not None and claim["codes"]:
            current["claims"].append(ClaimStatus277(**claim))
        claim = None

    for seg in segments:
        sid = seg[0]
        if sid == "ST":
            current = {"control_number": _el(seg, 2), "version": _el(seg, 3) or None, "batch_codes": [], "claims": []} if _el(seg, 1) == "277" else None
        elif current is None:
            continue
        elif sid == "HL":
            close_claim()
            level, in_service = _el(seg, 3), False
        elif sid == "TRN" and _el(seg, 1) == "2" and level in ("PT", "22", "23"):
            close_claim()
            claim = {"claim_id": _el(seg, 2), "codes": []}
        elif sid == "STC" and in_service:
            continue  # line-level statuses are not kept
        elif sid == "STC":
            codes = [_status(_el(seg, i), delimiters.component) for i in (1, 10, 11) if _el(seg, i)]
            if claim is not None:
                if not claim["codes"]:
                    claim["action_code"] = _el(seg, 3) or None
                    claim["amount"] = _money(_el(seg, 4))
                claim["codes"].extend(codes)
            else:
                current["batch_codes"].extend(codes)
        elif sid == "SVC":
            # Line-level statuses follow; the claim's own STCs are complete.
            close_claim()
            in_service = True
        elif sid == "REF" and claim is not None and _el(seg, 1) == "1K":
            claim["payer_claim_number"] = _el(seg, 2)
        elif sid == "SE":
            close_claim()
            out.append(Ack277(**current))
            current = None
    if not out:
        raise ValueError("no 277 transaction set (ST*277) in the interchange")
    return out


def _status(value: str, component: str) -> StatusCode:
    parts = value.split(component) + ["", ""]
    return StatusCode(category=parts[0], status=parts[1] or None, entity=parts[2] or None)


def _el(seg: list[str], i: int) -> str:
    return seg[i].strip() if i < len(seg) else ""


def _money(value: str) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except InvalidOperation:
        return None
