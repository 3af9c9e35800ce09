"""ICD-10-CM Official Guidelines applied to the coder's picks, one function per rule.

- I.C.21.c.3: long-term (current) drug therapy is coded with Z79 when the note shows the patient
  is on the drug (a medication list, "on", "continue"), not when it is stopped or only considered.
- I.C.21.c.4: a condition that no longer exists and is not treated is coded as personal history
  (Z85-Z87, with status codes Z90-Z99 for "status post"); a family member's condition as family
  history (Z80-Z84). The query goes through the Alphabetic Index's own "History, personal/family"
  entries, and the pick is restricted to those categories.

- I.C.19.a: the 7th character for injuries reflects the episode of care: A (initial) while the
  patient receives active treatment, D (subsequent) for routine care during healing or recovery,
  S (sequela) for late effects; fractures are closed unless documented open, and subsequent
  encounters are routine healing unless delayed healing, nonunion or malunion is documented.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path

from medcore.refdata.icd10cm import CodeSet, dotted, nodot

_DRUGS = Path(__file__).resolve().parent / "data" / "long_term_drugs.tsv"

_SEQUELA = re.compile(r"\b(?:sequela\w*|late effects?|residual\w*|scar(?:ring)? from)\b", re.I)
_SUBSEQUENT = re.compile(
    r"\b(?:subsequent (?:encounter|visit|care)|routine healing|healing (?:well|fracture|as expected)|"
    r"cast (?:check|removal|change)|post-?op(?:erative)? (?:visit|check|follow[- ]?up)|"
    r"(?:fracture|injury) (?:follow[- ]?up|f/u)|weeks? (?:after|post|s/p)|"
    r"in (?:a )?(?:cast|boot|splint) (?:since|for)|aftercare|recheck of (?:the )?(?:fracture|injury))\b",
    re.I,
)
_OPEN = re.compile(r"\bopen (?:fracture|fx)\b|\bcompound fracture\b|\bbone (?:visible|exposed)\b", re.I)
_HEALING = (
    ("nonunion", re.compile(r"\bnon-?union\b", re.I)),
    ("malunion", re.compile(r"\bmal-?union\b", re.I)),
    ("delayed healing", re.compile(r"\bdelayed (?:bone )?(?:healing|union)\b", re.I)),
)
_ROUTINE = re.compile(r"\broutine(?:ly)? heal\w*|\bhealing (?:well|as expected|appropriately)\b", re.I)
# "No malunion", "no signs of nonunion", "risk of delayed healing" (counselling) say the fracture is not so
_NOT_HEALING = re.compile(r"\b(?:no|not|without|denies|negative|risk|counsel\w*|prevent\w*|avoid\w*|smoking)\b", re.I)


def _healing(mention: str, note: str) -> str:
    """The healing the documentation states: the mention's own words first, then the note's, skipping
    clauses that deny it or only warn about it."""
    if _ROUTINE.search(mention):
        return "routine healing"
    for text in (mention, note):
        for name, rx in _HEALING:
            for m in rx.finditer(text):
                left = max(text.rfind(ch, 0, m.start()) for ch in ".;\n") + 1
                if not _NOT_HEALING.search(text[left:m.start()]):
                    return name
    return "routine healing"


HISTORY_ROUTES: dict[str, tuple[str, ...]] = {
    "family": ("Z80", "Z81", "Z82", "Z83", "Z84"),
    "historical": ("Z85", "Z86", "Z87", "Z91", "Z92", "Z90", "Z95", "Z96", "Z98", "Z99"),
}
_RELATIVES = re.compile(
    r"\b(?:mother|father|mom|dad|sister|brother|sibling|siblings|aunt|uncle|grandmother|grandfather|"
    r"grandparent|cousin|son|daughter|parent|parents|maternal|paternal|family history|fhx|fh|family|"
    r"with|had|has|died of|deceased|dx|diagnosed|age \d+|in (?:her|his) \d+s|\d+)\b",
    re.I,
)
_CANCER = re.compile(r"\b(?:cancer|malignancy)\b", re.I)


# "former smoker", "quit tobacco": the Alphabetic Index enters a smoker under nicotine dependence
_TOBACCO = re.compile(r"\b(?:former|ex-?|quit|past|remote)?\s*(?:smoker|smoking|tobacco(?:\s+(?:use|user|smoker))?|"
                      r"cigarettes?)\b", re.I)
_HISTORY_TABLE = Path(__file__).resolve().parent / "data" / "history_codes.tsv"


def history_query(query: str, route: str) -> str:
    """The Alphabetic Index phrasing for a history code: "History, family, malignant neoplasm, breast"."""
    what = _RELATIVES.sub(" ", query) if route == "family" else query
    what = _CANCER.sub("malignant neoplasm", what)
    what = _TOBACCO.sub(" nicotine dependence ", what)
    kind = "family" if route == "family" else "personal"
    return f"history {kind} {' '.join(what.split())}"


@lru_cache(maxsize=1)
def _history_rows() -> list[tuple[str, str, list[tuple[str, str]]]]:
    rows = []
    for line in _HISTORY_TABLE.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        kind, code, ranges = line.split("\t")
        spans = []
        for r in ranges.split():
            lo, _, hi = r.partition("-")
            spans.append((nodot(lo), nodot(hi or lo)))
        rows.append((kind, code, spans))
    return rows


def history_code(cs: CodeSet, condition: str, kind: str) -> str | None:
    """The family (``kind="family"``, Z80-Z84) or personal (``"historical"``, Z85-Z87) history code
    for a condition code, by the chapter and block structure the history categories mirror:
    I45.81 (long QT syndrome) in a mother is Z82.49, C18.7 in the patient's past is Z85.038."""
    c = nodot(condition)
    for k, code, spans in _history_rows():
        if k == kind and any(lo <= c[: len(lo)] <= hi for lo, hi in spans):
            return code if cs.is_billable(code) else None
    return None


