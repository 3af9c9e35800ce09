"""Submit an 837P and follow it through 999 → 277CA → 835: :func:`submit_and_reconcile`."""

from __future__ import annotations

import time
from decimal import Decimal
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field

from claims.acks import Ack277, Ack999
from claims.clearinghouse.base import Clearinghouse, SubmissionReceipt
from claims.remit import Category, ClaimPayment, Remittance, load_catalog
from claims.x12_reader import read_segments

__all__ = ["ClaimOutcome", "SubmissionOutcome", "submit_and_reconcile"]


class ClaimOutcome(BaseModel):
    """Where one claim stands after reconciliation."""

    model_config = ConfigDict(frozen=True)

    claim_id: str
    ack_277ca: Literal["accepted", "rejected", "pending", "not_sent"] = Field(
        description="not_sent when the 999 rejected the file, pending when no 277CA came back in time")
    status_codes: list[str] = Field(default_factory=list, description="277CA STC01 composites, e.g. A7:562:85")
    remit: Literal["paid", "partial", "denied", "reversed", "pending", "none"] = Field(
        description="none when the claim was rejected before adjudication")
    charge: Decimal | None = None
    paid: Decimal | None = None
    patient_responsibility: Decimal | None = None
    denied_amount: Decimal | None = None
    categories: list[Category] = Field(default_factory=list, description="denial categories")
    adjustments: list[str] = Field(default_factory=list, description="CAS labels with amounts, e.g. CO-45 12.00")
    remarks: list[str] = Field(default_factory=list)
    payment: ClaimPayment | None = Field(default=None, repr=False)


class SubmissionOutcome(BaseModel):
    """The 999 status of the file and each claim's 277CA and 835 status."""

    model_config = ConfigDict(frozen=True)

    receipt: SubmissionReceipt
    ack_999: Literal["accepted", "partial", "rejected", "pending"]
    ack_999_detail: list[Ack999] = Field(default_factory=list, repr=False)
    ack_277ca: list[Ack277] = Field(default_factory=list, repr=False)
    remittances: list[Remittance] = Field(default_factory=list, repr=False)
    claims: list[ClaimOutcome]
    catalog_version: str
    complete: bool = Field(description="every claim reached a final state before the timeout")


def _claim_ids(x12_text: str) -> list[str]:
    _, segments = read_segments(x12_text)
    return [s[1] for s in segments if s[0] == "CLM" and len(s) > 1]


def submit_and_reconcile(
    client: Clearinghouse,
    x12_text: str,
    *,
    idempotency_key: str | None = None,
    timeout_s: float = 30.0,
    poll_interval_s: float = 0.2,
) -> SubmissionOutcome:
    """Submit one 837P interchange and poll until every claim is paid, denied or rejected.

    Parameters
    ----------
    client : Clearinghouse
        For example an :class:`~claims.clearinghouse.http.HttpClearinghouse`.
    x12_text : str
        The 837P interchange.
    idempotency_key : str, optional
        Passed to :meth:`Clearinghouse.submit_x12`; by default a digest of the file.
    timeout_s, poll_interval_s : float
        How long to wait for acknowledgments and remittance. On timeout the result is returned
        with ``complete=False`` and ``pending`` states; it never raises for slowness.

    Raises
    ------
    ClearinghouseError
        When the submission itself fails (unavailable, refused).
    """
    receipt = client.submit_x12(x12_text, idempotency_key=idempotency_key)
    claim_ids = receipt.claim_ids or _claim_ids(x12_text)
    deadline = time.monotonic() + timeout_s
    acks999: list[Ack999] = []
    acks277: list[Ack277] = []
    while True:
        docs = client.fetch_acknowledgements(receipt.submission_id)
        acks999 = [a for d in docs if d.kind == "999" for a in d.as_999()]
        acks277 = [a for d in docs if d.kind == "277CA" for a in d.as_277()]
        rejected_999 = bool(acks999) and not any(a.accepted for a in acks999)
        if rejected_999 or acks277 or time.monotonic() >= deadline:
            break
        time.sleep(poll_interval_s)
    status_999: Literal["accepted", "partial", "rejected", "pending"] = "pending"
    if acks999:
        outcomes = {a.outcome for a in acks999}
        status_999 = "rejected" if outcomes == {"rejected"} else "accepted" if outcomes == {"accepted"} else "partial"
    elif acks277:
        status_999 = "accepted"  # a 277CA implies the file passed syntax checks
    statuses = {c.claim_id: c for a in acks277 for c in a.claims}
    accepted_ids = [cid for cid in claim_ids if cid in statuses and statuses[cid].accepted]

    payments: dict[str, ClaimPayment] = {}
    remittances: list[Remittance] = []
    while accepted_ids and status_999 != "rejected":
        remittances = [r for d in client.fetch_remittance(submission_id=receipt.submission_id) for r in d.parse()]
        payments = {c.claim_id: c for r in remittances for c in r.claims}
        if all(cid in payments for cid in accepted_ids) or time.monotonic() >= deadline:
            break
        time.sleep(poll_interval_s)

    catalog = load_catalog()
    outcomes: list[ClaimOutcome] = []
    for cid in claim_ids:
        st = statuses.get(cid)
        if status_999 == "rejected":
            ack = "not_sent"
        elif st is None:
            ack = "pending"
        else:
            ack = "accepted" if st.accepted else "rejected"
        payment = payments.get(cid)
        if ack in ("not_sent", "rejected"):
            remit = "none"
        else:
            remit = payment.status if payment else "pending"
        adjustments = payment.all_adjustments() if payment else []
        outcomes.append(
            ClaimOutcome(
                claim_id=cid,
                ack_277ca=ack,
                status_codes=[":".join(x for x in (c.category, c.status, c.entity) if x) for c in st.codes] if st else [],
                remit=remit,
                charge=payment.charge if payment else (st.amount if st else None),
                paid=payment.paid if payment else None,
                patient_responsibility=payment.patient_responsibility if payment else None,
                denied_amount=payment.denied_amount if payment else None,
                categories=[c for c in dict.fromkeys(a.category for a in adjustments) if catalog.is_denial(c)],
                adjustments=[f"{a.label} {a.amount:.2f}" for a in adjustments],
                remarks=payment.all_remarks() if payment else [],
                payment=payment,
            )
        )
    complete = all(o.ack_277ca != "pending" and o.remit != "pending" for o in outcomes) and status_999 != "pending"
    return SubmissionOutcome(
        receipt=receipt, ack_999=status_999, ack_999_detail=acks999, ack_277ca=acks277, remittances=remittances,
        claims=outcomes, catalog_version=catalog.version, complete=complete,
    )
