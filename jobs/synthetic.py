"""Synthetic office encounters for load: fictional, deterministic by seed, generated lazily.

Each encounter is an outpatient office visit with a free-text progress note shaped like real ones:
CC, HPI (with pertinent negatives), PMH, family history, medications, ROS, exam, then an
Assessment/Plan whose numbered items name 1-4 common ICD-10-CM conditions. The note length follows a
log-normal distribution clipped to 96-422 words (mean about 220), as in office notes. The generator
knows the codes it meant (``SyntheticEncounter.codes``), which the benchmark uses as its short coding
path; negated, family-history and medication-only mentions are deliberately *not* in that list.

Every name, member id and date is made up: surnames start with ``SYN`` so nobody mistakes one for a
real patient. Dates of service fall in FY2026 (2025-10-01 to 2026-09-30).
"""

from __future__ import annotations

import base64
import hashlib
import json
import math
import random
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import date, timedelta

from medcore.model import Encounter, Note, Patient, Payer, PayerKind, ProcedureLine, Setting, Sex

__all__ = [
    "CONDITIONS",
    "SyntheticEncounter",
    "encounter_at",
    "generate",
    "to_fhir_ndjson_lines",
    "to_hl7",
    "write_ndjson",
]

FY2026_START = date(2025, 10, 1)
FY2026_DAYS = 365  # 2025-10-01 .. 2026-09-30
MIN_WORDS, MAX_WORDS, MEAN_WORDS = 96, 422, 220

# (ICD-10-CM code, assessment phrases, weight ~ relative frequency in primary care, meds)
CONDITIONS: tuple[tuple[str, tuple[str, ...], float, tuple[str, ...]], ...] = (
    ("I10", ("Essential hypertension", "Hypertension"), 10.0, ("lisinopril 20 mg daily", "amlodipine 5 mg daily")),
    ("E78.5", ("Hyperlipidemia", "Hyperlipidemia, unspecified"), 8.0, ("atorvastatin 40 mg nightly",)),
    ("E11.9", ("Type 2 diabetes mellitus without complications",), 7.0, ("metformin 1000 mg BID",)),
    ("E03.9", ("Hypothyroidism",), 4.0, ("levothyroxine 75 mcg daily",)),
    ("K21.9", ("Gastro-esophageal reflux disease without esophagitis", "GERD"), 4.0, ("omeprazole 20 mg daily",)),
    ("F41.1", ("Generalized anxiety disorder",), 3.5, ("sertraline 50 mg daily",)),
    ("J06.9", ("Acute upper respiratory infection",), 3.5, ()),
    ("E66.9", ("Obesity",), 3.0, ()),
    ("J45.909", ("Asthma", "Unspecified asthma, uncomplicated"), 3.0, ("albuterol inhaler PRN",)),
    ("N39.0", ("Urinary tract infection",), 2.5, ("nitrofurantoin 100 mg BID",)),
    ("J02.9", ("Acute pharyngitis",), 2.5, ()),
    ("G43.909", ("Migraine",), 2.0, ("sumatriptan 50 mg PRN",)),
    ("E55.9", ("Vitamin D deficiency",), 2.0, ("vitamin D3 2000 IU daily",)),
    ("J30.9", ("Allergic rhinitis",), 2.0, ("fluticasone nasal spray daily",)),
    ("D64.9", ("Anemia",), 1.5, ("ferrous sulfate 325 mg daily",)),
    ("I48.91", ("Atrial fibrillation",), 1.5, ("apixaban 5 mg BID",)),
    ("G47.00", ("Insomnia",), 1.5, ("melatonin 3 mg nightly",)),
    ("J20.9", ("Acute bronchitis",), 1.5, ("benzonatate 100 mg TID",)),
    ("I25.10", ("Coronary artery disease",), 1.5, ("aspirin 81 mg daily",)),
    ("M25.561", ("Pain in right knee",), 1.0, ("ibuprofen 600 mg TID PRN",)),
)
_WEIGHTS = [c[2] for c in CONDITIONS]

NEGATED = ("chest pain", "shortness of breath", "fever", "palpitations", "syncope", "abdominal pain", "headache",
           "dysuria", "hematuria", "weight loss", "rash", "leg swelling")
NEG_CUES = ("Denies {}.", "No {}.", "Negative for {}.", "No evidence of {}.")
FAMILY = ("mother with type 2 diabetes", "father with coronary artery disease", "sister with breast cancer",
          "mother with hypertension", "brother with asthma", "father with colon cancer")
