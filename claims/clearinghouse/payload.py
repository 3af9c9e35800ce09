"""The JSON claim body for :meth:`Clearinghouse.submit_json`, built from medcode's own models."""

from __future__ import annotations

from typing import Any

from medcore.model import Claim, Encounter

__all__ = ["claim_payload"]


def claim_payload(claim: Claim, encounter: Encounter) -> dict[str, Any]:
    """A JSON-ready dict: claim id, payer, member, billing NPI, date and place of service, codes, lines.

    The dict holds PHI (member id, patient name): send it, never log it.
    """
    last = first = None
    if encounter.patient.name:
        name = encounter.patient.name
        if "^" in name:
            last, first = (name.split("^") + [""])[:2]
        elif "," in name:
            last, _, rest = name.partition(",")
            first = rest.split()[0] if rest.split() else None
        else:
            words = name.split()
            last, first = words[-1], (words[0] if len(words) > 1 else None)
    return {
        "claim_id": claim.claim_id,
        "payer": {"payer_id": encounter.payer.payer_id, "name": encounter.payer.name, "kind": encounter.payer.kind.value},
        "patient": {"member_id": encounter.patient.member_id, "last_name": last, "first_name": first},
        "billing_npi": encounter.billing_provider.npi if encounter.billing_provider else None,
        "billing_name": encounter.billing_provider.name if encounter.billing_provider else None,
        "date_of_service": encounter.date_of_service.isoformat(),
        "place_of_service": encounter.place_of_service,
        "diagnosis_codes": list(claim.diagnosis_codes),
        "lines": [
            {
                "code": line.code,
                "modifiers": list(line.modifiers),
                "units": line.units,
                "charge": f"{line.charge:.2f}",
                "dx_pointers": list(line.dx_pointers),
                "service_date": (line.service_date or encounter.date_of_service).isoformat(),
            }
            for line in claim.lines
        ],
        "total_charge": f"{claim.total_charge:.2f}",
    }