def history_chapter_codes(history: str) -> list[str]:
    """The condition categories a history code stands for (the first of each range), for example
    Z82.3 → ["I60", "I69"]: the reverse of :func:`history_code`."""
    return [lo for _, code, spans in _history_rows() if code == history for lo, _ in spans]


def episode_of_care(cs: CodeSet, code: str, mention: str, note: str) -> str:
    """Re-pick the 7th character of an injury code from the documentation (I.C.19.a)."""
    entry = cs.get(code)
    if entry is None or not entry.generated or not entry.parent:
        return code
    defs = cs.seven_chr_for(entry.parent)
    if not defs:
        return code
    text = f"{mention}\n{note}"
    if _SEQUELA.search(mention):
        episode = "sequela"
    elif _SUBSEQUENT.search(mention) or _SUBSEQUENT.search(note):
        episode = "subsequent"
    else:
        episode = "initial"
    options = {ch: meaning.lower() for ch, meaning in defs.items() if episode in meaning.lower()}
    if not options:
        return code
    is_open = bool(_OPEN.search(text))
    healing = _healing(mention, note)

    def fits(meaning: str) -> int:
        score = 0
        if "fracture" in meaning:
            score += 2 if ("open" in meaning) == is_open else 0
            if episode == "subsequent":
                score += 2 if healing in meaning else 0
            # "type I or II" is the open fracture default when the type is not documented
            score += 1 if "type i or ii" in meaning or "closed" in meaning else 0
        return score

    ch = max(sorted(options), key=lambda c: fits(options[c]))
    chosen = dotted(nodot(entry.parent).ljust(6, "X") + ch)
    return chosen if cs.is_billable(chosen) else code


@dataclass(frozen=True, slots=True)
class DrugHit:
    code: str
    start: int
    end: int


@lru_cache(maxsize=4)
def _code_patterns(path: Path, left: str = r"\b", right: str = r"\b") -> list[tuple[str, re.Pattern[str]]]:
    """(code, compiled pattern) rows of a ``code<TAB>regex`` table such as data/long_term_drugs.tsv."""
    out = []
    for line in path.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            code, pattern = line.split("\t", 1)
            out.append((code, re.compile(rf"{left}(?:{pattern}){right}", re.I)))
    return out


def _drug_patterns() -> list[tuple[str, re.Pattern[str]]]:
    return _code_patterns(_DRUGS)


_STOPPED = re.compile(r"\b(?:stop(?:ped)?|discontinu\w*|d/c|held|hold|off|allerg\w*|intoleran\w*|declin\w*|"
                      r"consider\w*|if needed|instead of|no longer|never|"
                      # a past, finished course: "DVT in 2015, treated w/ 6 mo warfarin"
                      r"treated (?:w/|with)|completed|previous\w*|prior|formerly|was on|were on|course of|prn|"
                      # a short course is not long-term therapy: "prednisone 40 mg x 5 d"
                      r"x\s*\d+\s*(?:d|days?|wks?|weeks?)|for\s+\d+\s+(?:days|weeks))(?!\w)", re.I)


def long_term_drugs(note: str, spans: list[tuple[int, int]]) -> list[DrugHit]:
    """Z79 codes for drugs the patient is on, found in the given spans (medication lists,
    history, assessment and plan), skipping lines that stop, hold or only consider the drug."""
    hits: dict[str, DrugHit] = {}
    for s, e in spans:
        for code, rx in _drug_patterns():
            for m in rx.finditer(note, s, e):
                # the clause around the drug decides: "metformin 1000 mg BID, stopped warfarin"
                left = max(note.rfind(ch, 0, m.start()) for ch in ".;,\n") + 1
                rights = [i for i in (note.find(ch, m.end()) for ch in ".;,\n") if i != -1]
                clause = note[left : min(rights) if rights else len(note)]
                if _STOPPED.search(clause):
                    continue
                hits.setdefault(code, DrugHit(code, m.start(), m.end()))
    return sorted(hits.values(), key=lambda h: h.start)


