"""Read the claims a simulator needs out of an 837P interchange, or out of a JSON claim.

A plain segment scan (no x12sdk): the simulator needs the SBR09 filing indicator, the prior
authorization (REF*G1) and the billing provider, which :func:`claims.x837p.parse_837p` does not keep.
"""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal, InvalidOperation
from typing import Any

from pydantic import BaseModel, ConfigDict, ValidationError

from claims.npi import is_valid_npi
from claims.simulator.adjudicate import SubmittedClaim, SubmittedLine
from claims.x12_reader import read_segments
from medcore.model import PayerKind

__all__ = ["Interchange837", "claim_from_json", "read_837p"]

_FILING = {"MA": PayerKind.medicare, "MB": PayerKind.medicare, "MC": PayerKind.medicaid, "ZZ": PayerKind.self_pay}


class Interchange837(BaseModel):
    model_config = ConfigDict(frozen=True)

    sender_id: str
    receiver_id: str
    control_number: str
    group_control_number: str
    submitter_name: str | None = None
    claims: list[SubmittedClaim]
    npi_errors: dict[str, str] = {}


def read_837p(text: str) -> Interchange837:
    """Every claim in an 837P, with the envelope ids the acknowledgments echo.

    Raises
    ------
    ValueError
        When the text is not an X12 interchange or a claim cannot be read (no values quoted).
    """
    delimiters, segments = read_segments(text)
    comp = delimiters.component
    isa = segments[0]
    gs = next((s for s in segments if s[0] == "GS"), ["GS"] + [""] * 8)
    ctx: dict[str, Any] = {}
    claims: list[dict[str, Any]] = []
    claim: dict[str, Any] | None = None
    line: dict[str, Any] | None = None
    submitter = None
    entity = None
    for seg in segments:
        sid = seg[0]
        if sid == "NM1":
            entity = _el(seg, 1)
            if entity == "41":
                submitter = _el(seg, 3)
            elif entity == "85":
                ctx.update(billing_npi=_el(seg, 9) or None, billing_name=_el(seg, 3) or None)
            elif entity == "IL":
                ctx.update(patient_last=_el(seg, 3) or None, patient_first=_el(seg, 4) or None, member_id=_el(seg, 9) or None)
            elif entity == "PR":
                ctx.update(payer_name=_el(seg, 3) or "UNKNOWN PAYER", payer_id=_el(seg, 9) or "00000")
            elif entity == "82" and claim is not None:
                claim["rendering_npi"] = _el(seg, 9)
        elif sid == "SBR":
            ctx["payer_kind"] = _FILING.get(_el(seg, 9), PayerKind.commercial)
        elif sid == "CLM":
            claim = {**ctx, "claim_id": _el(seg, 1), "place_of_service": _el(seg, 5).split(comp)[0] or "11",
                     "diagnosis_codes": [], "lines": []}
            claims.append(claim)
            line = None
        elif sid == "HI" and claim is not None:
            claim["diagnosis_codes"].extend(p.split(comp)[1] for p in seg[1:] if comp in p)
        elif sid == "REF" and claim is not None and line is None and _el(seg, 1) == "G1":
            claim["prior_authorization"] = _el(seg, 2)
        elif sid == "DTP" and claim is not None and _el(seg, 1) == "472":
            when = _date(_el(seg, 3))
            if line is not None:
                line["service_date"] = when
            claim.setdefault("date_of_service", when)
        elif sid == "LX" and claim is not None:
            line = {}
            claim["lines"].append(line)
        elif sid == "SV1" and line is not None:
            proc = _el(seg, 1).split(comp)
            line.update(code=proc[1] if len(proc) > 1 else "", modifiers=[m for m in proc[2:6] if m],
                        charge=_dec(_el(seg, 2)), units=_dec(_el(seg, 4) or "1"),
                        dx_pointers=[int(p) for p in _el(seg, 7).split(comp) if p.isdigit()] or [1])
    npi_errors = {}
    parsed = []
    for raw in claims:
        for key in ("billing_npi", "rendering_npi"):
            npi = raw.get(key)
            if npi and not is_valid_npi(npi):
                npi_errors[raw["claim_id"]] = key
        raw.pop("rendering_npi", None)
        try:
            for ln in raw["lines"]:
                if ln.get("service_date") is None:
                    ln.pop("service_date", None)
            lines = [SubmittedLine(**ln) for ln in raw.pop("lines")]
            parsed.append(SubmittedClaim(**{k: v for k, v in raw.items() if v is not None}, lines=lines))
        except ValidationError as exc:
            raise ValueError(f"claim {len(parsed) + 1}: cannot be read ({exc.error_count()} problems)") from None
    return Interchange837(
        sender_id=_el(isa, 6), receiver_id=_el(isa, 8), control_number=_el(isa, 13),
        group_control_number=_el(gs, 6), submitter_name=submitter, claims=parsed, npi_errors=npi_errors,
    )


def claim_from_json(payload: dict[str, Any]) -> SubmittedClaim:
    """A JSON claim (see :func:`claims.clearinghouse.claim_payload`) as a :class:`SubmittedClaim`.

    Raises
    ------
    pydantic.ValidationError
        When a required field is missing or malformed.
    """
    data = dict(payload)
    payer = data.pop("payer", None) or {}
    if payer:
        data.setdefault("payer_id", payer.get("payer_id"))
        data.setdefault("payer_name", payer.get("name"))
        data.setdefault("payer_kind", payer.get("kind"))
    patient = data.pop("patient", None) or {}
    data.setdefault("member_id", patient.get("member_id"))
    data.setdefault("patient_last", patient.get("last_name"))
    data.setdefault("patient_first", patient.get("first_name"))
    data.pop("total_charge", None)
    return SubmittedClaim.model_validate({k: v for k, v in data.items() if v is not None})


def _el(seg: list[str], i: int) -> str:
    return seg[i].strip() if i < len(seg) else ""


def _dec(value: str) -> Decimal:
    try:
        return Decimal(value)
    except InvalidOperation:
        raise ValueError("an amount or unit count is not a number") from None


def _date(value: str):
    try:
        return datetime.strptime(value, "%Y%m%d").date()
    except ValueError:
        return None
