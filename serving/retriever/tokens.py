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


def normalise(word: str) -> str:
    # light plural folding: "fractures" -> "fracture", but keep "abscess", "sepsis", "virus"
    if len(word) > 4 and word.endswith("s") and not word.endswith(("ss", "us", "is", "ys")):
        return word[:-1]
    return word


def tokenize(text: str) -> list[str]:
    return [normalise(w) for w in _WORD.findall(text.lower()) if w not in STOPWORDS]


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