# "ER+/PR+/HER2-", "ER positive, PR negative", "HER2/neu 3+ (positive)", "triple negative"
_RECEPTOR = re.compile(
    r"\b(?P<marker>ER|PR|PgR|HER-?2(?:/neu)?|estrogen receptors?|progesterone receptors?)\s*[:(]?\s*"
    r"(?:status\s*)?(?:is\s*)?(?P<value>\+|-|positive|negative|pos\b|neg\b|\(\+\)|\(-\))",
    re.I,
)
_SHARED_VALUE = re.compile(r"\b(?P<markers>(?:ER|PR|PgR)(?:\s*/\s*(?:ER|PR|PgR))+)\s*(?P<value>\+|-|positive|negative)", re.I)
_TRIPLE_NEGATIVE = re.compile(r"\btriple[- ]negative\b", re.I)
_HORMONE_SENSITIVITY = re.compile(
    r"\b(?:(?P<sensitive>hormone[- ]sensitive|castrat(?:e|ion)[- ]sensitive|androgen[- ]sensitive)|"
    r"(?P<resistant>hormone[- ]resistant|castrat(?:e|ion)[- ]resistant|androgen[- ]resistant))\b", re.I)
_RECEPTOR_CODES = {("ER", True): "Z17.0", ("ER", False): "Z17.1", ("PR", True): "Z17.21", ("PR", False): "Z17.22",
                   ("HER2", True): "Z17.31", ("HER2", False): "Z17.32"}


def _marker(word: str) -> str:
    w = word.upper()
    return "ER" if w.startswith(("ER", "ESTROGEN")) else "PR" if w.startswith(("PR", "PGR", "PROGESTERONE")) else "HER2"


def receptor_status(note: str, spans: list[tuple[int, int]]) -> list[DrugHit]:
    """Z17 receptor-status codes a breast malignancy's "use additional code" note asks for, one
    per receptor documented (ER, PR, HER2), from the given spans."""
    hits: dict[str, DrugHit] = {}
    for s, e in spans:
        for m in _SHARED_VALUE.finditer(note, s, e):  # "ER/PR positive"
            positive = m.group("value").lower() in ("+", "positive")
            for mk in re.split(r"\s*/\s*", m.group("markers")):
                code = _RECEPTOR_CODES[(_marker(mk), positive)]
                hits.setdefault(code, DrugHit(code, m.start(), m.end()))
        for m in _RECEPTOR.finditer(note, s, e):
            positive = m.group("value").strip("()").lower() in ("+", "positive", "pos")
            code = _RECEPTOR_CODES[(_marker(m.group("marker")), positive)]
            hits.setdefault(code, DrugHit(code, m.start(), m.end()))
        for m in _TRIPLE_NEGATIVE.finditer(note, s, e):
            for code in ("Z17.1", "Z17.22", "Z17.32"):
                hits.setdefault(code, DrugHit(code, m.start(), m.end()))
    # one status per receptor: a note that says both keeps the first it said
    by_receptor: dict[str, DrugHit] = {}
    for h in sorted(hits.values(), key=lambda h: h.start):
        by_receptor.setdefault({"Z17.0": "Z17.1"}.get(h.code, h.code[:5]), h)
    return sorted(by_receptor.values(), key=lambda h: h.start)


def hormone_sensitivity(note: str, spans: list[tuple[int, int]]) -> list[DrugHit]:
    """Z19.1 / Z19.2 (hormone-sensitive or -resistant malignancy), e.g. with C61."""
    for s, e in spans:
        m = _HORMONE_SENSITIVITY.search(note, s, e)
        if m:
            return [DrugHit("Z19.1" if m.group("sensitive") else "Z19.2", m.start(), m.end())]
    return []


_THERAPY = Path(__file__).resolve().parent / "data" / "antineoplastic_therapy.tsv"
# the drug was given here and now: an administration line, an infusion, a cycle/day marker
_GIVEN = re.compile(r"\b(?:IV|IVPB|infus\w*|administ\w*|given|intravesical|instill\w*|push|C\d+D\d+|cycle\s*\d+\s*,?\s*day\s*\d+)\b",
                    re.I)
_NOT_GIVEN = re.compile(r"\b(?:plan\w*|will|consider\w*|discuss\w*|next|previous\w*|prior|held|hold|deferred|declin\w*|"
                        r"stopp?ed|discontinu\w*|complet\w*)\b", re.I)


def _therapy_patterns() -> list[tuple[str, re.Pattern[str]]]:
    # "5-FU" and "AC-T" hold hyphens, so a hyphen does not end a drug name here
    return _code_patterns(_THERAPY, r"(?<![\w-])", r"(?![\w-])")


