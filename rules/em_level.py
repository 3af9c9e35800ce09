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
    r"\b(?:start(?:ed)?|begin|increase[ds]?|decrease[ds]?|\w*titrat\w+|taper\w*|switch(?:ed)?|cont(?:inue)?\.?|"
    r"refill\w*|prescri\w+|rx|discontinu\w+|stop(?:ped)?|hold)\b[^.\n]{0,60}?"
    r"(?:\b\d+(?:\.\d+)?\s*(?:mg|mcg|units?|g)\b|"
    # a prescription drug named by its class suffix (ACE inhibitors, ARBs, beta blockers, statins...)
    r"\b\w+(?:pril|sartan|olol|statin|formin|gliptin|gliflozin|dipine|azole|cillin|mycin|floxacin|cycline|"
    r"sone|lone|tidine|prazole|pam|lam|xetine|triptan|ide|semide|parin|xaban|gatran|arin|ilol)\b|\binhalers?\b)",
    re.I,
)
# a named drug with a dose is a prescription unless it is an over-the-counter one
_DOSED = re.compile(r"\b([a-z][a-z-]{3,})\s+\d+(?:\.\d+)?\s*(?:mg|mcg|g|units?)\b", re.I)
_OTC_NAMES = frozenset("ibuprofen acetaminophen tylenol naproxen aspirin loratadine cetirizine fexofenadine "
                       "diphenhydramine guaifenesin famotidine calcium vitamin melatonin docusate senna".split())
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
    dosed_rx = any(m.group(1).lower() not in _OTC_NAMES for m in _DOSED.finditer(text))
    if _RX.search(text) or dosed_rx or _SDOH.search(text) or _MINOR_PROC.search(text):
        cues.append("prescription drug management or procedure risk")
        return 2
    if _OTC.search(text):
        cues.append("over-the-counter drugs")
        return 1
    return 0


_PREVENTIVE = re.compile(
    r"\b(?:annual (?:physical|exam|wellness|preventive)|preventive (?:visit|exam|medicine|care visit)|"
    r"well[- ](?:visit|woman|man|child|adult) (?:exam|visit|check)|wellness (?:visit|exam)|"
    r"routine (?:physical|health maintenance|annual)|complete physical(?: exam)?)\b",
    re.I,
)
_CONSULT = re.compile(
    r"\b(?:consultation|consult note|referred (?:by|from)\b.{0,60}\bfor (?:evaluation|consultation|an opinion)|"
    r"thank you for (?:the|this|your) (?:kind )?referral|dear dr\.?)",
    re.I,
)
_POSTOP = re.compile(r"\b(?:post-?op(?:erative)? (?:visit|check|follow[- ]?up)|(?:within|in) (?:the )?global period)\b",
                     re.I)
_CRITICAL = re.compile(r"\bcritical care (?:time)?\D{0,25}(\d{2,3})\s*(?:min|minutes)\b", re.I)
_DISCHARGE = re.compile(r"\bdischarge summary\b|\bdischarged? (?:home|to)\b|\bday of discharge\b", re.I)
_ADMISSION = re.compile(r"\b(?:admission (?:h&p|history and physical|note)|history and physical|admit(?:ted)? to)\b",
                        re.I)
_ANY_MINUTES = re.compile(r"(\d{2,3})\s*(?:min|minutes)\b", re.I)
# CPT preventive medicine: new 99381-99387, established 99391-99397, by age band
_PREVENTIVE_BANDS = ((1, 1), (5, 2), (12, 3), (18, 4), (40, 5), (65, 6), (200, 7))
CONSULT = {0: "99242", 1: "99243", 2: "99244", 3: "99245"}
INPATIENT_INITIAL = {0: "99221", 1: "99221", 2: "99222", 3: "99223"}
INPATIENT_SUBSEQUENT = {0: "99231", 1: "99231", 2: "99232", 3: "99233"}


def _mdm(problem_text: str, text: str, n_problems: int) -> tuple[int, int, int, list[str]]:
    cues: list[str] = []
    return _problems(problem_text, n_problems, cues), _data(text, cues), _risk(text, cues), cues


def em_level(enc: Encounter, n_problems: int, assessment: str | None = None) -> EMLevel:
    """The E/M service and level for an encounter.

    Parameters
    ----------
    enc : Encounter
    n_problems : int
        How many problems the assessment addresses.
    assessment : str, optional
        The assessment text; problem complexity is read from it (a history of MI elsewhere in
        the note is not a problem addressed today). Defaults to the whole note.
    """
    text = enc.text
    problem_text = assessment or text
    p, d, r, cues = _mdm(problem_text, text, n_problems)
    level = sorted([p, d, r])[1]
    out = EMLevel(code=None, basis="mdm", problems=LEVELS[p], data=LEVELS[d], risk=LEVELS[r], cues=cues)
    new = bool(_NEW_PATIENT.search(text))

    crit = _CRITICAL.search(text)
    if crit and int(crit.group(1)) >= 30 and enc.setting in (Setting.ed, Setting.inpatient, Setting.office):
        out.code, out.basis, out.minutes = "99291", "time", int(crit.group(1))
        cues.append(f"critical care {out.minutes} min (99291 covers the first 30-74 minutes)")
        return out
    if enc.setting is Setting.inpatient:
        if _DISCHARGE.search(text):
            minutes = _TIME.search(text) or None
            mins = int(minutes.group(1) or minutes.group(2)) if minutes else None
            out.code, out.basis, out.minutes = ("99239" if mins is None or mins > 30 else "99238"), "time", mins
            cues.append("hospital discharge day management" + (f", {mins} min" if mins else ", time not stated"))
            return out
        table = INPATIENT_INITIAL if _ADMISSION.search(text) else INPATIENT_SUBSEQUENT
        out.code = table[level]
        return out
    if enc.setting not in (Setting.office, Setting.telehealth, Setting.outpatient, Setting.ed):
        return EMLevel(code=None, basis="none", cues=[f"no E/M leveling for setting {enc.setting.value}"])
    if enc.setting is Setting.ed:
        out.code = ED[level]
        return out
    if _PREVENTIVE.search(text):
        age = enc.patient.age_on(enc.date_of_service)
        if age is not None:
            band = next(b for limit, b in _PREVENTIVE_BANDS if age < limit)
            out.code, out.basis = f"99{38 if new else 39}{band}", "preventive"
            cues.append("preventive medicine visit, age band")
            return out
    if _POSTOP.search(text):
        out.code, out.basis = "99024", "global"
        cues.append("postoperative visit within the global period (not separately paid)")
        return out
    if _CONSULT.search(text) and enc.payer.kind.value != "medicare":
        # Medicare stopped paying consultation codes in 2010: its consults are billed as office visits
        out.code = CONSULT[level]
        out.basis = "mdm"
        cues.append("office consultation")
        return out
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