FILLER = (
    "Patient reports adherence to the current regimen and no missed doses.",
    "Tolerating medications without side effects.",
    "Sleep and appetite are unchanged from the last visit.",
    "Walks about 20 minutes most days and is working on diet changes.",
    "Lives with spouse and works full time in an office setting.",
    "Former smoker who quit more than ten years ago; drinks alcohol socially.",
    "Reviewed the home log the patient brought today.",
    "Discussed lifestyle measures, including salt and sugar restriction.",
    "Reviewed the most recent laboratory results with the patient.",
    "Patient has questions about refills, answered today.",
    "Vaccinations were reviewed and are up to date per the registry.",
    "Patient prefers to continue the present plan rather than add a new agent.",
)
EXAM = ("Gen: well appearing, no acute distress.", "HEENT: oropharynx clear, TMs normal.",
        "Neck: supple, no lymphadenopathy.", "CV: regular rate and rhythm, no murmur.",
        "Lungs: clear to auscultation bilaterally.", "Abd: soft, nontender, nondistended.",
        "Ext: no edema.", "Skin: warm and dry, no rash.", "Neuro: alert, oriented, nonfocal.")
PLANS = ("Continue current medication.", "Recheck in 3 months.", "Labs ordered today.",
         "Counseled on diet and exercise.", "Return precautions given.", "Will titrate dose at next visit.",
         "Referral placed if not improved.", "Patient agrees with the plan.")

GIVEN = ("ALEX", "JORDAN", "CASEY", "MORGAN", "TAYLOR", "RILEY", "JAMIE", "AVERY", "QUINN", "DREW", "ROBIN", "SKYLER")
FAMILY_NAMES = ("SYNALDER", "SYNBIRCH", "SYNCEDAR", "SYNDOGWOOD", "SYNELM", "SYNFIR", "SYNHAZEL", "SYNJUNIPER",
                "SYNLARCH", "SYNMAPLE", "SYNOAK", "SYNPINE", "SYNROWAN", "SYNSPRUCE", "SYNWILLOW", "SYNYEW")
# (payer id, name, kind, weight)
PAYERS = (
    ("MCRIL", "MEDICARE PART B IL", PayerKind.medicare, 3.0),
    ("MCDIL", "ILLINOIS MEDICAID", PayerKind.medicaid, 2.0),
    ("60054", "AETNA", PayerKind.commercial, 2.0),
    ("87726", "UNITEDHEALTHCARE", PayerKind.commercial, 2.5),
    ("00621", "BLUE CROSS BLUE SHIELD IL", PayerKind.commercial, 2.5),
    ("62308", "CIGNA", PayerKind.commercial, 1.0),
)
# E/M level by number of conditions addressed, with the practice's fee
EM_FEES = {"99212": 75.0, "99213": 110.0, "99214": 165.0, "99215": 230.0}


@dataclass(frozen=True)
class SyntheticEncounter:
    """One generated visit: the Encounter (note, patient, payer, E/M line) and the codes it was built from."""

    index: int
    encounter: Encounter
    codes: list[str]
    em: str
    word_count: int
    negated: list[str] = field(default_factory=list)
    family: list[str] = field(default_factory=list)

    @property
    def assessment(self) -> str:
        text = self.encounter.notes[0].text
        return text[text.index("Assessment/Plan:"):]


def _rng(seed: int, index: int) -> random.Random:
    digest = hashlib.blake2b(f"{seed}:{index}".encode(), digest_size=8).digest()
    return random.Random(int.from_bytes(digest, "big"))


def _target_words(rng: random.Random) -> int:
    # log-normal with median ~212 and sigma 0.32 gives a mean near 220 after clipping to 96-422
    return max(MIN_WORDS, min(MAX_WORDS, int(round(math.exp(rng.gauss(math.log(212), 0.32))))))


def _words(lines: list[str]) -> int:
    return sum(len(line.split()) for line in lines)


