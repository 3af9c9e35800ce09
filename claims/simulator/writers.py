"""Write the simulator's 277CA (005010X214) and 835 (005010X221A1) interchanges."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from datetime import datetime
from decimal import Decimal

from claims.simulator.adjudicate import ClaimResult, SubmittedClaim
from claims.simulator.intake import Interchange837
from claims.x12_reader import envelope, transaction_set
from medcore.model import PayerKind

__all__ = ["payer_claim_number", "write_277ca", "write_835"]

_FILING = {PayerKind.medicare: "MB", PayerKind.medicaid: "MC", PayerKind.commercial: "12", PayerKind.self_pay: "ZZ"}
# The simulator's own identity (a fictional clearinghouse) and a fictional payer tax id for TRN03.
CLEARINGHOUSE_ID = "CLEARHOUSE"
CLEARINGHOUSE_NAME = "MEDCODE CLEARINGHOUSE SIMULATOR"
PAYER_TIN = "1999999999"


def payer_claim_number(submission_id: str, claim_id: str) -> str:
    """A stable payer claim control number (277CA REF*1K, 835 CLP07)."""
    return "SIM" + hashlib.sha256(f"{submission_id}|{claim_id}".encode()).hexdigest()[:12].upper()


def _amount(value: Decimal) -> str:
    text = f"{value:.2f}"
    return text.rstrip("0").rstrip(".") if "." in text else text


def write_277ca(
    interchange: Interchange837,
    rejected: dict[str, tuple[str, str]],
    *,
    submission_id: str,
    control_number: int,
    created: datetime,
) -> str:
    """A 277CA: one STC per claim, A2:20 (accepted for processing) or the rejection given.

    ``rejected`` maps a claim id to ``(category, status code)``, e.g. ``("A7", "562")`` for an NPI
    that fails its check digit (entity 85, the billing provider).
    """
    date8 = created.strftime("%Y%m%d")
    claims = interchange.claims
    total = sum((c.total_charge for c in claims), Decimal(0))
    rejected_total = sum((c.total_charge for c in claims if c.claim_id in rejected), Decimal(0))
    n_rejected = sum(c.claim_id in rejected for c in claims)
    st = ["ST", "277", f"{control_number % 10000:04d}", "005010X214"]
    body: list[list[str]] = [
        ["BHT", "0085", "08", submission_id[:30], date8, created.strftime("%H%M"), "TH"],
        ["HL", "1", "", "20", "1"],
        ["NM1", "AY", "2", CLEARINGHOUSE_NAME, "", "", "", "", "46", CLEARINGHOUSE_ID],
        ["TRN", "1", submission_id[:50]],
        ["DTP", "050", "D8", date8],
        ["DTP", "009", "D8", date8],
        ["HL", "2", "1", "21", "1"],
        ["NM1", "41", "2", interchange.submitter_name or "SUBMITTER", "", "", "", "", "46", interchange.sender_id or "UNKNOWN"],
        ["TRN", "2", interchange.control_number or "0"],
        ["STC", "A1:19", date8, "WQ", _amount(total)],
        ["QTY", "90", str(len(claims) - n_rejected)],
        ["QTY", "AA", str(n_rejected)],
        ["AMT", "YU", _amount(total - rejected_total)],
        ["AMT", "YY", _amount(rejected_total)],
    ]
    hl = 2
    by_provider: dict[tuple[str, str], list[SubmittedClaim]] = defaultdict(list)
    for claim in claims:
        by_provider[(claim.billing_npi or "", claim.billing_name or "BILLING PROVIDER")].append(claim)
    for (npi, name), provider_claims in by_provider.items():
        hl += 1
        provider_hl = hl
        body += [
            ["HL", str(provider_hl), "2", "19", "1"],
            ["NM1", "85", "2", name, "", "", "", "", "XX", npi or "0000000000"],
            ["TRN", "1", f"{submission_id[:40]}-{provider_hl}"],
            ["STC", "A1:19:85", "", "WQ", _amount(sum((c.total_charge for c in provider_claims), Decimal(0)))],
        ]
        for claim in provider_claims:
            hl += 1
            category, status = rejected.get(claim.claim_id, ("A2", "20"))
            entity = ":85" if claim.claim_id in rejected and status == "562" else ""
            dos = claim.date_of_service.strftime("%Y%m%d") if claim.date_of_service else date8
            body += [
                ["HL", str(hl), str(provider_hl), "PT"],
                ["NM1", "QC", "1", claim.patient_last or "UNKNOWN", claim.patient_first or "", "", "", "", "MI", claim.member_id or "UNKNOWN"],
                ["TRN", "2", claim.claim_id],
                ["STC", f"{category}:{status}{entity}", date8, "U" if claim.claim_id in rejected else "WQ", _amount(claim.total_charge)],
            ]
            if claim.claim_id not in rejected:
                body.append(["REF", "1K", payer_claim_number(submission_id, claim.claim_id)])
            body.append(["DTP", "472", "D8", dos])
    return envelope(
        [transaction_set(st, body)], sender_id=CLEARINGHOUSE_ID, receiver_id=interchange.sender_id or "UNKNOWN",
        functional_id="HN", version="005010X214", control_number=control_number, created=created,
    )


def write_835(
    results: list[ClaimResult],
    *,
    submission_id: str,
    receiver_id: str,
    control_number: int,
    created: datetime,
    payee_npi: str | None = None,
    payee_name: str | None = None,
) -> str:
    """An 835 interchange: one transaction set per payer, claims in submission order.

    Every CLP balances: charge − paid = Σ CAS; BPR02 = Σ CLP04. Line remarks go in LQ*HE and
    claim remarks in MOA.
    """
    by_payer: dict[str, list[ClaimResult]] = defaultdict(list)
    for result in results:
        by_payer[result.claim.payer_id].append(result)
    date8 = created.strftime("%Y%m%d")
    transactions = []
    for n, (payer_id, payer_results) in enumerate(by_payer.items()):
        first = payer_results[0].claim
        total_paid = sum((r.paid for r in payer_results), Decimal(0))
        trace = f"{submission_id[:20]}{n:02d}".upper()
        bpr = (
            ["BPR", "I", _amount(total_paid), "C", "CHK"] + [""] * 11 + [date8]
            if total_paid > 0
            else ["BPR", "H", "0", "C", "NON"] + [""] * 11 + [date8]
        )
        body: list[list[str]] = [
            bpr,
            ["TRN", "1", trace, PAYER_TIN],
            ["DTM", "405", date8],
            ["N1", "PR", first.payer_name],
            ["N3", "100 FICTIONAL PLAZA"],
            ["N4", "SPRINGFIELD", "IL", "627010000"],
            ["REF", "2U", payer_id],
            ["PER", "BL", "EDI SUPPORT", "TE", "8005550199"],
            ["N1", "PE", payee_name or first.billing_name or "PAYEE", "XX", payee_npi or first.billing_npi or "0000000000"],
            ["LX", "1"],
        ]
        for result in payer_results:
            claim = result.claim
            body.append(
                ["CLP", claim.claim_id, result.status_code, _amount(result.charge), _amount(result.paid),
                 _amount(result.patient_responsibility) if result.patient_responsibility else "",
                 _FILING[claim.payer_kind], payer_claim_number(submission_id, claim.claim_id), claim.place_of_service, "1"]
            )
            body.append(["NM1", "QC", "1", claim.patient_last or "UNKNOWN", claim.patient_first or "", "", "", "", "MI", claim.member_id or "UNKNOWN"])
            if result.claim_remarks:
                body.append(["MOA", "", "", *result.claim_remarks[:5]])
            if claim.date_of_service:
                body.append(["DTM", "232", claim.date_of_service.strftime("%Y%m%d")])
            for line_result in result.lines:
                line = line_result.line
                composite = ":".join(["HC", line.code, *line.modifiers])
                body.append(["SVC", composite, _amount(line.charge), _amount(line_result.paid), "", _amount(line.units)])
                if line.service_date or claim.date_of_service:
                    body.append(["DTM", "472", (line.service_date or claim.date_of_service).strftime("%Y%m%d")])
                for group in ("CO", "PR", "OA", "PI"):
                    adjustments = [a for a in line_result.adjustments if a.group == group]
                    for i in range(0, len(adjustments), 6):
                        cas = ["CAS", group]
                        for a in adjustments[i:i + 6]:
                            cas += [a.carc, _amount(a.amount), ""]
                        body.append(cas)
                if line_result.allowed > 0:
                    body.append(["AMT", "B6", _amount(line_result.allowed)])
                for remark in line_result.remarks:
                    body.append(["LQ", "HE", remark])
        transactions.append(transaction_set(["ST", "835", f"{(control_number + n) % 10000:04d}"], body))
    return envelope(
        transactions, sender_id=CLEARINGHOUSE_ID, receiver_id=receiver_id or "UNKNOWN", functional_id="HP",
        version="005010X221A1", control_number=control_number, created=created,
    )