def antineoplastic_encounter(note: str) -> list[DrugHit]:
    """Z51.11 (chemotherapy) and Z51.12 (immunotherapy) when the note documents the drugs being
    administered at this encounter (I.C.2.e.2: then they are first-listed): a line naming the drug
    with a route, infusion or cycle/day marker, and no plan, hold or past-tense word."""
    hits: dict[str, DrugHit] = {}
    for line in re.finditer(r"[^\n]+", note):
        text = line.group()
        if not _GIVEN.search(text) or _NOT_GIVEN.search(text):
            continue
        for code, rx in _therapy_patterns():
            m = rx.search(text)
            if m and code not in hits:
                hits[code] = DrugHit(code, line.start() + m.start(), line.start() + m.end())
    return sorted(hits.values(), key=lambda h: h.code)


_VACCINE = re.compile(r"\b(?:vaccin\w*|immuniz\w*|Tdap|DTaP|Td\b|flu shot|Shingrix|Prevnar|Pneumovax|PCV\d+|PPSV23|"
                      r"Gardasil|HPV\d*\s+vaccine|MMR|Varivax|hepatitis [AB] vaccine|COVID-19 vaccine|RSV vaccine)", re.I)
_VACCINE_GIVEN = re.compile(r"\b(?:given|administered|IM\b|intramuscular|injected|lot\s*#?)", re.I)
_VACCINE_NOT = re.compile(r"\b(?:declin\w*|refus\w*|due\b|recommend\w*|discuss\w*|deferred|next visit|will|"
                          r"up to date|UTD|prior|previous)\b", re.I)


def immunization_given(note: str) -> DrugHit | None:
    """Z23 when a vaccine is documented as administered at this encounter."""
    for line in re.finditer(r"[^\n]+", note):
        text = line.group()
        m = _VACCINE.search(text)
        if m and _VACCINE_GIVEN.search(text) and not _VACCINE_NOT.search(text):
            return DrugHit("Z23", line.start() + m.start(), line.start() + m.end())
    return None


_ABNORMAL_FINDINGS = re.compile(r"\bwith abnormal (?:findings?|results?)\b|\bw/ abnormal\b", re.I)
_NORMAL_FINDINGS = re.compile(r"\bwithout abnormal (?:findings?|results?)\b|\bw/o abnormal\b|\bno abnormal findings\b", re.I)


def preventive_exam_code(note: str, age: int | None, other_codes: list[str]) -> str | None:
    """The routine-examination Z code for a preventive visit (I.C.21.c.13): with abnormal findings
    when the note says so, or when a condition (not a status or history Z code) was coded."""
    if age is None:
        return None
    if _NORMAL_FINDINGS.search(note):
        abnormal = False
    else:
        abnormal = bool(_ABNORMAL_FINDINGS.search(note)) or any(not c.startswith("Z") for c in other_codes)
    if age >= 18:
        return "Z00.01" if abnormal else "Z00.00"
    return "Z00.121" if abnormal else "Z00.129"


_STATUS = Path(__file__).resolve().parent / "data" / "status_codes.tsv"
# a clause that denies, plans or weighs the device or procedure does not document a status
_NOT_STATUS = re.compile(r"\b(?:no|not|denies|never|without|will|plan\w*|consider\w*|candidate|eval\w*|refer\w*|"
                         r"if|possible|possibly|schedul\w*|pending|recommend\w*|discuss\w*|declin\w*|defer\w*|"
                         r"indicat\w*|needs?|may|should|would|workup|work-up|removed|explant\w*|reversed|"
                         r"check|interrogat\w*)\b", re.I)
# a current device check is still a status, but "pacemaker check" / "ICD interrogation" is read as the
# visit's reason, which the assessment codes; the status is taken from the other clauses


def _clause(note: str, start: int, end: int) -> str:
    left = max(note.rfind(ch, 0, start) for ch in ".;\n") + 1
    rights = [i for i in (note.find(ch, end) for ch in ".;\n") if i != -1]
    return note[left: min(rights) if rights else len(note)]


def status_codes(note: str, spans: list[tuple[int, int]]) -> list[DrugHit]:
    """Status Z codes the note documents anywhere in the given spans (I.C.21.c.3): devices and grafts
    (Z95), transplants (Z94), artificial openings (Z93), dependence on oxygen or dialysis (Z99),
    an insulin pump (Z96.41); and artificial joints with their side (Z96.6-)."""
    hits: dict[str, DrugHit] = {}
    for s, e in spans:
        for code, rx in _code_patterns(_STATUS, r"(?<![\w-])", r"(?![\w-])"):
            for m in rx.finditer(note, s, e):
                if code in hits:
                    break
                if not _NOT_STATUS.search(_clause(note, m.start(), m.end())):
                    hits[code] = DrugHit(code, m.start(), m.end())
                    break
        for m in _JOINT.finditer(note, s, e):
            code = _joint_code(m)
            if code and code not in hits and not _NOT_STATUS.search(_clause(note, m.start(), m.end())):
                hits[code] = DrugHit(code, m.start(), m.end())
    return sorted(hits.values(), key=lambda h: h.start)