def encounter_at(index: int, seed: int = 0, tenant_id: str = "default", prefix: str = "SYN") -> SyntheticEncounter:
    """The ``index``-th encounter of the stream for ``seed``: the same arguments always give the same visit."""
    rng = _rng(seed, index)
    n_dx = rng.choices((1, 2, 3, 4), weights=(3, 4, 2, 1))[0]
    picked: list[tuple[str, tuple[str, ...], float, tuple[str, ...]]] = []
    while len(picked) < n_dx:
        c = rng.choices(CONDITIONS, weights=_WEIGHTS)[0]
        if c not in picked:
            picked.append(c)
    sex = rng.choice((Sex.female, Sex.male))
    age = rng.randint(18, 90)
    dos = FY2026_START + timedelta(days=rng.randrange(FY2026_DAYS))
    birth = date(dos.year - age, rng.randint(1, 12), rng.randint(1, 28))
    negated = rng.sample(NEGATED, k=rng.randint(1, 3))
    family = rng.sample(FAMILY, k=rng.randint(0, 2))
    meds = [m for c in picked for m in c[3]]
    pronoun = "F" if sex is Sex.female else "M"
    heads = [rng.choice(c[1]) for c in picked]

    head: list[str] = [
        "OFFICE VISIT - ESTABLISHED PATIENT",
        f"CC: follow-up of {heads[0].lower()}.",
        f"HPI: {age} y/o {pronoun} returns for follow-up of " + ", ".join(h.lower() for h in heads) + ". "
        + " ".join(rng.choice(NEG_CUES).format(x) for x in negated),
    ]
    history = [
        "PMH: " + ", ".join(h.lower() for h in heads) + ".",
        "FHx: " + ("; ".join(family) if family else "noncontributory") + ".",
        "Meds: " + (", ".join(meds) if meds else "none") + ".",
        "ROS: otherwise negative except as noted in HPI.",
    ]
    exam = [f"Exam: BP {rng.randint(108, 162)}/{rng.randint(64, 98)}, HR {rng.randint(58, 98)}."]
    exam += rng.sample(EXAM, k=rng.randint(3, 6))
    ap = ["Assessment/Plan:"]
    for i, h in enumerate(heads, start=1):
        ap.append(f"{i}. {h} - {rng.choice(PLANS)} {rng.choice(PLANS)}")

    target = _target_words(rng)
    body = head + history + exam
    filler_pool = list(FILLER)
    rng.shuffle(filler_pool)
    extra: list[str] = []
    while _words(body + extra + ap) < target:
        extra.append(filler_pool[len(extra) % len(filler_pool)] if len(extra) < len(filler_pool)
                     else rng.choice(EXAM + FILLER))
    lines = head + extra[: len(extra) // 2] + history + extra[len(extra) // 2:] + exam + [""] + ap
    text = "\n".join(lines)
    words = text.split()
    if len(words) > MAX_WORDS:  # trim filler, never the assessment
        over = len(words) - MAX_WORDS
        while over > 0 and extra:
            over -= len(extra.pop().split())
        lines = head + extra[: len(extra) // 2] + history + extra[len(extra) // 2:] + exam + [""] + ap
        text = "\n".join(lines)
    em = {1: "99213", 2: "99214", 3: "99214", 4: "99215"}[n_dx] if age >= 18 else "99213"
    pid, pname, pkind, _ = rng.choices(PAYERS, weights=[p[3] for p in PAYERS])[0]
    eid = f"{prefix}-{seed:03d}-{index:09d}"
    enc = Encounter(
        encounter_id=eid,
        tenant_id=tenant_id,
        setting=Setting.office,
        specialty="family medicine",
        patient=Patient(
            patient_id=f"P{index:09d}",
            name=f"{rng.choice(FAMILY_NAMES)}^{rng.choice(GIVEN)}",
            birth_date=birth,
            sex=sex,
            member_id="".join(rng.choice("ABCDEFGHJKLMNPQRTUVWXY0123456789") for _ in range(11)),
        ),
        date_of_service=dos,
        place_of_service="11",
        payer=Payer(payer_id=pid, name=pname, kind=pkind),
        notes=[Note(note_id=f"N{index:09d}", text=text, source_format="text", title="Progress note")],
        procedures=[ProcedureLine(code=em, charge=EM_FEES[em], dx_pointers=[1])],
    )
    return SyntheticEncounter(index=index, encounter=enc, codes=[c[0] for c in picked], em=em,
                              word_count=len(text.split()), negated=negated, family=family)


def generate(n: int, seed: int = 0, start: int = 0, tenant_id: str = "default") -> Iterator[SyntheticEncounter]:
    """Lazily yield encounters ``start`` .. ``start + n - 1``; nothing is held between them."""
    for i in range(start, start + n):
        yield encounter_at(i, seed, tenant_id)


def to_fhir_ndjson_lines(s: SyntheticEncounter) -> list[str]:
    """The visit as FHIR Bulk Data ``$export`` lines: one Patient, one Coverage, one Encounter, one
    DocumentReference.

    The lines of one visit are adjacent, Patient, Coverage and Encounter before the DocumentReference, which is
    how :func:`jobs.bulk.read_fhir_ndjson` groups them. The member id travels in Coverage.subscriberId.
    """
    e = s.encounter
    family, given = (e.patient.name or "^").split("^", 1)
    pid, eid = e.patient.patient_id, e.encounter_id
    patient = {"resourceType": "Patient", "id": pid,
               "identifier": [{"system": "urn:medcode:member-id", "value": e.patient.member_id}],
               "name": [{"family": family, "given": [given]}],
               "gender": "female" if e.patient.sex is Sex.female else "male",
               "birthDate": e.patient.birth_date.isoformat() if e.patient.birth_date else None}
    encounter = {"resourceType": "Encounter", "id": eid, "status": "finished",
                 "class": {"system": "http://terminology.hl7.org/CodeSystem/v3-ActCode", "code": "AMB"},
                 "subject": {"reference": f"Patient/{pid}"},
                 "period": {"start": e.date_of_service.isoformat()}}
    doc = {"resourceType": "DocumentReference", "id": e.notes[0].note_id, "status": "current",
           "type": {"coding": [{"system": "http://loinc.org", "code": "11506-3", "display": "Progress note"}]},
           "subject": {"reference": f"Patient/{pid}"},
           "context": {"encounter": [{"reference": f"Encounter/{eid}"}]},
           "content": [{"attachment": {"contentType": "text/plain; charset=utf-8",
                                       "data": base64.b64encode(e.notes[0].text.encode()).decode()}}]}
    coverage = {"resourceType": "Coverage", "id": f"cov-{eid}", "status": "active",
                "beneficiary": {"reference": f"Patient/{pid}"}, "subscriberId": e.patient.member_id,
                "payor": [{"identifier": {"value": e.payer.payer_id}, "display": e.payer.name}],
                "type": {"coding": [{"code": e.payer.kind.value}]}}
    return [json.dumps(r, separators=(",", ":")) for r in (patient, coverage, encounter, doc)]


def to_hl7(s: SyntheticEncounter) -> str:
    """The visit as one HL7 v2.5.1 MDM^T02 message (``\\r`` separated), note lines as OBX TX."""
    e = s.encounter
    stamp = e.date_of_service.strftime("%Y%m%d") + "0900"
    sex = "F" if e.patient.sex is Sex.female else "M"
    birth = e.patient.birth_date.strftime("%Y%m%d") if e.patient.birth_date else ""
    segs = [
        f"MSH|^~\\&|SYNEHR|SYNCLINIC|MEDCODE|MEDCODE|{stamp}||MDM^T02^MDM_T02|M{s.index:09d}|P|2.5.1",
        f"EVN|T02|{stamp}",
        f"PID|1||{e.patient.patient_id}^^^MRN^MR||{e.patient.name}||{birth}|{sex}",
        f"PV1|1|O|CLINIC||||1234567893^WELBY^MARCUS||||||||||||{e.encounter_id}" + "|" * 25 + stamp,
        f"IN1|1|{e.payer.kind.value.upper()}|{e.payer.payer_id}|{e.payer.name}" + "|" * 32 + f"{e.patient.member_id}",
        f"TXA|1|PN|TX|{stamp}|||{stamp}|||||{e.notes[0].note_id}||||||AU",
    ]
    for i, line in enumerate(e.notes[0].text.split("\n"), start=1):
        safe = line.replace("\\", "\\E\\").replace("|", "\\F\\").replace("^", "\\S\\").replace("~", "\\R\\").replace("&", "\\T\\")
        segs.append(f"OBX|{i}|TX|11506-3^Progress note^LN||{safe}||||||F")
    return "\r".join(segs) + "\r"


def write_ndjson(path, n: int, seed: int = 0) -> int:
    """Write ``n`` visits as one FHIR Bulk Data NDJSON file (4 lines each); returns the line count."""
    lines = 0
    with open(path, "w", encoding="utf-8") as fh:
        for s in generate(n, seed):
            for line in to_fhir_ndjson_lines(s):
                fh.write(line + "\n")
                lines += 1
    return lines
