"""The one tokenizer used for indexing and querying, so both sides agree."""

from __future__ import annotations

import re

_WORD = re.compile(r"[a-z0-9]+")
STOPWORDS = frozenset(
    "a an the of and or to in on for by at as is was be are with from into than that this its it".split()
)
# words that carry no clinical meaning in a code title
NEUTRAL = frozenset({
    "unspecified", "nos", "other", "specified", "site", "type", "disease", "disorder", "uncomplicated",
    # setting of acquisition does not change the ICD-10-CM classification of pneumonia and most infections
    "community", "acquired",
    # words that stand for "a diagnosis" in problem lists
    "problem", "diagnosis", "condition", "issue", "finding",
})


# anatomical adjectives and their nouns are one word for matching: ICD-10-CM titles and index
# terms use both ("malignant neoplasm of ovary", "ovarian cyst"), and so do notes
CANONICAL = {
    "ovarian": "ovary", "renal": "kidney", "hepatic": "liver", "cardiac": "heart", "pulmonary": "lung",
    "gastric": "stomach", "colonic": "colon", "cerebral": "brain", "vertebral": "vertebra", "femoral": "femur",
    "tibial": "tibia", "humeral": "humerus", "ulnar": "ulna", "pelvic": "pelvis", "mammary": "breast",
    "uterine": "uterus", "prostatic": "prostate", "cutaneous": "skin", "ocular": "eye", "nasal": "nose",
    "hepatitis": "hepatitis", "thyroidal": "thyroid", "splenic": "spleen", "pancreatic": "pancreas",
    "esophageal": "esophagus", "duodenal": "duodenum", "rectal": "rectum", "vesical": "bladder",
    "laryngeal": "larynx", "pharyngeal": "pharynx", "tracheal": "trachea", "bronchial": "bronchus",
    "aortic": "aorta", "venous": "vein", "arterial": "artery", "osseous": "bone", "muscular": "muscle",
    "neural": "nerve", "dental": "tooth", "teeth": "tooth", "feet": "foot",
}


def normalise(word: str) -> str:
    word = CANONICAL.get(word, word)
    # light plural folding: "fractures" -> "fracture", but keep "abscess", "sepsis", "virus"
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ys")):
        return CANONICAL.get(word[:-1], word[:-1])
    return word


# a combining form joined by a hyphen is one word: "Gastro-esophageal" (the K21 titles) is the
# "gastroesophageal" of notes and of the index
_COMBINING = re.compile(r"\b([a-z]{4,}o)-(?=[a-z]{3,})")


def tokenize(text: str) -> list[str]:
    return [normalise(w) for w in _WORD.findall(_COMBINING.sub(r"\1", text.lower())) if w not in STOPWORDS]


def content_tokens(text: str) -> set[str]:
    return {t for t in tokenize(text) if t not in NEUTRAL}


_PAREN = re.compile(r"\([^)]*\)|\[[^\]]*\]")


def required_tokens(text: str, main_term_only: bool = False) -> set[str]:
    """The words a code text requires: ICD-10-CM puts nonessential modifiers in parentheses (and
    eponym notes in brackets). For an index main term, only its first comma part is required
    ("Hypertension, hypertensive" is one term with a variant)."""
    bare = _PAREN.sub(" ", text)
    if main_term_only:
        bare = bare.split(",")[0]
    return content_tokens(bare)