_SIDE = r"(?:left|right|L|R|lt|rt|bilateral|bilat|B/L|BL)"
_JOINT = re.compile(
    rf"(?:\b(?P<side>{_SIDE})\.?\s+)?(?P<joint>(?:TKA|TKR|THA|THR|TSA|rTSA)\b|total\s+(?:knee|hip|shoulder)\s+"
    rf"(?:arthroplasty|replacement)|(?:knee|hip|shoulder)\s+(?:arthroplasty|replacement)|(?:reverse\s+)?total\s+shoulder)"
    rf"(?:\s*\(?(?P<side2>{_SIDE})\b\)?)?", re.I)
_JOINT_BASE = {"knee": "Z96.65", "hip": "Z96.64", "shoulder": "Z96.61"}


def _joint_code(m: re.Match[str]) -> str | None:
    joint = m.group("joint").lower()
    kind = ("knee" if "k" in joint[:3] or "knee" in joint else "hip" if "h" in joint[:3] or "hip" in joint
            else "shoulder")
    side = (m.group("side") or m.group("side2") or "").lower().rstrip(".")
    digit = {"left": "2", "l": "2", "lt": "2", "right": "1", "r": "1", "rt": "1"}.get(side)
    if digit is None and side:
        digit = "3" if kind != "shoulder" else "9"
    return _JOINT_BASE[kind] + (digit or "9")


_BMI = re.compile(r"\bBMI\b\s*(?:of|is|=|:)?\s*(?P<value>\d{2}(?:\.\d+)?)(?!\s*(?:th|st|nd|rd|%|percentile))"
                  r"|\bBMI\b[^.\n]{0,20}?(?P<pct>\d{1,2}(?:\.\d+)?)\s*(?:th|st|nd|rd)?\s*(?:%ile|percentile|%)", re.I)
# the conditions a BMI is reported with (I.B.14: the BMI only with an associated, documented diagnosis)
WEIGHT_CONDITIONS = ("E66", "E43", "E44", "E45", "E46", "R63.6", "R63.5", "R62.5", "E88.81")


def bmi_code(note: str, age: int | None, spans: list[tuple[int, int]]) -> DrugHit | None:
    """Z68 for the documented BMI: adult bands from age 20, pediatric percentiles from 2 to 19."""
    for s, e in spans:
        m = _BMI.search(note, s, e)
        if m is None:
            continue
        if m.group("value") and (age is None or age >= 20):
            v = float(m.group("value"))
            if v < 20:
                code = "Z68.1"
            elif v < 40:
                code = f"Z68.{int(v)}"
            else:
                code = "Z68.41" if v < 45 else "Z68.42" if v < 50 else "Z68.43" if v < 60 else "Z68.44" if v < 70 else "Z68.45"
            return DrugHit(code, m.start(), m.end())
        if m.group("pct") and age is not None and 2 <= age < 20:
            p = float(m.group("pct"))
            code = "Z68.51" if p < 5 else "Z68.52" if p < 85 else "Z68.53" if p < 95 else "Z68.54"
            return DrugHit(code, m.start(), m.end())
    return None


# tobacco in the social history or HPI (I.C.5.b / the "use additional code" notes of many chapters:
# exposure to, use of, or history of tobacco dependence): "Former smoker, quit 2015" → Z87.891;
# "smokes 1 ppd" → F17.210 (the Index: Smoker - see Dependence, drug, nicotine); vaping → F17.290;
# chewing tobacco → F17.220; a household member who smokes → Z77.22 (environmental tobacco smoke)
_TOBACCO_FORMER = re.compile(
    r"\b(?:former|ex-?)\s*(?:cigarette\s+)?(?:smoker|tobacco\s+(?:use|user|smoker))\b|\bquit\s+(?:smoking|tobacco|cigarettes)\b|"
    r"\b(?:former|remote|past|prior)\s+(?:smoking|tobacco\s+use)\b|\bsmoker,?\s+quit\b", re.I)
_TOBACCO_CURRENT = re.compile(
    r"\b(?:current|active|daily|everyday)\s+(?:cigarette\s+)?smoker\b|\bsmokes\b|\bstill\s+smok\w*|"
    r"\b\d+(?:\.\d+)?\s*(?:ppd|packs?\s*(?:per|/|a)\s*day)\b|\bcurrent(?:ly)?\s+smok\w*|\bvap(?:es|ing)\b|"
    r"\be-?cig(?:arette)?s?\b|\b(?:chews|dips|uses)\s+(?:tobacco|snuff|smokeless)|\bsmokeless\s+tobacco\s+use", re.I)
_SECONDHAND = re.compile(
    r"\b(?:second-?hand|passive)\s+smoke\b|\b(?:mother|father|parents?|dad|mom|caregiver|grand(?:mother|father|parents?)|"
    r"household(?:\s+members?)?|husband|wife|spouse|partner|roommate)\s+(?:\w+\s+){0,2}smokes?\b", re.I)
_TOBACCO_NOT = re.compile(r"\b(?:never|denies|denied|no|non-?smoker|not|nor)\b", re.I)
_OTHER_PERSON = re.compile(r"\b(?:mother|father|parents?|dad|mom|caregiver|grand\w+|household|husband|wife|spouse|"
                           r"partner|roommate|son|daughter|brother|sister)\b", re.I)


