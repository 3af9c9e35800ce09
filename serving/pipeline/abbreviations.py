"""Expansion of clinical shorthand (DM2, HTN, SOB, s/p, h/o...) for retrieval queries.

Expansion never rewrites the note: evidence offsets index the original text. It is applied to the
query derived from a mention, and optionally restricted to a section role where an abbreviation is
ambiguous (``PE`` is pulmonary embolism in an assessment but physical exam as a header).
"""

from __future__ import annotations

import re
from functools import lru_cache
from pathlib import Path

_DATA = Path(__file__).resolve().parent / "data" / "abbreviations.tsv"


@lru_cache(maxsize=1)
def _table() -> tuple[dict[str, tuple[str, str]], re.Pattern[str]]:
    table: dict[str, tuple[str, str]] = {}
    for line in _DATA.read_text().splitlines():
        if not line.strip() or line.startswith("#"):
            continue
        abbr, expansion, context = (line.split("\t") + ["any"])[:3]
        table[abbr] = (expansion, context or "any")
    keys = sorted(table, key=len, reverse=True)
    pattern = re.compile(r"(?<![\w/])(" + "|".join(re.escape(k) for k in keys) + r")(?![\w/])")
    return table, pattern


# ICD-10-CM names the ends of long bones "upper end"/"lower end", where notes say proximal/distal
_BONE_END = re.compile(r"\b(distal|proximal)\s+(radius|ulna|humerus|femur|tibia|fibula|radial|ulnar|humeral|femoral|"
                       r"tibial|fibular)\b", re.I)


# ICD-10-CM titles say "malignant neoplasm" and "secondary malignant neoplasm" (the Alphabetic Index
# sends "Cancer", "Carcinoma", "Adenocarcinoma" and "Metastasis" to the Neoplasm Table); skin
# carcinomas ("squamous cell carcinoma of skin") and "carcinoma in situ" keep their own titles
_SITE = r"(?:the\s+)?(?P<site>(?:(?:left|right|bilateral|upper|lower|middle)\s+)*[a-z]+(?:\s+(?:lobe|bone|node|nodes|gland|cord|bladder|duct))?)"
_SECONDARY = (
    re.compile(r"\b(?:metastas[ie]s|mets|metastatic\s+(?:disease|lesions?|cancer|carcinoma|deposits?))\s+(?:to|in|of)\s+"
               + _SITE.replace("(?P<site>", "(?P<site>(?:[a-z]+\\s*(?:,|and|&)\\s*)*"), re.I),
    re.compile(r"\b(?P<site>liver|lung|bone|brain|adrenal|lymph\s+node|nodal|peritoneal|pleural|spine|spinal|"
               r"osseous|hepatic|pulmonary|cerebral)\s+(?:metastas[ie]s|mets|metastatic\s+disease)\b", re.I),
)
_METASTATIC_PRIMARY = re.compile(
    r"\bmetastatic\s+(?P<primary>[a-z]+(?:\s+cell)?)\s+(?:cancer|carcinoma|adenocarcinoma|malignancy)"
    r"(?:\s+(?:to|in|involving)\s+(?:the\s+)?(?P<site>[a-z]+(?:\s+(?:bone|node|nodes))?))?", re.I)
_MALIGNANT = re.compile(
    r"\b(?:cancer|malignancy|malignant\s+tumou?rs?|adenocarcinoma|(?<!cell\s)carcinoma(?!\s+in\s+situ))\b", re.I
)
_LUNG_LOBE = re.compile(r"\b(?P<side>[RL])(?P<lobe>[UML])L\b")
_LOBES = {"U": "upper", "M": "middle", "L": "lower"}


# radiology's words for a lung finding that the Alphabetic Index enters as "Infiltrate, lung" (R91.8)
_AIRSPACE = re.compile(r"\b(?:air[- ]?space|alveolar|parenchymal)\s+(?:opacity|opacities|opacification|disease|consolidation)\b",
                       re.I)


# "both knees" is what the titles call bilateral (M17.0 "Bilateral primary osteoarthritis of knee")
_BOTH = re.compile(r"\bboth\s+(?=(?:\w+\s+)?(?:knees|hips|shoulders|elbows|wrists|ankles|hands|feet|eyes|ears|legs|"
                   r"arms|lungs|kidneys|breasts|sides|lower|upper)\b)", re.I)


# the Alphabetic Index has no "Lesion, kidney": an imaged renal lesion not yet characterized is an
# abnormal finding on diagnostic imaging of the kidney (R93.42-, with its side)
_RENAL_LESION = re.compile(r"\b(?:renal|kidney)\s+(?:lesions?|abnormality|abnormalities|finding)\b", re.I)


# a typed influenza ("influenza A", "flu B", "H1N1") is an identified influenza virus (J10), not J11
_FLU_TYPED = re.compile(r"\b(?i:influenza|flu)\s+(?i:type\s+)?(?:A|B)\b(?!\s*/)|\bH\d+N\d+\b")


# a spinal level says the region ICD-10-CM codes by (M47.81-, M51.2-, M54.1-): "L4-L5" is lumbar,
# "L5-S1" lumbosacral, "C5-6" cervical. A range is always a spinal level; a single level only beside a
# spine word ("L5 nerve root"), since "T4", "C3" and "S1" are also a hormone, a complement and a heart sound
_REGION = {"C": "cervical", "T": "thoracic", "L": "lumbar", "S": "sacral",
           "CT": "cervicothoracic", "TL": "thoracolumbar", "LS": "lumbosacral", "SC": "sacrococcygeal"}
