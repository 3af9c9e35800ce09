"""E/M level from the note: 2021 office/outpatient MDM or total time, and 2023 ED MDM.

Medical decision making has three elements: problems addressed, data reviewed/analyzed, and risk
of patient management. The level is the one that two of the three elements meet or exceed (the
median of the three). For office visits, documented total time on the date of the encounter is an
alternative; the more favourable documented basis is reported, as the AMA guidelines allow.
ED visits (99281–99285) are leveled by MDM only.

This is a transparent, rule-based reader of the note's wording: every level carries the cues that
produced it, so a coder can check it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from medcore.model import Encounter, Setting

LEVELS = ("minimal", "low", "moderate", "high")
OFFICE_NEW = {0: "99202", 1: "99203", 2: "99204", 3: "99205"}
OFFICE_EST = {0: "99212", 1: "99213", 2: "99214", 3: "99215"}
ED = {0: "99282", 1: "99283", 2: "99284", 3: "99285"}
# 2021 total-time thresholds (minutes, lower bounds)
TIME_NEW = ((60, 3), (45, 2), (30, 1), (15, 0))
TIME_EST = ((40, 3), (30, 2), (20, 1), (10, 0))

_NEW_PATIENT = re.compile(r"\bnew patient\b|\bnew pt\b|\binitial (?:office )?visit\b|\bestablish(?:ing)? care\b", re.I)
_TIME = re.compile(
    r"(?:total (?:time|of)|time spent|spent)\D{0,40}?(\d{2,3})\s*(?:min|minutes)\b"
    r"|(\d{2,3})\s*(?:min|minutes)\s+(?:total|spent)",
    re.I,
)
_HIGH_PROBLEM = re.compile(
    r"\b(?:severe exacerbation|threat to (?:life|bodily function)|life[- ]threatening|sepsis|septic|"
    r"respiratory failure|stroke|STEMI|NSTEMI|myocardial infarction|critical(?:ly)? ill|critical care|shock|"
    r"acute kidney injury|encephalopathy|pulmonary embol)\w*",
    re.I,
)
_EXACERBATION = re.compile(
    r"\b(?:exacerbation|worsening|uncontrolled|not controlled|poorly controlled|progress(?:ion|ing)|flare|"
    r"not at goal|above goal|side effect|adverse effect|toxicity)\b",
    re.I,
)
_CHRONIC = re.compile(r"\b(?:chronic|controlled|stable|f/u|follow[- ]up|history of|well[- ]controlled|at goal)\b", re.I)
_UNDIAGNOSED = re.compile(r"\b(?:undiagnosed|uncertain prognosis|rule out|r/o|differential|ddx|work[- ]?up)\b", re.I)
_SYSTEMIC = re.compile(r"\b(?:fever|febrile|systemic|fracture|dislocation|laceration repair|complicated)\b", re.I)

_DATA_ITEMS = re.compile(
    r"\b(?:A1c|CBC|BMP|CMP|TSH|lipid|LDL|eGFR|creatinine|troponin|BNP|lactate|UA|urinalysis|culture|"
    r"rapid strep|monospot|PSA|INR|x-?ray|XR|CT|MRI|ultrasound|US|echo(?:cardiogram)?|ECG|EKG|CXR|"
    r"mammogram|PFTs?|spirometry|biopsy|pathology|labs?)\b",
    re.I,
)
_INDEPENDENT_INTERP = re.compile(r"\b(?:my (?:interpretation|read|review)|independent(?:ly)? (?:interpret|review)\w*|"
                                 r"personally (?:reviewed|viewed|interpreted))\b", re.I)
_HISTORIAN = re.compile(r"\b(?:independent historian|history (?:obtained |provided )?(?:from|by) (?:mother|father|"
                        r"parent|spouse|wife|husband|daughter|son|caregiver|EMS))\b", re.I)
_DISCUSSION = re.compile(r"\b(?:discussed with|spoke with|consulted|d/w)\s+(?:Dr\.?|the |on-call |cardiology|"
                         r"surgery|oncology|radiology|ortho|nephrology|GI|neurology|pharmacist)", re.I)

_HIGH_RISK = re.compile(
    r"\b(?:admit(?:ted|ting)?|admission|hospitali[sz]\w*|ICU|intensive care|emergent surgery|emergency surgery|"
    r"DNR|escalation of care|drug therapy requiring intensive monitoring|IV heparin|heparin drip|"
    r"transfer(?:red)? to)\b",
    re.I,
)
_RX = re.compile(
    r"\b(?:start(?:ed)?|begin|increase[ds]?|decrease[ds]?|titrat\w+|taper\w*|switch(?:ed)?|cont(?:inue)?\.?|"
    r"refill\w*|prescri\w+|rx|discontinu\w+|stop(?:ped)?|hold)\b[^.\n]{0,60}?\b\d+(?:\.\d+)?\s*(?:mg|mcg|units?|g)\b",
    re.I,
)
_OTC = re.compile(r"\b(?:ibuprofen|acetaminophen|tylenol|naproxen|OTC|over[- ]the[- ]counter|supportive care|"
                  r"saline|antihistamine|loratadine|cetirizine)\b", re.I)
_MINOR_PROC = re.compile(r"\b(?:injection|aspiration|splint|laceration repair|I&D|incision and drainage|"
                         r"cryotherapy|biopsy)\b", re.I)
_SDOH = re.compile(r"\b(?:homeless\w*|unable to afford|cost of|lack of transportation|food insecurity|"
                   r"limited by social)\b", re.I)


@dataclass
class EMLevel:
    code: str | None
    basis: str  # mdm | time | none
    problems: str = "minimal"
    data: str = "minimal"
    risk: str = "minimal"
    minutes: int | None = None
    cues: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {
            "code": self.code,
            "basis": self.basis,
            "mdm": {"problems": self.problems, "data": self.data, "risk": self.risk},
            "minutes": self.minutes,
            "rationale": "; ".join(self.cues),
        }


def _problems(text: str, n_problems: int, cues: list[str]) -> int:
    if _HIGH_PROBLEM.search(text):
        cues.append("problem threatening life or bodily function")
        return 3
    exacerbated = bool(_EXACERBATION.search(text))
    chronic = bool(_CHRONIC.search(text))
    if n_problems >= 3 or (n_problems >= 2 and chronic) or exacerbated or _UNDIAGNOSED.search(text) and n_problems:
        cues.append(f"{n_problems} problem(s) addressed" + (", with exacerbation/progression" if exacerbated else ""))
        return 2
    if _SYSTEMIC.search(text) and n_problems:
        cues.append("acute illness with systemic symptoms or complicated injury")
        return 2
    if n_problems >= 1:
        cues.append(f"{n_problems} acute uncomplicated or stable chronic problem(s)")
        return 1
    return 0


def _data(text: str, cues: list[str]) -> int:
    items = {m.group(0).lower() for m in _DATA_ITEMS.finditer(text)}
    interp = bool(_INDEPENDENT_INTERP.search(text))
    historian = bool(_HISTORIAN.search(text))
    discussion = bool(_DISCUSSION.search(text))
    # category 1: tests/documents/historian (3 needed for moderate); category 2: independent
    # interpretation; category 3: discussion with an external physician
    cat1 = len(items) + historian >= 3
    categories = sum([cat1, interp, discussion])
    if categories >= 2:
        cues.append("extensive data (two categories)")
        return 3
    if categories == 1:
        cues.append("moderate data")
        return 2
    if len(items) + historian >= 2:
        cues.append(f"limited data ({len(items)} test(s) reviewed or ordered)")
        return 1
    return 0


def _risk(text: str, cues: list[str]) -> int:
    if _HIGH_RISK.search(text):
        cues.append("decision regarding hospitalization or escalation")
        return 3
    if _RX.search(text) or _SDOH.search(text) or _MINOR_PROC.search(text):
        cues.append("prescription drug management or procedure risk")
        return 2
    if _OTC.search(text):
        cues.append("over-the-counter drugs")
        return 1
    return 0


def em_level(enc: Encounter, n_problems: int) -> EMLevel:
    """The E/M level for an encounter, given how many problems its assessment addresses."""
    if enc.setting not in (Setting.office, Setting.telehealth, Setting.outpatient, Setting.ed):
        return EMLevel(code=None, basis="none", cues=[f"no E/M leveling for setting {enc.setting.value}"])
    text = enc.text
    cues: list[str] = []
    p, d, r = _problems(text, n_problems, cues), _data(text, cues), _risk(text, cues)
    level = sorted([p, d, r])[1]
    out = EMLevel(code=None, basis="mdm", problems=LEVELS[p], data=LEVELS[d], risk=LEVELS[r], cues=cues)
    if enc.setting is Setting.ed:
        out.code = ED[level]
        return out
    new = bool(_NEW_PATIENT.search(text))
    table = OFFICE_NEW if new else OFFICE_EST
    out.code = table[level]
    m = _TIME.search(text)
    if m:
        minutes = int(m.group(1) or m.group(2))
        out.minutes = minutes
        for floor, t_level in TIME_NEW if new else TIME_EST:
            if minutes >= floor:
                if t_level > level:
                    out.code, out.basis = table[t_level], "time"
                    cues.append(f"total time {minutes} min")
                break
    return out