def tobacco_status(note: str, spans: list[tuple[int, int]]) -> list[DrugHit]:
    """The patient's tobacco status and exposure from the given spans (social history, HPI,
    assessment): at most one of Z87.891 / F17.2-, and Z77.22."""
    own: DrugHit | None = None
    exposure: DrugHit | None = None
    for s, e in spans:
        for rx, former in ((_TOBACCO_FORMER, True), (_TOBACCO_CURRENT, False)):
            for m in rx.finditer(note, s, e):
                clause = _clause(note, m.start(), m.end())
                if own is not None or _TOBACCO_NOT.search(clause) or _OTHER_PERSON.search(clause):
                    continue
                if not former and _TOBACCO_FORMER.search(clause):
                    continue
                if former:
                    code = "Z87.891"
                elif re.search(r"vap|e-?cig|cigar\b|cigars|pipe", clause, re.I):
                    code = "F17.290"
                elif re.search(r"chew|dip|snuff|smokeless", clause, re.I):
                    code = "F17.220"
                else:
                    code = "F17.210"
                own = DrugHit(code, m.start(), m.end())
        for m in _SECONDHAND.finditer(note, s, e):
            if exposure is None and not _TOBACCO_NOT.search(_clause(note, m.start(), m.end())):
                exposure = DrugHit("Z77.22", m.start(), m.end())
    return [h for h in (own, exposure) if h is not None]


_ADVERSE = Path(__file__).resolve().parent / "data" / "adverse_effect_drugs.tsv"
_LATE = re.compile(r"\b(?:residual|sequela\w*|late effects?|persistent|chronic residual)\b", re.I)


@lru_cache(maxsize=1)
def _adverse_patterns() -> list[tuple[str, re.Pattern[str]]]:
    """(T-code root, pattern) rows: the drug followed by "-induced", "related", "toxicity"..., or
    "due to / from / secondary to / adverse effect of" the drug."""
    out = []
    for code, agent in _code_patterns(_ADVERSE, r"", r""):
        a = agent.pattern
        out.append((code, re.compile(
            rf"(?<![\w-])(?:{a})(?:[- ](?:\w+[- ])?(?:induced|related|associated)\b|\s+(?:toxicity|side[- ]effects?)\b)|"
            rf"\b(?:due\s+to|from|secondary\s+to|2/2|caused\s+by|adverse\s+effects?\s+of|side[- ]effects?\s+of)\s+"
            rf"(?:(?:the|prior|recent|his|her|previous|adjuvant|current)\s+)?(?:{a})(?![\w-])", re.I)))
    return out


def adverse_effect(cs: CodeSet, text: str) -> DrugHit | None:
    """The T36-T50 adverse-effect code for a condition whose statement blames a drug
    ("Chemotherapy-induced peripheral neuropathy, chronic residual" → T45.1X5S; "anemia due to
    chemotherapy" → T45.1X5A), the 7th character initial unless the effect is a residual (sequela)."""
    for root, rx in _adverse_patterns():
        m = rx.search(text)
        if m is None:
            continue
        code = f"{root}{'S' if _LATE.search(text) else 'A'}"
        return DrugHit(code, m.start(), m.end()) if cs.is_billable(code) else None
    return None


_CHEMO_ROOT = "T45.1X5"
# the Alphabetic Index has "due to antineoplastic chemotherapy" entries for the cytopenias only
# (D61.810, D64.81, D70.1); other drug-blamed conditions are indexed as drug-induced ("Neuropathy,
# peripheral, in drugs" G62.0)
_CYTOPENIA = re.compile(r"\b(?:anemia|pancytopenia|neutropenia|leukopenia|cytopenia)\b", re.I)


@lru_cache(maxsize=1)
def _rewording_patterns() -> list[tuple[str, re.Pattern[str], re.Pattern[str], re.Pattern[str]]]:
    """Per drug class: (T-code root, "<drug>-induced <what>", "due to <drug>", "(<drug>)"), compiled once:
    every mention's query passes through :func:`adverse_effect_wording`."""
    out = []
    for root, rx in _code_patterns(_ADVERSE, r"", r""):
        agent = rx.pattern
        out.append((
            root,
            re.compile(rf"(?<![\w-])(?:{agent})[- ](?:\w+[- ])?(?:induced|related|associated)\s+(?P<what>[^,;.()]+)", re.I),
            re.compile(rf"\b(?:due\s+to|from|secondary\s+to|2/2)\s+(?:(?:the|prior|recent|adjuvant)\s+)?(?:{agent})(?![\w-])",
                       re.I),
            re.compile(rf"\(\s*(?:{agent})\s*\)", re.I),
        ))
    return out