_LEVEL_RANGE = re.compile(r"\b(?P<a>[CTLS])(?P<n>[1-9]|1[0-2])\s*[-/]\s*(?P<b>[CTLS])?(?P<m>[1-9]|1[0-2])\b")
_LEVEL_ONE = re.compile(r"\b(?P<a>[CL])(?P<n>[1-7])\b(?=\s+(?:nerve|root|vertebra|vertebral|level|disc|disk|"
                        r"radicul|pars|facet|pedicle|spinous|spondyl))")
# the Alphabetic Index enters disc herniation, extrusion and protrusion as "Displacement, intervertebral disc"
_DISC = re.compile(r"\b(?:(?:intervertebral\s+)?(?:disc|disk)\s+(?:extrusion|protrusion|herniation|bulge)s?|"
                   r"(?:extruded|protruded|herniated|bulging)\s+(?:intervertebral\s+)?(?:disc|disk)s?|HNP)\b", re.I)


def _region(m: re.Match[str]) -> str:
    a, b = m.group("a"), m.groupdict().get("b") or m.group("a")
    if a == b and (a == "S" or (a == "T" and {m.group("n"), m.group("m")} <= {"1", "2"})):
        return m.group()  # heart sounds ("S1/S2") and MRI sequences ("T1/T2 hyperintense")
    region = _REGION.get(a if a == b else a + b, _REGION[a])
    return f"{m.group()} {region}"


def spine_wording(text: str) -> str:
    """Spinal levels with the region they lie in, and disc herniation the way the index words it."""
    text = _LEVEL_RANGE.sub(_region, text)
    text = _LEVEL_ONE.sub(_region, text)
    return _DISC.sub("intervertebral disc displacement", text)


# a lobe's nodule or mass is the lung's: "RUL nodule" is "Nodule, lung" (R91.1), not a rheumatoid nodule
_LOBE_FINDING = re.compile(r"\b((?:right|left)\s+(?:upper|middle|lower)\s+lobe)\s+(?=(?:\w+\s+)?(?:nodules?|mass|masses|"
                           r"lesions?|opacity|opacities|density|densities)\b)", re.I)


# the index sends an adenoma to "Neoplasm, benign, by site" ("tubular adenoma" of the ascending colon
# is D12.2, a pituitary adenoma D35.2)
_ADENOMA = re.compile(r"\b(?:(?:tubular|tubulovillous|villous|sessile\s+serrated|serrated|traditional\s+serrated)\s+)?"
                      r"adenomas?\b", re.I)
_POLYP = re.compile(r"\bpolyps?\b", re.I)
# diverticula of a named part of the colon are the large intestine's (K57.3-), not "part unspecified"
_COLONIC_DIVERTICULA = re.compile(r"\b(?:(?:L|R|left|right)-?sided|sigmoid|colonic|descending|ascending|transverse|"
                                  r"pan-?colonic)\s+(diverticul(?:osis|itis|ar\s+disease))\b", re.I)
# hemorrhoids are graded I-IV in notes and by degree in the titles (K64.0-K64.3)
_HEMORRHOID_GRADE = re.compile(r"\bgrade\s+(I{1,3}V?|IV|[1-4])\s+(?=(?:\w+\s+)?hemorrhoids?\b)", re.I)
_DEGREE = {"I": "first", "1": "first", "II": "second", "2": "second", "III": "third", "3": "third",
           "IV": "fourth", "4": "fourth"}


def neoplasm_wording(text: str) -> str:
    """Cancer, carcinoma and metastasis phrased the way ICD-10-CM titles phrase them."""
    text = _HEMORRHOID_GRADE.sub(lambda m: f"{_DEGREE.get(m.group(1).upper(), 'first')} degree ", text)
    if _ADENOMA.search(text):
        # the pathology names what the polyp is: "Ascending colon polyp: tubular adenoma" is D12.2
        text = _ADENOMA.sub("benign neoplasm", _POLYP.sub(" ", text))
    text = _COLONIC_DIVERTICULA.sub(r"\1 of large intestine", text)
    text = _LUNG_LOBE.sub(lambda m: f"{'right' if m.group('side') == 'R' else 'left'} "
                                    f"{_LOBES[m.group('lobe')]} lobe", text)
    text = _LOBE_FINDING.sub(r"\1 lung ", text)
    # "metastatic prostate cancer to bone": the primary, and the secondary at the named site
    text = _METASTATIC_PRIMARY.sub(
        lambda m: f"{m.group('primary')} malignant neoplasm"
                  + (f" with secondary malignant neoplasm of {m.group('site')}" if m.group("site") else ""), text)
    for pat in _SECONDARY:
        # "mets to bone and brain": one secondary neoplasm per site, so each is coded
        text = pat.sub(lambda m: " and ".join(f"secondary malignant neoplasm of {site}"
                                              for site in re.split(r"\s*(?:,|\band\b|&)\s*", m.group("site")) if site),
                       text)
    return _MALIGNANT.sub("malignant neoplasm", text)


def expand(text: str, role: str = "any") -> str:
    """Return ``text`` with known abbreviations replaced by their expansion."""
    text = _BONE_END.sub(lambda m: f"{'lower' if m.group(1).lower() == 'distal' else 'upper'} end of {m.group(2)}",
                         text)
    table, pattern = _table()

    def sub(m: re.Match[str]) -> str:
        expansion, context = table[m.group(1)]
        return expansion if context in ("any", role) else m.group(1)

    text = _AIRSPACE.sub("lung infiltrate", pattern.sub(sub, text))
    text = _BOTH.sub("bilateral ", text)
    text = _RENAL_LESION.sub("abnormal radiologic findings on diagnostic imaging of kidney", text)
    text = _FLU_TYPED.sub("influenza due to other identified influenza virus", text)
    return neoplasm_wording(spine_wording(text))
