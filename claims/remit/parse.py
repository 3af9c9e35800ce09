"""Parse X12 835 005010X221A1 health care claim payment/advice into :class:`Remittance` models.

Claim payments (CLP), service lines (SVC), adjustments (CAS, up to six reason/amount/quantity
triplets each), remark codes (claim-level MOA/MIA, line-level LQ*HE) and provider-level
adjustments (PLB). Every adjustment is categorized with :mod:`claims.remit.categories`. Patient
names (NM1*QC) are deliberately not kept.
"""

from __future__ import annotations

from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path

from claims.remit.categories import CarcCatalog, load_catalog
from claims.remit.models import (
    Adjustment,
    ClaimPayment,
    ProviderAdjustment,
    RemitStatus,
    Remittance,
    ServicePayment,
)
from claims.x12_reader import read_segments

__all__ = ["parse_835", "parse_835_file"]

_CENT = Decimal("0.005")


class _ClaimDraft:
    def __init__(self, clp: list[str]):
        self.clp = clp
        self.adjustments: list[Adjustment] = []
        self.remarks: list[str] = []
        self.services: list[dict] = []


def parse_835(text: str, catalog: CarcCatalog | None = None) -> list[Remittance]:
    """Parse every 835 transaction set in an interchange.

    Parameters
    ----------
    text : str
        X12 text starting with ``ISA``.
    catalog : CarcCatalog, optional
        CARC/RARC categories; defaults to the shipped ``carc_categories.yaml``.

    Raises
    ------
    ValueError
        When the text is not an X12 interchange, holds no 835, or an amount is not a number.
        Messages name the segment and element, never their values.
    """
    catalog = catalog or load_catalog()
    delimiters, segments = read_segments(text)
    remittances: list[Remittance] = []
    current: dict | None = None
    claim: _ClaimDraft | None = None
    service: dict | None = None
    entity: str | None = None

    def close_claim() -> None:
        nonlocal claim, service
        if claim is not None and current is not None:
            current["claims"].append(_claim(claim, catalog))
        claim, service = None, None

    for n, seg in enumerate(segments, start=1):
        sid = seg[0]
        where = f"segment {n} {sid}"
        if sid == "ST":
            if _el(seg, 1) != "835":
                current = None
                continue
            current = {"control_number": _el(seg, 2), "claims": [], "plb": [], "payment_amount": Decimal(0)}
        elif current is None:
            continue
        elif sid == "SE":
            close_claim()
            remittances.append(
                Remittance(
                    control_number=current["control_number"],
                    payment_amount=current["payment_amount"],
                    payment_method=current.get("payment_method"),
                    payment_date=current.get("payment_date"),
                    trace_number=current.get("trace_number"),
                    payer_name=current.get("payer_name"),
                    payer_id=current.get("payer_id"),
                    payee_name=current.get("payee_name"),
                    payee_id=current.get("payee_id"),
                    claims=current["claims"],
                    provider_adjustments=current["plb"],
                    catalog_version=catalog.version,
                )
            )
            current = None
        elif sid == "BPR":
            current["payment_amount"] = _money(_el(seg, 2), f"{where} BPR02")
            current["payment_method"] = _el(seg, 4) or None
            current["payment_date"] = _date(_el(seg, 16))
        elif sid == "TRN":
            current["trace_number"] = _el(seg, 2) or None
            current.setdefault("payer_id", _el(seg, 3) or None)
        elif sid == "REF" and claim is None and _el(seg, 1) == "2U":
            current["payer_id"] = _el(seg, 2)
        elif sid == "N1":
            entity = _el(seg, 1)
            if entity == "PR":
                current["payer_name"] = _el(seg, 2) or None
            elif entity == "PE":
                current["payee_name"] = _el(seg, 2) or None
                current["payee_id"] = _el(seg, 4) or None
        elif sid == "LX":
            close_claim()
        elif sid == "CLP":
            close_claim()
            claim = _ClaimDraft(seg)
        elif sid == "SVC" and claim is not None:
            composite = _composite(_el(seg, 1), delimiters.component)
            service = {
                "qualifier": composite[0] if composite else "",
                "code": composite[1] if len(composite) > 1 else "",
                "modifiers": [m for m in composite[2:6] if m],
                "charge": _money(_el(seg, 2), f"{where} SVC02"),
                "paid": _money(_el(seg, 3), f"{where} SVC03"),
                "units": _number(_el(seg, 5)),
                "adjustments": [],
                "remarks": [],
            }
            claim.services.append(service)
        elif sid == "CAS" and claim is not None:
            target = service["adjustments"] if service is not None else claim.adjustments
            target.extend(_cas(seg, where, catalog))
        elif sid == "LQ" and service is not None and _el(seg, 1) == "HE":
            service["remarks"].append(_el(seg, 2))
        elif sid == "MOA" and claim is not None:
            claim.remarks.extend(r for r in (_el(seg, i) for i in range(3, 8)) if r)
        elif sid == "MIA" and claim is not None:
            claim.remarks.extend(r for r in (_el(seg, i) for i in (5, 20, 21, 22, 23)) if r)
        elif sid == "AMT" and service is not None and _el(seg, 1) == "B6":
            service["allowed"] = _money(_el(seg, 2), f"{where} AMT02")
        elif sid == "DTM" and service is not None and _el(seg, 1) in ("472", "150"):
            service["service_date"] = _date(_el(seg, 2))
        elif sid == "PLB":
            close_claim()
            provider = _el(seg, 1)
            for i in range(3, len(seg) - 1, 2):
                if not seg[i]:
                    continue
                reason = _composite(seg[i], delimiters.component)
                current["plb"].append(
                    ProviderAdjustment(
                        provider_id=provider,
                        reason=reason[0],
                        reference=reason[1] if len(reason) > 1 else None,
                        amount=_money(_el(seg, i + 1), f"{where} PLB{i + 1:02d}"),
                    )
                )
    if not remittances:
        raise ValueError("no 835 transaction set (ST*835) in the interchange")
    return remittances