def adverse_effect_wording(text: str) -> str:
    """A drug-blamed condition worded as the Alphabetic Index words it: "Oxaliplatin-induced
    peripheral neuropathy" → "drug-induced peripheral neuropathy"; "chemo-induced anemia" → "anemia
    due to antineoplastic chemotherapy"."""
    for root, induced, due_to, aside in _rewording_patterns():

        def reword(m: re.Match[str], root: str = root) -> str:
            what = m.group("what").strip()
            if root == _CHEMO_ROOT and _CYTOPENIA.search(what):
                return f"{what} due to antineoplastic chemotherapy "
            return f"drug-induced {what} "

        new = due_to.sub("due to antineoplastic chemotherapy", text) if root == _CHEMO_ROOT else text
        # "(oxaliplatin)" beside the reworded condition names the drug the T code will carry
        new = aside.sub(" ", induced.sub(reword, new))
        if new != text:
            return " ".join(new.split())
    return text


_SDOH = Path(__file__).resolve().parent / "data" / "social_determinants.tsv"
_SDOH_NOT = re.compile(r"\b(?:no|not|denies|denied|never|without|resolved|former(?:ly)?|previously|if|risk factors? screen\w* negative)\b",
                       re.I)
_SDOH_OTHER = re.compile(r"\b(?:mother|father|parents?|dad|mom|son|daughter|brother|sister|friend|neighbou?r|patient's "
                         r"(?:husband|wife|spouse))\s+(?:is|was|has been|are)\b", re.I)


def social_determinants(note: str, spans: list[tuple[int, int]]) -> list[DrugHit]:
    """Social determinants of health and occupational exposures the note states for the patient
    (data/social_determinants.tsv), one code per row, homelessness's most specific form first."""
    hits: dict[str, DrugHit] = {}
    for s, e in spans:
        for code, rx in _code_patterns(_SDOH, r"(?<![\w-])", r"(?![\w-])"):
            if code in hits or (code == "Z59.00" and {"Z59.01", "Z59.02"} & set(hits)):
                continue
            for m in rx.finditer(note, s, e):
                clause = _clause(note, m.start(), m.end())
                if not _SDOH_NOT.search(clause) and not _SDOH_OTHER.search(clause):
                    hits[code] = DrugHit(code, m.start(), m.end())
                    break
    if {"Z59.01", "Z59.02"} & set(hits):
        # the patient is homeless now: not also "housed, with risk of homelessness"
        hits.pop("Z59.811", None)
        hits.pop("Z59.00", None)
    return sorted(hits.values(), key=lambda h: h.start)


# I.C.1.d.1.a / R65.2- "code first underlying infection": severe sepsis needs its systemic infection
_SYSTEMIC_INFECTION = ("A40", "A41", "A02.1", "A20.7", "A21.7", "A22.7", "A26.7", "A32.7", "A39.2", "A39.3", "A39.4",
                       "A42.7", "A54.86", "B00.7", "B37.7", "O85", "O86.04", "P36", "T81.4", "T80.2", "R78.81")


def sepsis_first(codes: list[str]) -> str | None:
    """A41.9 (sepsis, unspecified organism) when severe sepsis (R65.2-) is coded without the systemic
    infection its "code first" note asks for; the caller lists it first."""
    if any(c.startswith("R65.2") for c in codes) and not any(c.startswith(_SYSTEMIC_INFECTION) for c in codes):
        return "A41.9"
    return None


_TREATMENT = Path(__file__).resolve().parent / "data" / "treatment_history.tsv"
# a course still under way is not history: "cycle 3 of 6", "on chemo", "C2D1", "currently receiving"
_UNDER_WAY = re.compile(r"\b(?:cycle\s+\d+\s+(?:of|/)\s*\d+|C\d+D\d+|on\s+(?:active\s+)?(?:chemo\w*|radiation)|"
                        r"currently\s+(?:receiving|on|undergoing)|undergoing|ongoing|mid-?treatment|"
                        r"(?:chemo\w*|radiation)\s+(?:today|in\s+progress))\b", re.I)


@lru_cache(maxsize=1)
def _treatment_rows() -> list[tuple[str, tuple[str, ...], re.Pattern[str]]]:
    rows = []
    for line in _TREATMENT.read_text().splitlines():
        if line.strip() and not line.startswith("#"):
            code, relevant, pattern = line.split("\t", 2)
            rows.append((code, tuple(relevant.split()), re.compile(rf"(?<![\w-])(?:{pattern})(?![\w-])", re.I)))
    return rows


def treatment_history(note: str, spans: list[tuple[int, int]], coded: list[str] | None) -> list[DrugHit]:
    """History of chemotherapy (Z92.21) or irradiation (Z92.3), and the organ a past operation took
    (Z90.-), when the note documents it in the given spans and it bears on a coded condition
    (``coded=None``: whatever it bears on)."""
    hits: dict[str, DrugHit] = {}
    if any(_UNDER_WAY.search(note, s, e) for s, e in spans):
        return []  # a treatment course still running: its history codes wait until it is done
    for code, relevant, rx in _treatment_rows():
        if coded is not None and "*" not in relevant and not any(c.startswith(relevant) for c in coded):
            continue
        for s, e in spans:
            m = next((m for m in rx.finditer(note, s, e)
                      if not _NOT_STATUS.search(_clause(note, m.start(), m.end()))), None)
            if m is not None:
                hits[code] = DrugHit(code, m.start(), m.end())
                break
    return sorted(hits.values(), key=lambda h: h.start)


