"""Eligibility through X12 270/271 (005010X279A1), behind a small client contract.

* :class:`EligibilityClient` is the contract: ``check(encounter) -> EligibilityResult``. A production
  client sends :func:`build_270` to a clearinghouse and hands the reply to :func:`parse_271`.
* :class:`LocalEligibilitySimulator` answers from a YAML roster of (fictional) member ids
  (``rules/data/eligibility_roster.yaml``): it builds the real 270, writes the 271 a payer would send,
  and parses it, so both directions of the wire format are exercised offline.
* ``PAYER.ELIGIBILITY`` runs only when a client is passed to ``scrub(..., eligibility=client)``;
  ``scrub()`` leaves it off by default.

271 reading: EB01 ``1`` is active coverage, ``6`` inactive coverage (``2``-``5`` are other active
kinds, counted as active); an AAA segment is a request validation rejection (AAA03 ``72``/``75`` and
others: member not found). Results and findings never carry the member id, name or birth date.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, datetime
from enum import StrEnum
from functools import lru_cache
from pathlib import Path
from typing import Protocol, runtime_checkable

import yaml

from medcore.model import Encounter, PayerKind, Severity
from rules.base import Hit, Rule, ScrubContext

ROSTER_FILE = Path(__file__).resolve().parent / "data" / "eligibility_roster.yaml"
IMPLEMENTATION = "005010X279A1"

_ACTIVE_EB01 = {"1", "2", "3", "4", "5"}
_INACTIVE_EB01 = {"6"}


class EligibilityStatus(StrEnum):
    active = "active"
    inactive = "inactive"
    not_found = "not_found"
    unknown = "unknown"


@dataclass(frozen=True, slots=True)
class EligibilityResult:
    """What a 271 said about coverage on the date of service (no PHI).

    Attributes
    ----------
    status : EligibilityStatus
    eb01 : tuple of str
        Every EB01 benefit information code in the response.
    reject_reasons : tuple of str
        AAA03 codes, when the request was rejected.
    plan : str
        The plan or coverage description (EB05), if any.
    """

    status: EligibilityStatus
    eb01: tuple[str, ...] = ()
    reject_reasons: tuple[str, ...] = ()
    plan: str = ""

    @property
    def active(self) -> bool:
        return self.status is EligibilityStatus.active


@runtime_checkable
class EligibilityClient(Protocol):
    """Anything that answers an eligibility question for an encounter."""

    def check(self, encounter: Encounter) -> EligibilityResult: ...


@dataclass(frozen=True, slots=True)
class Party:
    """Who sends the inquiry (the information receiver, 2100B)."""

    name: str = "MEDCODE DEMO CLINIC"
    npi: str = "1234567893"
    tax_id: str = "123456789"
    submitter_id: str = "MEDCODE01"


def _clean(value: str, size: int | None = None) -> str:
    # X12 separators may not appear inside an element
    out = "".join(ch for ch in value.upper() if ch not in "~*:^\n\r").strip()
    return out[:size] if size else out


def build_270(
    encounter: Encounter,
    *,
    party: Party | None = None,
    control_number: int = 1,
    trace: str | None = None,
    now: datetime | None = None,
) -> str:
    """An X12 270 (005010X279A1) asking about health benefit plan coverage (EQ*30) on the DOS.

    Parameters
    ----------
    encounter : Encounter
        Needs ``patient.member_id``; the name and birth date are sent when present.
    party : Party, optional
        The information receiver; defaults to the demo clinic.
    control_number : int
        ISA13/GS06/ST02 control number.
    trace : str, optional
        TRN02 reference; defaults to the encounter id.
    now : datetime, optional
        Interchange date and time (tests pin it).

    Returns
    -------
    str
        The interchange, segments ended by ``~`` and a newline.

    Raises
    ------
    ValueError
        When the patient has no member id.
    """
    p = party or Party()
    pt = encounter.patient
    if not pt.member_id:
        raise ValueError("a 270 needs the subscriber's member id")
    now = now or datetime.now()
    ctl = f"{control_number:09d}"
    last, _, rest = (pt.name or "").partition("^")
    first = rest.split("^")[0] if rest else ""
    payer = encounter.payer
    segs = [
        f"ST*270*{control_number:04d}*{IMPLEMENTATION}",
        f"BHT*0022*13*{_clean(encounter.encounter_id, 50)}*{now:%Y%m%d}*{now:%H%M}",
        "HL*1**20*1",
        f"NM1*PR*2*{_clean(payer.name, 60)}*****PI*{_clean(payer.payer_id, 80)}",
        "HL*2*1*21*1",
        f"NM1*1P*2*{_clean(p.name, 60)}*****XX*{p.npi}",
        "HL*3*2*22*0",
        f"TRN*1*{_clean(trace or encounter.encounter_id, 50)}*9{p.tax_id}",
        f"NM1*IL*1*{_clean(last, 60)}*{_clean(first, 35)}****MI*{_clean(pt.member_id, 80)}",
    ]
    if pt.birth_date:
        segs.append(f"DMG*D8*{pt.birth_date:%Y%m%d}")
    segs += [f"DTP*291*D8*{encounter.date_of_service:%Y%m%d}", "EQ*30"]
    segs.append(f"SE*{len(segs) + 1}*{control_number:04d}")
    sender = _clean(p.submitter_id, 15).ljust(15)
    receiver = _clean(payer.payer_id, 15).ljust(15)
    isa = (
        f"ISA*00*{'':10}*00*{'':10}*ZZ*{sender}*ZZ*{receiver}*{now:%y%m%d}*{now:%H%M}*^*00501*{ctl}*0*P*:"
    )
    gs = f"GS*HS*{sender.strip()}*{receiver.strip()}*{now:%Y%m%d}*{now:%H%M}*{control_number}*X*{IMPLEMENTATION}"
    tail = [f"GE*1*{control_number}", f"IEA*1*{ctl}"]
    return "".join(f"{s}~\n" for s in [isa, gs, *segs, *tail])


def _segments(x12: str) -> Iterator[list[str]]:
    text = x12.lstrip()
    if text.startswith("ISA") and len(text) > 105:
        elem, term = text[3], text[105]
    else:
        elem, term = "*", "~"
    for raw in text.split(term):
        raw = raw.strip()
        if raw:
            yield raw.split(elem)


def parse_271(x12: str) -> EligibilityResult:
    """Read coverage status out of a 271 response.

    Parameters
    ----------
    x12 : str
        The 271 interchange.

    Returns
    -------
    EligibilityResult
        ``active`` when any EB01 is 1-5, ``inactive`` when only EB01 6 appears, ``not_found`` when the
        subscriber level carries an AAA rejection, otherwise ``unknown``.
    """
    eb01: list[str] = []
    aaa: list[str] = []
    plan = ""
    for seg in _segments(x12):
        if seg[0] == "EB" and len(seg) > 1:
            eb01.append(seg[1])
            if len(seg) > 5 and seg[5] and not plan:
                plan = seg[5]
        elif seg[0] == "AAA" and len(seg) > 3:
            aaa.append(seg[3])
    if any(c in _ACTIVE_EB01 for c in eb01):
        status = EligibilityStatus.active
    elif any(c in _INACTIVE_EB01 for c in eb01):
        status = EligibilityStatus.inactive
    elif aaa:
        status = EligibilityStatus.not_found
    else:
        status = EligibilityStatus.unknown
    return EligibilityResult(status, tuple(eb01), tuple(aaa), plan)


@dataclass
class LocalEligibilitySimulator:
    """An :class:`EligibilityClient` that answers from a YAML roster of fictional member ids.

    Parameters
    ----------
    roster : Path
        Defaults to ``rules/data/eligibility_roster.yaml``.
    """

    roster: Path = ROSTER_FILE
    requests: list[str] = field(default_factory=list, repr=False)

    def check(self, encounter: Encounter) -> EligibilityResult:
        request = build_270(encounter)
        self.requests.append(request)
        return parse_271(self.respond(request, encounter))

    def respond(self, request: str, encounter: Encounter) -> str:
        """The 271 the simulated payer sends back for a 270."""
        members = _roster(self.roster)
        m = members.get(encounter.patient.member_id or "")
        dos = encounter.date_of_service
        body = ["ST*271*0001*" + IMPLEMENTATION, "BHT*0022*11*SIMULATED*20260101*0000",
                "HL*1**20*1", "NM1*PR*2*SIMULATED PAYER*****PI*SIM", "HL*2*1*21*1",
                "NM1*1P*2*REQUESTER*****XX*1234567893", "HL*3*2*22*0", "NM1*IL*1*****MI*ON FILE"]
        if m is None:
            body.append("AAA*N**75*C")  # subscriber/insured not found
        else:
            start = _as_date(m.get("start"))
            end = _as_date(m.get("end"))
            covered = m.get("status") == "active" and (start is None or start <= dos) and (end is None or dos <= end)
            body.append(f"EB*{'1' if covered else '6'}*IND*30**{_clean(str(m.get('plan', '')), 50)}")
        body.append(f"SE*{len(body) + 1}*0001")
        lines = ["ISA*00*          *00*          *ZZ*SIMPAYER       *ZZ*MEDCODE01      *260101*0000*^*00501*"
                 "000000001*0*P*:", "GS*HB*SIMPAYER*MEDCODE01*20260101*0000*1*X*" + IMPLEMENTATION,
                 *body, "GE*1*1", "IEA*1*000000001"]
        return "".join(f"{s}~\n" for s in lines)


def _as_date(v: object) -> date | None:
    if v is None or isinstance(v, date):
        return v
    return date.fromisoformat(str(v))


@lru_cache(maxsize=4)
def _roster(path: Path) -> dict[str, dict]:
    data = yaml.safe_load(path.read_text()) or {}
    return {str(k): v for k, v in (data.get("members") or {}).items()}


def check_eligibility(ctx: ScrubContext) -> Iterator[Hit]:
    client = ctx.eligibility
    enc = ctx.encounter
    if client is None or enc.payer.kind is PayerKind.self_pay:
        return
    if not enc.patient.member_id:
        yield Hit("Eligibility could not be checked: the patient has no member id.", (),
                  "Record the subscriber's member id from the insurance card.", carc="31")
        return
    try:
        result = client.check(enc)
    except Exception as exc:  # a clearinghouse outage must not stop the scrub
        yield Hit(f"Eligibility check failed ({type(exc).__name__}).", (),
                  "Retry the eligibility inquiry before submitting.", Severity.warning)
        return
    if result.status is EligibilityStatus.inactive:
        yield Hit("The payer reports no active coverage on the date of service (271 EB01=6).", (),
                  "Verify coverage dates and other insurance; bill the correct payer or the patient.", carc="27")
    elif result.status is EligibilityStatus.not_found:
        yield Hit(f"The payer could not identify the subscriber (271 AAA {', '.join(result.reject_reasons)}).",
                  (), "Check the member id, name and birth date against the insurance card.", carc="31")
    elif result.status is EligibilityStatus.unknown:
        yield Hit("The eligibility response did not state coverage.", (),
                  "Re-run the eligibility inquiry or call the payer.", Severity.warning)


RULES = (Rule("PAYER.ELIGIBILITY", Severity.error, check_eligibility, carc="27", needs_codeset=False),)