def parse_835_file(path: Path, catalog: CarcCatalog | None = None) -> list[Remittance]:
    return parse_835(path.read_text(), catalog)


def _claim(draft: _ClaimDraft, catalog: CarcCatalog) -> ClaimPayment:
    clp = draft.clp
    where = "CLP"
    charge = _money(_el(clp, 3), f"{where}03")
    paid = _money(_el(clp, 4), f"{where}04")
    services = [ServicePayment(**s) for s in draft.services]
    # Line remarks sharpen the category of a generic CARC on that line; claim remarks on the claim's.
    adjustments = [_refine(a, draft.remarks, catalog) for a in draft.adjustments]
    services = [
        s.model_copy(update={"adjustments": [_refine(a, s.remarks or draft.remarks, catalog) for a in s.adjustments]})
        for s in services
    ]
    total_adjusted = sum((a.amount for a in adjustments), Decimal(0)) + sum(
        (a.amount for s in services for a in s.adjustments), Decimal(0)
    )
    status_code = _el(clp, 2)
    denial = any(catalog.is_denial(a.category) and a.amount > 0 for a in [*adjustments, *(a for s in services for a in s.adjustments)])
    return ClaimPayment(
        claim_id=_el(clp, 1),
        status_code=status_code,
        status=_status(status_code, paid, denial),
        charge=charge,
        paid=paid,
        patient_responsibility=_money(_el(clp, 5) or "0", f"{where}05"),
        filing_indicator=_el(clp, 6) or None,
        payer_claim_number=_el(clp, 7) or None,
        adjustments=adjustments,
        remarks=draft.remarks,
        services=services,
        balanced=abs(charge - paid - total_adjusted) < _CENT,
    )


def _status(code: str, paid: Decimal, denial: bool) -> RemitStatus:
    if code == "22":
        return "reversed"
    if code == "4" or (paid <= 0 and denial):
        return "denied"
    return "partial" if denial else "paid"


def _refine(adjustment: Adjustment, remarks: list[str], catalog: CarcCatalog) -> Adjustment:
    category = catalog.categorize(adjustment.group, adjustment.carc, remarks)
    return adjustment if category is adjustment.category else adjustment.model_copy(update={"category": category})


def _cas(seg: list[str], where: str, catalog: CarcCatalog) -> list[Adjustment]:
    group = _el(seg, 1)
    out = []
    for i in range(2, min(len(seg), 20), 3):
        carc = _el(seg, i)
        if not carc:
            continue
        info = catalog.carc_info(carc)
        out.append(
            Adjustment(
                group=group,
                carc=info.code,
                amount=_money(_el(seg, i + 1), f"{where} CAS{i + 1:02d}"),
                quantity=_number(_el(seg, i + 2)),
                category=catalog.categorize(group, carc),
                carc_text=info.text,
            )
        )
    return out


def _el(seg: list[str], i: int) -> str:
    return seg[i].strip() if i < len(seg) else ""


def _composite(value: str, component: str) -> list[str]:
    parts = value.split(component)
    # Some published samples announce ':' in ISA16 but write '>' inside SVC01; accept both.
    if len(parts) == 1 and ">" in value:
        parts = value.split(">")
    return parts


def _money(value: str, where: str) -> Decimal:
    try:
        return Decimal(value or "0")
    except InvalidOperation:
        raise ValueError(f"{where}: not a monetary amount") from None


def _number(value: str) -> Decimal | None:
    try:
        return Decimal(value) if value else None
    except InvalidOperation:
        return None


def _date(value: str) -> date | None:
    try:
        return datetime.strptime(value, "%Y%m%d").date() if len(value) == 8 else None
    except ValueError:
        return None