# I.C.21.c.8: surveillance after completed treatment of a malignancy is a follow-up encounter (Z08,
# first-listed, the Z85 history after it); a recurrence found at the visit is coded instead
_FOLLOW_UP = re.compile(r"\b(?:follow[- ]?up|f/u|surveillance)\b", re.I)
_NO_RECURRENCE = re.compile(
    r"\b(?:NED|no\s+evidence\s+of\s+(?:local\s+|distant\s+|residual\s+|recurrent\s+)?(?:recurrence|disease|"
    r"malignancy|metasta\w+)|no\s+(?:signs?\s+of\s+)?recurrence|without\s+(?:evidence\s+of\s+)?recurrence|"
    r"recurrence[- ]free|disease[- ]free|cancer[- ]free)\b", re.I)


def malignancy_follow_up(note: str, visit_spans: list[tuple[int, int]]) -> DrugHit | None:
    """Z08 when the visit is a follow-up or surveillance visit (its title, chief complaint or
    assessment says so) and the note documents no recurrence."""
    if not _NO_RECURRENCE.search(note):
        return None
    for s, e in visit_spans:
        m = _FOLLOW_UP.search(note, s, e)
        if m and not _NOT_STATUS.search(_clause(note, m.start(), m.end())):
            return DrugHit("Z08", m.start(), m.end())
    return None


_SCREENING = Path(__file__).resolve().parent / "data" / "screening_exams.tsv"
_NOT_SCREENING = re.compile(r"\b(?:diagnostic|follow[- ]?up|surveillance|symptomatic)\b", re.I)


def screening_exam(note: str, spans: list[tuple[int, int]]) -> DrugHit | None:
    """The screening Z code when the study's title or indication says the encounter is a screening
    (I.C.21.c.12: "EXAM: SCREENING MAMMOGRAM" → Z12.31 first-listed), not a diagnostic study."""
    for s, e in spans:
        for code, rx in _code_patterns(_SCREENING):
            m = rx.search(note, s, e)
            if m and not _NOT_SCREENING.search(_clause(note, m.start(), m.end())):
                return DrugHit(code, m.start(), m.end())
    return None


# I.C.13.d.1: a fracture in a patient with osteoporosis from a fall or trauma that would not break a
# normal, healthy bone is a pathological fracture, M80 (which includes the osteoporosis), not S-
_LOW_ENERGY = re.compile(r"\b(?:fragility|osteoporotic\s+(?:\w+\s+)?f(?:ractu)?x|osteoporotic\s+fracture|pathologic(?:al)?\s+"
                         r"(?:\w+\s+)?f(?:ractu)?x|pathologic(?:al)?\s+fracture|low[- ]energy|from\s+standing|standing\s+height|"
                         r"ground[- ]level\s+fall|minor\s+fall|trivial\s+(?:fall|trauma))\b", re.I)
# S-code category (or code prefix) → M80 site character
_M80_SITE = (("S72", "5"), ("S12", "8"), ("S22.0", "8"), ("S32.0", "8"), ("S32", "B"), ("S52", "3"),
             ("S42.0", "1"), ("S42.1", "1"), ("S42", "2"), ("S62", "4"), ("S82.5", "7"), ("S82.6", "7"),
             ("S82.8", "7"), ("S82", "6"), ("S92", "7"))
_M80_EPISODE = {"A": "A", "B": "A", "D": "D", "E": "D", "F": "D", "G": "G", "H": "G", "J": "G", "K": "K", "M": "K",
                "N": "K", "P": "P", "Q": "P", "R": "P", "S": "S"}


def osteoporotic_fracture(cs: CodeSet, fracture: str, osteoporosis: str, note: str) -> str | None:
    """The M80 code for a traumatic fracture code when the patient has osteoporosis (a coded M81) and
    the note documents a low-energy mechanism or calls the fracture fragility/pathological."""
    if not _LOW_ENERGY.search(note):
        return None
    entry = cs.get(fracture)
    site = next((c for p, c in _M80_SITE if fracture.startswith(p)), None)
    if entry is None or site is None or "fracture" not in entry.description.lower():
        return None
    kind = "M80.8" if osteoporosis.startswith("M81.8") else "M80.0"
    title = entry.description.lower()
    side = "1" if " right " in f" {title} " else "2" if " left " in f" {title} " else "9"
    episode = _M80_EPISODE.get(nodot(fracture)[-1], "A")
    for code in (f"{kind}{site}{side}{episode}", f"{kind}{site}X{episode}", f"{kind}{site}9{episode}"):
        if cs.is_billable(code):
            return code
    return None
