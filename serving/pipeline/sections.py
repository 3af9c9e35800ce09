"""Section detection with roles.

A clinical note is split at header lines ("A/P:", "IMPRESSION:", "Past Medical History:", an
all-caps line ending in a colon...). Each section gets a role that tells the coder how to treat
what it says: the assessment drives coding, a finding in the review of systems is not a diagnosis,
family history is about someone else, and past history is historical.

Unknown headers ("Gen:", "Feet:", "Lungs:") are sub-headings: they stay in the current section.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

# role -> header phrases (lower case, compared after normalising punctuation and spacing)
ROLE_HEADERS: dict[str, tuple[str, ...]] = {
    "assessment": (
        "assessment and plan", "assessment & plan", "assessment/plan", "a/p", "a&p", "assessment",
        "impression and plan", "impression/plan", "impression", "impressions", "diagnosis", "diagnoses",
        "dx", "final dx", "final diagnosis", "final diagnoses", "discharge diagnosis", "discharge diagnoses",
        "principal diagnosis", "secondary diagnoses", "secondary diagnosis", "admitting diagnosis",
        "clinical impression", "problem list", "active problems", "problems", "postoperative diagnosis",
        "post-operative diagnosis", "preoperative diagnosis", "pre-operative diagnosis", "conclusion",
        "conclusions", "working diagnosis", "a", "ddx",
    ),
    "plan": ("plan", "recommendations", "recommendation", "dispo", "disposition", "follow up", "follow-up",
             "p", "orders", "instructions", "patient education"),
    "reasoning": ("mdm", "medical decision making", "ed course", "hospital course", "course", "discussion"),
    "chief_complaint": ("cc", "chief complaint", "reason for visit", "reason for consultation", "reason",
                        "indication", "clinical indication", "clinical history", "history", "re"),
    "hpi": ("hpi", "history of present illness", "subjective", "s", "interval hx", "interval history",
            "interval", "today", "symptoms", "present illness"),
    "past_history": ("pmh", "past medical history", "psh", "past surgical history", "hx",
                     "medical history", "surgical history", "psych hx", "oncologic hx", "oncologic history",
                     "past history", "history of"),
    "family_history": ("fhx", "fh", "family history", "family hx"),
    "social_history": ("shx", "sh", "social history", "social", "tobacco", "substance use"),
    "ros": ("ros", "review of systems", "systems review"),
    "exam": ("exam", "pe", "physical exam", "physical examination", "objective", "o", "vitals",
             "vital signs", "mse", "mental status exam", "mental status examination"),
    "results": ("labs", "lab", "laboratory", "results", "imaging", "findings", "tests", "pertinent results",
                "data", "studies", "ecg", "ekg", "cxr", "radiology", "technique", "comparison",
                "in-office testing", "results reviewed"),
    "medications": ("meds", "medications", "current medications", "discharge meds", "current regimen",
                    "regimen", "home medications", "allergies", "all"),
    "procedure": ("procedure", "procedures", "procedure note", "operative note", "interventions"),
}

# roles whose statements may be coded as current diagnoses
CODING_ROLES = frozenset({"assessment"})
# roles that never yield a diagnosis of this patient for this encounter
NON_DIAGNOSTIC_ROLES = frozenset({"ros", "family_history", "medications", "plan"})

_LOOKUP = {h: role for role, headers in ROLE_HEADERS.items() for h in headers}
_HEADER_LINE = re.compile(
    r"^[ \t]*(?:\d+[.)]\s*)?(?P<header>[A-Za-z][A-Za-z0-9 /&\-\(\)']{0,48}?)[ \t]*(?::|\n|$)", re.M
)


# "Client: 19 y/o M. Dx: cannabis use disorder, mild; ADHD": a diagnosis label inside a line
_INLINE_DX = re.compile(
    r"(?<=\s)(?P<header>dx|diagnos[ie]s|working diagnosis|impression)\s*:", re.I
)


@dataclass(frozen=True, slots=True)
class Section:
    role: str
    header: str
    start: int  # offset of the section body in the note
    end: int

    def text(self, note: str) -> str:
        return note[self.start : self.end]


def _normalise(header: str) -> str:
    return re.sub(r"\s+", " ", header.strip().lower().replace("_", " "))


_DIAGNOSIS_HEADER = re.compile(
    r"(?:(?:principal|primary|secondary|other|additional|admitting|admission|discharge|final|working|"
    r"differential|pre-?op(?:erative)?|post-?op(?:erative)?|active|chronic|ed|encounter|visit)\s+)*"
    r"(?:dx|dxs|diagnos[ie]s|problems?|conditions)|secondary|comorbidities")


def header_role(header: str) -> str | None:
    """The role of a header phrase, or None when it is not a known section header."""
    h = _normalise(header)
    if h in _LOOKUP:
        return _LOOKUP[h]
    # "Principal dx", "Secondary", "Discharge diagnoses", "Other diagnoses": a diagnosis list
    if _DIAGNOSIS_HEADER.fullmatch(h):
        return "assessment"
    # "Exam R knee", "CXR today", "Labs (drawn 4/1)": the leading words decide
    words = h.split(" ")
    for n in range(min(len(words), 4), 0, -1):
        role = _LOOKUP.get(" ".join(words[:n]))
        if role is not None and (n > 1 or len(words[0]) > 1):
            return role
    return None


def split_sections(note: str) -> list[Section]:
    """Split a note into role-tagged sections covering the whole text, in order."""
    marks: list[tuple[int, int, str, str]] = []  # header start, body start, role, header
    for m in _HEADER_LINE.finditer(note):
        header = m.group("header")
        line_end = note.find("\n", m.start())
        line_end = len(note) if line_end == -1 else line_end
        has_colon = note[m.end("header") : m.end()].strip().startswith(":")
        whole_line_caps = not has_colon and header.isupper() and m.end("header") >= line_end - 1
        if not (has_colon or whole_line_caps):
            continue
        role = header_role(header)
        if role is None:
            continue
        body = m.end() if has_colon else line_end
        marks.append((m.start(), body, role, header.strip()))
    marks = _inline_diagnoses(note, marks)
    sections: list[Section] = []
    if not marks or marks[0][0] > 0:
        first = marks[0][0] if marks else len(note)
        sections.append(Section("preamble", "", 0, first))
    for i, (_, body, role, header) in enumerate(marks):
        end = marks[i + 1][0] if i + 1 < len(marks) else len(note)
        sections.append(Section(role, header, body, end))
    return sections


def _inline_diagnoses(note: str, marks: list[tuple[int, int, str, str]]) -> list[tuple[int, int, str, str]]:
    """Diagnosis labels inside a line open an assessment section that ends with the line; the
    section they interrupted resumes after it."""
    extra: list[tuple[int, int, str, str]] = []
    for m in _INLINE_DX.finditer(note):
        line_start = note.rfind("\n", 0, m.start()) + 1
        if not note[line_start : m.start()].strip():
            continue  # at the start of a line: a header line, found already
        line_end = note.find("\n", m.end())
        line_end = len(note) if line_end == -1 else line_end
        before = [mk for mk in marks if mk[0] <= m.start()]
        role, header = (before[-1][2], before[-1][3]) if before else ("preamble", "")
        extra.append((m.start("header"), m.end(), "assessment", m.group("header")))
        if line_end < len(note):
            extra.append((line_end, line_end, role, header))
    return sorted([*marks, *extra]) if extra else marks
