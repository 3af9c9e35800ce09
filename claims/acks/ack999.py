"""Parse an X12 999 implementation acknowledgment (005010X231A1) into typed results.

AK1 names the functional group acknowledged, AK2/IK5 each transaction set, IK3 a segment in error
(with its IK4 element errors) and AK9 the group as a whole. The IK4 "copy of bad data element"
(IK404) can quote PHI, so it is kept out of ``repr`` and must never be logged.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from claims.x12_reader import read_segments

__all__ = ["Ack999", "ElementError", "SegmentError", "TransactionAck", "parse_999"]

# IK501 / AK901: A accepted, E accepted with errors noted, P partially accepted (AK9 only),
# R rejected, M/W/X rejected (authentication / validity / content after decryption).
_ACCEPTED = {"A", "E", "P"}


class ElementError(BaseModel):
    """One IK4: the element (position, component, repetition), its data element number and error code."""

    model_config = ConfigDict(frozen=True)

    position: int = Field(description="IK401-1")
    component: int | None = Field(default=None, description="IK401-2")
    repetition: int | None = Field(default=None, description="IK401-3")
    element_reference: str | None = Field(default=None, description="IK402, the data element number")
    code: str = Field(description="IK403: 1 mandatory missing, 6 invalid character, 7 invalid code value, 8 invalid date...")
    bad_value: str | None = Field(default=None, repr=False, description="IK404; may hold PHI: never log it")


class SegmentError(BaseModel):
    """One IK3: the segment id, its position in the transaction set, loop and error code."""

    model_config = ConfigDict(frozen=True)

    segment_id: str = Field(description="IK301")
    position: int = Field(description="IK302, counted from ST = 1")
    loop_id: str | None = Field(default=None, description="IK303")
    code: str | None = Field(default=None, description="IK304: 8 segment has data element errors, 3 mandatory segment missing...")
    elements: list[ElementError] = Field(default_factory=list)


class TransactionAck(BaseModel):
    """One AK2...IK5: a transaction set's acknowledgment."""

    model_config = ConfigDict(frozen=True)

    transaction_set_id: str = Field(description="AK201, e.g. 837")
    control_number: str = Field(description="AK202, the ST02 acknowledged")
    status: str = Field(description="IK501")
    syntax_errors: list[str] = Field(default_factory=list, description="IK502-IK506")
    segment_errors: list[SegmentError] = Field(default_factory=list)

    @property
    def accepted(self) -> bool:
        return self.status in _ACCEPTED


class Ack999(BaseModel):
    """One 999 transaction set: the acknowledgment of one functional group."""

    model_config = ConfigDict(frozen=True)

    functional_id: str = Field(description="AK101, e.g. HC for an 837")
    group_control_number: str = Field(description="AK102, the GS06 acknowledged")
    version: str | None = Field(default=None, description="AK103")
    status: str = Field(description="AK901")
    included: int = Field(default=0, description="AK902")
    received: int = Field(default=0, description="AK903")
    accepted_count: int = Field(default=0, description="AK904")
    group_errors: list[str] = Field(default_factory=list, description="AK905-AK909")
    transactions: list[TransactionAck] = Field(default_factory=list)

    @property
    def accepted(self) -> bool:
        """Whether the group went on to adjudication (fully or with some sets accepted)."""
        return self.status in _ACCEPTED

    @property
    def outcome(self) -> Literal["accepted", "partial", "rejected"]:
        if self.status in ("A", "E"):
            return "accepted"
        return "partial" if self.status == "P" else "rejected"


def parse_999(text: str) -> list[Ack999]:
    """Every 999 transaction set in an interchange, in order.

    Raises
    ------
    ValueError
        When the text is not an X12 interchange or holds no 999.
    """
    delimiters, segments = read_segments(text)
    acks: list[Ack999] = []
    group: dict | None = None
    txn: dict | None = None
    seg_err: dict | None = None

    def close_segment() -> None:
        nonlocal seg_err
        if seg_err is not None and txn is not None:
            txn["segment_errors"].append(SegmentError(**seg_err))
        seg_err = None

    for seg in segments:
        sid = seg[0]
        if sid == "ST":
            group = {"transactions": []} if _el(seg, 1) == "999" else None
        elif group is None:
            continue
        elif sid == "AK1":
            group.update(functional_id=_el(seg, 1), group_control_number=_el(seg, 2), version=_el(seg, 3) or None)
        elif sid == "AK2":
            txn = {"transaction_set_id": _el(seg, 1), "control_number": _el(seg, 2), "segment_errors": []}
        elif sid == "IK3" and txn is not None:
            close_segment()
            seg_err = {
                "segment_id": _el(seg, 1),
                "position": _int(_el(seg, 2)) or 0,
                "loop_id": _el(seg, 3) or None,
                "code": _el(seg, 4) or None,
                "elements": [],
            }
        elif sid == "IK4" and seg_err is not None:
            pos = _el(seg, 1).split(delimiters.component)
            seg_err["elements"].append(
                ElementError(
                    position=_int(pos[0]) or 0,
                    component=_int(pos[1]) if len(pos) > 1 else None,
                    repetition=_int(pos[2]) if len(pos) > 2 else None,
                    element_reference=_el(seg, 2) or None,
                    code=_el(seg, 3),
                    bad_value=_el(seg, 4) or None,
                )
            )
        elif sid == "IK5" and txn is not None:
            close_segment()
            group["transactions"].append(
                TransactionAck(
                    **txn, status=_el(seg, 1), syntax_errors=[c for c in (_el(seg, i) for i in range(2, 7)) if c]
                )
            )
            txn = None
        elif sid == "AK9":
            group.update(
                status=_el(seg, 1),
                included=_int(_el(seg, 2)) or 0,
                received=_int(_el(seg, 3)) or 0,
                accepted_count=_int(_el(seg, 4)) or 0,
                group_errors=[c for c in (_el(seg, i) for i in range(5, 10)) if c],
            )
        elif sid == "SE":
            acks.append(Ack999(**group))
            group = None
    if not acks:
        raise ValueError("no 999 transaction set (ST*999) in the interchange")
    return acks


def _el(seg: list[str], i: int) -> str:
    return seg[i].strip() if i < len(seg) else ""


def _int(value: str) -> int | None:
    return int(value) if value.strip().isdigit() else None
